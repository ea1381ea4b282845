/**
 * Collector throughput end to end. Per run: a fresh topic (6 partitions) filled with --records
 * samples of a --hosts fleet (the agent's synthetic fleet generator: the 9 measurements of the
 * sysinfo source per host every 10 s of simulated time, ~9 fields each, ending a few minutes
 * ago; key = host, wire headers with one agent and stream per host), produced with acks=all and
 * timed apart; then `runCollector` with the default collector settings on a fresh Hive database
 * (store.init()), timed from the call to its return. Topic, database and group are removed after.
 *
 * Where the time goes comes from the run's own log lines (captured with their timestamps: setup,
 * group join, each load and its statement time) and the CPU the collector, Spark and Kafka used
 * meanwhile (/proc). Two measurements apart explain the rest: the collector's CPU work replayed
 * in memory on the same records (parse and check, aggregate, gap tracking, statement encoding;
 * no Kafka, no Hive) and single load statements of partial rows, timed alone.
 *
 *   npx tsx scripts/bench/collector.ts [--records 1000000] [--runs 3] [--hosts 1000]
 *       [--max-seconds 300] [--statement-bytes 16MiB] [--load-rows 1000,20000,75000]
 *       [--verbose]
 *
 * --max-seconds is the run's --max-seconds: a run that has not read everything by then is
 * reported as incomplete, and the bench stops there. --statement-bytes sets
 * hive.max_statement_bytes (a load starts at 80 % of it; default: the collector's default).
 * --load-rows: the sizes of the single statements. --runs 0 skips the end-to-end runs.
 * HiveServer2 is HIVE_HOST/HIVE_PORT (default: the local stack's), Kafka KAFKA_BROKERS.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import { type Message, Partitioners } from "kafkajs";
import { pino } from "pino";
import type { AgentEvent } from "../../agent/core/types.js";
import { Fleet, SYNTHETIC_EVENTS_PER_HOST } from "../../agent/sources/synthetic.js";
import { type PartialRow, WindowAggregator } from "../../collector/aggregate.js";
import {
  loadCollectorConfigText,
  type ResolvedCollectorConfig,
} from "../../collector/config/load.js";
import { GapTracker, type StreamState } from "../../collector/gaps.js";
import {
  attemptId,
  encodeLoad,
  encodeStagedLoad,
  type GapRow,
  type LoadUnit,
} from "../../collector/hive/encode.js";
import { HiveStore } from "../../collector/hive/store.js";
import { tableSpecs } from "../../collector/hive/tables.js";
import { checkRecord, type RecordCheckOptions } from "../../collector/records.js";
import { type RunSummary, runCollector } from "../../collector/run.js";
import { endpointsFromEnv } from "../../lib/endpoints.js";
import { WebHdfs } from "../../lib/hdfs/webhdfs.js";
import { createKafka, createTopicsAndWait } from "../../lib/kafka.js";
import { encodeHeaders, encodeSample, WIRE_SCHEMA_VERSION } from "../../lib/wire.js";

const { values: args } = parseArgs({
  options: {
    records: { type: "string", default: "1000000" },
    runs: { type: "string", default: "3" },
    hosts: { type: "string", default: "1000" },
    "load-rows": { type: "string", default: "1000,20000,75000" },
    "statement-bytes": { type: "string" },
    "load-via": { type: "string", default: "auto" },
    "max-seconds": { type: "string", default: "300" },
    verbose: { type: "boolean", default: false },
  },
});
const RECORDS = positive("records", args.records);
const RUNS = args.runs === "0" ? 0 : positive("runs", args.runs);
const HOSTS = positive("hosts", args.hosts);
const LOAD_ROWS = args["load-rows"].split(",").map((n) => positive("load-rows", n));
/** A run still reading after this long stops (and the bench reports it as incomplete). */
const MAX_SECONDS = positive("max-seconds", args["max-seconds"]);
/** hive.max_statement_bytes of the runs, when not the collector's default. */
const STATEMENT_BYTES = args["statement-bytes"];
/** hive.load_via of the runs. */
const LOAD_VIA = args["load-via"];
if (!["auto", "files", "statement"].includes(LOAD_VIA)) {
  throw new Error(`--load-via ${LOAD_VIA}: expected auto, files or statement`);
}
const PARTITIONS = 6;
const INTERVAL_MS = 10_000;
/** The newest simulated sample is about this old when the run starts. */
const END_AGO_MS = 3 * 60_000;
const AIM = 50_000;
const endpoints = endpointsFromEnv();

function positive(name: string, text: string): number {
  const n = Number(text.replace(/[_,]/g, ""));
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} ${text}: expected a positive whole number`);
    process.exit(2);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Records

interface WireMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * `total` records of a `hosts` fleet, one array per 10 s cycle, the last sample before `end`.
 * Each host is its own agent (as in production: one agent per host) with one stream, whose
 * sequence numbers run 0, 1, 2 … over the host's records.
 */
function* fleetRecords(total: number, hosts: number, end: number): Generator<WireMessage[]> {
  const perCycle = hosts * SYNTHETIC_EVENTS_PER_HOST;
  const cycles = Math.ceil(total / perCycle);
  const first = Math.floor((end - cycles * INTERVAL_MS) / INTERVAL_MS) * INTERVAL_MS;
  const fleet = new Fleet(
    {
      hosts,
      host_prefix: "sim-",
      interval: INTERVAL_MS,
      seed: 1,
      unhealthy: { cpu_hog: 0, disk_filling: 0, silent: 0, lossy: 0 },
    },
    first,
    cycles * INTERVAL_MS,
  );
  const stream = `events@${first}`;
  const seqs = new Map<string, number>();
  let made = 0;
  for (let t = first; made < total; t += INTERVAL_MS) {
    const events: AgentEvent[] = [];
    fleet.cycle(t, events, total - made);
    made += events.length;
    yield events.map((event) => {
      const host = event.headers.host ?? "";
      const seq = seqs.get(host) ?? 0;
      seqs.set(host, seq + 1);
      return {
        key: host,
        value: encodeSample(event.body),
        headers: encodeHeaders({ schemaVersion: WIRE_SCHEMA_VERSION, agentId: host, stream, seq }),
      };
    });
  }
}

/** Produces the records (acks=all, murmur2 partitioner as the agent's sink); seconds taken. */
async function produce(topic: string, end: number): Promise<{ seconds: number; bytes: number }> {
  const kafka = createKafka({ clientId: "hostflow-bench", brokers: endpoints.kafkaBrokers });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  let bytes = 0;
  const started = performance.now();
  try {
    // The next cycle is generated while the previous one is on its way.
    let inFlight: Promise<unknown> = Promise.resolve();
    for (const cycle of fleetRecords(RECORDS, HOSTS, end)) {
      const messages: Message[] = cycle;
      for (const m of cycle) bytes += m.value.length;
      await inFlight;
      inFlight = producer.send({ topic, acks: -1, messages });
    }
    await inFlight;
  } finally {
    await producer.disconnect();
  }
  return { seconds: (performance.now() - started) / 1000, bytes };
}

// ---------------------------------------------------------------------------------------------
// Kafka topics and Hive databases, removed at the end whatever happens

const cleanups = new Map<string, () => Promise<void>>();

async function cleanUp(): Promise<void> {
  for (const [name, cleanup] of [...cleanups].reverse()) {
    await cleanup().catch((error: unknown) =>
      console.error(`cleanup of ${name} failed: ${(error as Error).message}`),
    );
    cleanups.delete(name);
  }
}

process.once("SIGINT", () => {
  console.error("interrupted: removing the bench topics and databases");
  void cleanUp().finally(() => process.exit(130));
});

const uniqueName = (prefix: string) =>
  `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;

async function createTopic(topic: string): Promise<void> {
  // Registered first: an interrupt while the topic is being created still removes it.
  cleanups.set(`topic ${topic}`, async () => {
    const a = createKafka({ clientId: "hostflow-bench", brokers: endpoints.kafkaBrokers }).admin();
    await a.connect();
    try {
      await a.deleteTopics({ topics: [topic] });
    } finally {
      await a.disconnect();
    }
  });
  const admin = createKafka({
    clientId: "hostflow-bench",
    brokers: endpoints.kafkaBrokers,
  }).admin();
  await admin.connect();
  try {
    await createTopicsAndWait(admin, [{ topic, numPartitions: PARTITIONS }]);
  } finally {
    await admin.disconnect();
  }
}

async function topicRecords(topic: string): Promise<number> {
  const admin = createKafka({
    clientId: "hostflow-bench",
    brokers: endpoints.kafkaBrokers,
  }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** The collector's config for a topic and database: its defaults (the run's limit is --max-seconds). */
function collectorConfig(topic: string, database: string, dir: string): ResolvedCollectorConfig {
  const yaml = `kafka:
  brokers: [${endpoints.kafkaBrokers.map((b) => JSON.stringify(b)).join(", ")}]
  topics: [${topic}]
  group_id: ${database}
hive:
  host: ${endpoints.hive.host}
  port: ${endpoints.hive.port}
  user: ${JSON.stringify(endpoints.hive.user)}
  password: ${JSON.stringify(endpoints.hive.password)}
  database: ${database}
  load_via: ${LOAD_VIA}
${STATEMENT_BYTES === undefined ? "" : `  max_statement_bytes: ${STATEMENT_BYTES}\n`}run:
  lock_file: ${path.join(dir, "run.lock")}
  max_duration: 1h
`;
  return loadCollectorConfigText(yaml, path.join(dir, "collector.yaml"), {}).config;
}

/** A fresh database with the collector's tables (dropped at the end). */
async function createDatabase(config: ResolvedCollectorConfig): Promise<HiveStore> {
  const quiet = pino({ level: "silent" });
  const store = await HiveStore.open(config.hive, quiet);
  const database = config.hive.database;
  cleanups.set(`database ${database}`, async () => {
    await store.dropDatabase(
      process.env.WEBHDFS_URL ? new WebHdfs(endpointsFromEnv().webHdfs) : undefined,
    );
    await store.close();
  });
  await store.init();
  return store;
}

async function drop(name: string): Promise<void> {
  const cleanup = cleanups.get(name);
  cleanups.delete(name);
  await cleanup?.();
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc: this process, the broker and HiveServer2 (by port), the machine

const TICK_S = 0.01; // USER_HZ is 100 on Linux

/** The process listening on a local TCP port (the broker, HiveServer2), from /proc. */
function pidListeningOn(port: number): number | undefined {
  try {
    const inodes = new Set<string>();
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        const local = cols[1] ?? "";
        // State 0A: LISTEN.
        if (
          cols[3] === "0A" &&
          Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16) === port
        )
          inodes.add(cols[9] ?? "");
      }
    }
    for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
          if (inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? "")) return Number(pid);
        } catch {
          // gone meanwhile
        }
      }
    }
  } catch {
    // no /proc
  }
  return undefined;
}

function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
    return (Number(fields[11]) + Number(fields[12])) * TICK_S;
  } catch {
    return Number.NaN;
  }
}

/** Busy CPU seconds of the whole machine (all cores), from /proc/stat. */
function machineBusySeconds(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const [, user, nice, system, _idle, _iowait, irq, softirq, steal] = line
      .split(/\s+/)
      .map(Number);
    return (
      ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) *
      TICK_S
    );
  } catch {
    return Number.NaN;
  }
}

interface CpuSnapshot {
  node: number;
  spark: number;
  kafka: number;
  machine: number;
}

function cpuSnapshot(pids: { spark: number | undefined; kafka: number | undefined }): CpuSnapshot {
  const own = process.cpuUsage();
  return {
    node: (own.user + own.system) / 1e6,
    spark: processCpuSeconds(pids.spark),
    kafka: processCpuSeconds(pids.kafka),
    machine: machineBusySeconds(),
  };
}

const cpuDelta = (a: CpuSnapshot, b: CpuSnapshot): CpuSnapshot => ({
  node: b.node - a.node,
  spark: b.spark - a.spark,
  kafka: b.kafka - a.kafka,
  machine: b.machine - a.machine,
});

// ---------------------------------------------------------------------------------------------
// One run

interface LogLine {
  time: number;
  level: number;
  msg: string;
  ms?: number;
  bytes?: number;
  metrics?: number;
}

/** A logger whose lines are kept (with pino's timestamps); warnings and errors also go to stderr. */
function capturingLogger(lines: LogLine[]) {
  let partial = "";
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = partial + chunk.toString("utf8");
      const parts = text.split("\n");
      partial = parts.pop() ?? "";
      for (const part of parts) {
        if (part === "") continue;
        const line = JSON.parse(part) as LogLine;
        lines.push(line);
        if (line.level >= 40 || args.verbose) process.stderr.write(`${part}\n`);
      }
      done();
    },
  });
  return pino({ level: "info", base: null }, sink);
}

interface RunResult {
  summary: RunSummary;
  seconds: number;
  produceSeconds: number;
  produceBytes: number;
  setup: number;
  join: number;
  loads: number;
  teardown: number;
  consume: number;
  loadBytes: number[];
  loadRows: number[];
  cpu: CpuSnapshot;
  hiveRows: number;
  /** Why the run did not read every record, when it did not. */
  incomplete?: string;
}

async function once(run: number, pids: { spark: number | undefined; kafka: number | undefined }) {
  const dir = mkdtempSync(path.join(tmpdir(), "hostflow-bench-"));
  cleanups.set(`directory ${dir}`, async () => rmSync(dir, { recursive: true, force: true }));
  const topic = uniqueName(`hf_bench_collector_${run}`);
  const database = uniqueName(`hf_bench_${run}`);
  const config = collectorConfig(topic, database, dir);

  await createTopic(topic);
  const produced = await produce(topic, Date.now() - END_AGO_MS);
  const inTopic = await topicRecords(topic);
  if (inTopic !== RECORDS)
    throw new Error(`${topic} holds ${inTopic} records, expected ${RECORDS}`);
  const store = await createDatabase(config);

  const lines: LogLine[] = [];
  const logger = capturingLogger(lines);
  let lastReport = 0;
  let lastDone = 0;
  let lastAdvance = Date.now();
  const before = cpuSnapshot(pids);
  const started = Date.now();
  const summary = await runCollector(config, {
    logger,
    maxSeconds: MAX_SECONDS,
    onProgress: (p) => {
      if (p.done !== lastDone) {
        lastDone = p.done;
        lastAdvance = Date.now();
      }
      if (Date.now() - lastReport < 15_000) return;
      lastReport = Date.now();
      process.stderr.write(
        `  … ${p.done.toLocaleString("en")} of ${p.total.toLocaleString("en")} records read, ${Math.round(p.ratePerSecond).toLocaleString("en")}/s\n`,
      );
    },
  });
  const ended = Date.now();
  const cpu = cpuDelta(before, cpuSnapshot(pids));

  const incomplete =
    summary.records === RECORDS && summary.bad === 0 && summary.stoppedBy === "end"
      ? undefined
      : `read ${int(summary.records)} of ${int(RECORDS)} records (${summary.bad} bad), ` +
        `stopped by ${summary.stoppedBy}, lag left ${int(summary.lagLeft)}; ` +
        `no record read after ${s1((lastAdvance - started) / 1000)} s`;
  const { rows } = await store.query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM ${database}.${store.specs.metrics.name}`,
  );
  const hiveRows = Number(rows[0]?.n ?? -1);
  if (hiveRows !== summary.rows) {
    throw new Error(
      `${database} holds ${hiveRows} metric rows, the run says it wrote ${summary.rows}`,
    );
  }
  await drop(`database ${database}`);
  await drop(`topic ${topic}`);
  await drop(`directory ${dir}`);

  const loaded = lines.filter((l) => l.msg.startsWith("loaded ") && l.ms !== undefined);
  const runStarts = lines.find((l) => l.msg.startsWith("run starts"))?.time ?? started;
  const assigned = lines.find((l) => l.msg.startsWith("assigned "))?.time ?? runStarts;
  const lastLoad = loaded[loaded.length - 1]?.time ?? ended;
  const seconds = (ended - started) / 1000;
  const setup = (runStarts - started) / 1000;
  const join = (assigned - runStarts) / 1000;
  const loads = summary.loadMs.reduce((a, b) => a + b, 0) / 1000;
  const teardown = (ended - lastLoad) / 1000;
  const result: RunResult = {
    summary,
    seconds,
    produceSeconds: produced.seconds,
    produceBytes: produced.bytes,
    setup,
    join,
    loads,
    teardown,
    consume: seconds - setup - join - loads - teardown,
    loadBytes: loaded.map((l) => l.bytes ?? 0),
    loadRows: loaded.map((l) => l.metrics ?? 0),
    cpu,
    hiveRows,
    ...(incomplete === undefined ? {} : { incomplete }),
  };
  return result;
}

// ---------------------------------------------------------------------------------------------
// The collector's CPU work replayed in memory

interface Replay {
  records: number;
  loads: number;
  rows: number;
  /** Metric rows of each load. */
  loadRows: number[];
  statementBytes: number;
  generate: number;
  check: number;
  aggregate: number;
  gaps: number;
  encode: number;
  /** Partial rows of the first loads, for the load statement measurement. */
  sampleRows: PartialRow[];
}

/**
 * What CollectorRun.process and load do per record and per load, on the same records, in
 * cycle order: checkRecord, WindowAggregator.add, GapTracker.observe, and at each load
 * (the run's batch_records / statement size rule) the tracker's finish and encodeLoad.
 */
async function replay(config: ResolvedCollectorConfig): Promise<Replay> {
  const files = config.hive.load_via === "files";
  const started = Date.now();
  const options: RecordCheckOptions = {
    timestampUnit: config.records.timestamp_unit,
    maxBytes: config.records.max_bytes,
    maxAgeMs: config.records.max_age,
    maxFutureMs: config.records.max_future,
    now: started,
  };
  const specs = tableSpecs(config.hive.tables);
  const aggregator = new WindowAggregator(config.aggregation.windows);
  const trackerOptions = { graceMs: config.gaps.grace, maxHolesPerStream: 1_000 };
  const states = new Map<string, StreamState>();
  let tracker = new GapTracker([], trackerOptions);
  const out: Replay = {
    records: 0,
    loads: 0,
    rows: 0,
    loadRows: [],
    statementBytes: 0,
    generate: 0,
    check: 0,
    aggregate: 0,
    gaps: 0,
    encode: 0,
    sampleRows: [],
  };
  let rowBytes = 180;
  let pending = 0;
  let pendingBytes = 0;
  const load = async (final: boolean) => {
    let t = performance.now();
    const found = tracker.finish(Date.now(), final, { midRun: !final });
    out.gaps += performance.now() - t;
    t = performance.now();
    const metrics = aggregator.rows();
    const unit: LoadUnit = {
      loadId: `replay-${out.loads}`,
      groupId: "replay",
      collector: "bench",
      loadedAt: Date.now(),
      metrics,
      raw: [],
      quarantine: [],
      gaps: found.events.map((e): GapRow => ({ ...e, topic: undefined, partition: undefined })),
      streams: found.changed,
      offsets: [
        { topic: "replay", partition: 0, from: 0, next: pending, records: pending, bad: 0 },
      ],
    };
    // The run writes a staged load to a file; here the chunks are only counted.
    const encoded = files
      ? await encodeStagedLoad(
          unit,
          config.hive.database,
          specs,
          config.hive.tables.staging,
          async () => undefined,
        )
      : { ...encodeLoad(unit, config.hive.database, specs), bytes: 0 };
    if (!files) encoded.bytes = encoded.statement(attemptId(unit.loadId, 1)).length;
    out.encode += performance.now() - t;
    const rows = Object.values(encoded.rows).reduce((a, b) => a + b, 0);
    if (rows > 0) rowBytes = Math.max(64, encoded.bytes / rows);
    out.loads += 1;
    out.rows += encoded.rows.metrics;
    out.loadRows.push(encoded.rows.metrics);
    if (args.verbose)
      console.error(`replay load: ${pending} records, ${encoded.rows.metrics} rows`);
    out.statementBytes += encoded.bytes;
    if (out.sampleRows.length < Math.max(...LOAD_ROWS))
      out.sampleRows = out.sampleRows.concat(metrics);
    t = performance.now();
    for (const s of found.changed) states.set(`${s.agentId}\0${s.stream}`, s);
    tracker = new GapTracker([...states.values()], trackerOptions);
    out.gaps += performance.now() - t;
    aggregator.clear();
    pending = 0;
    pendingBytes = 0;
  };
  const CHUNK = 500;
  let t = performance.now();
  for (const cycle of fleetRecords(RECORDS, HOSTS, started - END_AGO_MS)) {
    // As kafkajs hands them over: key, value and header values as Buffers.
    const records = cycle.map((m) => ({
      key: Buffer.from(m.key),
      value: m.value,
      headers: Object.fromEntries(
        Object.entries(m.headers).map(([k, v]) => [k, Buffer.from(v)]),
      ) as Record<string, Buffer>,
    }));
    out.generate += performance.now() - t;
    for (let at = 0; at < records.length; at += CHUNK) {
      const chunk = records.slice(at, at + CHUNK);
      t = performance.now();
      const checked = chunk.map((r) => checkRecord(r.key, r.value, r.headers, options));
      out.check += performance.now() - t;
      t = performance.now();
      for (const c of checked) if (c.ok) aggregator.add(c.host, c.sample);
      out.aggregate += performance.now() - t;
      t = performance.now();
      for (const c of checked) {
        if (c.ok && c.headers !== undefined) {
          const h = c.headers;
          tracker.observe(h.agentId, h.stream, h.seq, c.host, c.sample.timestamp);
        }
      }
      out.gaps += performance.now() - t;
      out.records += chunk.length;
      pending += chunk.length;
      for (const r of chunk) pendingBytes += r.value.length;
      const estimate = aggregator.rowCount * rowBytes;
      if (
        pending >= config.run.batch_records ||
        pendingBytes >= config.run.batch_bytes ||
        (!files && estimate >= config.hive.max_statement_bytes * 0.8)
      ) {
        await load(false);
      }
    }
    t = performance.now();
  }
  if (pending > 0) await load(true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// One load statement, alone

interface StatementTiming {
  rows: number;
  bytes: number;
  encodeMs: number;
  loadMs: number[];
  /** The server's error, when a statement failed (the others of that size are skipped). */
  error?: string;
}

async function loadStatements(rows: PartialRow[], sizes: number[]): Promise<StatementTiming[]> {
  const dir = mkdtempSync(path.join(tmpdir(), "hostflow-bench-"));
  cleanups.set(`directory ${dir}`, async () => rmSync(dir, { recursive: true, force: true }));
  const database = uniqueName("hf_bench_load");
  const config = collectorConfig("unused", database, dir);
  const store = await createDatabase(config);
  const out: StatementTiming[] = [];
  for (const size of sizes) {
    const metrics = Array.from({ length: size }, (_, i) => rows[i % rows.length] as PartialRow);
    const timing: StatementTiming = { rows: size, bytes: 0, encodeMs: 0, loadMs: [] };
    for (let attempt = 0; attempt < 3; attempt++) {
      const loadId = `${database}-${size}-${attempt}`;
      const t = performance.now();
      const encoded = await store.prepare({
        loadId,
        groupId: database,
        collector: "bench",
        loadedAt: Date.now(),
        metrics,
        raw: [],
        quarantine: [],
        gaps: [],
        streams: [],
        offsets: [{ topic: "bench", partition: 0, from: 0, next: size, records: size, bad: 0 }],
      });
      timing.encodeMs = performance.now() - t;
      timing.bytes = encoded.bytes;
      try {
        timing.loadMs.push((await store.load(encoded)).ms);
      } catch (error) {
        timing.error = (error as Error).message;
        break;
      }
    }
    out.push(timing);
  }
  await drop(`database ${database}`);
  await drop(`directory ${dir}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
const int = (n: number) => Math.round(n).toLocaleString("en");
const s1 = (n: number) => n.toFixed(1);
const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
const pct = (part: number, whole: number) => `${Math.round((100 * part) / whole)} %`;

async function main(): Promise<void> {
  const model =
    /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model;
  const settings =
    STATEMENT_BYTES === undefined
      ? "the collector's default settings"
      : `hive.max_statement_bytes ${STATEMENT_BYTES}, otherwise the collector's defaults`;
  console.log(
    `collector: ${int(RECORDS)} records of ${int(HOSTS)} hosts (${SYNTHETIC_EVENTS_PER_HOST} ` +
      `samples per host every ${INTERVAL_MS / 1000} s, ` +
      `${s1((Math.ceil(RECORDS / (HOSTS * SYNTHETIC_EVENTS_PER_HOST)) * INTERVAL_MS) / 60_000)} min ` +
      `of simulated time), ${PARTITIONS} partitions, ${RUNS} runs, ${settings}`,
  );
  const average = loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  console.log(
    `machine: ${cpus().length} × ${model}, node ${process.version}, load average ${average}; ` +
      `kafka ${endpoints.kafkaBrokers.join(",")}, hive ${endpoints.hive.host}:${endpoints.hive.port}`,
  );
  const kafkaPort = Number(endpoints.kafkaBrokers[0]?.split(":").pop());
  const pids = { spark: pidListeningOn(endpoints.hive.port), kafka: pidListeningOn(kafkaPort) };

  // In memory first: the CPU cost of the collector's own work, and rows for the statements.
  const config = collectorConfig("replay", "replay", tmpdir());
  const r = await replay(config);
  const work = r.check + r.aggregate + r.gaps + r.encode;
  console.log(
    `\nin memory, no Kafka or Hive (same records; ${r.loads} loads of ~${int(r.rows / r.loads)} rows, ` +
      `~${mb(r.statementBytes / r.loads)} MB ${config.hive.load_via === "files" ? "files" : "statements"}):`,
  );
  console.log(
    `  parse+check ${s1(r.check / 1000)} s, aggregate ${s1(r.aggregate / 1000)} s, ` +
      `gap tracking ${s1(r.gaps / 1000)} s, encode ${s1(r.encode / 1000)} s ` +
      `= ${s1(work / 1000)} s, ${int(r.records / (work / 1000))} records/s ` +
      `(${s1((1000 * work) / r.records)} µs per record); generating the records: ${s1(r.generate / 1000)} s`,
  );

  // End to end.
  const results: RunResult[] = [];
  for (let run = 0; run < RUNS; run++) {
    const x = await once(run, pids);
    const s = x.summary;
    if (x.incomplete !== undefined) {
      console.log(
        `\nrun ${run + 1} INCOMPLETE after ${s1(x.seconds)} s: ${x.incomplete}; ${s.loads} loads ` +
          `(${int(s.rows)} rows); CPU: collector ${s1(x.cpu.node)} s, spark ${s1(x.cpu.spark)} s`,
      );
      console.log("  the other runs would end the same way: stopping here");
      break;
    }
    results.push(x);
    console.log(
      `\nrun ${run + 1}: ${int(s.records / x.seconds)} records/s, ${s1(x.seconds)} s, ` +
        `${int(s.rows)} rows, ${s.windows} windows, ${s.gaps} gaps, ${s.loads} loads ` +
        `(statement median ${int(median(s.loadMs))} ms, ${int(Math.min(...s.loadMs))}–${int(Math.max(...s.loadMs))}; ` +
        `~${int(median(x.loadRows))} rows, ${mb(median(x.loadBytes))} MB)`,
    );
    console.log(
      `  setup ${s1(x.setup)} s, group join ${s1(x.join)} s, ` +
        `consume+parse+aggregate+encode ${s1(x.consume)} s, loads ${s1(x.loads)} s, end ${s1(x.teardown)} s`,
    );
    console.log(
      `  CPU: collector ${s1(x.cpu.node)} s, spark ${s1(x.cpu.spark)} s, kafka ${s1(x.cpu.kafka)} s, ` +
        `other processes ${s1(x.cpu.machine - x.cpu.node - x.cpu.spark - x.cpu.kafka)} s ` +
        `(machine busy ${s1(x.cpu.machine / x.seconds)} of ${cpus().length} cores)`,
    );
    console.log(
      `  produced before: ${s1(x.produceSeconds)} s, ${int(RECORDS / x.produceSeconds)} records/s, ` +
        `${mb(x.produceBytes)} MB of values`,
    );
  }

  // One load statement alone.
  const statements = await loadStatements(r.sampleRows, LOAD_ROWS);
  console.log("\none load statement alone (fresh database, 3 statements each):");
  for (const st of statements) {
    const what = `  ${int(st.rows)} partial rows, ${mb(st.bytes)} MB:`;
    if (st.error !== undefined) {
      console.log(`${what} FAILED after ${st.loadMs.length} statements: ${st.error}`);
      continue;
    }
    console.log(
      `${what} encode ${int(st.encodeMs)} ms, load median ${int(median(st.loadMs))} ms ` +
        `(${st.loadMs.map(int).join(", ")}), ${int((median(st.loadMs) * 1000) / st.rows)} µs per row`,
    );
  }

  if (results.length === 0) return;
  const m = (f: (x: RunResult) => number) => median(results.map(f));
  const rates = results.map((x) => x.summary.records / x.seconds);
  const allLoads = results.flatMap((x) => x.summary.loadMs);
  const seconds = m((x) => x.seconds);
  const other = (x: RunResult) => x.cpu.machine - x.cpu.node - x.cpu.spark - x.cpu.kafka;
  console.log(
    `\nend to end: median ${int(median(rates))} records/s (runs: ${rates.map(int).join(", ")}); ` +
      `aim ${int(AIM)}: ${median(rates) >= AIM ? "met" : "NOT met"}`,
  );
  console.log(
    `  median ${s1(seconds)} s per run, ${int(m((x) => x.summary.rows))} rows, ` +
      `${m((x) => x.summary.loads)} loads; load statement median ${int(median(allLoads))} ms ` +
      `(all ${allLoads.length}: ${int(Math.min(...allLoads))}–${int(Math.max(...allLoads))} ms)`,
  );
  console.log(
    `  where the time goes (medians): setup ${s1(m((x) => x.setup))} s, group join ${s1(m((x) => x.join))} s, ` +
      `consume+parse+aggregate+encode ${s1(m((x) => x.consume))} s (${pct(
        m((x) => x.consume),
        seconds,
      )}), ` +
      `loads ${s1(m((x) => x.loads))} s (${pct(
        m((x) => x.loads),
        seconds,
      )}), end ${s1(m((x) => x.teardown))} s; ` +
      `the collector's own work alone (in memory): ${s1(work / 1000)} s`,
  );
  console.log(
    `  CPU per run (medians): collector ${s1(m((x) => x.cpu.node))} s, spark ${s1(m((x) => x.cpu.spark))} s, ` +
      `kafka ${s1(m((x) => x.cpu.kafka))} s, other processes ${s1(m(other))} s`,
  );
}

try {
  await main();
} catch (error) {
  if (/OutOfMemoryError/.test((error as Error).message)) {
    console.error(
      "\nHiveServer2 ran out of memory: the Spark Thrift Server keeps each statement's text and plan " +
        "(see BENCHMARKS.md, Collector); restart it, or bench against one that keeps fewer.",
    );
  }
  throw error;
} finally {
  await cleanUp();
}
