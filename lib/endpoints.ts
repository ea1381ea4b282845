import { HostflowError } from "./errors.js";

/**
 * Where Kafka and HiveServer2 are. The defaults are the local stack (`npm run stack -- up`);
 * the environment points the same commands and tests at an existing cluster.
 */
export interface Endpoints {
  kafkaBrokers: string[];
  hive: HiveEndpoint;
  /** The NameNode's HTTP address (WebHDFS) of the HDFS the warehouse is on. */
  webHdfs: { url: string; user: string };
}

export interface HiveEndpoint {
  host: string;
  port: number;
  /** HiveServer2 with authentication NONE still expects a SASL PLAIN user name. */
  user: string;
  password: string;
}

export const ENDPOINT_VARIABLES = {
  KAFKA_BROKERS: "comma-separated host:port list (default 127.0.0.1:9092)",
  HIVE_HOST: "HiveServer2 host (default 127.0.0.1)",
  HIVE_PORT: "HiveServer2 binary-transport port (default 10000)",
  HIVE_USER: "user name sent with SASL PLAIN (default: the OS user, else hostflow)",
  HIVE_PASSWORD:
    "password sent with SASL PLAIN (default anonymous, as Hive's JDBC driver sends; NONE servers ignore it)",
  WEBHDFS_URL:
    "WebHDFS of the warehouse's HDFS, http://namenode:port (default http://127.0.0.1:9870); user.name is HADOOP_USER_NAME, else the OS user",
} as const;

export function endpointsFromEnv(env: NodeJS.ProcessEnv = process.env): Endpoints {
  return {
    kafkaBrokers: parseBrokers(env.KAFKA_BROKERS ?? "127.0.0.1:9092", "KAFKA_BROKERS"),
    hive: {
      host: nonEmpty(env.HIVE_HOST) ?? "127.0.0.1",
      port: parsePort(env.HIVE_PORT ?? "10000", "HIVE_PORT"),
      user: nonEmpty(env.HIVE_USER) ?? nonEmpty(env.USER) ?? "hostflow",
      // HiveServer2's PLAIN SASL refuses an empty password even with authentication NONE.
      password: nonEmpty(env.HIVE_PASSWORD) ?? "anonymous",
    },
    webHdfs: {
      url: parseUrl(env.WEBHDFS_URL ?? "http://127.0.0.1:9870", "WEBHDFS_URL"),
      user: nonEmpty(env.HADOOP_USER_NAME) ?? nonEmpty(env.USER) ?? "hostflow",
    },
  };
}

export function parseBrokers(value: string, source: string): string[] {
  const brokers = value
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b !== "");
  if (brokers.length === 0) {
    throw invalid(source, value, "expected host:port[,host:port…]");
  }
  for (const broker of brokers) {
    const at = broker.lastIndexOf(":");
    if (at <= 0) throw invalid(source, value, `"${broker}" has no port; expected host:port`);
    parsePort(broker.slice(at + 1), `${source} (${broker})`);
  }
  return brokers;
}

export function parsePort(value: string, source: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port < 1 || port > 65535) {
    throw invalid(source, value, "expected a port number from 1 to 65535");
  }
  return port;
}

function parseUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw invalid(source, value, "expected a URL such as http://127.0.0.1:9870");
  }
  if (url.protocol !== "http:") throw invalid(source, value, "expected an http:// URL");
  return url.origin;
}

function invalid(source: string, value: string, hint: string): HostflowError {
  return new HostflowError("HF_CONFIG_INVALID", `${source}="${value}" is invalid: ${hint}`, {
    context: { source, value },
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
