import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describeError, HostflowError } from "../../lib/errors.js";
import { sleep } from "../../lib/timeout.js";
import { aborted, catchInterrupts, type Interrupts } from "../interrupt.js";
import { hiveGroup } from "./hive.js";
import { resolveJars, tail } from "./jars.js";
import { BROKER_COUNTS, type BrokerCount, kafkaBootstrap, kafkaGroup } from "./kafka.js";
import type { StackLayout } from "./layout.js";
import { portAnswers, portInUse } from "./ports.js";
import { findJava } from "./prerequisites.js";
import { isAlive, runningPid, signalService, startJava, stopService } from "./processes.js";
import type { ServiceGroup } from "./service.js";

export type GroupName = ServiceGroup["name"];
export const GROUP_NAMES: readonly GroupName[] = ["kafka", "hive"];

export interface UpOptions {
  brokers: BrokerCount;
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
  const groups = selectGroups(layout, options.brokers, options.groups);
  const java = findJava();
  await checkKafkaMode(layout, options.brokers, groups);
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
              "(KAFKA_BROKERS, HIVE_HOST, HIVE_PORT)",
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
  try {
    const waits = launches.map(async ({ group, toStart, classpath }): Promise<GroupUp> => {
      const began = Date.now();
      const pids = new Map<string, number>();
      for (const service of toStart) {
        const { args, cwd, env } = await service.prepare(java, classpath);
        pids.set(service.name, await startJava(layout, service.name, java.bin, args, cwd, env));
        started.push(service.name);
      }
      if (group.name === "kafka" && toStart.length > 0)
        await writeKafkaMode(layout, options.brokers);
      await waitUntilReady(layout, group, pids);
      return {
        name: group.name,
        endpoint: group.endpoint,
        started: toStart.map((s) => s.name),
        seconds: (Date.now() - began) / 1000,
      };
    });
    const settled = await Promise.allSettled(waits);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<GroupUp>).value);
  } catch (error) {
    for (const name of started) await stopService(layout, name, 10_000).catch(() => undefined);
    if (started.some((n) => n.startsWith("kafka-")))
      await rm(kafkaModeFile(layout), { force: true });
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
}

export interface ServiceStatus {
  name: string;
  pid: number | undefined;
  ports: { port: number; answers: boolean }[];
}

export async function stackStatus(layout: StackLayout): Promise<ServiceStatus[]> {
  const brokers = readKafkaMode(layout) ?? 1;
  const groups = selectGroups(layout, brokers);
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
): ServiceGroup[] {
  const all: Record<GroupName, () => ServiceGroup> = {
    kafka: () => kafkaGroup(layout, brokers),
    hive: () => hiveGroup(layout),
  };
  return names.map((name) => all[name]());
}

function allServiceNames(
  layout: StackLayout,
  groups: readonly GroupName[] = GROUP_NAMES,
): string[] {
  const largest = Math.max(...BROKER_COUNTS) as BrokerCount;
  return selectGroups(layout, largest, groups).flatMap((g) => g.services.map((s) => s.name));
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
 * Runs `work` with the local stack's `groups` up: starts what does not run yet and stops, at
 * the end, exactly what it started. Groups whose endpoint the environment points elsewhere
 * (KAFKA_BROKERS, HIVE_HOST) are not started; for the others, KAFKA_BROKERS and HIVE_PORT are
 * set to the local stack's ports, so that `work` and the processes it starts reach it.
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
  const external: Record<GroupName, string | undefined> = {
    kafka: process.env.KAFKA_BROKERS,
    hive: process.env.HIVE_HOST,
  };
  const groups = wanted.filter((g) => !external[g]);
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
      const starting = stackUp(layout, { brokers: 1, groups, say });
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
      if (groups.includes("hive")) process.env.HIVE_PORT = String(layout.ports.hive);
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
