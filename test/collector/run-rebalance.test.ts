/**
 * What a run keeps when its consumer group rebalances, with a scripted Kafka consumer and fakes
 * of Hive and the loader. A member whose run ends leaves the group, and the others are handed
 * its partitions: a run that keeps every partition it had keeps what it read of them and its
 * loads in flight (their commits claim their offsets: claims.ts). A run that loses a partition
 * drops everything not committed and reads it again. So does a loader without offset claims.
 */
import path from "node:path";
import test from "ava";
import type { Kafka } from "kafkajs";
import { pino } from "pino";
import { loadCollectorConfig } from "../../collector/config/load.js";
import type { LoadUnit } from "../../collector/hive/encode.js";
import type { Loader, LoadResult } from "../../collector/hive/load.js";
import type { HiveStore } from "../../collector/hive/store.js";
import { CollectorRun } from "../../collector/run.js";
import { encodeHeaders, encodeSample, WIRE_SCHEMA_VERSION } from "../../lib/wire.js";

const root = path.resolve(import.meta.dirname, "../..");
const TOPIC = "hostflow.metrics";
const PER_PARTITION = 10;

/**
 * Per partition, the first and the next offset of its committed ranges, which must follow each
 * other without a gap or an overlap.
 */
function chains(units: LoadUnit[]): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  const ranges = units
    .flatMap((u) => u.offsets)
    .sort((a, b) => a.partition - b.partition || a.from - b.from);
  for (const o of ranges) {
    const chain = out.get(o.partition);
    if (chain === undefined) out.set(o.partition, [o.from, o.next]);
    else if (chain[1] === o.from) chain[1] = o.next;
    else throw new Error(`partition ${o.partition}: ${o.from}-${o.next} after ${chain.join("-")}`);
  }
  return out;
}

/** Resolves once `done()` holds, checked after each turn of the event loop (bounded). */
async function until(done: () => boolean): Promise<void> {
  for (let turns = 0; !done(); turns++) {
    if (turns > 10_000) throw new Error("the run never placed the partitions it was handed");
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A step of the group's script: a join handing these partitions, or a fetch of one. */
type Step = { join: number[] } | { fetch: number; count: number };

function message(partition: number, offset: number) {
  const host = `host-${partition}`;
  return {
    offset: String(offset),
    key: Buffer.from(host),
    value: encodeSample({
      name: "cpu",
      tags: { host, cpu: "cpu-total" },
      fields: { usage_idle: 50 + offset },
      timestamp: Date.now() - 60_000 + offset,
    }),
    headers: Object.fromEntries(
      Object.entries(
        encodeHeaders({
          schemaVersion: WIRE_SCHEMA_VERSION,
          agentId: host,
          stream: "events@1",
          seq: offset,
        }),
      ).map(([k, v]) => [k, Buffer.from(v)]),
    ),
    timestamp: String(Date.now()),
  };
}

/**
 * A run over two partitions of PER_PARTITION records each, nothing loaded before, driven by
 * `steps`. `otherLoads` says what another member commits before a step (partition → next
 * offset in Hive). Fetches read from where the run last sought.
 */
async function scripted(
  steps: Step[],
  options: {
    claimsOffsets: boolean;
    /** The run reads where partitions were loaded to from files (cheap: at every join). */
    files?: boolean;
    batchRecords?: number;
    otherLoads?: Map<number, Map<number, number>>;
  },
) {
  const { config } = loadCollectorConfig(path.join(root, "conf/collector.yaml"), {});
  const hive = new Map<string, number>();
  const committed: LoadUnit[] = [];
  const abandoned: LoadUnit[] = [];
  const delivered: string[] = [];
  const logs: string[] = [];
  const store = {
    loadedOffsets: async () => new Map(hive),
    streamStates: async () => [],
  } as unknown as HiveStore;
  const loader: Loader = {
    via: options.claimsOffsets ? "files" : "statement",
    claimsOffsets: options.claimsOffsets,
    maxStatementBytes: undefined,
    recover: async () => undefined,
    close: async () => undefined,
    // Files still being written: a load stays in flight until the run needs its commit.
    begin: (unit) => ({
      ready: false,
      commit: async (): Promise<LoadResult> => {
        committed.push(unit);
        for (const o of unit.offsets) hive.set(`${o.topic}:${o.partition}`, o.next);
        const rows = { metrics: 0, raw: 0, quarantine: 0, gaps: 0, streams: 0, loads: 0 };
        return { ms: 1, filesMs: 0, attempts: 1, rows, bytes: 0, files: 0 };
      },
      abandon: async () => {
        abandoned.push(unit);
      },
    }),
  };
  const position = new Map<number, number>();
  const placed = new Set<number>();
  let onJoin: (event: { payload: { memberAssignment: Record<string, number[]> } }) => void = () =>
    undefined;
  const consumer = {
    events: { GROUP_JOIN: "join", CRASH: "crash" },
    on: (name: string, handler: typeof onJoin) => {
      if (name === "join") onJoin = handler;
    },
    connect: async () => undefined,
    subscribe: async () => undefined,
    disconnect: async () => undefined,
    commitOffsets: async () => undefined,
    pause: (what: { partitions: number[] }[]) => {
      for (const { partitions } of what) for (const p of partitions) placed.add(p);
    },
    seek: ({ partition, offset }: { partition: number; offset: string }) => {
      position.set(partition, Number(offset));
      placed.add(partition);
    },
    run: async ({ eachBatch }: { eachBatch: (payload: unknown) => Promise<void> }) => {
      void (async () => {
        for (const [index, step] of steps.entries()) {
          for (const [partition, next] of options.otherLoads?.get(index) ?? []) {
            hive.set(`${TOPIC}:${partition}`, next);
          }
          if ("join" in step) {
            // As kafkajs, fetch once the run placed each partition handed (a seek, or a pause
            // for one read to its end).
            placed.clear();
            onJoin({ payload: { memberAssignment: { [TOPIC]: step.join } } });
            await until(() => step.join.every((p) => placed.has(p)));
            continue;
          }
          const from = position.get(step.fetch) ?? 0;
          const to = Math.min(PER_PARTITION, from + step.count);
          const messages = [];
          for (let offset = from; offset < to; offset++) {
            messages.push(message(step.fetch, offset));
            delivered.push(`${step.fetch}:${offset}`);
          }
          position.set(step.fetch, to);
          await eachBatch({
            batch: { topic: TOPIC, partition: step.fetch, messages },
            heartbeat: async () => undefined,
            resolveOffset: () => undefined,
          });
        }
      })();
    },
  };
  const kafka = {
    consumer: () => consumer,
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      listTopics: async () => [TOPIC],
      fetchTopicOffsets: async () => [
        { partition: 0, low: "0", high: String(PER_PARTITION) },
        { partition: 1, low: "0", high: String(PER_PARTITION) },
      ],
    }),
  } as unknown as Kafka;
  const logger = pino(
    { level: "info" },
    {
      write: (line: string) => {
        logs.push(line);
      },
    },
  );
  const summary = await new CollectorRun(
    {
      ...config,
      kafka: { ...config.kafka, start_from: "earliest" },
      run: { ...config.run, batch_records: options.batchRecords ?? config.run.batch_records },
    },
    { logger, maxSeconds: 20 },
    store,
    loader,
    kafka,
    options.files
      ? { loadedOffsets: async () => new Map(hive), streamStates: async () => [] }
      : undefined,
  ).run();
  const loadedRanges = committed.flatMap((u) =>
    u.offsets.map((o) => `${o.partition}:${o.from}-${o.next}`),
  );
  return { summary, committed, abandoned, delivered, logs: logs.join(""), loadedRanges };
}

test("a run handed a leaving member's partition keeps what it read of its own and loads each record once", async (t) => {
  const r = await scripted(
    [{ join: [0] }, { fetch: 0, count: 5 }, { join: [0, 1] }, { fetch: 0, count: 5 }],
    // The member that leaves loaded partition 1 to its end before it left.
    { claimsOffsets: true, otherLoads: new Map([[2, new Map([[1, PER_PARTITION]])]]) },
  );
  t.is(r.summary.stoppedBy, "end", r.logs);
  t.is(r.summary.records, PER_PARTITION);
  t.deepEqual(r.loadedRanges, [`0:0-${PER_PARTITION}`]);
  t.is(new Set(r.delivered).size, r.delivered.length, `read twice: ${r.delivered.join(" ")}`);
  t.regex(r.logs, /kept its partitions and what it read of them, and gained 1/);
  t.notRegex(r.logs, /dropped and read again/);
});

test("a load in flight when the run gains a partition commits as planned; the partition gained starts where Hive has it", async (t) => {
  const r = await scripted(
    [
      { join: [0] },
      { fetch: 0, count: 4 },
      { join: [0, 1] },
      { fetch: 0, count: 6 },
      { fetch: 1, count: 10 },
    ],
    // A load of 3: the first is sealed (in flight) before the join. The other member loaded
    // partition 1 up to offset 4 before it left.
    {
      claimsOffsets: true,
      batchRecords: 3,
      otherLoads: new Map([[2, new Map([[1, 4]])]]),
    },
  );
  t.is(r.summary.stoppedBy, "end", r.logs);
  t.deepEqual(r.abandoned, []);
  t.is(r.summary.records, PER_PARTITION + PER_PARTITION - 4);
  const p0 = r.delivered.filter((d) => d.startsWith("0:"));
  t.is(p0.length, PER_PARTITION, `partition 0 read twice: ${p0.join(" ")}`);
  t.deepEqual(
    r.delivered.filter((d) => d.startsWith("1:")),
    [4, 5, 6, 7, 8, 9].map((o) => `1:${o}`),
  );
  // Every offset of both partitions loaded once: the ranges chain without overlap.
  t.deepEqual(
    chains(r.committed),
    new Map([
      [0, [0, PER_PARTITION]],
      [1, [4, PER_PARTITION]],
    ]),
  );
});

test("a run that loses a partition drops what it read and its loads in flight, and reads its own again", async (t) => {
  const r = await scripted(
    [
      { join: [0, 1] },
      { fetch: 0, count: 4 },
      { fetch: 1, count: 1 },
      { join: [0] },
      { fetch: 0, count: 10 },
    ],
    // A load of 3 records is in flight and 2 are read when partition 1 goes.
    { claimsOffsets: true, batchRecords: 3 },
  );
  t.is(r.summary.stoppedBy, "end", r.logs);
  t.is(r.abandoned.length, 1, "the load in flight at the rebalance was abandoned");
  t.regex(r.logs, /dropped and read again/);
  t.deepEqual(chains(r.committed), new Map([[0, [0, PER_PARTITION]]]));
  t.is(r.delivered.filter((d) => d.startsWith("0:")).length, 4 + PER_PARTITION);
  t.is(r.summary.records, PER_PARTITION);
});

test("without offset claims (statements), a run drops what it read at every rebalance, a gain too", async (t) => {
  const r = await scripted(
    [{ join: [0] }, { fetch: 0, count: 5 }, { join: [0, 1] }, { fetch: 0, count: 10 }],
    { claimsOffsets: false, otherLoads: new Map([[2, new Map([[1, PER_PARTITION]])]]) },
  );
  t.is(r.summary.stoppedBy, "end", r.logs);
  t.regex(r.logs, /dropped and read again/);
  t.is(r.delivered.filter((d) => d.startsWith("0:")).length, PER_PARTITION + 5);
  t.deepEqual(r.loadedRanges, [`0:0-${PER_PARTITION}`]);
});

test("each join reads where Hive has the partitions: a load the previous owner committed after the run's start is not read again", async (t) => {
  const r = await scripted([{ join: [0, 1] }, { fetch: 0, count: 10 }, { fetch: 1, count: 10 }], {
    claimsOffsets: true,
    files: true,
    // Committed by the member that owned partition 0 before, after this run read Hive.
    otherLoads: new Map([[0, new Map([[0, 4]])]]),
  });
  t.is(r.summary.stoppedBy, "end", r.logs);
  t.deepEqual(
    chains(r.committed),
    new Map([
      [0, [4, PER_PARTITION]],
      [1, [0, PER_PARTITION]],
    ]),
  );
  t.is(r.delivered.filter((d) => d.startsWith("0:")).length, PER_PARTITION - 4);
});

test("a partition the run kept but another member loaded past meanwhile: the run drops what it read and starts from Hive", async (t) => {
  const r = await scripted(
    [
      { join: [0, 1] },
      { fetch: 0, count: 4 },
      { join: [0, 1] },
      { fetch: 0, count: 10 },
      { fetch: 1, count: 10 },
    ],
    // While this run's session had expired unseen, another member loaded partition 0 to 6.
    { claimsOffsets: true, files: true, otherLoads: new Map([[2, new Map([[0, 6]])]]) },
  );
  t.is(r.summary.stoppedBy, "end", r.logs);
  t.regex(r.logs, /dropped and read again/);
  t.regex(r.logs, /"loadedByAnother":\["hostflow.metrics:0"\]/);
  t.deepEqual(
    chains(r.committed),
    new Map([
      [0, [6, PER_PARTITION]],
      [1, [0, PER_PARTITION]],
    ]),
  );
});
