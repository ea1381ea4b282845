import { mkdirSync } from "node:fs";
import test, { type ExecutionContext } from "ava";
import { chromium } from "playwright-core";
import { loadCollectorConfigText } from "../../collector/config/load.js";
import type { FleetView, SeriesView } from "../../collector/dashboard/data.js";
import { type Dashboard, startDashboard } from "../../collector/dashboard/server.js";
import { runCollector } from "../../collector/run.js";
import {
  type CollectorFixture,
  collectorFixture,
  produce,
  quiet,
  type TestRecord,
} from "../helpers/collector.js";
import { freePort } from "../helpers/ports.js";

const MINUTE = 60_000;
const CHROMIUM = "/usr/bin/chromium";

/**
 * Three hosts sampled every 10 s: hot-01 with its CPU at 98 % and calm-01 healthy, both until a
 * minute ago, and quiet-01 silent for the last 20 minutes. calm-01's network counter grows by
 * exactly 5,000 bytes per 10 s: 500 B/s.
 */
function fleet(now: number): TestRecord[] {
  const records: TestRecord[] = [];
  const start = Math.floor((now - 40 * MINUTE) / MINUTE) * MINUTE;
  const hosts = [
    { host: "hot-01", idle: 2, until: now - MINUTE },
    { host: "calm-01", idle: 80, until: now - MINUTE },
    { host: "quiet-01", idle: 70, until: now - 20 * MINUTE },
  ];
  for (const { host, idle, until } of hosts) {
    let seq = 0;
    for (let ts = start + 2_000; ts < until; ts += 10_000) {
      const i = (ts - start - 2_000) / 10_000;
      const sample = (name: string, tags: Record<string, string>, fields: Record<string, number>) =>
        records.push({
          host,
          seq: seq++,
          sample: { name, tags: { host, ...tags }, fields, timestamp: ts },
        });
      sample("cpu", { cpu: "cpu-total" }, { usage_idle: idle });
      sample("mem", {}, { used_percent: 40 });
      sample("disk", { path: "/" }, { used_percent: 55 });
      sample("net", { interface: "eth0" }, { bytes_recv: 1e6 + i * 5_000, bytes_sent: 2e6 });
    }
  }
  return records;
}

/** hot-01's and calm-01's samples of now, read by the live tail only (Hive has up to a minute ago). */
function fresh(now: number, ts: number): TestRecord[] {
  const start = Math.floor((now - 40 * MINUTE) / MINUTE) * MINUTE;
  return [
    { host: "hot-01", idle: 2 },
    { host: "calm-01", idle: 80 },
  ].flatMap(({ host, idle }) =>
    [
      { name: "cpu", tags: { cpu: "cpu-total" }, fields: { usage_idle: idle } },
      { name: "mem", tags: {}, fields: { used_percent: 40 } },
      { name: "disk", tags: { path: "/" }, fields: { used_percent: 55 } },
      {
        name: "net",
        tags: { interface: "eth0" },
        // The same counter, still 500 B/s.
        fields: { bytes_recv: 1e6 + ((ts - start - 2_000) / 10_000) * 5_000, bytes_sent: 2e6 },
      },
    ].map(({ name, tags, fields }) => ({
      host,
      sample: { name, tags: { host, ...tags }, fields, timestamp: ts },
    })),
  );
}

let fixture: CollectorFixture;
let dashboard: Dashboard;
// ava allows no t.teardown() in hooks: the shared fixture's clean-ups run after all tests.
const cleanUps: Array<() => unknown> = [];
const hookContext = {
  teardown: (f: () => unknown) => cleanUps.push(f),
} as unknown as ExecutionContext;

test.before(async () => {
  fixture = await collectorFixture(hookContext, {
    partitions: 1,
    extra: "aggregation:\n  windows: [1m, 1h]\ndashboard:\n  cache_ttl: 1m\n",
  });
  const now = Date.now();
  await produce(fixture.topic, fleet(now));
  await runCollector(fixture.config, { logger: quiet });
  const freshAt = Date.now();
  await produce(fixture.topic, fresh(now, freshAt));
  dashboard = await startDashboard(fixture.config, quiet, { host: "127.0.0.1", port: 0 });
  cleanUps.push(() => dashboard.close());
  // The live tail reads the fresh samples within seconds of joining its group.
  const deadline = Date.now() + 60_000;
  const read = (host: string) =>
    (dashboard.live?.store.host(host, Date.now(), MINUTE)?.lastSeen ?? 0) >= freshAt;
  while (!(read("hot-01") && read("calm-01"))) {
    if (Date.now() > deadline)
      throw new Error("the live tail did not read the fresh samples in 60 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

test.after.always(async () => {
  for (const cleanUp of cleanUps.reverse()) await cleanUp();
});

const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
  const response = await fetch(new URL(path, dashboard.url));
  return { status: response.status, body: (await response.json()) as T };
};

test.serial(
  "the fleet API flags the hot and the silent host, live or loaded, and a second call sends Hive nothing",
  async (t) => {
    const { status, body } = await get<FleetView>("/api/fleet");
    t.is(status, 200);
    const byHost = new Map(body.hosts.map((h) => [h.host, h]));
    t.deepEqual([...byHost.keys()].sort(), ["calm-01", "hot-01", "quiet-01"]);
    t.is(byHost.get("hot-01")?.status, "critical");
    t.is(byHost.get("hot-01")?.cpuPercent, 98);
    t.is(byHost.get("quiet-01")?.status, "silent");
    t.is(byHost.get("calm-01")?.status, "ok");
    t.is(byHost.get("calm-01")?.fullestDisk?.usedPercent, 55);
    t.true((body.lastLoadAt ?? 0) > Date.now() - 10 * MINUTE);
    // The live tail (dashboard.live, on by default) read the last 10 minutes from the topic.
    t.is(byHost.get("hot-01")?.source, "live");
    t.is(byHost.get("quiet-01")?.source, "loaded", "silent for longer than the live window");
    t.is(body.live?.state, "live");

    const calls = dashboard.data.hiveCalls;
    const again = await Promise.all([get<FleetView>("/api/fleet"), get<FleetView>("/api/fleet")]);
    t.deepEqual(again[0].body.hosts, body.hosts);
    t.is(dashboard.data.hiveCalls, calls, "answered from the cache: no statement sent to Hive");
  },
);

test.serial(
  "a host's series are the produced values: CPU used, memory, disk, and the network counter as a rate",
  async (t) => {
    const { status, body } = await get<SeriesView>("/api/host/calm-01/series?range=hour");
    t.is(status, 200);
    t.is(body.windowSeconds, 60);
    t.truthy(body.liveFrom, "the latest windows come from the live tail");
    const chart = (id: string) => body.charts.find((c) => c.id === id);
    const cpu = chart("cpu")?.series[0]?.points ?? [];
    t.true(cpu.length >= 30, `${cpu.length} cpu points`);
    t.true(cpu.every(([, v]) => Math.abs(v - 20) < 1e-9));
    t.true((chart("mem")?.series[0]?.points ?? []).every(([, v]) => v === 40));
    t.deepEqual(
      chart("disk")?.series.map((s) => s.label),
      ["/"],
    );
    const recv = chart("net")?.series.find((s) => s.label === "eth0 recv")?.points ?? [];
    t.true(recv.length >= 30);
    t.true(
      recv.every(([, v]) => Math.abs(v - 500) < 1e-6),
      JSON.stringify(recv.slice(0, 3)),
    );
    const week = await get<SeriesView>("/api/host/calm-01/series?range=week");
    t.is(week.body.windowSeconds, 3600, "a week is drawn from the hourly windows");
    t.is(week.body.liveFrom, undefined, "live windows are 1-minute: not in an hourly chart");
  },
);

test.serial("bad requests get a 400 that says what is wrong", async (t) => {
  const range = await get<{ error: { code: string; message: string } }>(
    "/api/host/calm-01/series?range=year",
  );
  t.is(range.status, 400);
  t.regex(range.body.error.message, /range "year": use one of hour, day, week/);
  const host = await get<{ error: { message: string } }>("/api/host/a'b/series");
  t.is(host.status, 400);
  t.regex(host.body.error.message, /not a host name/);
  t.is((await get("/api/nothing")).status, 404);
});

test("with Hive unreachable the page is served and the API answers 503 with the reason", async (t) => {
  const port = await freePort();
  const yaml = `kafka:\n  brokers: ["127.0.0.1:9"]\nhive:\n  port: ${port}\n  connect_timeout: 5s\n  retries: 0\n`;
  const { config } = loadCollectorConfigText(yaml, "down.yaml", {});
  const down = await startDashboard(config, quiet, { host: "127.0.0.1", port: 0 });
  t.teardown(() => down.close());
  const page = await fetch(down.url);
  t.is(page.status, 200);
  const fleetResponse = await fetch(new URL("/api/fleet", down.url));
  t.is(fleetResponse.status, 503);
  const body = (await fleetResponse.json()) as { error: { code: string; message: string } };
  t.is(body.error.code, "HF_HIVE_UNREACHABLE");
  t.true(body.error.message.includes(`Hive at 127.0.0.1:${port}`), body.error.message);
});

test.serial(
  "in a browser: the unhealthy hosts are flagged, a host's charts open, a screenshot is kept",
  async (t) => {
    const browser = await chromium
      .launch({
        executablePath: CHROMIUM,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      })
      .catch((error: Error) => {
        throw new Error(
          `cannot start ${CHROMIUM} (Debian's chromium; npm test installs it as root: apt-get install chromium): ${error.message}`,
        );
      });
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(dashboard.url);
    await page.waitForSelector(".tile");
    t.is(await page.getAttribute('.tile[data-host="hot-01"]', "data-status"), "critical");
    t.is(await page.getAttribute('.tile[data-host="quiet-01"]', "data-status"), "silent");
    t.is(await page.getAttribute('.tile[data-host="calm-01"]', "data-status"), "ok");
    t.regex((await page.textContent('tr[data-host="hot-01"]')) ?? "", /cpu 98\.0% > 90%/);
    t.is(await page.getAttribute('.tile[data-host="hot-01"]', "data-source"), "live");
    t.is(await page.getAttribute('.tile[data-host="quiet-01"]', "data-source"), "loaded");
    t.regex((await page.textContent("#live-state")) ?? "", /^live: Kafka, last record/);

    await page.fill("#filter", "silent");
    t.deepEqual(
      await page.$$eval("#hosts tbody tr", (rows) => rows.map((r) => r.getAttribute("data-host"))),
      ["quiet-01"],
    );
    await page.fill("#filter", "");

    await page.click('.tile[data-host="calm-01"]');
    await page.waitForSelector('[data-chart="cpu"] canvas');
    t.is(await page.textContent("#host-title"), "calm-01");
    t.is(await page.locator('[data-chart="net"] canvas').count(), 1);
    t.is(await page.locator('[data-chart="cpu"][data-live-from]').count(), 1);
    t.regex((await page.textContent("#host-source")) ?? "", /live from Kafka/);
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/dashboard.png", fullPage: true });
    t.deepEqual(errors, [], "no script errors on the page");
  },
);
