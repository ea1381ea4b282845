/**
 * `npm run demo` as a new user runs it: nothing of the stack running (a stack folder and ports of
 * the test's own), started by npm in a process group of its own, ended by SIGINT to that whole
 * group, which is what Ctrl-C in a terminal sends. Afterwards no process of it may be left.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import test from "ava";
import { stackLayout } from "../../scripts/stack/layout.js";
import { portAnswers } from "../../scripts/stack/ports.js";
import { freePort, freePortPair } from "../helpers/ports.js";

/** The processes whose environment names `stackDir`: the demo, its agent and collectors, the JVMs. */
function processesOf(stackDir: string): string[] {
  const marker = `HOSTFLOW_STACK_DIR=${stackDir}\0`;
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, "utf8").includes(marker)) continue;
      if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"))) continue;
      found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ")}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

async function until(what: string, done: () => boolean | Promise<boolean>, ms: number) {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms / 1000} s`);
    await sleep(250);
  }
}

test("npm run demo from nothing running: history loaded, report printed, dashboard served; Ctrl-C to its process group leaves no process", async (t) => {
  t.timeout(15 * 60_000);
  const stackDir = await mkdtemp(path.join(tmpdir(), "hostflow-demo-"));
  // The jars resolved for npm test's own stack: a new user's first demo resolves them itself.
  await symlink(stackLayout().lib(""), path.join(stackDir, "lib"));
  const kafkaPort = await freePortPair();
  const hivePort = await freePort();
  const agentPort = await freePort();
  // HDFS on ports of its own too, beside the shared stack's.
  const hdfs = {
    namenode: await freePort(),
    namenodeHttp: await freePort(),
    datanode: await freePort(),
    datanodeHttp: await freePort(),
    datanodeIpc: await freePort(),
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOSTFLOW_STACK_DIR: stackDir,
    HOSTFLOW_STACK_KAFKA_PORT: String(kafkaPort),
    HOSTFLOW_STACK_HIVE_PORT: String(hivePort),
    HOSTFLOW_STACK_PORTS: Object.entries(hdfs)
      .map(([name, port]) => `${name}=${port}`)
      .join(","),
  };
  // npm test points its own processes at its stack; the demo must start one of its own.
  for (const name of [
    "KAFKA_BROKERS",
    "HIVE_HOST",
    "HIVE_PORT",
    "WEBHDFS_URL",
    "HOSTFLOW_LOG_FORMAT",
  ])
    delete env[name];
  const args = ["--hosts", "6", "--history", "20m", "--port", "0", "--agent-port", agentPort];
  const npm = spawn("npm", ["run", "-s", "demo", "--", ...args.map(String)], {
    env,
    detached: true, // a process group of its own, as a terminal's foreground job
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  for (const stream of [npm.stdout, npm.stderr]) {
    stream.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
  }
  const exited = new Promise<string>((resolve) =>
    npm.on("close", (code, signal) => resolve(signal ?? `exit ${code}`)),
  );
  t.teardown(async () => {
    for (const line of processesOf(stackDir)) process.kill(Number(line.split(" ")[0]), "SIGKILL");
    await rm(stackDir, { recursive: true, force: true });
  });

  await until(
    "the demo's dashboard line",
    () => /\[demo\] dashboard: (http\S+)/.test(out) || npm.exitCode !== null,
    12 * 60_000,
  ).catch((error: Error) => t.fail(`${error.message}:\n${out.slice(-3000)}`));
  const url = /\[demo\] dashboard: (http\S+)/.exec(out)?.[1];
  if (url === undefined) {
    t.fail(`the demo ended before serving the dashboard:\n${out.slice(-3000)}`);
    return;
  }
  t.regex(out, new RegExp(`kafka at 127\\.0\\.0\\.1:${kafkaPort} \\(started in`));
  t.regex(out, new RegExp(`hdfs at hdfs://127\\.0\\.0\\.1:${hdfs.namenode} .* \\(started in`));
  t.regex(out, new RegExp(`hive at 127\\.0\\.0\\.1:${hivePort} \\(started in`));
  // 6 simulated hosts and this one; a CPU hog, a filling disk, a silent host, a lossy agent.
  t.regex(out, /Fleet health at [^:]+:\d\d UTC: 7 hosts, [1-7] flagged/);
  t.regex(out, /sim-\d+ .*cpu \d+\.\d% > 90%/);
  t.regex(out, /sim-\d+ .*silent \d+ min/);
  t.regex(out, /sim-\d+ .*\d+ gaps?/);
  t.notRegex(out, /\{"level":\d+/, "no JSON log line in the demo's own output");

  const page = await fetch(url);
  t.is(page.status, 200);
  t.regex(page.headers.get("content-type") ?? "", /text\/html/);
  const fleet = await fetch(new URL("/api/fleet", url));
  t.is(fleet.status, 200);
  const body = JSON.stringify(await fleet.json());
  for (let i = 1; i <= 6; i++) t.true(body.includes(`"sim-00${i}"`), `sim-00${i} in /api/fleet`);

  process.kill(-(npm.pid as number), "SIGINT");
  const end = await exited;
  await until(
    "every process of the demo gone",
    () => processesOf(stackDir).length === 0,
    120_000,
  ).catch((error: Error) =>
    t.fail(`${error.message}; left:\n${processesOf(stackDir).join("\n")}\n${out.slice(-2000)}`),
  );
  // The demo exits 0; npm, signalled too, then ends by the same signal (it re-raises it).
  t.true(end === "exit 0" || end === "SIGINT", `npm ended by ${end}\n${out.slice(-2000)}`);
  t.regex(out, /SIGINT: stopping what was started/);
  t.regex(out, /stopping the agent, the collector and the dashboard/);
  t.regex(out, /stopping what was started: kafka-1, namenode, datanode, (hive|spark)/);
  t.regex(out, /kafka-1: stopped/);
  t.regex(out, /(hive|spark): stopped/);
  t.false(await portAnswers(kafkaPort), "the demo's Kafka stopped");
  t.false(await portAnswers(hivePort), "the demo's HiveServer2 stopped");
  t.false(await portAnswers(hdfs.namenodeHttp), "the demo's NameNode stopped");
  t.false(await portAnswers(Number(new URL(url).port)), "the dashboard stopped");
});
