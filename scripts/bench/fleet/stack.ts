/**
 * The fleet bench's stack: the local stack (scripts/stack) with three brokers, HDFS and
 * HiveServer2, in HOSTFLOW_STACK_DIR on HOSTFLOW_STACK_PORTS. As `withLocalStack` does for the
 * other suites (which always asks for one broker): what runs already is used and left running,
 * what is started here (also a server still starting at Ctrl-C) is stopped at the end. The bench
 * also SIGKILLs a broker and starts it again, through the same pid files and `stackUp`.
 */
import { HostflowError } from "../../../lib/errors.js";
import { webHdfsUrl } from "../../stack/hdfs.js";
import { kafkaBootstrap } from "../../stack/kafka.js";
import type { StackLayout } from "../../stack/layout.js";
import { isAlive, runningPid, signalService } from "../../stack/processes.js";
import { stackDown, stackUp } from "../../stack/stack.js";

export const BROKERS = 3;
export const SERVICES = ["kafka-1", "kafka-2", "kafka-3", "namenode", "datanode", "hive"] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Endpoints in the environment point elsewhere: the bench could not kill a broker there. */
export function externalEndpoints(env: NodeJS.ProcessEnv): string[] {
  return ["KAFKA_BROKERS", "HIVE_HOST", "WEBHDFS_URL"].filter((name) => env[name]);
}

export async function fleetStack(layout: StackLayout) {
  const before = new Set<string>();
  for (const name of SERVICES) if ((await runningPid(layout, name)) !== undefined) before.add(name);
  const pids = new Map<string, number>();
  const refreshPids = async () => {
    for (const name of SERVICES) {
      const pid = await runningPid(layout, name);
      if (pid === undefined) pids.delete(name);
      else pids.set(name, pid);
    }
  };
  /** Running now and not before: also a server that is still starting. */
  const startedHere = async () => {
    const names: string[] = [];
    for (const name of SERVICES)
      if (!before.has(name) && (await runningPid(layout, name)) !== undefined) names.push(name);
    return names;
  };
  return {
    layout,
    brokers: kafkaBootstrap(BROKERS, layout.ports.kafka).split(","),
    hive: { host: "127.0.0.1", port: layout.ports.hive },
    webHdfsUrl: webHdfsUrl(layout),
    runningBefore: [...before],

    /** Starts what does not run yet and waits until each group answers. */
    async up(say: (line: string) => void): Promise<void> {
      // The checks and the compaction run Tez over tens of millions of rows inside HiveServer2's
      // JVM: with the stack's 2 GB, the 30-minute run's ran out of heap.
      process.env.HOSTFLOW_STACK_HIVE_HEAP ||= "8g";
      try {
        for (const g of await stackUp(layout, { brokers: BROKERS, say })) {
          say(
            `${g.name} at ${g.endpoint} (${g.started.length > 0 ? `started in ${g.seconds.toFixed(1)} s` : "already running"})`,
          );
        }
      } catch (error) {
        if (error instanceof HostflowError && /runs with 1 broker/.test(error.message)) {
          throw new HostflowError(
            "HF_STACK_START",
            `${error.message}. Or give the fleet bench a stack of its own (three brokers), e.g. ` +
              "HOSTFLOW_STACK_DIR=$PWD/.stack-fleet HOSTFLOW_STACK_PORTS=kafka=21092,hive=21000," +
              "namenode=21020,namenodeHttp=21870,datanode=21866,datanodeHttp=21864,datanodeIpc=21867",
            { cause: error },
          );
        }
        throw error;
      }
      await refreshPids();
    },

    pid(service: ServiceName): number | undefined {
      const pid = pids.get(service);
      return pid !== undefined && isAlive(pid) ? pid : undefined;
    },

    /** SIGKILL, as a crash: no controlled shutdown, no flush. */
    killBroker(service: ServiceName): void {
      signalService(layout, service, "SIGKILL");
    },

    /** Starts what is not running (the killed broker) and waits for all brokers; seconds. */
    async restartBroker(): Promise<number> {
      const began = Date.now();
      await stackUp(layout, { brokers: BROKERS, groups: ["kafka"], say: () => undefined });
      await refreshPids();
      return (Date.now() - began) / 1000;
    },

    async down(say: (line: string) => void): Promise<void> {
      const names = await startedHere();
      if (names.length === 0) return;
      say(`stopping what was started: ${names.join(", ")}`);
      await stackDown(layout, { services: names, say });
    },

    /** For a second Ctrl-C: SIGTERM to what was started here, without waiting. */
    signalNow(): void {
      for (const name of SERVICES) if (!before.has(name)) signalService(layout, name, "SIGTERM");
    },
  };
}

export type FleetStack = Awaited<ReturnType<typeof fleetStack>>;
