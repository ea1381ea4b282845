import path from "node:path";
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
    ports: { kafka: options.kafkaPort ?? 9092, hive: options.hivePort ?? 10000 },
  };
}
