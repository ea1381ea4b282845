/**
 * Collector throughput end to end, as issue 12 (item 7) asks: the built CLI as installed, its
 * whole process, beside a bare kafkajs consumer on the same topic in the same run (the ceiling).
 *
 * Per run: a fresh topic (6 partitions) filled with --records samples of a --hosts fleet (the
 * agent's synthetic fleet generator: the 9 measurements of the sysinfo source per host every
 * 10 s of simulated time, ~9 fields each, ending a few minutes ago; key = host, wire headers
 * with one agent and stream per host), produced with acks=all and timed apart; a fresh Hive
 * database (store.init()). Then:
 * - the collector: `dist/collector/cli.js run -c <yaml>` as its #! line runs it (its node
 *   options apply, as for the installed hostflow-collector) under GNU time, with the
 *   collector's default batch settings and hive.load_via (--load-via; auto picks files on the
 *   local stack: Parquet through WebHDFS, one INSERT into loads per load). Wall time from spawn
 *   to exit; its user+sys CPU and peak RSS (max resident) from GNU time (wait4). Meanwhile the
 *   CPU of the warehouse side (HiveServer2, NameNode, DataNode: the processes listening on their
 *   ports), of Kafka, and of the whole machine, from /proc. Checked: exit 0, its summary line
 *   (every record read, none bad, no lag left), and Hive: the committed loads hold --records
 *   records and the committed metric rows are the run's.
 * - the ceiling: a bare kafkajs consumer (child process, plain kafkajs, fresh group,
 *   fromBeginning, eachBatch counting messages; same maxBytesPerPartition as the collector)
 *   reads the same topic to its end, timed and measured the same way.
 * Topic, groups, database and its HDFS files are removed after each run, and at Ctrl-C.
 *
 * Before the runs, a profile of where the collector's CPU goes: its per-record work replayed in
 * memory on the same records, in this process from the sources (parse+check, aggregate, gap
 * tracking, and at each load the Parquet columns, planParts, in the run's thread, and the files'
 * writing, writeParquet, which a run does in a worker thread; no Kafka, no Hive).
 *
 *   npm run bench -- collector [--records 1000000] [--runs 3] [--hosts 1000]
 *       [--load-via auto|files|statement] [--max-seconds 600] [--no-profile] [--no-build]
 *       [--verbose]
 * --runs 0 prints the profile alone (no Kafka or Hive work): for iterating on the CPU per record.
 *
 * dist/ is rebuilt (npm run build) when older than collector/ or lib/; --no-build exits 2
 * instead. --max-seconds is the run's --max-seconds: a run that has not read everything by then
 * fails the bench. Kafka is KAFKA_BROKERS, HiveServer2 HIVE_HOST/HIVE_PORT, WebHDFS WEBHDFS_URL
 * (default: the local stack's, which npm run bench starts when it is not running).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { type Message, Partitioners } from "kafkajs";
import { pino } from "pino";
import type { AgentEvent } from "../../agent/core/types.js";
import { Fleet, SYNTHETIC_EVENTS_PER_HOST } from "../../agent/sources/synthetic.js";
import { WindowAggregator } from "../../collector/aggregate.js";
import {
  loadCollectorConfigText,
  type ResolvedCollectorConfig,
} from "../../collector/config/load.js";
import { GapTracker, type StreamState } from "../../collector/gaps.js";
import { attemptId, encodeLoad, type GapRow, type LoadUnit } from "../../collector/hive/encode.js";
import { planParts } from "../../collector/hive/parquet.js";
import { writeParquet } from "../../collector/hive/parquet-write.js";
import { HiveStore } from "../../collector/hive/store.js";
import { committedLoads, tableSpecs } from "../../collector/hive/tables.js";
import { checkRecord, type RecordCheckOptions } from "../../collector/records.js";
import { endpointsFromEnv } from "../../lib/endpoints.js";
import { WebHdfs } from "../../lib/hdfs/webhdfs.js";
import { createKafka, createTopicsAndWait } from "../../lib/kafka.js";
import { encodeHeaders, encodeSample, WIRE_SCHEMA_VERSION } from "../../lib/wire.js";
import { stackLayout } from "../stack/layout.js";
import { textTable as table } from "./fleet/stats.js";

const { values: args } = parseArgs({
  options: {
    records: { type: "string", default: "1000000" },
    runs: { type: "string", default: "3" },
    hosts: { type: "string", default: "1000" },
    "load-via": { type: "string", default: "auto" },
    "max-seconds": { type: "string", default: "600" },
    "no-profile": { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
  },
});
const RECORDS = positive("records", args.records);
const RUNS = positive("runs", args.runs, 0);
const HOSTS = positive("hosts", args.hosts);
/** The collector's --max-seconds; the bare consumer gets as long. */
const MAX_SECONDS = positive("max-seconds", args["max-seconds"]);
/** hive.load_via of the runs. */
const LOAD_VIA = args["load-via"];
if (!["auto", "files", "statement"].includes(LOAD_VIA)) {
  console.error(`--load-via ${LOAD_VIA}: expected auto, files or statement`);
  process.exit(2);
}
const PARTITIONS = 6;
const INTERVAL_MS = 10_000;
/** The newest simulated sample is about this old when the run starts. */
const END_AGO_MS = 3 * 60_000;
/** Issue 12: end to end on this 2-core machine, collector and stack sharing it. */
const AIM = 50_000;
/** The collector's consumer fetches this much per partition (collector/run.ts); the bare one too. */
const MAX_BYTES_PER_PARTITION = 4 * 1024 * 1024;
const GNU_TIME = "/usr/bin/time";
const ROOT = path.resolve(import.meta.dirname, "../..");
const CLI = path.join(ROOT, "dist/collector/cli.js");
const endpoints = endpointsFromEnv();
const ports = stackLayout().ports;

function positive(name: string, text: string, least = 1): number {
  const n = Number(text.replace(/[_,]/g, ""));
  if (!Number.isInteger(n) || n < least) {
    console.error(
      `--${name} ${text}: expected a ${least === 0 ? "whole number ≥ 0" : "positive whole number"}`,
    );
    process.exit(2);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// The built CLI: what users run

/** Sources whose build output is missing or older than them (collector/ and lib/). */
function staleSources(): string[] {
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
        const built = path.join(ROOT, "dist", rel.replace(/\.ts$/, ".js"));
        if (!existsSync(built) || statSync(built).mtimeMs < statSync(path.join(ROOT, rel)).mtimeMs)
          stale.push(rel);
      }
    }
  };
  walk("collector");
  walk("lib");
  return stale;
}

function ensureBuilt(): void {
  const stale = staleSources();
  if (stale.length === 0) return;
  const which = `${stale.slice(0, 3).join(", ")}${stale.length > 3 ? ` and ${stale.length - 3} more` : ""}`;
  if (args["no-build"]) {
    console.error(`dist/ is older than ${which}: run npm run build (or leave out --no-build)`);
    process.exit(2);
  }
  console.error(`dist/ is older than ${which}: npm run build`);
  const built = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: ["ignore", 2, 2] });
  if (built.status !== 0) {
    console.error("npm run build failed: the bench times the built CLI, so it stops here");
    process.exit(2);
  }
}

/** Run as installed: npm makes a bin executable, and its #! line carries node's options. */
function ensureExecutable(): void {
  chmodSync(CLI, 0o755);
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
// Kafka topics and groups, Hive databases and their files: removed at the end whatever happens

const cleanups = new Map<string, () => Promise<void>>();
/** Child processes running now (GNU time, with the measured process under it). */
const children = new Set<ChildProcess>();

/** Set at Ctrl-C: what fails after it (a collector killed by the same SIGINT) is not news. */
let interrupted = false;
let cleaning: Promise<void> | undefined;

/** Runs every cleanup still registered, once (the end of main and Ctrl-C may both ask). */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const [name, cleanup] of [...cleanups].reverse()) {
      cleanups.delete(name);
      await cleanup().catch((error: unknown) =>
        console.error(`cleanup of ${name} failed: ${(error as Error).message}`),
      );
    }
  })();
  return cleaning;
}

process.once("SIGINT", () => {
  interrupted = true;
  console.error("interrupted: stopping the bench's processes, removing its topics and databases");
  void (async () => {
    await Promise.all([...children].map((child) => stop(child)));
    await cleanUp();
  })().finally(() => process.exit(130));
});

const uniqueName = (prefix: string) =>
  `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;

async function withAdmin<T>(
  work: (admin: ReturnType<ReturnType<typeof createKafka>["admin"]>) => Promise<T>,
): Promise<T> {
  const admin = createKafka({
    clientId: "hostflow-bench",
    brokers: endpoints.kafkaBrokers,
  }).admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** A fresh topic; removed, with the consumer groups that read it, at the end. */
async function createTopic(topic: string, groups: string[]): Promise<void> {
  // Registered first: an interrupt while the topic is being created still removes it.
  cleanups.set(`topic ${topic}`, () =>
    withAdmin(async (admin) => {
      await admin.deleteTopics({ topics: [topic] });
      // A group that never joined (the run failed before) is not an error.
      await admin.deleteGroups(groups).catch(() => undefined);
    }),
  );
  await withAdmin((admin) => createTopicsAndWait(admin, [{ topic, numPartitions: PARTITIONS }]));
}

async function topicRecords(topic: string): Promise<number> {
  return withAdmin(async (admin) => {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  });
}

/** The collector's config file: endpoints, topic, database; every other setting its default. */
function collectorYaml(topic: string, database: string, dir: string): string {
  return `kafka:
  brokers: [${endpoints.kafkaBrokers.map((b) => JSON.stringify(b)).join(", ")}]
  topics: [${topic}]
  group_id: ${database}
hive:
  host: ${endpoints.hive.host}
  port: ${endpoints.hive.port}
  user: ${JSON.stringify(endpoints.hive.user)}
  password: ${JSON.stringify(endpoints.hive.password)}
  database: ${database}
  webhdfs_url: ${JSON.stringify(endpoints.webHdfs.url)}
  load_via: ${LOAD_VIA}
run:
  lock_file: ${JSON.stringify(path.join(dir, "run.lock"))}
`;
}

const resolvedConfig = (yaml: string, file: string): ResolvedCollectorConfig =>
  loadCollectorConfigText(yaml, file, {}).config;

/** A fresh database with the collector's tables; dropped (and its files deleted) at the end. */
async function createDatabase(config: ResolvedCollectorConfig): Promise<HiveStore> {
  const store = await HiveStore.open(config.hive, pino({ level: "silent" }));
  const database = config.hive.database;
  cleanups.set(`database ${database}`, async () => {
    try {
      await store.dropDatabase(
        new WebHdfs({ url: endpoints.webHdfs.url, user: config.hive.webhdfs_user }),
      );
    } finally {
      await store.close();
    }
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
// CPU from /proc: the warehouse's and Kafka's processes (found by port), the machine

const TICK_S = 0.01; // USER_HZ is 100 on Linux

/** The process listening on a local TCP port, from /proc. */
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

/** The server processes whose CPU a run reports, by the ports they listen on. */
interface ServerPids {
  hiveserver2: number | undefined;
  namenode: number | undefined;
  datanode: number | undefined;
  kafka: number | undefined;
}

function serverPids(): ServerPids {
  const namenode = pidListeningOn(ports.namenode);
  const namenodeHttp = pidListeningOn(Number(new URL(endpoints.webHdfs.url).port || 80));
  if (namenode !== undefined && namenodeHttp !== undefined && namenode !== namenodeHttp) {
    console.error(
      `note: the NameNode RPC port ${ports.namenode} (pid ${namenode}) and WebHDFS (pid ${namenodeHttp}) are different processes; counting the RPC one`,
    );
  }
  return {
    hiveserver2: pidListeningOn(endpoints.hive.port),
    namenode: namenode ?? namenodeHttp,
    datanode: pidListeningOn(ports.datanode),
    kafka: pidListeningOn(Number(endpoints.kafkaBrokers[0]?.split(":").pop())),
  };
}

interface ServerCpu {
  hiveserver2: number;
  namenode: number;
  datanode: number;
  kafka: number;
  machine: number;
}

function serverCpu(pids: ServerPids): ServerCpu {
  return {
    hiveserver2: processCpuSeconds(pids.hiveserver2),
    namenode: processCpuSeconds(pids.namenode),
    datanode: processCpuSeconds(pids.datanode),
    kafka: processCpuSeconds(pids.kafka),
    machine: machineBusySeconds(),
  };
}

const cpuDelta = (a: ServerCpu, b: ServerCpu): ServerCpu => ({
  hiveserver2: b.hiveserver2 - a.hiveserver2,
  namenode: b.namenode - a.namenode,
  datanode: b.datanode - a.datanode,
  kafka: b.kafka - a.kafka,
  machine: b.machine - a.machine,
});

const warehouse = (c: ServerCpu) => c.hiveserver2 + c.namenode + c.datanode;

// ---------------------------------------------------------------------------------------------
// A child process under GNU time: wall from spawn to exit, user+sys CPU, peak RSS

interface Timed {
  code: number | null;
  /** GNU time's last line, when it is not the figures (e.g. "Command terminated by signal 9"). */
  note: string | undefined;
  wall: number;
  user: number;
  sys: number;
  rssKb: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Pids of `pid`'s children, from /proc. */
function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, "utf8")
        .trim()
        .split(/\s+/)
        .filter((p) => p !== "")
        .map(Number),
    );
  } catch {
    return [];
  }
}

/** SIGTERM to the process GNU time runs (time itself would leave it running), then waits. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  for (const pid of childPids(child.pid)) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // gone meanwhile
    }
  }
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
}

function timed(
  command: string[],
  dir: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs: number; onStderrLine?: (line: string) => void },
): Promise<Timed> {
  const figures = path.join(dir, `time-${randomBytes(3).toString("hex")}.txt`);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(GNU_TIME, ["-o", figures, "-f", "%e %U %S %M", ...command], {
      cwd: ROOT,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    let stdout = "";
    let stderr = "";
    let partial = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      const text = partial + chunk.toString("utf8");
      stderr += chunk.toString("utf8");
      const lines = text.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) options.onStderrLine?.(line);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void stop(child);
    }, options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      children.delete(child);
      reject(error);
    });
    child.on("close", (code) => {
      const wall = (performance.now() - started) / 1000;
      clearTimeout(timer);
      children.delete(child);
      const lines = existsSync(figures)
        ? readFileSync(figures, "utf8")
            .split("\n")
            .filter((l) => l.trim() !== "")
        : [];
      const last = lines[lines.length - 1] ?? "";
      const [, user, sys, rss] = last.split(" ").map(Number);
      const ok = /^[\d.]+ [\d.]+ [\d.]+ \d+$/.test(last);
      resolve({
        code,
        note: lines.filter((l) => !/^[\d.]+ [\d.]+ [\d.]+ \d+$/.test(l)).join("; ") || undefined,
        wall,
        user: ok ? (user ?? Number.NaN) : Number.NaN,
        sys: ok ? (sys ?? Number.NaN) : Number.NaN,
        rssKb: ok ? (rss ?? Number.NaN) : Number.NaN,
        stdout,
        stderr,
        timedOut,
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The bare consumer: plain kafkajs, reading and counting, nothing else

const BARE_CONSUMER = `
import kafkajs from "kafkajs";
const { Kafka, logLevel } = kafkajs;
const env = process.env;
const expected = Number(env.BENCH_RECORDS);
const started = Date.now();
const kafka = new Kafka({ clientId: "hostflow-bench-bare", brokers: env.BENCH_BROKERS.split(","), logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: env.BENCH_GROUP, maxBytesPerPartition: Number(env.BENCH_MAX_BYTES) });
let records = 0, first = 0, last = 0;
await consumer.connect();
await consumer.subscribe({ topics: [env.BENCH_TOPIC], fromBeginning: true });
await new Promise((resolve, reject) => {
  consumer.on(consumer.events.CRASH, (e) => { if (!e.payload.restart) reject(e.payload.error); });
  consumer.run({
    eachBatch: async ({ batch }) => {
      if (first === 0) first = Date.now();
      records += batch.messages.length;
      if (records >= expected) { last = Date.now(); resolve(); }
    },
  }).catch(reject);
});
await consumer.disconnect();
process.stdout.write(JSON.stringify({ records, untilFirstMs: first - started, readingMs: last - first }) + "\\n");
`;

interface BareResult {
  timed: Timed;
  records: number;
  /** From its start to its first batch: connect, group join, first fetch. */
  untilFirst: number;
  /** From its first batch to its last. */
  reading: number;
  cpu: ServerCpu;
}

async function bareConsumer(
  topic: string,
  group: string,
  dir: string,
  pids: ServerPids,
): Promise<BareResult> {
  const before = serverCpu(pids);
  const t = await timed([process.execPath, "--input-type=module", "-e", BARE_CONSUMER], dir, {
    env: {
      ...process.env,
      BENCH_BROKERS: endpoints.kafkaBrokers.join(","),
      BENCH_TOPIC: topic,
      BENCH_GROUP: group,
      BENCH_RECORDS: String(RECORDS),
      BENCH_MAX_BYTES: String(MAX_BYTES_PER_PARTITION),
    },
    timeoutMs: MAX_SECONDS * 1000,
  });
  const cpu = cpuDelta(before, serverCpu(pids));
  const line = t.stdout.trim().split("\n").pop() ?? "";
  if (t.code !== 0 || t.timedOut || !line.startsWith("{")) {
    throw new Error(
      `the bare consumer failed (exit ${t.code}${t.timedOut ? `, stopped after ${MAX_SECONDS} s` : ""}${t.note ? `, ${t.note}` : ""}): ${t.stderr.trim().slice(-2000)}`,
    );
  }
  const out = JSON.parse(line) as { records: number; untilFirstMs: number; readingMs: number };
  if (out.records !== RECORDS)
    throw new Error(`the bare consumer read ${out.records} records, expected ${RECORDS}`);
  return {
    timed: t,
    records: out.records,
    untilFirst: out.untilFirstMs / 1000,
    reading: out.readingMs / 1000,
    cpu,
  };
}

// ---------------------------------------------------------------------------------------------
// The collector: the built CLI, one run

interface LogLine {
  time: number;
  level: number;
  msg: string;
  ms?: number;
  filesMs?: number;
  waitedMs?: number;
  bytes?: number;
  files?: number;
  metrics?: number;
  via?: string;
}

/** Numbers of `run done: 1000000 records, 0 bad, 2 loads, 123 rows, 45 windows, …, lag left 0`. */
interface Summary {
  line: string;
  records: number;
  bad: number;
  loads: number;
  rows: number;
  windows: number;
  lagLeft: number;
  stoppedBy: string | undefined;
}

function parseSummary(stdout: string): Summary | undefined {
  const line = stdout
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("run done: "));
  if (line === undefined) return undefined;
  const num = (what: RegExp) => Number(what.exec(line)?.[1] ?? Number.NaN);
  return {
    line,
    records: num(/(\d+) records,/),
    bad: num(/(\d+) bad/),
    loads: num(/(\d+) loads/),
    rows: num(/(\d+) rows/),
    windows: num(/(\d+) windows/),
    lagLeft: num(/lag left (\d+)/),
    stoppedBy: /stopped by ([\w-]+)/.exec(line)?.[1],
  };
}

interface CollectorResult {
  timed: Timed;
  summary: Summary;
  via: string;
  cpu: ServerCpu;
  /** Spawn to the loader chosen ("loading via …"): node, modules, config, Hive session, probe. */
  open: number;
  /** Spawn to the run's "run starts": then leftover attempts, offsets, stream states. */
  setup: number;
  /** "run starts" to the partitions assigned. */
  join: number;
  /** Seconds of each load, from its start to its commit (files written in the background). */
  loadSeconds: number[];
  /** Seconds reading stood still for each load (its commit, and its files when not in place). */
  waitedSeconds: number[];
  loadBytes: number;
  loadFiles: number;
  /** After the last load to exit. */
  end: number;
  /** The rest: fetching, parsing, checking, aggregating, the Parquet columns. */
  consume: number;
}

async function collectorRun(yamlFile: string, dir: string, pids: ServerPids) {
  const lines: LogLine[] = [];
  const say = (text: string) => process.stderr.write(`  [collector] ${text}\n`);
  const before = serverCpu(pids);
  const spawned = Date.now();
  const t = await timed([CLI, "run", "-c", yamlFile, "--max-seconds", String(MAX_SECONDS)], dir, {
    env: { ...process.env, HOSTFLOW_LOG_FORMAT: "json" },
    // The collector stops itself at --max-seconds; this is for a run that hangs after.
    timeoutMs: (MAX_SECONDS + 300) * 1000,
    onStderrLine: (text) => {
      if (!text.startsWith("{")) {
        if (text.trim() !== "") say(text);
        return;
      }
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        say(text);
        return;
      }
      lines.push(line);
      if (args.verbose) say(`+${s1((line.time - spawned) / 1000)} s ${text}`);
      else if (line.level >= 40 || /^(progress|loaded|loading via)/.test(line.msg)) say(line.msg);
    },
  });
  const exited = spawned + t.wall * 1000;
  const cpu = cpuDelta(before, serverCpu(pids));
  const summary = parseSummary(t.stdout);
  const problems: string[] = [];
  if (t.timedOut) problems.push(`it hung and was stopped after ${MAX_SECONDS + 300} s`);
  if (t.code !== 0) problems.push(`exit ${t.code}${t.note ? ` (${t.note})` : ""}`);
  if (summary === undefined) problems.push("no summary line on stdout");
  else {
    if (summary.records !== RECORDS) problems.push(`read ${summary.records} of ${RECORDS} records`);
    if (summary.bad !== 0) problems.push(`${summary.bad} bad records`);
    if (summary.lagLeft !== 0) problems.push(`lag left ${summary.lagLeft}`);
    if (summary.stoppedBy !== undefined) problems.push(`stopped by ${summary.stoppedBy}`);
  }
  if (problems.length > 0 || summary === undefined) {
    const errors = lines
      .filter((l) => l.level >= 40)
      .map((l) => l.msg)
      .slice(-5);
    throw new Error(
      `the collector's run failed: ${problems.join(", ")}; ${summary?.line ?? t.stdout.trim().slice(-500)}` +
        `${errors.length > 0 ? `; its last warnings and errors: ${errors.join(" | ")}` : ""}`,
    );
  }
  const loaded = lines.filter((l) => l.msg.startsWith("loaded ") && l.ms !== undefined);
  const runStarts = lines.find((l) => l.msg.startsWith("run starts"))?.time ?? spawned;
  const opened = lines.find((l) => l.msg.startsWith("loading via"))?.time ?? runStarts;
  const assigned = lines.find((l) => l.msg.startsWith("assigned "))?.time ?? runStarts;
  const lastLoad = loaded[loaded.length - 1]?.time ?? exited;
  const loadSeconds = loaded.map((l) => (l.ms ?? 0) / 1000);
  const waitedSeconds = loaded.map((l) => (l.waitedMs ?? l.ms ?? 0) / 1000);
  const setup = (runStarts - spawned) / 1000;
  const join = (assigned - runStarts) / 1000;
  const end = (exited - lastLoad) / 1000;
  const result: CollectorResult = {
    timed: t,
    summary,
    via: lines.find((l) => l.msg.startsWith("loading via"))?.via ?? "?",
    cpu,
    open: (opened - spawned) / 1000,
    setup,
    join,
    loadSeconds,
    waitedSeconds,
    loadBytes: loaded.reduce((n, l) => n + (l.bytes ?? 0), 0),
    loadFiles: loaded.reduce((n, l) => n + (l.files ?? 0), 0),
    end,
    consume: t.wall - setup - join - sum(waitedSeconds) - end,
  };
  return result;
}

/** What Hive holds after the run: committed loads, their records, the committed metric rows. */
async function committedInHive(store: HiveStore, database: string) {
  const committed = committedLoads(database, store.specs.loads.name);
  const loads = await store.query<{ loads: number; records: number; bad: number }>(
    `SELECT COUNT(DISTINCT l.load_id) AS loads, SUM(l.records) AS records, SUM(l.bad) AS bad ` +
      `FROM ${database}.${store.specs.loads.name} l LEFT SEMI JOIN ${committed} c ON (l.load_id = c.load_id)`,
  );
  const metrics = await store.query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM ${database}.${store.specs.metrics.name} b ` +
      `LEFT SEMI JOIN ${committed} c ON (b.load_id = c.load_id)`,
  );
  const row = loads.rows[0];
  return {
    loads: Number(row?.loads ?? -1),
    records: Number(row?.records ?? -1),
    bad: Number(row?.bad ?? -1),
    metricRows: Number(metrics.rows[0]?.n ?? -1),
  };
}

// ---------------------------------------------------------------------------------------------
// One run: topic, database, the collector, the bare consumer, checks

interface RunResult {
  produceSeconds: number;
  produceBytes: number;
  initSeconds: number;
  collector: CollectorResult;
  bare: BareResult;
  hive: Awaited<ReturnType<typeof committedInHive>>;
  checkSeconds: number;
}

async function once(run: number, pids: ServerPids): Promise<RunResult> {
  const dir = mkdtempSync(path.join(tmpdir(), "hostflow-bench-"));
  cleanups.set(`directory ${dir}`, async () => rmSync(dir, { recursive: true, force: true }));
  const topic = uniqueName(`hf_bench_collector_${run}`);
  const database = uniqueName(`hf_bench_${run}`);
  const bareGroup = `${database}_bare`;
  const yamlFile = path.join(dir, "collector.yaml");
  const yaml = collectorYaml(topic, database, dir);
  writeFileSync(yamlFile, yaml);
  const config = resolvedConfig(yaml, yamlFile);

  await createTopic(topic, [database, bareGroup]);
  const produced = await produce(topic, Date.now() - END_AGO_MS);
  const inTopic = await topicRecords(topic);
  if (inTopic !== RECORDS)
    throw new Error(`${topic} holds ${inTopic} records, expected ${RECORDS}`);
  let t = performance.now();
  const store = await createDatabase(config);
  const initSeconds = (performance.now() - t) / 1000;

  const collector = await collectorRun(yamlFile, dir, pids);
  t = performance.now();
  const hive = await committedInHive(store, database);
  const checkSeconds = (performance.now() - t) / 1000;
  if (hive.records !== RECORDS || hive.bad !== 0 || hive.metricRows !== collector.summary.rows) {
    throw new Error(
      `${database} holds ${hive.records} committed records (${hive.bad} bad) in ${hive.loads} loads and ` +
        `${hive.metricRows} committed metric rows; expected ${RECORDS} records and the run's ${collector.summary.rows} rows`,
    );
  }
  const bare = await bareConsumer(topic, bareGroup, dir, pids);

  await drop(`database ${database}`);
  await drop(`topic ${topic}`);
  await drop(`directory ${dir}`);
  return {
    produceSeconds: produced.seconds,
    produceBytes: produced.bytes,
    initSeconds,
    collector,
    bare,
    hive,
    checkSeconds,
  };
}

// ---------------------------------------------------------------------------------------------
// Profile: the collector's per-record work replayed in memory

interface Profile {
  records: number;
  loads: number;
  rows: number;
  files: number;
  bytes: number;
  generate: number;
  check: number;
  aggregate: number;
  gaps: number;
  encode: number;
  /** Parquet writing: a run does it in its writer thread. */
  write: number;
}

/**
 * What CollectorRun.process and a load do, on the same records, in cycle order, in this
 * process (from the sources): checkRecord, WindowAggregator.add, GapTracker.observe, and at each
 * load (batch_records / batch_bytes) the tracker's finish and the encoding of the load:
 * parquetParts (files) or encodeLoad's statement (statement). Times in ms.
 */
function profile(config: ResolvedCollectorConfig): Profile {
  const files = LOAD_VIA !== "statement";
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
  const out: Profile = {
    records: 0,
    loads: 0,
    rows: 0,
    files: 0,
    bytes: 0,
    generate: 0,
    check: 0,
    aggregate: 0,
    gaps: 0,
    encode: 0,
    write: 0,
  };
  let pending = 0;
  let pendingBytes = 0;
  const load = (final: boolean) => {
    let t = performance.now();
    const found = tracker.finish(Date.now(), final, { midRun: !final });
    out.gaps += performance.now() - t;
    t = performance.now();
    const unit: LoadUnit = {
      loadId: `profile-${out.loads}`,
      groupId: "profile",
      collector: "bench",
      loadedAt: Date.now(),
      metrics: aggregator.rows(),
      raw: [],
      quarantine: [],
      gaps: found.events.map((e): GapRow => ({ ...e, topic: undefined, partition: undefined })),
      streams: found.changed,
      offsets: [
        { topic: "profile", partition: 0, from: 0, next: pending, records: pending, bad: 0 },
      ],
    };
    const id = attemptId(unit.loadId, 1);
    if (files) {
      const { places, jobs } = planParts(unit, specs, id);
      out.encode += performance.now() - t;
      t = performance.now();
      const files = writeParquet(jobs);
      out.write += performance.now() - t;
      out.files += files.length;
      for (const f of files) out.bytes += f.byteLength;
      for (const p of places) if (p.kind === "metrics") out.rows += p.rows;
    } else {
      const encoded = encodeLoad(unit, config.hive.database, specs);
      out.bytes += encoded.statement(id).length;
      out.encode += performance.now() - t;
      out.rows += encoded.rows.metrics;
    }
    out.loads += 1;
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
      if (pending >= config.run.batch_records || pendingBytes >= config.run.batch_bytes) {
        load(false);
      }
    }
    t = performance.now();
  }
  if (pending > 0) load(true);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en") : "n/a");
const s1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");
const s2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "n/a");
const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
/** A median with the spread of the runs: `12.3 (11.0–13.1)`; the value alone for one run. */
function spread(xs: number[], format: (n: number) => string): string {
  const m = format(median(xs));
  return xs.length < 2 ? m : `${m} (${format(Math.min(...xs))}–${format(Math.max(...xs))})`;
}

const rate = (x: RunResult) => RECORDS / x.collector.timed.wall;
const bareRate = (x: RunResult) => RECORDS / x.bare.timed.wall;
const collectorCpu = (x: RunResult) => x.collector.timed.user + x.collector.timed.sys;
const bareCpu = (x: RunResult) => x.bare.timed.user + x.bare.timed.sys;
const cores = cpus().length;

function printRun(run: number, x: RunResult): void {
  const c = x.collector;
  const b = x.bare;
  console.log(
    `\nrun ${run} of ${RUNS}: ${int(RECORDS)} records produced in ${s1(x.produceSeconds)} s ` +
      `(${int(RECORDS / x.produceSeconds)} records/s, ${mb(x.produceBytes)} MB of values); ` +
      `store.init ${s1(x.initSeconds)} s`,
  );
  console.log(
    table([
      ["", "wall s", "records/s", "CPU s", "user+sys", "µs/record", "peak RSS MB"],
      [
        "collector (dist/collector/cli.js run)",
        s1(c.timed.wall),
        int(rate(x)),
        s1(collectorCpu(x)),
        `${s1(c.timed.user)}+${s1(c.timed.sys)}`,
        s1((1e6 * collectorCpu(x)) / RECORDS),
        int(c.timed.rssKb / 1024),
      ],
      [
        "bare kafkajs consumer (ceiling)",
        s1(b.timed.wall),
        int(bareRate(x)),
        s1(bareCpu(x)),
        `${s1(b.timed.user)}+${s1(b.timed.sys)}`,
        s1((1e6 * bareCpu(x)) / RECORDS),
        int(b.timed.rssKb / 1024),
      ],
    ]),
  );
  console.log(`  collector / bare consumer: ${s2(rate(x) / bareRate(x))}`);
  const loads = c.loadSeconds;
  console.log(
    `  collector's time: start to "run starts" ${s1(c.setup)} s (loader ready after ${s1(c.open)} s), group join ${s1(c.join)} s, ` +
      `reading ${s1(c.consume)} s, reading stood still for loads ${s1(sum(c.waitedSeconds))} s ` +
      `(${loads.length} loads: ${c.waitedSeconds.map(s1).join(", ")} s; each from start to commit ${loads.map(s1).join(", ")} s; ` +
      `via ${c.via}, ${c.loadFiles} files, ${mb(c.loadBytes)} MB), ` +
      `after the last load ${s1(c.end)} s`,
  );
  const other = c.cpu.machine - collectorCpu(x) - warehouse(c.cpu) - c.cpu.kafka;
  console.log(
    `  CPU during the collector's run: collector ${s1(collectorCpu(x))} s, warehouse ${s1(warehouse(c.cpu))} s ` +
      `(HiveServer2 ${s1(c.cpu.hiveserver2)}, NameNode ${s1(c.cpu.namenode)}, DataNode ${s1(c.cpu.datanode)}), ` +
      `Kafka ${s1(c.cpu.kafka)} s, other ${s1(other)} s; machine busy ${s2(c.cpu.machine / c.timed.wall)} of ${cores} cores`,
  );
  console.log(
    `  CPU during the bare consumer: consumer ${s1(bareCpu(x))} s, Kafka ${s1(b.cpu.kafka)} s; ` +
      `machine busy ${s2(b.cpu.machine / b.timed.wall)} of ${cores} cores; its first batch after ${s1(b.untilFirst)} s, ` +
      `then ${int(RECORDS / b.reading)} records/s while reading`,
  );
  console.log(
    `  checked: exit 0, "${c.summary.line}"; Hive holds ${int(x.hive.records)} committed records in ` +
      `${plural(x.hive.loads, "load")} and ${int(x.hive.metricRows)} committed metric rows, as the run says (query ${s1(x.checkSeconds)} s)`,
  );
}

function printProfile(p: Profile): void {
  const work = p.check + p.aggregate + p.gaps + p.encode;
  const us = (ms: number) => s2((1000 * ms) / p.records);
  const share = (ms: number) => `${Math.round((100 * ms) / work)} %`;
  console.log(
    `\nprofile: the collector's per-record work replayed in memory on the same records ` +
      `(this process, from the sources; no Kafka, no Hive): ${plural(p.loads, "load")}, ${int(p.rows)} metric rows, ` +
      (LOAD_VIA === "statement"
        ? `${mb(p.bytes)} MB of statements`
        : `${p.files} Parquet files, ${mb(p.bytes)} MB`),
  );
  console.log(
    table([
      ["", "s", "µs/record", "share"],
      ["parse+check", s1(p.check / 1000), us(p.check), share(p.check)],
      ["aggregate", s1(p.aggregate / 1000), us(p.aggregate), share(p.aggregate)],
      ["gap tracking", s1(p.gaps / 1000), us(p.gaps), share(p.gaps)],
      [
        LOAD_VIA === "statement" ? "statement encode" : "Parquet columns",
        s1(p.encode / 1000),
        us(p.encode),
        share(p.encode),
      ],
      ["total", s1(work / 1000), us(work), `${int(p.records / (work / 1000))} records/s`],
      ...(LOAD_VIA === "statement"
        ? []
        : [["Parquet writing", s1(p.write / 1000), us(p.write), "in the writer thread"]]),
    ]),
  );
  console.log(`  (generating the records: ${s1(p.generate / 1000)} s, not counted)`);
}

function printMedians(results: RunResult[], p: Profile | undefined): void {
  const of = (f: (x: RunResult) => number) => results.map(f);
  const rates = of(rate);
  const met = median(rates) >= AIM;
  const aim = `aim ${int(AIM)}: ${met ? "met" : `NOT met (${Math.round((100 * median(rates)) / AIM)} % of it)`}`;
  const perRecord = of((x) => (1e6 * collectorCpu(x)) / RECORDS);
  const rss = of((x) => x.collector.timed.rssKb / 1024);
  const cpu = (f: (c: ServerCpu) => number) => of((x) => f(x.collector.cpu));
  const busy = of((x) => x.collector.cpu.machine / x.collector.timed.wall);
  const loads = of((x) => sum(x.collector.waitedSeconds));
  const ratio = of((x) => rate(x) / bareRate(x));
  console.log(
    results.length === 1 ? "\none run:" : `\nmedians of ${results.length} runs (min–max):`,
  );
  console.log(
    table([
      ["end to end (collector, spawn to exit)", `${spread(rates, int)} records/s`, aim],
      ["bare kafkajs consumer (ceiling)", `${spread(of(bareRate), int)} records/s`, ""],
      ["collector / bare consumer", spread(ratio, s2), ""],
      ["collector CPU", `${spread(perRecord, s1)} µs/record`, `${spread(of(collectorCpu), s1)} s`],
      ["collector peak RSS", `${spread(rss, int)} MB`, ""],
      [
        "warehouse CPU (HiveServer2+NameNode+DataNode)",
        `${spread(cpu(warehouse), s1)} s`,
        `HiveServer2 ${s1(median(cpu((c) => c.hiveserver2)))}, NameNode ${s1(median(cpu((c) => c.namenode)))}, DataNode ${s1(median(cpu((c) => c.datanode)))}`,
      ],
      [
        "Kafka CPU",
        `${spread(
          cpu((c) => c.kafka),
          s1,
        )} s`,
        `during the bare consumer ${spread(
          of((x) => x.bare.cpu.kafka),
          s1,
        )} s`,
      ],
      ["machine busy during the collector", `${spread(busy, s2)} of ${cores} cores`, ""],
      [
        "reading stood still for loads",
        `${spread(loads, s1)} s`,
        `reading ${s1(median(of((x) => x.collector.consume)))} s, ` +
          `start to "run starts" ${s1(median(of((x) => x.collector.setup)))} s`,
      ],
    ]),
  );
  if (p !== undefined) {
    const work = (p.check + p.aggregate + p.gaps + p.encode) / p.records;
    console.log(
      `  the collector's whole process: ${s1(median(perRecord))} µs/record of CPU; its own per-record work ` +
        `replayed in memory (profile above, this process): ${s1(1000 * work)} µs/record`,
    );
  }
}

async function main(): Promise<void> {
  if (!existsSync(GNU_TIME)) {
    console.error(`${GNU_TIME} (GNU time) is missing: apt-get install time`);
    process.exit(2);
  }
  ensureBuilt();
  ensureExecutable();
  const model =
    /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model;
  console.log(
    `collector: ${int(RECORDS)} records of ${int(HOSTS)} hosts (${SYNTHETIC_EVENTS_PER_HOST} ` +
      `samples per host every ${INTERVAL_MS / 1000} s, ` +
      `${s1((Math.ceil(RECORDS / (HOSTS * SYNTHETIC_EVENTS_PER_HOST)) * INTERVAL_MS) / 60_000)} min ` +
      `of simulated time), ${PARTITIONS} partitions, ${plural(RUNS, "run")}; the built CLI with the collector's ` +
      `default batch settings, hive.load_via ${LOAD_VIA}`,
  );
  const average = loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  console.log(
    `machine: ${cores} × ${model}, node ${process.version}, load average ${average}; ` +
      `kafka ${endpoints.kafkaBrokers.join(",")}, hive ${endpoints.hive.host}:${endpoints.hive.port}, ` +
      `webhdfs ${endpoints.webHdfs.url}`,
  );
  const pids = serverPids();
  const missing = Object.entries(pids)
    .filter(([, pid]) => pid === undefined)
    .map(([name]) => name);
  console.log(
    `aim (issue 12): ≥ ${int(AIM)} records/s end to end, collector and stack sharing the machine; ` +
      `ceiling: a bare kafkajs consumer on the same topic` +
      (missing.length > 0 ? `; no local process found for ${missing.join(", ")} (CPU n/a)` : ""),
  );

  let p: Profile | undefined;
  if (!args["no-profile"]) {
    p = profile(resolvedConfig(collectorYaml("profile", "profile", tmpdir()), "profile.yaml"));
    printProfile(p);
  }

  const results: RunResult[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const x = await once(run, pids);
    results.push(x);
    printRun(run, x);
  }
  if (RUNS > 0) printMedians(results, p);
}

try {
  await main();
  await cleanUp();
} catch (error) {
  // After Ctrl-C the handler above cleans up and exits.
  if (!interrupted) {
    console.error(`\ncollector bench failed: ${(error as Error).message}`);
    await cleanUp();
    process.exitCode = 1;
  }
}
