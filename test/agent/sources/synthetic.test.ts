import test from "ava";
import type { SyntheticSourceConfig } from "../../../agent/config/schema.js";
import { type AgentEvent, SIMULATED_LOSS_HEADER } from "../../../agent/core/types.js";
import {
  createSyntheticSource,
  SYNTHETIC_EVENTS_PER_HOST,
} from "../../../agent/sources/synthetic.js";
import { collector, sleep, testContext } from "./context.js";

const HOUR = 3_600_000;

function config(overrides: Partial<SyntheticSourceConfig> = {}): SyntheticSourceConfig {
  return {
    type: "synthetic",
    channels: ["c"],
    interceptors: [],
    hosts: 5,
    host_prefix: "sim-",
    interval: 10_000,
    backfill: 0,
    batch_size: 500,
    seed: 1,
    unhealthy: { cpu_hog: 0, disk_filling: 0, silent: 0, lossy: 0 },
    ...overrides,
  };
}

/** Runs a source with a total to its end and returns what it emitted. */
async function run(options: SyntheticSourceConfig) {
  const source = createSyntheticSource("syn", options, testContext());
  const sink = collector(options.total);
  source.attach(sink.emit);
  await source.start();
  await sink.done;
  await sleep(10);
  await source.stop();
  return { ...sink, source };
}

const byHost = (events: AgentEvent[]) => {
  const hosts = new Map<string, AgentEvent[]>();
  for (const e of events) {
    const host = e.body.tags.host as string;
    hosts.set(host, [...(hosts.get(host) ?? []), e]);
  }
  return hosts;
};

test("hosts named <prefix><nnn>, each with the sysinfo measurements, host in tags and headers", async (t) => {
  const total = 12 * SYNTHETIC_EVENTS_PER_HOST * 3;
  const { events } = await run(config({ hosts: 12, host_prefix: "web-", backfill: HOUR, total }));
  t.is(events.length, total);
  const hosts = byHost(events);
  t.deepEqual(
    [...hosts.keys()].sort(),
    Array.from({ length: 12 }, (_, i) => `web-${String(i + 1).padStart(3, "0")}`),
  );
  for (const e of events) {
    t.is(e.headers.host, e.body.tags.host);
    t.is(e.headers.name, e.body.name);
    for (const value of Object.values(e.body.fields)) t.true(Number.isFinite(value));
  }
  const first = hosts.get("web-001") ?? [];
  t.deepEqual(
    first.slice(0, SYNTHETIC_EVENTS_PER_HOST).map((e) => e.body.name),
    ["cpu", "mem", "swap", "system", "disk", "disk", "diskio", "net", "processes"],
  );
  t.deepEqual(
    first.filter((e) => e.body.name === "disk").map((e) => e.body.tags.path),
    ["/", "/var", "/", "/var", "/", "/var"],
  );
  const cpu = first.find((e) => e.body.name === "cpu")?.body;
  t.is(cpu?.tags.cpu, "cpu-total");
  const sum = Object.values(cpu?.fields ?? {}).reduce((s, v) => s + v, 0);
  t.true(Math.abs(sum - 100) < 1e-6);
});

test("the same seed gives the same samples; another seed others", async (t) => {
  const options = config({ interval: HOUR, backfill: 48 * HOUR, total: 500 });
  const a = await run(options);
  const b = await run(options);
  const c = await run({ ...options, seed: 2 });
  t.deepEqual(a.events, b.events);
  t.notDeepEqual(
    a.events.map((e) => e.body.fields),
    c.events.map((e) => e.body.fields),
  );
});

test("backfill: timestamps in the past, one interval apart per host, counters growing", async (t) => {
  const interval = 60_000;
  const { events } = await run(
    config({ interval, backfill: 2 * HOUR, total: 5 * SYNTHETIC_EVENTS_PER_HOST * 100 }),
  );
  const now = Date.now();
  t.true(events.every((e) => e.body.timestamp <= now));
  t.true((events[0]?.body.timestamp ?? now) <= now - 2 * HOUR + interval);
  for (const [host, samples] of byHost(events)) {
    const cpu = samples.filter((e) => e.body.name === "cpu").map((e) => e.body.timestamp);
    t.is(cpu.length, 100, host);
    for (let i = 1; i < cpu.length; i++) t.is((cpu[i] ?? 0) - (cpu[i - 1] ?? 0), interval);
    const net = samples
      .filter((e) => e.body.name === "net")
      .map((e) => e.body.fields.bytes_recv ?? 0);
    for (let i = 1; i < net.length; i++) t.true((net[i] ?? 0) >= (net[i - 1] ?? 0));
  }
});

test("unhealthy hosts show their signal", async (t) => {
  const hosts = 10;
  const backfill = 10 * HOUR;
  const interval = 60_000;
  const cycles = backfill / interval;
  const { events } = await run(
    config({
      hosts,
      interval,
      backfill,
      // Within the backfill, although the silent host sends up to 45 % less.
      total: hosts * SYNTHETIC_EVENTS_PER_HOST * cycles - 2_500,
      unhealthy: { cpu_hog: 1, disk_filling: 1, silent: 1, lossy: 1 },
    }),
  );
  const origin = events[0]?.body.timestamp ?? 0;
  const idle = new Map<string, number[]>();
  const root = new Map<string, number[]>();
  const last = new Map<string, number>();
  const lossy = new Map<string, number>();
  const count = new Map<string, number>();
  for (const e of events) {
    const host = e.body.tags.host as string;
    last.set(host, Math.max(last.get(host) ?? 0, e.body.timestamp));
    count.set(host, (count.get(host) ?? 0) + 1);
    if (e.headers[SIMULATED_LOSS_HEADER] === "1") lossy.set(host, (lossy.get(host) ?? 0) + 1);
    if (e.body.name === "cpu")
      idle.set(host, [...(idle.get(host) ?? []), e.body.fields.usage_idle ?? 0]);
    if (e.body.name === "disk" && e.body.tags.path === "/")
      root.set(host, [...(root.get(host) ?? []), e.body.fields.used_percent ?? 0]);
  }
  const hog = [...idle].filter(([, v]) => Math.max(...v) <= 5).map(([h]) => h);
  t.is(hog.length, 1, "one host never idles more than 5 %");
  const filling = [...root].filter(([, v]) => (v.at(-1) ?? 0) > 90 && (v[0] ?? 100) < 75);
  t.is(filling.length, 1, "one root disk fills from below 75 % to above 90 %");
  const filled = filling[0]?.[1] ?? [];
  t.true(filled.every((v, i) => i === 0 || v >= (filled[i - 1] ?? 0)));
  const silent = [...last].filter(([, ts]) => ts < origin + 0.7 * backfill);
  t.is(silent.length, 1, "one host stops at about 60 %");
  t.true((silent[0]?.[1] ?? 0) > origin + 0.5 * backfill);
  t.is(lossy.size, 1, "only one host has lossy events");
  const [lossyHost, lost] = [...lossy][0] ?? ["", 0];
  const share = lost / (count.get(lossyHost) ?? 1);
  t.true(share > 0.01 && share < 0.06, `lossy share ${share}`);
});

test("rate caps events per second, batches of at most 100 ms worth", async (t) => {
  const started = performance.now();
  const { events, batches } = await run(config({ rate: 5000, total: 2000 }));
  const elapsed = performance.now() - started;
  t.is(events.length, 2000);
  // 2000 at 5000/s, less a first burst of 500: about 300 ms.
  t.true(elapsed > 200 && elapsed < 1500, `${elapsed} ms`);
  t.true(batches.every((b) => b.length <= 500));
});

test("real time: the first cycle at once, then one per interval; stop() is prompt", async (t) => {
  const source = createSyntheticSource("syn", config({ hosts: 3, interval: 5_000 }), testContext());
  const sink = collector();
  source.attach(sink.emit);
  await source.start();
  await sleep(50);
  t.is(sink.events.length, 3 * SYNTHETIC_EVENTS_PER_HOST);
  t.true(sink.events.every((e) => e.body.timestamp <= Date.now()));
  const asked = performance.now();
  await source.stop();
  t.true(performance.now() - asked < 100);
  t.is(sink.events.length, 3 * SYNTHETIC_EVENTS_PER_HOST);
});

test("a long backfill can be stopped promptly", async (t) => {
  const source = createSyntheticSource(
    "syn",
    config({ hosts: 100, interval: 10_000, backfill: 30 * 24 * HOUR }),
    testContext(),
  );
  const sink = collector();
  source.attach(sink.emit);
  await source.start();
  await sleep(200);
  const asked = performance.now();
  await source.stop();
  // Bounds for a busy 2-core CI machine; the whole backfill (~26 M events) would take minutes.
  const took = performance.now() - asked;
  t.true(took < 1_000, `stop took ${took} ms`);
  t.true(sink.events.length > 1_000, `${sink.events.length} events before the stop`);
});
