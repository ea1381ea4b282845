/**
 * `npm test`: builds, lints, brings up the local stack when it does not run yet (and stops what
 * it started at the end), then runs every ava test. Arguments go to ava (`npm test -- test/lib`).
 * KAFKA_BROKERS / HIVE_HOST point the tests at an existing cluster instead of the local stack.
 * With the local stack, the Hive-facing tests run a second time on Spark's Thrift Server.
 */
import { spawn } from "node:child_process";
import { mkdir, rm, symlink } from "node:fs/promises";
import path from "node:path";
import { describeError, isHostflowError } from "../lib/errors.js";
import type { Interrupts } from "./interrupt.js";
import { hiveFlavorFromEnv } from "./stack/hive.js";
import { DEFAULT_PORTS, type StackLayout, stackLayout } from "./stack/layout.js";
import { portInUse } from "./stack/ports.js";
import { withLocalStack } from "./stack/stack.js";

const say = (line: string) => console.log(`[test] ${line}`);

function run(
  command: string,
  args: string[],
  onLine?: (line: string) => void,
  interrupts?: Interrupts,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["ignore", onLine ? "pipe" : "inherit", "inherit"],
    });
    const stop = () => child.kill("SIGINT");
    interrupts?.signal.addEventListener("abort", stop, { once: true });
    interrupts?.onExitNow(() => child.kill("SIGKILL"));
    let pending = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      const lines = (pending + chunk.toString()).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) onLine?.(line);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      interrupts?.signal.removeEventListener("abort", stop);
      if (pending) onLine?.(pending);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

interface Counts {
  pass: number;
  fail: number;
  skip: number;
}

/** Runs ava once per pass, adding up what each reports. */
async function runPasses(
  passes: string[][],
  interrupts: Interrupts,
  counts: Counts,
): Promise<number> {
  let code = 0;
  for (const pass of passes) {
    if (interrupts.signal.aborted) break;
    const found: Counts = { pass: 0, fail: 0, skip: 0 };
    const exit = await run(
      "npx",
      ["ava", "--tap", ...pass],
      (line) => {
        const m = /^# (pass|fail|skip)\s+(\d+)/.exec(line);
        if (m) found[m[1] as keyof Counts] = Number(m[2]);
      },
      interrupts,
    );
    if (exit !== 0 && found.fail === 0) found.fail = 1;
    for (const key of Object.keys(counts) as Array<keyof Counts>) counts[key] += found[key];
    code ||= exit;
  }
  return code;
}

/** The tests that talk to HiveServer2: they run a second time against Spark's Thrift Server. */
const HIVE_TESTS = [
  "test/collector/*.integration.test.ts",
  "test/lib/hive/*.integration.test.ts",
  "test/scripts/stack/stack.integration.test.ts",
  "test/collector/dashboard.e2e.test.ts",
];

/**
 * A stack of its own (Kafka, HDFS, Spark's Thrift Server as HiveServer2) in .stack/spark-pass on
 * free ports, sharing the resolved jars; its endpoints reach the tests through the environment.
 */
async function sparkStack(): Promise<StackLayout> {
  const root = stackLayout().root;
  const dir = path.join(root, "spark-pass");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await symlink(path.join(root, "lib"), path.join(dir, "lib"));
  const ports: Record<string, number> = {};
  const taken = new Set<number>();
  const free = async (pair = false): Promise<number> => {
    for (;;) {
      const port = 40_000 + 2 * Math.floor(Math.random() * 10_000);
      const candidates = pair ? [port, port + 1] : [port];
      if (candidates.some((p) => taken.has(p))) continue;
      if ((await Promise.all(candidates.map((p) => portInUse(p)))).some(Boolean)) continue;
      for (const p of candidates) taken.add(p);
      return port;
    }
  };
  for (const name of Object.keys(DEFAULT_PORTS)) ports[name] = await free(name === "kafka");
  for (const name of ["KAFKA_BROKERS", "HIVE_HOST", "HIVE_PORT", "WEBHDFS_URL"])
    delete process.env[name];
  delete process.env.HOSTFLOW_STACK_KAFKA_PORT;
  delete process.env.HOSTFLOW_STACK_HIVE_PORT;
  process.env.HOSTFLOW_STACK_DIR = dir;
  process.env.HOSTFLOW_STACK_HIVE = "spark";
  process.env.HOSTFLOW_STACK_PORTS = Object.entries(ports)
    .map(([name, port]) => `${name}=${port}`)
    .join(",");
  return stackLayout();
}

async function main(): Promise<number> {
  say("build (tsc)");
  if ((await run("npx", ["tsc", "-p", "tsconfig.json"])) !== 0) return 1;
  say("lint (biome)");
  if ((await run("npx", ["biome", "check", "--error-on-warnings", "."])) !== 0) return 1;

  // The end-to-end tests (*.e2e.test.ts: the whole demo, the dashboard in Chromium) start
  // agents, collectors and a browser: they run in a pass of their own after the others, so that
  // on two cores they do not starve the timing-sensitive tests. Arguments replace all passes.
  const args = process.argv.slice(2);
  // The package's tests (test/package: the .deb in a Debian root, the bundle on Node 20, 22 and
  // 24) come last, in a pass of their own too: they run other programs' test suites.
  const passes =
    args.length > 0
      ? [args]
      : [
          ["test/**/*.test.ts", "!test/**/*.e2e.test.ts", "!test/package/**"],
          ["test/**/*.e2e.test.ts"],
          ["test/package/**/*.test.ts"],
        ];
  // Apache Hive is the local stack's HiveServer2; with the local stack (no HIVE_HOST), the
  // Hive-facing tests then run again on Spark's Thrift Server, as HOSTFLOW_STACK_HIVE=spark would.
  const sparkPass = args.length === 0 && !process.env.HIVE_HOST && hiveFlavorFromEnv() === "apache";
  const counts: Counts = { pass: 0, fail: 0, skip: 0 };
  let interrupted = false;
  let code = await withLocalStack(stackLayout(), ["kafka", "hive"], say, async (interrupts) => {
    const exit = await runPasses(passes, interrupts, counts);
    interrupted = interrupts.signal.aborted;
    return exit;
  });
  if (sparkPass && !interrupted) {
    say("the Hive-facing tests again, on Spark's Thrift Server (a stack of their own)");
    const layout = await sparkStack();
    code ||= await withLocalStack(layout, ["kafka", "hive"], say, (interrupts) =>
      runPasses([HIVE_TESTS], interrupts, counts),
    );
    await rm(layout.root, { recursive: true, force: true });
  }
  console.log(`\ntests: ${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isHostflowError(error, "HF_INTERRUPTED")) process.exit(130);
    console.error(`[test] ${describeError(error)}`);
    process.exit(1);
  },
);
