import test from "ava";
import type { WindowRow } from "../../collector/dashboard/fields.js";
import { LiveStore } from "../../collector/dashboard/live-store.js";
import { mergeHosts, mergeRows } from "../../collector/dashboard/merge.js";
import type { HostHealth } from "../../collector/report.js";
import type { Sample } from "../../lib/wire.js";

const MINUTE = 60_000;
/** A minute boundary, so that the windows of the tests are easy to name. */
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);

const store = (options: Partial<ConstructorParameters<typeof LiveStore>[0]> = {}) =>
  new LiveStore({ windowMs: 10 * MINUTE, bucketMs: MINUTE, maxHosts: 100, ...options });

const cpu = (host: string, ts: number, idle: number, core = "cpu-total"): Sample => ({
  name: "cpu",
  tags: { host, cpu: core },
  fields: { usage_idle: idle, usage_user: 100 - idle },
  timestamp: ts,
});
const disk = (host: string, ts: number, path: string, used: number): Sample => ({
  name: "disk",
  tags: { host, path },
  fields: { used_percent: used, free: 1e9 },
  timestamp: ts,
});
const net = (host: string, ts: number, recv: number): Sample => ({
  name: "net",
  tags: { host, interface: "eth0" },
  fields: { bytes_recv: recv, bytes_sent: 0 },
  timestamp: ts,
});

const rowsOf = (s: LiveStore, host: string, now: number, field: string) =>
  s
    .rows(host, now, 0, now)
    .filter((r) => r.field === field)
    .map((r) => [(r.window_start - T0) / MINUTE, r.average]);

test("a gauge window is the average of its samples; a counter's keeps its last value and time", (t) => {
  const s = store();
  const now = T0 + 90_000;
  s.add("a", cpu("a", T0 + 5_000, 80), now);
  s.add("a", cpu("a", T0 + 15_000, 60), now);
  s.add("a", cpu("a", T0 + 65_000, 10), now);
  s.add("a", net("a", T0 + 15_000, 2_000), now);
  s.add("a", net("a", T0 + 5_000, 1_000), now); // out of order: the later one stays last
  t.deepEqual(rowsOf(s, "a", now, "usage_idle"), [
    [0, 70],
    [1, 10],
  ]);
  const recv = s.rows("a", now, 0, now).find((r) => r.field === "bytes_recv");
  t.is(recv?.last_val, 2_000);
  t.is(recv?.last_ts, T0 + 15_000);
  t.is(
    s.rows("a", now, 0, now).find((r) => r.field === "usage_user"),
    undefined,
    "only the fields the page draws are kept",
  );
});

test("per-core CPU and measurements the page does not draw only move the host's last sample", (t) => {
  const s = store();
  const now = T0 + 30_000;
  s.add("a", cpu("a", T0 + 1_000, 50, "cpu0"), now);
  s.add(
    "a",
    { name: "system", tags: { host: "a" }, fields: { load1: 1 }, timestamp: T0 + 2_000 },
    now,
  );
  t.deepEqual(s.rows("a", now, 0, now), []);
  t.is(s.host("a", now, 5 * MINUTE)?.lastSeen, T0 + 2_000);
  t.is(s.size().series, 0);
});

test("windows that leave the live window are dropped, and so are hosts silent for longer", (t) => {
  const s = store({ windowMs: 3 * MINUTE });
  for (let m = 0; m < 8; m++)
    s.add("a", cpu("a", T0 + m * MINUTE + 1_000, m), T0 + m * MINUTE + 2_000);
  s.add("b", cpu("b", T0 + 1_000, 50), T0 + 2_000);
  const now = T0 + 7 * MINUTE + 30_000;
  // The cut is the window of now - 3 min: minutes 4 to 7 (the last one still filling).
  t.deepEqual(
    rowsOf(s, "a", now, "usage_idle").map(([m]) => m),
    [4, 5, 6, 7],
  );
  t.is(s.bucketsPerSeries, 4);
  t.is(s.add("a", cpu("a", T0 + 2 * MINUTE, 1), now), "late", "older than the window: not kept");
  t.is(s.counts.late, 1);
  t.is(s.host("b", now, 5 * MINUTE), undefined, "b's last sample left the window");
  t.is(s.sweep(now), 1);
  t.deepEqual(
    s.hosts(now, 5 * MINUTE).map((h) => h.host),
    ["a"],
  );
  t.deepEqual(s.size(), { hosts: 1, series: 1, numbers: 9 });
});

test("a jump forward clears the buckets it skips: no value from a window that went round the ring", (t) => {
  const s = store({ windowMs: 3 * MINUTE });
  s.add("a", cpu("a", T0 + 1_000, 10), T0 + 2_000);
  s.add("a", cpu("a", T0 + MINUTE + 1_000, 20), T0 + MINUTE + 2_000);
  // Silent for a while, then back: the ring's slots of minutes 0 and 1 come round again (4 slots).
  const now = T0 + 5 * MINUTE + 2_000;
  s.add("a", cpu("a", T0 + 5 * MINUTE + 1_000, 30), now);
  t.deepEqual(rowsOf(s, "a", now, "usage_idle"), [[5, 30]]);
});

test("the host cap keeps the first hosts, drops the samples of others and counts them", (t) => {
  const s = store({ maxHosts: 2, windowMs: 2 * MINUTE });
  const now = T0 + 10_000;
  t.is(s.add("a", cpu("a", T0, 1), now), "kept");
  t.is(s.add("b", cpu("b", T0, 1), now), "kept");
  t.is(s.add("c", cpu("c", T0, 1), now), "host-cap");
  t.is(s.add("a", cpu("a", T0 + 5_000, 1), now), "kept", "a known host still counts");
  t.is(s.counts.hostCap, 1);
  t.is(s.hostCount, 2);
  // Once b is silent for the window, c takes its place.
  const later = T0 + 2 * MINUTE + 7_000;
  s.add("a", cpu("a", later - 1_000, 1), later);
  t.is(s.add("c", cpu("c", later - 1_000, 1), later), "kept");
  t.deepEqual(
    s
      .hosts(later, MINUTE)
      .map((h) => h.host)
      .sort(),
    ["a", "c"],
  );
});

test("the series cap keeps a host's first series", (t) => {
  const s = store({ maxSeriesPerHost: 2 });
  const now = T0 + 10_000;
  for (const path of ["/", "/var", "/srv"]) s.add("a", disk("a", T0, path, 50), now);
  t.is(s.size().series, 2);
  t.is(s.counts.seriesCap, 1);
});

test("a host's latest signals: CPU used, memory, the fullest disk, an unmounted disk left out", (t) => {
  const s = store();
  const now = T0 + 9 * MINUTE;
  s.add("a", disk("a", T0 + 1_000, "/old", 99), now); // 8 minutes older than the rest
  s.add("a", cpu("a", T0 + 8 * MINUTE + 1_000, 30), now);
  s.add("a", cpu("a", T0 + 8 * MINUTE + 11_000, 10), now);
  s.add(
    "a",
    { name: "mem", tags: { host: "a" }, fields: { used_percent: 42 }, timestamp: T0 + 8 * MINUTE },
    now,
  );
  s.add("a", disk("a", T0 + 8 * MINUTE, "/", 55), now);
  s.add("a", disk("a", T0 + 8 * MINUTE, "/var", 71), now);
  const view = s.host("a", now, 5 * MINUTE);
  t.is(view?.cpuPercent, 80);
  t.is(view?.memPercent, 42);
  t.deepEqual(view?.fullestDisk, { path: "/var", usedPercent: 71 });
  t.is(view?.lastSeen, T0 + 8 * MINUTE + 11_000);
  t.is(view?.receivedAt, now);
});

const thresholds = {
  cpu_percent: 90,
  mem_percent: 90,
  disk_percent: 90,
  silent_after: 5 * MINUTE,
  gaps_since: 86_400_000,
};
const loadedHost = (
  host: string,
  lastSeen: number,
  extra: Partial<HostHealth> = {},
): HostHealth => ({
  host,
  lastSeen,
  cpuPercent: 20,
  memPercent: 30,
  fullestDisk: { path: "/", usedPercent: 40 },
  silent: false,
  gaps: 0,
  flags: [],
  ...extra,
});

test("merge: the newer side gives a host's figures, and says which it is", (t) => {
  const now = T0 + 20 * MINUTE;
  const merged = mergeHosts(
    [
      loadedHost("both", now - 4 * MINUTE, { gaps: 2 }),
      loadedHost("loaded-newer", now - MINUTE),
      loadedHost("old", now - 15 * MINUTE),
    ],
    [
      {
        host: "both",
        lastSeen: now - 3_000,
        receivedAt: now - 2_900,
        cpuPercent: 97,
        memPercent: undefined,
        fullestDisk: undefined,
      },
      {
        host: "loaded-newer",
        lastSeen: now - 2 * MINUTE,
        receivedAt: now,
        cpuPercent: 99,
        memPercent: 1,
        fullestDisk: undefined,
      },
      {
        host: "new",
        lastSeen: now - 1_000,
        receivedAt: now - 900,
        cpuPercent: 5,
        memPercent: 6,
        fullestDisk: undefined,
      },
    ],
    thresholds,
    now,
  );
  const by = new Map(merged.map((h) => [h.host, h]));
  t.deepEqual([...by.keys()], ["both", "loaded-newer", "new", "old"]);
  const both = by.get("both");
  t.is(both?.source, "live");
  t.is(both?.cpuPercent, 97);
  t.is(both?.memPercent, 30, "a signal the live window lacks stays as loaded");
  t.is(both?.lastSeen, now - 3_000);
  t.is(both?.loadedLastSeen, now - 4 * MINUTE);
  t.is(both?.liveReceivedAt, now - 2_900);
  t.deepEqual(both?.flags, ["cpu 97.0% > 90%", "2 gaps"]);
  t.is(by.get("loaded-newer")?.source, "loaded");
  t.is(by.get("loaded-newer")?.cpuPercent, 20);
  t.is(by.get("new")?.source, "live");
  t.is(by.get("new")?.loadedLastSeen, undefined);
  t.is(by.get("old")?.source, "loaded");
  t.true(by.get("old")?.silent, "silent is judged again as of now");
});

const row = (field: string, minute: number, average: number): WindowRow => ({
  measurement: "mem",
  tags: "{}",
  field,
  window_start: T0 + minute * MINUTE,
  average,
  last_val: average,
  last_ts: T0 + minute * MINUTE,
});

test("merge: from Hive's latest (possibly partial) window on, live windows replace loaded ones", (t) => {
  const loaded = [
    row("used_percent", 0, 1),
    row("used_percent", 1, 2),
    row("used_percent", 2, 3),
    row("other", 3, 9),
  ];
  const live = {
    rows: [row("used_percent", 2, 30), row("used_percent", 3, 40), row("used_percent", 4, 50)],
    lastSeen: T0 + 4 * MINUTE + 30_000,
  };
  // The tail read from minute 1.5: its minute 1 would be partial; Hive's latest window is 3.
  const merged = mergeRows(loaded, live, T0 + 90_000, MINUTE);
  t.is(merged.loadedUntil, T0 + 3 * MINUTE);
  t.is(merged.liveFrom, T0 + 3 * MINUTE);
  t.deepEqual(
    merged.rows.map((r) => [r.field, (r.window_start - T0) / MINUTE, r.average]),
    [
      ["used_percent", 0, 1],
      ["used_percent", 1, 2],
      ["used_percent", 2, 3],
      ["other", 3, 9],
      ["used_percent", 3, 40],
      ["used_percent", 4, 50],
    ],
  );
  // Hive behind the tail's start: live from the first window the tail has whole.
  const behind = mergeRows([row("used_percent", 0, 1)], live, T0 + 150_000, MINUTE);
  t.is(behind.liveFrom, T0 + 3 * MINUTE);
  t.deepEqual(
    behind.rows.map((r) => (r.window_start - T0) / MINUTE),
    [0, 3, 4],
  );
  t.is(mergeRows(loaded, { rows: [], lastSeen: T0 + 5 * MINUTE }, T0, MINUTE).liveFrom, undefined);
  t.is(mergeRows(loaded, undefined, T0, MINUTE).liveFrom, undefined);
});

test("merge: once Hive holds the host's latest sample, its chart is Hive's alone", (t) => {
  const loaded = [row("used_percent", 0, 1), row("used_percent", 1, 2)];
  const live = { rows: [row("used_percent", 1, 20)], lastSeen: T0 + MINUTE };
  const merged = mergeRows(loaded, live, T0, MINUTE);
  t.is(merged.liveFrom, undefined);
  t.deepEqual(
    merged.rows.map((r) => r.average),
    [1, 2],
  );
});
