/**
 * What sampling costs on a production host: CPU per full sysinfo cycle (every measurement), the
 * same for each measurement alone, the naive systeminformation calls for comparison (including
 * the CPU of the processes they spawn), RSS after N cycles, and the synthetic generator's
 * events per second. CPU is process.cpuUsage() user + system around each poll.
 *
 * RSS is measured in a child process under plain node, on a copy of the source transpiled with
 * TypeScript, as the built agent runs: tsx alone makes a process about 30 MB bigger.
 *
 *   npx tsx scripts/bench/sysinfo.ts [--cycles 1000] [--naive-cycles 20] [--synthetic 2000000]
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setImmediate as immediate, setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import si from "systeminformation";
import ts from "typescript";
import {
  DEFAULT_IGNORE_FS,
  SYSINFO_MEASUREMENTS,
  type SysinfoSourceConfig,
} from "../../agent/config/schema.js";
import { AgentMetrics } from "../../agent/core/metrics.js";
import type { ComponentContext } from "../../agent/core/types.js";
import { createSyntheticSource } from "../../agent/sources/synthetic.js";
import { createSysinfoSource } from "../../agent/sources/sysinfo.js";
import { createLogger } from "../../lib/log.js";

const { values: args } = parseArgs({
  options: {
    cycles: { type: "string", default: "1000" },
    "naive-cycles": { type: "string", default: "20" },
    synthetic: { type: "string", default: "2000000" },
  },
});
const CYCLES = Number(args.cycles);
const NAIVE_CYCLES = Number(args["naive-cycles"]);
const SYNTHETIC_EVENTS = Number(args.synthetic);
/** systeminformation serves repeated calls within 500 ms from its cache: space the naive cycles. */
const NAIVE_GAP_MS = 600;

const context = (): ComponentContext => ({
  agentId: "bench",
  logger: createLogger("bench", "error"),
  metrics: new AgentMetrics(),
});

function config(measurements: SysinfoSourceConfig["measurements"]): SysinfoSourceConfig {
  return {
    type: "sysinfo",
    channels: ["bench"],
    interceptors: [],
    interval: 10_000,
    jitter: 0,
    measurements,
    percpu: false,
    totalcpu: true,
    ignore_fs: [...DEFAULT_IGNORE_FS],
  };
}

const cpuMs = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};

/** CPU ms of this process's waited-for children (utime + stime of them, /proc/self/stat). */
function childrenCpuMs(): number {
  const stat = readFileSync("/proc/self/stat", "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // cutime and cstime are fields 16 and 17; the slice starts at field 3. USER_HZ is 100.
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const rssMb = () => process.memoryUsage().rss / 1024 / 1024;

async function timeCycles(
  cycles: number,
  poll: () => Promise<unknown>,
): Promise<{ median: number; p90: number; samples: number }> {
  const costs: number[] = [];
  let samples = 0;
  for (let i = 0; i < cycles; i++) {
    const from = process.cpuUsage();
    const out = await poll();
    costs.push(cpuMs(from));
    if (Array.isArray(out)) samples = out.length;
    await immediate();
  }
  return { median: quantile(costs, 0.5), p90: quantile(costs, 0.9), samples };
}

const rows: string[][] = [["what", "cycles", "CPU ms median", "CPU ms p90", "note"]];
const fmt = (n: number, digits = 3) => n.toFixed(digits);

/**
 * Transpiles `entry` and the project files it imports (relative imports) into `dir`, keeping the
 * layout, with node_modules linked in.
 */
function transpileTree(root: string, entries: string[], dir: string): void {
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(join(root, file), "utf8");
    for (const [, spec] of source.matchAll(/from "(\.{1,2}\/[^"]+)\.js"/g)) {
      queue.push(join(dirname(file), `${spec}.ts`));
    }
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ES2022,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
      fileName: file,
    });
    mkdirSync(join(dir, dirname(file)), { recursive: true });
    writeFileSync(join(dir, file.replace(/\.ts$/, ".js")), outputText);
  }
  writeFileSync(join(dir, "package.json"), '{"type":"module"}');
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
}

/** The RSS figure, from a plain node process that only samples (as the agent's source does). */
function measureRss(cycles: number): { before: number; after: number; heap: number } {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
  const dir = mkdtempSync(join(tmpdir(), "hostflow-bench-"));
  try {
    transpileTree(root, ["agent/sources/sysinfo.ts", "agent/core/metrics.ts", "lib/log.ts"], dir);
    writeFileSync(
      join(dir, "rss.mjs"),
      `import { createSysinfoSource } from "./agent/sources/sysinfo.js";
import { AgentMetrics } from "./agent/core/metrics.js";
import { createLogger } from "./lib/log.js";
const options = ${JSON.stringify(config([...SYSINFO_MEASUREMENTS]))};
const ctx = { agentId: "bench", logger: createLogger("bench", "error"), metrics: new AgentMetrics() };
const source = createSysinfoSource("bench", options, ctx, { minCpuWindowMs: 0 });
await source.start();
const mb = (n) => n / 1024 / 1024;
const before = mb(process.memoryUsage().rss);
for (let i = 0; i < ${cycles}; i++) await source.poll();
const { rss, heapUsed } = process.memoryUsage();
console.log(JSON.stringify({ before, after: mb(rss), heap: mb(heapUsed) }));
`,
    );
    return JSON.parse(execFileSync(process.execPath, [join(dir, "rss.mjs")], { encoding: "utf8" }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// -- this source, every measurement
// minCpuWindowMs 0: back-to-back polls still read and compute cpu, as a real cycle does.
const source = createSysinfoSource("bench", config([...SYSINFO_MEASUREMENTS]), context(), {
  minCpuWindowMs: 0,
});
await source.start();
const full = await timeCycles(CYCLES, () => source.poll());
const rss = measureRss(CYCLES);
rows.push([
  "sysinfo source, full cycle",
  String(CYCLES),
  fmt(full.median),
  fmt(full.p90),
  `${full.samples} samples/cycle`,
]);

// -- each measurement alone
for (const measurement of SYSINFO_MEASUREMENTS) {
  const one = createSysinfoSource("bench", config([measurement]), context(), { minCpuWindowMs: 0 });
  await one.start();
  const cost = await timeCycles(Math.min(CYCLES, 300), () => one.poll());
  rows.push([
    `  ${measurement}`,
    String(Math.min(CYCLES, 300)),
    fmt(cost.median),
    fmt(cost.p90),
    "",
  ]);
}

// -- naive systeminformation: its functions for the same measurements, each cycle
const naive = async () => {
  await Promise.all([
    si.currentLoad(),
    si.mem(),
    si.fsSize(),
    si.disksIO(),
    si.networkStats("*"),
    si.processes(),
    si.time(),
    si.users(),
  ]);
  loadavg();
};
await naive(); // currentLoad's first call waits 500 ms for a baseline
const naiveCosts: number[] = [];
const childrenFrom = childrenCpuMs();
for (let i = 0; i < NAIVE_CYCLES; i++) {
  await sleep(NAIVE_GAP_MS);
  const from = process.cpuUsage();
  await naive();
  naiveCosts.push(cpuMs(from));
}
const childrenPerCycle = (childrenCpuMs() - childrenFrom) / NAIVE_CYCLES;
rows.push([
  "naive systeminformation",
  String(NAIVE_CYCLES),
  fmt(quantile(naiveCosts, 0.5)),
  fmt(quantile(naiveCosts, 0.9)),
  `+ ~${fmt(childrenPerCycle, 1)} ms/cycle in spawned processes`,
]);

// -- synthetic generator, into an emit that only counts
const synthetic = createSyntheticSource(
  "bench",
  {
    type: "synthetic",
    channels: ["bench"],
    interceptors: [],
    hosts: 1000,
    host_prefix: "sim-",
    interval: 10_000,
    backfill: 365 * 86_400_000,
    total: SYNTHETIC_EVENTS,
    batch_size: 500,
    seed: 1,
    unhealthy: { cpu_hog: 10, disk_filling: 10, silent: 10, lossy: 10 },
  },
  context(),
);
let generated = 0;
let finish: () => void = () => {};
const finished = new Promise<void>((resolve) => {
  finish = resolve;
});
synthetic.attach(async (events) => {
  generated += events.length;
  if (generated >= SYNTHETIC_EVENTS) finish();
});
const wallFrom = performance.now();
const syntheticCpuFrom = process.cpuUsage();
await synthetic.start();
await finished;
const wallMs = performance.now() - wallFrom;
const syntheticCpu = cpuMs(syntheticCpuFrom);
await synthetic.stop();

const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join("  ");
console.log(line(rows[0] ?? []));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const row of rows.slice(1)) console.log(line(row));
console.log();
console.log(
  `RSS (plain node, the source alone): ${fmt(rss.before, 1)} MB after start(), ${fmt(rss.after, 1)} MB after ${CYCLES} cycles (heap used ${fmt(rss.heap, 1)} MB); this tsx process: ${fmt(rssMb(), 1)} MB`,
);
console.log(
  `synthetic: ${generated} events (1000 hosts) in ${fmt(wallMs, 0)} ms = ${fmt((generated / wallMs) * 1000, 0)} events/s wall, ${fmt((generated / syntheticCpu) * 1000, 0)} events/s per CPU second`,
);
