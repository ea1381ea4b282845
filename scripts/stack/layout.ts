import path from "node:path";
import { HostflowError } from "../../lib/errors.js";
import { projectRoot } from "../../lib/project.js";

/** Every port the local stack listens on (all on 127.0.0.1). */
export interface StackPorts {
  /** The first Kafka client port; nodes use it + 0, 2, 4 and the KRaft quorum one above each. */
  kafka: number;
  /** HiveServer2 (Apache Hive, or Spark's Thrift Server with `--hive spark`). */
  hive: number;
  /** NameNode RPC: the `hdfs://127.0.0.1:<port>` of fs.defaultFS. */
  namenode: number;
  /** NameNode HTTP: the web UI and WebHDFS. */
  namenodeHttp: number;
  /** DataNode block transfer, HTTP (WebHDFS's redirect target) and IPC. */
  datanode: number;
  datanodeHttp: number;
  datanodeIpc: number;
}

/** Hadoop's, Hive's and Kafka's own defaults, as on a production cluster. */
export const DEFAULT_PORTS: Readonly<StackPorts> = Object.freeze({
  kafka: 9092,
  hive: 10000,
  namenode: 8020,
  namenodeHttp: 9870,
  datanode: 9866,
  datanodeHttp: 9864,
  datanodeIpc: 9867,
});

/** Where the local stack keeps its jars, data, logs and pid files: `.stack/` in the checkout. */
export interface StackLayout {
  /** The hostflow checkout (holds scripts/stack/<component>/pom.xml). */
  project: string;
  root: string;
  lib(component: string): string;
  data(service: string): string;
  log(service: string): string;
  pid(service: string): string;
  /** dfs.permissions.enabled of the stack's HDFS. */
  hdfsPermissions: boolean;
  conf(service: string): string;
  ports: StackPorts;
}

/**
 * A second local stack on other ports (a test's own, beside the shared one) is named by its
 * directory and these; the programs then reach it through KAFKA_BROKERS, HIVE_HOST/HIVE_PORT
 * and WEBHDFS_URL, which `withLocalStack` sets once the stack it started answers.
 * HOSTFLOW_STACK_PORTS moves any port; the two single-port variables win over it.
 */
export const STACK_PORT_VARIABLES = {
  HOSTFLOW_STACK_PORTS:
    "name=port pairs, e.g. kafka=29092,hive=20000,namenode=28020,namenodeHttp=29870,datanode=29866,datanodeHttp=29864,datanodeIpc=29867",
  HOSTFLOW_STACK_KAFKA_PORT: "the local Kafka's first client port (default 9092)",
  HOSTFLOW_STACK_HIVE_PORT: "the local HiveServer2's port (default 10000)",
} as const;

export interface LayoutOptions {
  /** Where the resolved jars are (default <root>/lib): a second stack can share the first's. */
  lib?: string;
  kafkaPort?: number;
  hivePort?: number;
  /** Any port; the rest come from HOSTFLOW_STACK_PORTS, else DEFAULT_PORTS. */
  ports?: Partial<StackPorts>;
  /** HDFS checks permissions (a test's own HDFS); the local stack's does not. */
  hdfsPermissions?: boolean;
}

export function stackLayout(
  root = process.env.HOSTFLOW_STACK_DIR,
  options: LayoutOptions = {},
): StackLayout {
  const project = projectRoot();
  const base = path.resolve(root ?? path.join(project, ".stack"));
  const ports: StackPorts = {
    ...DEFAULT_PORTS,
    ...portsFromEnv(process.env.HOSTFLOW_STACK_PORTS),
    ...options.ports,
  };
  ports.kafka = options.kafkaPort ?? portFromEnv("HOSTFLOW_STACK_KAFKA_PORT") ?? ports.kafka;
  ports.hive = options.hivePort ?? portFromEnv("HOSTFLOW_STACK_HIVE_PORT") ?? ports.hive;
  return {
    project,
    root: base,
    lib: (component) => path.join(options.lib ?? path.join(base, "lib"), component),
    data: (service) => path.join(base, "data", service),
    log: (service) => path.join(base, "logs", `${service}.log`),
    pid: (service) => path.join(base, "run", `${service}.pid`),
    conf: (service) => path.join(base, "conf", service),
    ports,
    hdfsPermissions: options.hdfsPermissions ?? false,
  };
}

/**
 * HOSTFLOW_STACK_PORTS: `name=port` pairs, comma-separated (`kafka=29092,hive=20000,namenode=28020`),
 * so that a second stack on the same machine keeps off the default ports.
 */
export function portsFromEnv(value: string | undefined): Partial<StackPorts> {
  if (value === undefined || value.trim() === "") return {};
  const ports: Partial<StackPorts> = {};
  const names = Object.keys(DEFAULT_PORTS) as Array<keyof StackPorts>;
  for (const pair of value.split(",")) {
    const [name = "", port = ""] = pair.split("=").map((s) => s.trim());
    const key = names.find((n) => n.toLowerCase() === name.toLowerCase());
    const number = Number(port);
    if (key === undefined || !/^\d+$/.test(port) || number < 1 || number > 65535) {
      throw new HostflowError(
        "HF_CONFIG_INVALID",
        `HOSTFLOW_STACK_PORTS="${value}" is invalid at "${pair}": expected name=port pairs, ` +
          `names ${names.join(", ")}`,
        { context: { source: "HOSTFLOW_STACK_PORTS", value } },
      );
    }
    ports[key] = number;
  }
  return ports;
}

function portFromEnv(name: keyof typeof STACK_PORT_VARIABLES): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === "") return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new HostflowError("HF_STACK_START", `${name}=${value}: give a port number (1-65535)`);
  return port;
}
