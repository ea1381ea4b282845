/**
 * Two collectors of one group racing for the same offsets, for real (Kafka, HDFS through
 * WebHDFS, HiveServer2): a run is held inside its last load while a second collector, its own
 * lock file as on another host, joins the group, is given the partitions once the first has
 * missed its rebalance, and loads them. The first then goes on with its commit. Every sample
 * must be in Hive exactly once (offset claims, collector/hive/claims.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import test, { type ExecutionContext } from "ava";
import { waitFor } from "../helpers/agent.js";
import {
  assertExactlyOnce,
  type CollectorFixture,
  collectorFixture,
  dataset,
  produce,
} from "../helpers/collector.js";

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function start(file: string, env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "collector/cli.ts", "run", "-c", file],
    {
      env: { ...process.env, HOSTFLOW_LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exit };
}

/**
 * The fixture's config with short group timeouts (the held run misses the rebalance after
 * 10 s, not 5 min), and a copy with its own lock file: a collector on a second host.
 */
function twoHosts(f: CollectorFixture): [string, string] {
  const text = readFileSync(f.file, "utf8").replace(
    /^( {2}group_id: .*)$/m,
    "$1\n  session_timeout: 10s\n  rebalance_timeout: 10s",
  );
  writeFileSync(f.file, text);
  const dir = mkdtempSync(path.join(tmpdir(), "hf-second-host-"));
  const second = path.join(dir, "collector.yaml");
  writeFileSync(second, text.replace(/^( {2}lock_file: ).*$/m, `$1${path.join(dir, "run.lock")}`));
  return [f.file, second];
}

async function race(t: ExecutionContext, point: "after-files" | "mid-claims") {
  const f = await collectorFixture(t, { partitions: 2, hive: { load_via: "files" } });
  const [first, second] = twoHosts(f);
  const records = dataset(6, 20);
  await produce(f.topic, records);
  const hold = mkdtempSync(path.join(tmpdir(), "hf-hold-"));
  const held = start(first, { HOSTFLOW_HOLD_AT: point, HOSTFLOW_HOLD_DIR: hold });
  t.teardown(() => {
    held.child.kill("SIGKILL");
  });
  const withLog = (run: Run) => (error: Error) => {
    throw new Error(`${error.message}; the run's output ends: ${run.output().slice(-1500)}`);
  };
  await waitFor(
    `the first collector to hold its load at ${point}`,
    () => existsSync(path.join(hold, "reached")),
    240_000,
  ).catch(withLog(held));
  // The second collector joins; the group waits for the held one, gives up on it, and hands
  // the second every partition. It reads Hive's offsets (nothing committed yet) and loads all.
  const other = start(second);
  t.is(await other.exit, 0, other.output());
  t.regex(other.output(), new RegExp(`run done: ${records.length} records`));
  writeFileSync(path.join(hold, "release"), "");
  t.is(await held.exit, 0, held.output());
  t.regex(held.output(), /HF_LOAD_LOST|another collector of the group/);
  t.regex(held.output(), /stopped by another-collector/);
  await assertExactlyOnce(t, f, records);
}

test.serial(
  "a collector that missed a rebalance inside its last load commits nothing; the new owner's load counts once",
  (t) => race(t, "after-files"),
);

test.serial(
  "a collector stopped between two claims is made dead by the new owner, which loads everything once",
  (t) => race(t, "mid-claims"),
);
