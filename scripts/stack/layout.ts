import path from "node:path";
import { HostflowError } from "../../lib/errors.js";
import { projectRoot } from "../../lib/project.js";

/** Where the local stack keeps its jars, data, logs and pid files: `.stack/` in the checkout. */
export interface StackLayout {
  /** The hostflow checkout (holds scripts/stack/<component>/pom.xml). */
  project: string;
  root: string;
  lib(component: string): string;
  data(service: string): string;
  log(service: string): string;
  pid(service: string): string;
  conf(service: string): string;
  /** The first Kafka client port (nodes use it + 0, 2, 4) and the HiveServer2 port. */
  ports: { kafka: number; hive: number };
}

/**
 * A second local stack on other ports (a test's own, beside the shared one) is named by its
 * directory and these; the programs then reach it through KAFKA_BROKERS and HIVE_PORT, which
 * `withLocalStack` sets once the stack it started answers.
 */
export const STACK_PORT_VARIABLES = {
  HOSTFLOW_STACK_KAFKA_PORT: "the local Kafka's first client port (default 9092)",
  HOSTFLOW_STACK_HIVE_PORT: "the local HiveServer2's port (default 10000)",
} as const;

export interface LayoutOptions {
  /** Where the resolved jars are (default <root>/lib): a second stack can share the first's. */
  lib?: string;
  kafkaPort?: number;
  hivePort?: number;
}

export function stackLayout(
  root = process.env.HOSTFLOW_STACK_DIR,
  options: LayoutOptions = {},
): StackLayout {
  const project = projectRoot();
  const base = path.resolve(root ?? path.join(project, ".stack"));
  return {
    project,
    root: base,
    lib: (component) => path.join(options.lib ?? path.join(base, "lib"), component),
    data: (service) => path.join(base, "data", service),
    log: (service) => path.join(base, "logs", `${service}.log`),
    pid: (service) => path.join(base, "run", `${service}.pid`),
    conf: (service) => path.join(base, "conf", service),
    ports: {
      kafka: options.kafkaPort ?? portFromEnv("HOSTFLOW_STACK_KAFKA_PORT") ?? 9092,
      hive: options.hivePort ?? portFromEnv("HOSTFLOW_STACK_HIVE_PORT") ?? 10000,
    },
  };
}

function portFromEnv(name: keyof typeof STACK_PORT_VARIABLES): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === "") return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new HostflowError("HF_STACK_START", `${name}=${value}: give a port number (1-65535)`);
  return port;
}
