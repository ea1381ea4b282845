import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describeError, HostflowError } from "../../lib/errors.js";
import { sleep } from "../../lib/timeout.js";
import { aborted, catchInterrupts, type Interrupts } from "../interrupt.js";
import { hdfsGroup, webHdfsUrl } from "./hdfs.js";
import { apacheHiveGroup, type HiveFlavor, hiveFlavorFromEnv } from "./hive.js";
import { resolveJars, tail } from "./jars.js";
import { BROKER_COUNTS, type BrokerCount, kafkaBootstrap, kafkaGroup } from "./kafka.js";
import type { StackLayout } from "./layout.js";
import { portAnswers, portInUse } from "./ports.js";
import { findJava } from "./prerequisites.js";
import { isAlive, runningPid, signalService, startJava, stopService } from "./processes.js";
import type { ServiceGroup } from "./service.js";
import { sparkHiveGroup } from "./spark.js";

export type GroupName = ServiceGroup["name"];
export const GROUP_NAMES: readonly GroupName[] = ["kafka", "hdfs", "hive"];

export interface UpOptions {
  brokers: BrokerCount;
  /** Which HiveServer2: Apache Hive (default) or Spark's Thrift Server. */
  hive?: HiveFlavor | undefined;
  /** Which groups to bring up (default: all). */
  groups?: readonly GroupName[] | undefined;
  say: (line: string) => void;
}

export interface GroupUp {
  name: GroupName;
  endpoint: string;
  /** Services this call started; empty when the group was already running. */
  started: string[];
  seconds: number;
}

/**
 * Brings the local stack up: resolves the jars (first run), starts what does not run yet, and
 * waits until each group answers a real client request. Idempotent. When a group fails to come
 * up, the processes this call started are stopped again and the error shows the tail of the log.
 */
export async function stackUp(layout: StackLayout, options: UpOptions): Promise<GroupUp[]> {
  const flavor = options.hive ?? "apache";
  const groups = selectGroups(layout, options.brokers, withDependencies(options.groups), flavor);
  const java = findJava();
  await checkKafkaMode(layout, options.brokers, groups);
  await checkHiveFlavor(layout, flavor, groups);
  const plans = [];
  for (const group of groups) {
    const toStart = [];
    for (const service of group.services) {
      if ((await runningPid(layout, service.name)) !== undefined) continue;
      for (const port of service.ports) {
        if (await portInUse(port)) {
          throw new HostflowError(
            "HF_STACK_PORT_TAKEN",
            `port ${port} on 127.0.0.1, needed by ${service.name}, is used by another process ` +
              `(see: ss -ltnp 'sport = :${port}'); stop it, or point hostflow at that server instead ` +
              "(KAFKA_BROKERS, HIVE_HOST, HIVE_PORT, WEBHDFS_URL); HOSTFLOW_STACK_PORTS moves the stack's ports",
            { context: { port, service: service.name } },
          );
        }
      }
      toStart.push(service);
    }
    plans.push({ group, toStart });
  }
  const launches = [];
  for (const plan of plans) {
    launches.push({
      ...plan,
      classpath:
        plan.toStart.length === 0
          ? ""
          : await resolveJars(layout, plan.group.component, options.say),
    });
  }
  const started: string[] = [];
  const ready = new Map<GroupName, Promise<unknown>>();
  try {
    const waits: Promise<GroupUp>[] = [];
    for (const { group, toStart, classpath } of launches) {
      const wait = (async (): Promise<GroupUp> => {
        // A group starts once the groups it needs answer (HiveServer2 makes its dirs on HDFS).
        for (const dependency of group.dependsOn ?? []) await ready.get(dependency);
        const began = Date.now();
        const pids = new Map<string, number>();
        for (const service of toStart) {
          const { args, cwd, env } = await service.prepare(java, classpath);
          pids.set(service.name, await startJava(layout, service.name, java.bin, args, cwd, env));
          started.push(service.name);
        }
        if (group.name === "kafka" && toStart.length > 0)
          await writeKafkaMode(layout, options.brokers);
        if (group.name === "hive" && toStart.length > 0) await writeHiveFlavor(layout, flavor);
        await waitUntilReady(layout, group, pids);
        return {
          name: group.name,
          endpoint: group.endpoint,
          started: toStart.map((s) => s.name),
          seconds: (Date.now() - began) / 1000,
        };
      })();
      waits.push(wait);
      // Groups come in start order (dependencies first); a failure is reported by allSettled.
      ready.set(
        group.name,
        wait.catch(() => undefined),
      );
    }
    const settled = await Promise.allSettled(waits);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<GroupUp>).value);
  } catch (error) {
    for (const name of started) await stopService(layout, name, 10_000).catch(() => undefined);
    if (started.some((n) => n.startsWith("kafka-")))
      await rm(kafkaModeFile(layout), { force: true });
    if (started.includes("hive") || started.includes("spark"))
      await rm(hiveFlavorFile(layout), { force: true });
    throw error;
  }
}

async function waitUntilReady(
  layout: StackLayout,
  group: ServiceGroup,
  pids: Map<string, number>,
): Promise<void> {
  const started = Date.now();
  const deadline = started + group.readyTimeoutMs;
  let lastError: unknown;
  for (;;) {
    for (const [name, pid] of pids) {
      if (!isAlive(pid)) {
        throw new HostflowError(
          "HF_STACK_START",
          `${name} exited while starting; the end of ${layout.log(name)}:\n${await logTail(layout, name)}`,
        );
      }
    }
    try {
      await group.probe();
      return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline || (lastError instanceof HostflowError && !lastError.retriable)) {
      const logs = await Promise.all(
        group.services.map(
          async (s) => `--- ${layout.log(s.name)}\n${await logTail(layout, s.name)}`,
        ),
      );
      throw new HostflowError(
        "HF_STACK_START",
        `${group.name} at ${group.endpoint} is not ready after ${((Date.now() - started) / 1000).toFixed(0)} s ` +
          `(${describeError(lastError)})\n${logs.join("\n")}`,
        { cause: lastError },
      );
    }
    await sleep(500);
  }
}

async function logTail(layout: StackLayout, service: string): Promise<string> {
  try {
    return tail(await readFile(layout.log(service), "utf8"), 25);
  } catch {
    return "(no log)";
  }
}

export interface DownOptions {
  groups?: readonly GroupName[] | undefined;
  /** Stop only these services (by name), e.g. what a test run started. */
  services?: readonly string[];
  /** SIGTERM first; SIGKILL after this long (default 30 s). */
  graceMs?: number;
  say: (line: string) => void;
}

/** Stops the stack's processes (by recorded PID, checked to be ours). */
export async function stackDown(layout: StackLayout, options: DownOptions): Promise<void> {
  const names = options.services ?? allServiceNames(layout, options.groups);
  const outcomes = await Promise.all(
    names.map(async (name) => ({
      name,
      outcome: await stopService(layout, name, options.graceMs),
    })),
  );
  for (const { name, outcome } of outcomes) {
    if (outcome !== "not running") options.say(`${name}: ${outcome}`);
  }
  const kafkaLeft = await Promise.all(
    allServiceNames(layout, ["kafka"]).map((name) => runningPid(layout, name)),
  );
  if (kafkaLeft.every((pid) => pid === undefined)) await rm(kafkaModeFile(layout), { force: true });
  const hiveLeft = await Promise.all(
    allServiceNames(layout, ["hive"]).map((name) => runningPid(layout, name)),
  );
  if (hiveLeft.every((pid) => pid === undefined)) await rm(hiveFlavorFile(layout), { force: true });
}

export interface ServiceStatus {
  name: string;
  pid: number | undefined;
  ports: { port: number; answers: boolean }[];
}

export async function stackStatus(layout: StackLayout): Promise<ServiceStatus[]> {
  const brokers = readKafkaMode(layout) ?? 1;
  const groups = selectGroups(layout, brokers, GROUP_NAMES, readHiveFlavor(layout) ?? "apache");
  const services = groups.flatMap((g) => g.services);
  return Promise.all(
    services.map(async (service) => ({
      name: service.name,
      pid: await runningPid(layout, service.name),
      ports: await Promise.all(
        service.ports.map(async (port) => ({ port, answers: await portAnswers(port) })),
      ),
    })),
  );
}

export function selectGroups(
  layout: StackLayout,
  brokers: BrokerCount,
  names: readonly GroupName[] = GROUP_NAMES,
  hive: HiveFlavor = "apache",
): ServiceGroup[] {
  const all: Record<GroupName, () => ServiceGroup> = {
    kafka: () => kafkaGroup(layout, brokers),
    hdfs: () => hdfsGroup(layout),
    hive: () => (hive === "spark" ? sparkHiveGroup(layout) : apacheHiveGroup(layout)),
  };
  return names.map((name) => all[name]());
}

/** The groups asked for and those they need (HiveServer2 needs HDFS), in start order. */
export function withDependencies(names: readonly GroupName[] = GROUP_NAMES): GroupName[] {
  const wanted = new Set(names);
  if (wanted.has("hive")) wanted.add("hdfs");
  return GROUP_NAMES.filter((name) => wanted.has(name));
}

/** Every service of `groups` in any mode (1 or 3 brokers, either HiveServer2). */
function allServiceNames(
  layout: StackLayout,
  groups: readonly GroupName[] = GROUP_NAMES,
): string[] {
  const largest = Math.max(...BROKER_COUNTS) as BrokerCount;
  const names = [
    ...selectGroups(layout, largest, groups, "apache"),
    ...selectGroups(layout, largest, groups, "spark"),
  ].flatMap((g) => g.services.map((s) => s.name));
  return [...new Set(names)];
}

/** Apache Hive and Spark's Thrift Server share the HiveServer2 port: one at a time. */
async function checkHiveFlavor(
  layout: StackLayout,
  flavor: HiveFlavor,
  groups: ServiceGroup[],
): Promise<void> {
  if (!groups.some((g) => g.name === "hive")) return;
  const running = readHiveFlavor(layout);
  const pids = await Promise.all(
    allServiceNames(layout, ["hive"]).map((n) => runningPid(layout, n)),
  );
  if (running !== undefined && running !== flavor && pids.some((pid) => pid !== undefined)) {
    throw new HostflowError(
      "HF_STACK_START",
      `HiveServer2 runs as ${running === "spark" ? "Spark's Thrift Server" : "Apache Hive"}; ` +
        `run \`npm run stack -- down --only hive\` before \`up --hive ${flavor}\``,
    );
  }
}

const hiveFlavorFile = (layout: StackLayout) => path.join(layout.root, "run", "hive.flavor");

export function readHiveFlavor(layout: StackLayout): HiveFlavor | undefined {
  const file = hiveFlavorFile(layout);
  if (!existsSync(file)) return undefined;
  const value = readFileSync(file, "utf8").trim();
  return value === "spark" || value === "apache" ? value : undefined;
}

async function writeHiveFlavor(layout: StackLayout, flavor: HiveFlavor): Promise<void> {
  await mkdir(path.dirname(hiveFlavorFile(layout)), { recursive: true });
  await writeFile(hiveFlavorFile(layout), `${flavor}\n`);
}

/** Kafka with 1 and with 3 nodes keep separate data; switching needs a `down` first. */
async function checkKafkaMode(
  layout: StackLayout,
  brokers: BrokerCount,
  groups: ServiceGroup[],
): Promise<void> {
  if (!groups.some((g) => g.name === "kafka")) return;
  const running = await Promise.all(
    allServiceNames(layout, ["kafka"]).map((n) => runningPid(layout, n)),
  );
  const mode = readKafkaMode(layout);
  if (running.some((pid) => pid !== undefined) && mode !== undefined && mode !== brokers) {
    throw new HostflowError(
      "HF_STACK_START",
      `Kafka runs with ${mode} broker${mode === 1 ? "" : "s"}; run \`npm run stack -- down\` before \`up --brokers ${brokers}\``,
    );
  }
}

const kafkaModeFile = (layout: StackLayout) => path.join(layout.root, "run", "kafka.brokers");

function readKafkaMode(layout: StackLayout): BrokerCount | undefined {
  const file = kafkaModeFile(layout);
  if (!existsSync(file)) return undefined;
  const value = Number(readFileSync(file, "utf8").trim());
  return BROKER_COUNTS.find((b) => b === value);
}

async function writeKafkaMode(layout: StackLayout, brokers: BrokerCount): Promise<void> {
  await mkdir(path.dirname(kafkaModeFile(layout)), { recursive: true });
  await writeFile(kafkaModeFile(layout), `${brokers}\n`);
}

/**
 * The groups of `wanted` (and what they need) to run locally: not those the environment points
 * elsewhere (KAFKA_BROKERS; HIVE_HOST for HiveServer2 and its HDFS; WEBHDFS_URL for HDFS).
 */
export function localGroups(wanted: readonly GroupName[], env: NodeJS.ProcessEnv): GroupName[] {
  const external: Record<GroupName, string | undefined> = {
    kafka: env.KAFKA_BROKERS,
    hdfs: env.WEBHDFS_URL ?? env.HIVE_HOST,
    hive: env.HIVE_HOST,
  };
  const groups = withDependencies(wanted).filter((g) => !external[g]);
  if (groups.includes("hive") && external.hdfs) {
    throw new HostflowError(
      "HF_CONFIG_INVALID",
      "WEBHDFS_URL is set but HIVE_HOST is not: the local HiveServer2 keeps its tables on the " +
        "local HDFS; set HIVE_HOST and HIVE_PORT too, or unset WEBHDFS_URL",
    );
  }
  return groups;
}

/**
 * Runs `work` with the local stack's `groups` (and what they need) up: starts what does not
 * run yet and stops, at the end, exactly what it started. Groups whose endpoint the environment
 * points elsewhere (KAFKA_BROKERS; HIVE_HOST for HiveServer2 and its HDFS; WEBHDFS_URL for
 * HDFS) are not started; for the others, KAFKA_BROKERS, HIVE_HOST, HIVE_PORT and WEBHDFS_URL
 * are set to the local stack's, so that `work` and the processes it starts reach it.
 *
 * Ctrl-C (or SIGTERM), even while the stack is still starting: `work`'s signal aborts, `work`
 * stops what it started and returns, then the stack's processes started here are stopped and
 * waited for. A second Ctrl-C exits at once after sending them SIGTERM.
 */
export async function withLocalStack<T>(
  layout: StackLayout,
  wanted: readonly GroupName[],
  say: (line: string) => void,
  work: (interrupts: Interrupts) => Promise<T>,
): Promise<T> {
  const groups = localGroups(wanted, process.env);
  const hive = hiveFlavorFromEnv();
  const ours = allServiceNames(layout, groups);
  const runningBefore = new Set<string>();
  for (const name of ours)
    if ((await runningPid(layout, name)) !== undefined) runningBefore.add(name);
  // What runs now and did not before this call: also a server that is still starting.
  const startedHere = () => ours.filter((name) => !runningBefore.has(name));
  const interrupts = catchInterrupts(say);
  interrupts.onExitNow(() => {
    for (const name of startedHere()) signalService(layout, name, "SIGTERM");
  });
  try {
    if (groups.length > 0) {
      say(`local stack: ${groups.join(", ")}`);
      const starting = stackUp(layout, { brokers: 1, groups, hive, say });
      starting.catch(() => undefined); // when interrupted, its failure is not the news
      const up = await Promise.race([
        starting,
        aborted(interrupts.signal).then(() => {
          throw new HostflowError("HF_INTERRUPTED", "interrupted while the local stack started");
        }),
      ]);
      for (const g of up) {
        say(
          `${g.name} at ${g.endpoint} (${g.started.length > 0 ? `started in ${g.seconds.toFixed(1)} s` : "already running"})`,
        );
      }
      if (groups.includes("kafka"))
        process.env.KAFKA_BROKERS = kafkaBootstrap(1, layout.ports.kafka);
      if (groups.includes("hive")) {
        process.env.HIVE_HOST = "127.0.0.1";
        process.env.HIVE_PORT = String(layout.ports.hive);
      }
      if (groups.includes("hdfs")) process.env.WEBHDFS_URL = webHdfsUrl(layout);
    }
    return await work(interrupts);
  } finally {
    const names = [];
    for (const name of startedHere())
      if ((await runningPid(layout, name)) !== undefined) names.push(name);
    if (names.length > 0) {
      say(`stopping what was started: ${names.join(", ")}`);
      await stackDown(layout, { services: names, say });
    }
    interrupts.dispose();
  }
}
