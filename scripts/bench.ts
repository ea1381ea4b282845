/**
 * `npm run bench -- <suite> [args]`: the benchmark scripts, with the local Kafka (and Hive) started
 * when a suite needs it and not running (and stopped again after).
 *   agent     sysinfo sample cycle cost and RSS, then pipeline throughput to Kafka
 *   sysinfo   scripts/bench/sysinfo.ts
 *   pipeline  scripts/bench/pipeline.ts
 *   channels  scripts/bench/channels.ts
 *   footprint scripts/bench/footprint.ts: the built agent's CPU, wake-ups and memory beside
 *             collectd and Telegraf (e.g. footprint --minutes 1 --runs 1 --intervals 10)
 *   collector scripts/bench/collector.ts (needs Kafka and HiveServer2)
 *   dashboard-live scripts/bench/dashboard-live.ts: the dashboard's live store fed 10,000 hosts'
 *             samples (no servers), its memory and CPU per record
 *   fleet     scripts/bench/fleet.ts: agents, collectors, dashboard, 3 brokers, HDFS, Hive under
 *             a fleet's load with a broker and a collector killed (e.g. fleet --minutes 3 --hosts 2000)
 * Arguments after a one-script suite go to its script (e.g. pipeline --runs 5); `agent` runs
 * both scripts with their defaults.
 */
import { spawn } from "node:child_process";
import { describeError } from "../lib/errors.js";
import { stackLayout } from "./stack/layout.js";
import { type GroupName, withLocalStack } from "./stack/stack.js";

const SUITES: Record<string, { scripts: string[]; stack: GroupName[] }> = {
  agent: { scripts: ["sysinfo", "pipeline"], stack: ["kafka"] },
  sysinfo: { scripts: ["sysinfo"], stack: [] },
  pipeline: { scripts: ["pipeline"], stack: ["kafka"] },
  channels: { scripts: ["channels"], stack: [] },
  footprint: { scripts: ["footprint"], stack: ["kafka"] },
  collector: { scripts: ["collector"], stack: ["kafka", "hive"] },
  "dashboard-live": { scripts: ["dashboard-live"], stack: [] },
  // Three brokers (one is killed): it starts and stops its own stack (scripts/bench/fleet/stack.ts).
  fleet: { scripts: ["fleet"], stack: [] },
};

function run(script: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", `scripts/bench/${script}.ts`, ...args],
      { stdio: "inherit" },
    );
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? 1));
  });
}

const [name = "", ...args] = process.argv.slice(2);
const suite = SUITES[name];
if (suite === undefined) {
  console.error(`usage: npm run bench -- <${Object.keys(SUITES).join("|")}> [args]`);
  process.exit(2);
}
const say = (line: string) => console.log(`[bench] ${line}`);
const all = async () => {
  for (const script of suite.scripts) {
    const code = await run(script, suite.scripts.length === 1 ? args : []);
    if (code !== 0) return code;
  }
  return 0;
};
withLocalStack(stackLayout(), suite.stack, say, all).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[bench] ${describeError(error)}`);
    process.exit(1);
  },
);
