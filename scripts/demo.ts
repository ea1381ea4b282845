/**
 * `npm run demo`: the whole pipeline on this machine, in one command. Starts the local stack (what
 * does not run yet), runs the agent with this host's real samples plus a simulated fleet whose
 * recent history comes first (a few hosts unhealthy), loads that history into Hive with the
 * collector, prints the fleet report, then serves the dashboard while the collector runs every
 * minute. Ctrl-C stops everything it started.
 *
 * Each demo starts afresh: a new topic and a newly created database, so that a second demo does
 * not count the first one's history twice. Logs of the background processes: .stack/demo/.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { loadCollectorConfig } from "../collector/config/load.js";
import { HiveStore } from "../collector/hive/store.js";
import { endpointsFromEnv } from "../lib/endpoints.js";
import { describeError, HostflowError, isHostflowError } from "../lib/errors.js";
import { WebHdfs } from "../lib/hdfs/webhdfs.js";
import { createKafka, createTopicsAndWait } from "../lib/kafka.js";
import { createLogger } from "../lib/log.js";
import { aborted, type Interrupts } from "./interrupt.js";
import { stackLayout } from "./stack/layout.js";
import { withLocalStack } from "./stack/stack.js";

const argv = yargs(hideBin(process.argv))
  .scriptName("npm run demo --")
  .usage("$0 [options]: the local stack, an agent, the collector and the dashboard")
  .option("hosts", { type: "number", default: 50, describe: "simulated hosts" })
  .option("history", {
    type: "string",
    default: "3h",
    describe: "simulated history loaded first (a duration: 30m, 3h, 1d)",
  })
  .option("port", { type: "number", default: 8080, describe: "dashboard port (0: any free one)" })
  .option("agent-port", { type: "number", default: 9201, describe: "the agent's /metrics port" })
  .strict()
  .parseSync();

const layout = stackLayout();
const demoDir = path.join(layout.root, "demo");
const AGENT_CONF = "conf/demo/agent.yaml";
const COLLECTOR_CONF = "conf/demo/collector.yaml";
const SIMULATED_INTERVAL_S = 30; // conf/demo/agent.yaml, sources.fleet.interval
const SYNTHETIC_EVENTS_PER_HOST = 9;
const TOPIC_PREFIX = "hostflow.demo-";

const say = (line: string) => console.log(`[demo] ${line}`);

const topic = `${TOPIC_PREFIX}${Date.now()}`;
/**
 * The demo's settings reach its two configs through their ${VAR}s; read once the stack is up,
 * whose endpoints withLocalStack puts into the environment.
 */
const demoEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  DEMO_TOPIC: topic,
  DEMO_HOSTS: String(argv.hosts),
  DEMO_HISTORY: argv.history,
  DEMO_AGENT_PORT: String(argv["agent-port"]),
  HOSTFLOW_DATA_DIR: path.join(demoDir, "agent"),
  HOSTFLOW_COLLECTOR_LOCK: path.join(demoDir, "collector.lock"),
});

const children = new Set<ChildProcess>();

/**
 * Runs one of hostflow's CLIs: in the terminal, or with `log` into that file under .stack/demo,
 * each line (stdout and stderr, where the JSON logs go) also shown to `watch`. Its own process
 * group, so that a terminal's Ctrl-C reaches it once, from here.
 */
function tool(
  cli: "agent" | "collector",
  args: string[],
  options: { log?: string; watch?: (line: string) => void } = {},
): ChildProcess {
  const { log, watch } = options;
  const env = demoEnv();
  const child = spawn(process.execPath, ["--import", "tsx", `${cli}/cli.ts`, ...args], {
    // What shows in the demo's own output is for people; what goes to a file stays JSON.
    env: log ? env : { ...env, HOSTFLOW_LOG_FORMAT: env.HOSTFLOW_LOG_FORMAT ?? "pretty" },
    detached: true,
    stdio: log ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
  });
  children.add(child);
  child.on("close", () => children.delete(child));
  if (log) {
    const file = createWriteStream(path.join(demoDir, log), { flags: "a" });
    for (const stream of [child.stdout, child.stderr]) {
      let pending = "";
      stream?.on("data", (chunk: Buffer) => {
        file.write(chunk);
        const lines = (pending + chunk.toString()).split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) watch?.(line);
      });
    }
  }
  return child;
}

function exited(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on("close", (code) => resolve(code ?? 1)));
}

async function step(what: string, child: ChildProcess): Promise<void> {
  const code = await exited(child);
  if (code !== 0) throw new HostflowError("HF_DEMO", `${what} failed (exit ${code}); see above`);
}

/** SIGTERM to every child still running; SIGKILL after 15 s. */
async function stopChildren(): Promise<void> {
  const running = [...children];
  if (running.length === 0) return;
  say(`stopping the agent, the collector and the dashboard (${running.length} processes)`);
  for (const child of running) child.kill("SIGTERM");
  const timer = setTimeout(() => {
    for (const child of running) child.kill("SIGKILL");
  }, 15_000);
  await Promise.all(running.map(exited));
  clearTimeout(timer);
}

/** A fresh database, and a fresh topic (older demo topics are deleted). */
async function freshStart(): Promise<void> {
  const { config } = loadCollectorConfig(COLLECTOR_CONF, demoEnv());
  const kafka = createKafka({ brokers: config.kafka.brokers, clientId: "hostflow-demo" });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const old = (await admin.listTopics()).filter((t) => t.startsWith(TOPIC_PREFIX));
    if (old.length > 0) await admin.deleteTopics({ topics: old });
    // One partition: the simulated fleet is one agent stream whose events are keyed by 50 hosts;
    // spread over partitions read at different paces, its sequence would look full of holes.
    await createTopicsAndWait(admin, [{ topic, numPartitions: 1 }]);
  } finally {
    await admin.disconnect();
  }
  const store = await HiveStore.open(config.hive, createLogger("hostflow-demo", "warn"));
  try {
    // Its tables are external: their files stay unless deleted too (WEBHDFS_URL).
    await store.dropDatabase(
      process.env.WEBHDFS_URL ? new WebHdfs(endpointsFromEnv().webHdfs) : undefined,
    );
    await store.init();
  } finally {
    await store.close();
  }
  say(`topic ${topic}, Hive database ${config.hive.database}: created`);
}

/** The agent's counters of interest, from its /metrics. */
async function agentProgress(): Promise<{ sent: number; queued: number } | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${argv["agent-port"]}/metrics`);
    const text = await response.text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
    return {
      sent: value(
        /^hostflow_events_total\{[^}]*component="kafka"[^}]*outcome="committed"[^}]*\} (\d+)/m,
      ),
      queued: value(/^hostflow_channel_size\{channel="events"\} (\d+)/m),
    };
  } catch {
    return undefined; // not listening yet
  }
}

/** Starts the agent; resolves once the simulated history is in Kafka. */
async function startAgent(historyEvents: number): Promise<void> {
  let backfilled = false;
  const agent = tool("agent", ["run", "-c", AGENT_CONF], {
    log: "agent.log",
    watch: (line) => {
      if (line.includes("backfill done")) backfilled = true;
      if (/"level":(50|60)/.test(line)) console.error(`[demo] agent: ${line}`);
    },
  });
  let lastSay = 0;
  for (;;) {
    if (agent.exitCode !== null) {
      throw new HostflowError(
        "HF_DEMO",
        `the agent stopped (exit ${agent.exitCode}); see ${path.join(demoDir, "agent.log")}`,
      );
    }
    const progress = await agentProgress();
    if (progress && backfilled && progress.queued < 1_000) {
      say(`history in Kafka: ${progress.sent.toLocaleString("en")} events`);
      return;
    }
    if (progress && Date.now() - lastSay > 3_000) {
      lastSay = Date.now();
      const share = Math.min(99, Math.floor((100 * progress.sent) / historyEvents));
      say(
        `agent: ${progress.sent.toLocaleString("en")} of ~${historyEvents.toLocaleString("en")} events of history sent to Kafka (${share} %)`,
      );
    }
    await sleep(500);
  }
}

/** Starts the dashboard; resolves with the address it prints. */
function startDashboard(): Promise<string> {
  return new Promise((resolve, reject) => {
    const dashboard = tool(
      "collector",
      ["dashboard", "-c", COLLECTOR_CONF, "--port", String(argv.port)],
      {
        log: "dashboard.log",
        watch: (line) => {
          const url = /https?:\/\/[^\s"]+/.exec(line)?.[0];
          if (url) resolve(url);
        },
      },
    );
    dashboard.on("close", (code) =>
      reject(
        new HostflowError(
          "HF_DEMO",
          `the dashboard stopped (exit ${code}); see ${path.join(demoDir, "dashboard.log")}`,
        ),
      ),
    );
  });
}

function historyEvents(): number {
  const m = /^(\d+)\s*(m|h|d)$/.exec(argv.history.trim());
  if (!m)
    throw new HostflowError(
      "HF_DEMO",
      `--history "${argv.history}": write minutes, hours or days: 30m, 3h, 1d`,
    );
  const seconds = Number(m[1]) * { m: 60, h: 3_600, d: 86_400 }[m[2] as "m" | "h" | "d"];
  return Math.round((argv.hosts * SYNTHETIC_EVENTS_PER_HOST * seconds) / SIMULATED_INTERVAL_S);
}

async function demo(interrupts: Interrupts): Promise<number> {
  interrupts.onExitNow(() => {
    for (const child of children) child.kill("SIGTERM");
  });
  const setup = async () => {
    const events = historyEvents();
    mkdirSync(demoDir, { recursive: true });
    say(`1/5 a fresh topic and Hive database`);
    await freshStart();
    say(
      `2/5 agent: this host's samples + ${argv.hosts} simulated hosts with ${argv.history} of history (~${events.toLocaleString("en")} events); log ${path.join(demoDir, "agent.log")}`,
    );
    await startAgent(events);
    say("3/5 collector: loading the history into Hive");
    await step(
      "the collector's run",
      tool("collector", ["run", "-c", COLLECTOR_CONF, "--max-seconds", "1200"]),
    );
    say("4/5 fleet report");
    await step("the report", tool("collector", ["report", "-c", COLLECTOR_CONF]));
    say("5/5 dashboard, and the collector every minute from now on");
    tool("collector", ["run", "-c", COLLECTOR_CONF, "--schedule", "* * * * *"], {
      log: "collector.log",
    });
    const url = await startDashboard();
    say(
      `dashboard: ${url}  (Ctrl-C stops the agent, the collector, the dashboard and the stack it started)`,
    );
    await new Promise(() => undefined); // until interrupted or a background process fails
  };
  try {
    // Ctrl-C is the demo's normal end: exit 0 once everything it started has stopped.
    await Promise.race([aborted(interrupts.signal), setup()]);
    return 0;
  } finally {
    await stopChildren();
  }
}

withLocalStack(layout, ["kafka", "hive"], say, demo).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isHostflowError(error, "HF_INTERRUPTED")) process.exit(130);
    console.error(`[demo] ${describeError(error)}`);
    process.exit(1);
  },
);
