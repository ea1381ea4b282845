import test from "ava";
import { loadCollectorConfigText } from "../../collector/config/load.js";
import { Refreshing } from "../../collector/dashboard/data.js";
import { LiveTail } from "../../collector/dashboard/live-tail.js";
import { createLogger } from "../../lib/log.js";
import { encodeHeaders, encodeSample, type Sample } from "../../lib/wire.js";

const MINUTE = 60_000;
const quiet = createLogger("hostflow-test", "silent");

const cpu = (host: string, ts: number, idle: number): Sample => ({
  name: "cpu",
  tags: { host, cpu: "cpu-total" },
  fields: { usage_idle: idle, usage_user: 100 - idle },
  timestamp: ts,
});

test("the tail skips bad records, counts them by reason, and keeps the good ones", (t) => {
  const { config } = loadCollectorConfigText("kafka:\n  brokers: [127.0.0.1:9]\n", "c.yaml", {});
  const tail = new LiveTail(config, quiet);
  const now = Date.now();
  const good = encodeSample(cpu("web-1", now - 1_000, 75));
  const headers = encodeHeaders({ schemaVersion: 1, agentId: "a", stream: "s@1", seq: 0 });
  tail.handleBatch("t", 0, [
    { offset: "0", key: Buffer.from("web-1"), value: good, headers },
    { offset: "1", key: null, value: Buffer.from("{not json") },
    { offset: "2", key: null, value: null },
    {
      offset: "3",
      key: null,
      value: encodeSample({ ...cpu("x", now, 1), tags: { cpu: "cpu-total" } }),
    },
    { offset: "4", key: null, value: encodeSample(cpu("web-2", now - 86_400_000 * 60, 1)) },
  ]);
  // A fetch that was under way again after a reconnect: not counted twice.
  tail.handleBatch("t", 0, [{ offset: "0", key: null, value: good }]);
  const status = tail.status(Date.now());
  t.is(status.records, 5);
  t.is(status.bad, 4);
  t.deepEqual(status.badReasons, {
    "not JSON": 1,
    "empty value (tombstone)": 1,
    "no host": 1,
    timestamp: 1,
  } as Record<string, number>);
  t.is(status.state, "starting");
  t.regex(status.groupId, /^hostflow-collector-dashboard-.+-\d+$/);
  t.deepEqual(
    tail.store.hosts(Date.now(), MINUTE).map((h) => [h.host, h.cpuPercent]),
    [["web-1", 25]],
  );
});

test("Refreshing: a stale answer is given at once while it renews; a failure is kept a ttl", async (t) => {
  let clock = 0;
  let calls = 0;
  let fail = false;
  let release: () => void = () => undefined;
  const gate = () =>
    new Promise<void>((resolve) => {
      release = resolve;
    });
  let wait = Promise.resolve();
  const r = new Refreshing(
    1_000,
    async () => {
      calls++;
      await wait;
      if (fail) throw new Error("hive down");
      return calls;
    },
    50,
    () => clock,
  );
  t.deepEqual(await r.get(), { value: 1, at: 0 });
  clock = 500;
  t.deepEqual(await r.get(), { value: 1, at: 0 }, "fresh: no load");
  t.is(calls, 1);
  clock = 1_500;
  wait = gate();
  t.deepEqual(await r.get(), { value: 1, at: 0 }, "stale: given at once");
  t.is(calls, 2);
  release();
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(await r.get(), { value: 2, at: 1_500 });
  clock = 3_000;
  fail = true;
  wait = Promise.resolve();
  await r.get();
  await new Promise((resolve) => setImmediate(resolve));
  const failed = await r.get();
  t.is(failed.value, 2);
  t.is((failed.error as Error).message, "hive down");
  t.is(calls, 3, "a failure is not retried before the ttl");
  // Nothing to show yet: the first caller waits for the load, at most firstWaitMs.
  const slow = new Refreshing(
    1_000,
    () => new Promise<number>(() => undefined),
    50,
    () => 0,
  );
  const started = Date.now();
  t.deepEqual(await slow.get(), {});
  t.true(Date.now() - started >= 45);
  // The wait counts from the first load's start, not per caller: once it is over, callers get
  // what there is at once (a busy HiveServer2 once made every live answer wait 10 s).
  let at = 0;
  const slower = new Refreshing(
    1_000,
    () => new Promise<number>(() => undefined),
    2_000,
    () => at,
  );
  const first = slower.get();
  at = 2_001;
  const later = Date.now();
  t.deepEqual(await slower.get(), {});
  t.true(Date.now() - later < 1_000, `${Date.now() - later} ms`);
  await first;
});

test("against a Kafka that refuses, the tail says down with the reason, and stops at once (also right after start)", async (t) => {
  const { config } = loadCollectorConfigText("kafka:\n  brokers: [127.0.0.1:9]\n", "c.yaml", {});
  const tail = new LiveTail(config, quiet);
  tail.start();
  const started = Date.now();
  while (tail.status(Date.now()).state !== "down" && Date.now() - started < 20_000)
    await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(tail.status(Date.now()).state, "down");
  t.regex(tail.status(Date.now()).error ?? "", /127\.0\.0\.1:9/);
  const stopping = Date.now();
  await tail.stop();
  t.true(Date.now() - stopping < 5_000, `${Date.now() - stopping} ms to stop`);
  const early = new LiveTail(config, quiet);
  early.start();
  await early.stop();
  t.pass("stopped before its first session got anywhere");
});
