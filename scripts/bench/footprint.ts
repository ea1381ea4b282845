/**
 * The agent's cost on a server, side by side with collectd and Telegraf in the same runs: each
 * samples this host's cpu, mem, swap, system/load, disk/df, diskio, net/interface and processes
 * every --intervals seconds and produces them to the same Kafka. All three run at once, so that
 * they share the machine's conditions; every figure comes from /proc, for the process tree:
 *
 * - CPU: utime+stime (/proc/PID/stat, clock ticks) and the scheduler's run time summed over the
 *   threads (/proc/PID/task/N/schedstat, ns), over the window after the warm-up; per second
 *   and per sample cycle.
 * - wake-ups: voluntary + nonvoluntary context switches of every thread per second.
 * - RSS: steady = median of one reading a second in the window; peak = VmHWM (from start).
 * - first sample: from spawn until the agent's topic holds a new record (delivery included),
 *   and the CPU time spent by then (start-up cost, which contention does not stretch).
 * Medians of --runs runs, with the smallest and largest.
 *
 *   npx tsx scripts/bench/footprint.ts [--intervals 10,1] [--runs 3] [--minutes 2] [--warmup 30]
 *     [--agents hostflow,collectd,telegraf] [--no-build]
 *   (agents: hostflow (the bundle), hostflow-dist (the tsc build), kafkajs (a bare producer:
 *   the ceiling of a start), collectd, telegraf)
 *
 * hostflow is the agent as the package installs it: `npm run build`, the bundle
 * (dist/package/hostflow-agent.mjs), run as its #! line says (the node options apply), with
 * conf/agent.yaml (at 1 s: the same file with interval 1s and jitter 0s). collectd needs Debian's
 * collectd-core, librdkafka1 and libyajl2 (the bench says so when they are missing); Telegraf
 * 1.36.4 is built into .stack/tools with `go install` when Go is there.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Admin } from "kafkajs";
import { endpointsFromEnv } from "../../lib/endpoints.js";
import { createKafka, createTopicsAndWait } from "../../lib/kafka.js";
import { projectRoot } from "../../lib/project.js";
import { sleep } from "../../lib/timeout.js";
import { stackLayout } from "../stack/layout.js";

const { values: args } = parseArgs({
  options: {
    intervals: { type: "string", default: "10,1" },
    runs: { type: "string", default: "3" },
    minutes: { type: "string", default: "2" },
    warmup: { type: "string", default: "30" },
    agents: { type: "string", default: "hostflow,collectd,telegraf" },
    "no-build": { type: "boolean", default: false },
  },
});
const INTERVALS = args.intervals.split(",").map(Number);
const RUNS = Number(args.runs);
const WINDOW_S = Number(args.minutes) * 60;
const WARMUP_S = Number(args.warmup);
const WANTED = args.agents.split(",");
const brokers = endpointsFromEnv().kafkaBrokers;
const root = projectRoot();
const TELEGRAF_VERSION = "v1.36.4";
const TELEGRAF_TAGS =
  "custom,inputs.cpu,inputs.mem,inputs.swap,inputs.system,inputs.disk,inputs.diskio,inputs.net,inputs.processes,outputs.kafka,outputs.file,serializers.json";
const COLLECTD = "/usr/sbin/collectd";
const WRITE_KAFKA = "/usr/lib/collectd/write_kafka.so";

interface AgentSpec {
  name: string;
  topic: string;
  /** Writes its config into `dir` and returns the command. */
  command(interval: number, dir: string): Promise<{ argv: string[]; env?: NodeJS.ProcessEnv }>;
}

const say = (line: string) => console.log(`[footprint] ${line}`);

/**
 * The agent as installed. `hostflow`: the package's bundle (`npm run package` installs
 * dist/package/hostflow-agent.mjs as /usr/bin/hostflow-agent), built here with the same code;
 * `hostflow-dist`: the tsc build's bin dist/agent/cli.js (before the package: scripts/install-agent.sh
 * linked it). Both run as their #! line says, so its node options apply as under systemd.
 */
function hostflow(from: "bundle" | "dist"): AgentSpec | undefined {
  const name = from === "bundle" ? "hostflow" : "hostflow-dist";
  const cli = path.join(
    root,
    from === "bundle" ? "dist/package/hostflow-agent.mjs" : "dist/agent/cli.js",
  );
  if (!args["no-build"]) {
    say(`npm run build${from === "bundle" ? " and the bundle" : ""} (${path.relative(root, cli)})`);
    const built = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
    if (built.status !== 0) throw new Error("npm run build failed");
    if (from === "bundle") {
      const bundled = spawnSync(
        process.execPath,
        ["--import", "tsx", "scripts/package.ts", "--only", "bundle"],
        { cwd: root, stdio: "inherit" },
      );
      if (bundled.status !== 0) throw new Error("the bundle failed");
    }
  }
  if (!existsSync(cli)) {
    say(`${name}: ${cli} is missing; run npm run ${from === "bundle" ? "package" : "build"}`);
    return undefined;
  }
  chmodSync(cli, 0o755);
  const topic = from === "bundle" ? "hostflow.metrics" : "hf_footprint_hostflow_dist";
  return {
    name,
    topic,
    async command(interval, dir) {
      const text = await readFile(path.join(root, "conf/agent.yaml"), "utf8");
      let changed = text.replace(/^(\s+topic:) hostflow\.metrics$/m, `$1 ${topic}`);
      if (interval !== 10) {
        changed = changed
          .replace(/^(\s+interval:) 10s/m, `$1 ${interval}s`)
          .replace(/^(\s+jitter:) 1s/m, "$1 0s");
      }
      if (!changed.includes(`topic: ${topic}`) || !changed.includes(`interval: ${interval}s`))
        throw new Error("conf/agent.yaml: interval 10s / jitter 1s / topic not found");
      const conf = path.join(dir, "agent.yaml");
      await writeFile(conf, changed);
      return {
        argv: [cli, "run", "-c", conf],
        env: { ...process.env, HOSTFLOW_DATA_DIR: dir, KAFKA_BROKERS: brokers.join(",") },
      };
    },
  };
}

/**
 * The ceiling of a start: a bare kafkajs producer (scripts/bench/kafkajs-producer.mjs, plain
 * node, no hostflow code) that connects and sends one record per interval to the same broker
 * with acks=all. Its start to first record is what node and kafkajs alone take here.
 */
function kafkajs(): AgentSpec {
  return {
    name: "kafkajs",
    topic: "hf_footprint_kafkajs",
    async command(interval) {
      return {
        argv: [
          process.execPath,
          path.join(root, "scripts/bench/kafkajs-producer.mjs"),
          brokers.join(","),
          "hf_footprint_kafkajs",
          String(interval * 1000),
        ],
      };
    },
  };
}

function collectd(): AgentSpec | undefined {
  if (!existsSync(COLLECTD) || !existsSync(WRITE_KAFKA)) {
    say(
      "collectd: not installed; on Debian: apt-get install -y collectd-core librdkafka1 libyajl2 (left out)",
    );
    return undefined;
  }
  return {
    name: "collectd",
    topic: "hf_footprint_collectd",
    async command(interval, dir) {
      const conf = path.join(dir, "collectd.conf");
      await writeFile(
        conf,
        `FQDNLookup false
Interval ${interval}
BaseDir "${dir}"
PIDFile "${dir}/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel warning
  File "${dir}/collectd.log"
</Plugin>
LoadPlugin cpu
<Plugin cpu>
  ReportByCpu true
  ReportByState true
  ValuesPercentage true
</Plugin>
LoadPlugin memory
LoadPlugin swap
LoadPlugin load
LoadPlugin df
LoadPlugin disk
LoadPlugin interface
LoadPlugin processes
LoadPlugin write_kafka
<Plugin write_kafka>
  Property "metadata.broker.list" "${brokers.join(",")}"
  <Topic "hf_footprint_collectd">
    Format JSON
  </Topic>
</Plugin>
`,
      );
      return { argv: [COLLECTD, "-f", "-C", conf] };
    },
  };
}

function telegraf(): AgentSpec | undefined {
  const tools = path.join(stackLayout().root, "tools");
  const binary = path.join(tools, "telegraf");
  if (!existsSync(binary)) {
    const go = spawnSync("go", ["version"]);
    if (go.status !== 0) {
      say(
        `telegraf: not built and no Go toolchain; install Go, or put a telegraf ${TELEGRAF_VERSION} binary at ${binary} (left out)`,
      );
      return undefined;
    }
    say(`telegraf: building ${TELEGRAF_VERSION} into ${tools} (about a minute)`);
    const built = spawnSync(
      "go",
      [
        "install",
        "-tags",
        TELEGRAF_TAGS,
        `github.com/influxdata/telegraf/cmd/telegraf@${TELEGRAF_VERSION}`,
      ],
      {
        cwd: tmpdir(),
        stdio: "inherit",
        env: { ...process.env, GOBIN: tools, GOFLAGS: "-mod=mod" },
      },
    );
    if (built.status !== 0) {
      say("telegraf: go install failed (left out)");
      return undefined;
    }
  }
  return {
    name: "telegraf",
    topic: "hf_footprint_telegraf",
    async command(interval, dir) {
      const conf = path.join(dir, "telegraf.conf");
      // Collection and flush every interval, no rounding or jitter: one delivery per cycle, like
      // the other two.
      await writeFile(
        conf,
        `[agent]
  interval = "${interval}s"
  round_interval = false
  collection_jitter = "0s"
  flush_interval = "${interval}s"
  flush_jitter = "0s"
  quiet = true
  logfile = "${dir}/telegraf.log"
[[outputs.kafka]]
  brokers = [${brokers.map((b) => `"${b}"`).join(", ")}]
  topic = "hf_footprint_telegraf"
  data_format = "json"
[[inputs.cpu]]
  percpu = true
  totalcpu = true
[[inputs.mem]]
[[inputs.swap]]
[[inputs.system]]
[[inputs.disk]]
[[inputs.diskio]]
[[inputs.net]]
[[inputs.processes]]
`,
      );
      return { argv: [binary, "--config", conf] };
    },
  };
}

/** /proc readings of a process and its descendants. */
interface Reading {
  ticks: number;
  schedNs: number;
  switches: number;
  rssKb: number;
  hwmKb: number;
}

async function tree(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = parents.get(ppid) ?? [];
    list.push(Number(entry));
    parents.set(ppid, list);
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(parents.get(out[i] as number) ?? []));
  return out;
}

async function read(pid: number): Promise<Reading> {
  const r: Reading = { ticks: 0, schedNs: 0, switches: 0, rssKb: 0, hwmKb: 0 };
  for (const p of await tree(pid)) {
    const stat = await readFile(`/proc/${p}/stat`, "utf8").catch(() => undefined);
    if (stat === undefined) continue;
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    r.ticks += Number(fields[11]) + Number(fields[12]);
    const status = await readFile(`/proc/${p}/status`, "utf8").catch(() => "");
    r.rssKb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    r.hwmKb += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    for (const task of await readdir(`/proc/${p}/task`).catch(() => [] as string[])) {
      const sched = await readFile(`/proc/${p}/task/${task}/schedstat`, "utf8").catch(() => "0");
      r.schedNs += Number(sched.split(" ")[0]);
      const ts = await readFile(`/proc/${p}/task/${task}/status`, "utf8").catch(() => "");
      r.switches += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(ts)?.[1] ?? 0);
      r.switches += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(ts)?.[1] ?? 0);
    }
  }
  return r;
}

async function endOffset(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

interface Result {
  cpuMsPerS: number;
  schedMsPerS: number;
  cpuMsPerCycle: number;
  wakeupsPerS: number;
  steadyRssMb: number;
  peakRssMb: number;
  firstSampleS: number;
  startCpuMs: number;
  recordsPerCycle: number;
}

const TICK_MS = 1000 / Number(spawnSync("getconf", ["CLK_TCK"]).stdout.toString().trim() || 100);

async function runOnce(
  specs: AgentSpec[],
  interval: number,
  admin: Admin,
): Promise<Map<string, Result>> {
  const started: { spec: AgentSpec; child: ChildProcess; dir: string; at: number; from: number }[] =
    [];
  try {
    for (const spec of specs) {
      const dir = await mkdtemp(path.join(tmpdir(), `hf-footprint-${spec.name}-`));
      const { argv, env } = await spec.command(interval, dir);
      const from = await endOffset(admin, spec.topic);
      const [bin, ...rest] = argv as [string, ...string[]];
      const child = spawn(bin, rest, {
        env: env ?? process.env,
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr?.on("data", (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      child.on("exit", (code, signal) => {
        if (signal !== "SIGTERM" && code !== 0)
          say(`${spec.name} exited (${code ?? signal}): ${stderr}`);
      });
      started.push({ spec, child, dir, at: performance.now(), from });
    }
    const first = new Map<string, number>();
    /** CPU ms spent until the first record was seen: start-up cost, whatever the contention. */
    const firstCpu = new Map<string, number>();
    const deadline = performance.now() + Math.max(30, 3 * interval) * 1000;
    while (first.size < started.length && performance.now() < deadline) {
      for (const s of started) {
        if (first.has(s.spec.name)) continue;
        if ((await endOffset(admin, s.spec.topic)) > s.from) {
          first.set(s.spec.name, (performance.now() - s.at) / 1000);
          firstCpu.set(s.spec.name, (await read(s.child.pid as number)).schedNs / 1e6);
        }
      }
      await sleep(20);
    }
    await sleep(WARMUP_S * 1000);
    const begin = new Map<string, { reading: Reading; offset: number }>();
    for (const s of started) {
      begin.set(s.spec.name, {
        reading: await read(s.child.pid as number),
        offset: await endOffset(admin, s.spec.topic),
      });
    }
    const t0 = performance.now();
    const rss = new Map<string, number[]>(started.map((s) => [s.spec.name, []]));
    while (performance.now() - t0 < WINDOW_S * 1000) {
      await sleep(1000);
      for (const s of started) {
        rss.get(s.spec.name)?.push((await read(s.child.pid as number)).rssKb);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const results = new Map<string, Result>();
    for (const s of started) {
      const end = await read(s.child.pid as number);
      const b = begin.get(s.spec.name) as { reading: Reading; offset: number };
      const records = (await endOffset(admin, s.spec.topic)) - b.offset;
      const cycles = seconds / interval;
      const cpuMs = (end.ticks - b.reading.ticks) * TICK_MS;
      results.set(s.spec.name, {
        cpuMsPerS: cpuMs / seconds,
        schedMsPerS: (end.schedNs - b.reading.schedNs) / 1e6 / seconds,
        cpuMsPerCycle: (end.schedNs - b.reading.schedNs) / 1e6 / cycles,
        wakeupsPerS: (end.switches - b.reading.switches) / seconds,
        steadyRssMb: median(rss.get(s.spec.name) ?? []) / 1024,
        peakRssMb: end.hwmKb / 1024,
        firstSampleS: first.get(s.spec.name) ?? Number.NaN,
        startCpuMs: firstCpu.get(s.spec.name) ?? Number.NaN,
        recordsPerCycle: records / cycles,
      });
    }
    return results;
  } finally {
    for (const s of started) s.child.kill("SIGTERM");
    await Promise.all(
      started.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
            const kill = setTimeout(() => s.child.kill("SIGKILL"), 10_000);
            s.child.once("exit", () => {
              clearTimeout(kill);
              resolve();
            });
          }),
      ),
    );
    for (const s of started) await rm(s.dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function cell(xs: number[], digits: number): string {
  const f = (x: number) => x.toFixed(digits);
  if (xs.length === 1) return f(xs[0] as number);
  return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
}

const makers: Record<string, () => AgentSpec | undefined> = {
  hostflow: () => hostflow("bundle"),
  "hostflow-dist": () => hostflow("dist"),
  kafkajs,
  collectd,
  telegraf,
};
const specs = WANTED.map((n) => {
  const make = makers[n];
  if (!make) throw new Error(`unknown agent ${n}; known: ${Object.keys(makers).join(", ")}`);
  return make();
}).filter((s): s is AgentSpec => s !== undefined);

const kafka = createKafka({ clientId: "hostflow-footprint", brokers });
const admin = kafka.admin();
await admin.connect();
const existing = new Set(await admin.listTopics());
await createTopicsAndWait(
  admin,
  specs.filter((s) => !existing.has(s.topic)).map((s) => ({ topic: s.topic, numPartitions: 1 })),
);
console.log(
  `footprint: ${specs.map((s) => s.name).join(", ")} side by side into ${brokers.join(",")}; ` +
    `${RUNS} runs per interval, ${WARMUP_S} s warm-up, ${WINDOW_S} s measured`,
);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, load ${(await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ")}`,
);
try {
  for (const interval of INTERVALS) {
    const all = new Map<string, Result[]>(specs.map((s) => [s.name, []]));
    for (let run = 1; run <= RUNS; run++) {
      say(`interval ${interval} s, run ${run}/${RUNS}`);
      const results = await runOnce(specs, interval, admin);
      for (const [name, r] of results) {
        all.get(name)?.push(r);
        say(
          `  ${name}: ${r.schedMsPerS.toFixed(2)} ms/s, ${r.cpuMsPerCycle.toFixed(2)} ms/cycle, ${r.wakeupsPerS.toFixed(0)} wake-ups/s, RSS ${r.steadyRssMb.toFixed(1)} MB (peak ${r.peakRssMb.toFixed(1)}), first sample ${r.firstSampleS.toFixed(2)} s (${r.startCpuMs.toFixed(0)} ms CPU), ${r.recordsPerCycle.toFixed(0)} records/cycle`,
        );
      }
    }
    console.log(
      `\ninterval ${interval} s: medians of ${RUNS} runs (smallest–largest)\n\n` +
        "| agent | CPU ms/cycle | CPU ms/s (sched) | CPU ms/s (utime+stime) | wake-ups/s | steady RSS MB | peak RSS MB | first sample s | CPU ms to first sample | records/cycle |\n" +
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    );
    for (const [name, rs] of all) {
      const col = (f: (r: Result) => number, d: number) => cell(rs.map(f), d);
      console.log(
        `| ${name} | ${col((r) => r.cpuMsPerCycle, 2)} | ${col((r) => r.schedMsPerS, 2)} | ${col((r) => r.cpuMsPerS, 2)} | ${col((r) => r.wakeupsPerS, 0)} | ${col((r) => r.steadyRssMb, 1)} | ${col((r) => r.peakRssMb, 1)} | ${col((r) => r.firstSampleS, 2)} | ${col((r) => r.startCpuMs, 0)} | ${col((r) => r.recordsPerCycle, 0)} |`,
      );
    }
  }
} finally {
  await admin.disconnect();
}
