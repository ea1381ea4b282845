import type { StackLayout } from "./layout.js";
import type { Java } from "./prerequisites.js";

/** One JVM of the stack. */
export interface Service {
  /** Names its pid file and log: `kafka-1`, `hive`. */
  name: string;
  /** The ports it listens on, all on 127.0.0.1. */
  ports: number[];
  /** Writes its config and formats its storage if needed; returns its JVM arguments. */
  prepare(java: Java, classpath: string): Promise<Launch>;
}

/** Services that answer as one endpoint: the Kafka cluster, HDFS, HiveServer2. */
export interface ServiceGroup {
  name: "kafka" | "hdfs" | "hive";
  /** The jar folder: scripts/stack/<component>/pom.xml. */
  component: string;
  services: Service[];
  endpoint: string;
  /** Resolves once the group answers a real client request; throws a retriable error before. */
  probe(): Promise<void>;
  readyTimeoutMs: number;
  /** Groups that must answer before this one starts (HiveServer2 needs its HDFS). */
  dependsOn?: ServiceGroup["name"][];
}

export type GroupFactory = (layout: StackLayout) => ServiceGroup;

export interface Launch {
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
}
