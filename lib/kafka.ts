import { readFile } from "node:fs/promises";
import {
  type Admin,
  Kafka,
  type KafkaConfig,
  type LogEntry,
  logLevel,
  type SASLOptions,
} from "kafkajs";
import { CLIENT_TIMEOUT_MARGIN_MS, type KafkaConnectionConfig } from "./config/kafka.js";
import { HostflowError } from "./errors.js";
import { fixKafkajsIdleLoop } from "./kafkajs-idle.js";
import type { Logger } from "./log.js";
import { sleep } from "./timeout.js";

export { CLIENT_TIMEOUT_MARGIN_MS };

const LEVELS: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/** Where a kafkajs line goes instead of a logger: the agent's sink rate-limits them. */
export type KafkaLogRoute = (
  level: "error" | "warn" | "info" | "debug",
  fields: Record<string, unknown>,
  message: string,
) => void;

/**
 * A kafkajs client whose log lines go to the hostflow logger or a route (or nowhere), so that
 * kafkajs's own console output does not mix with a CLI's.
 */
export function createKafka(
  config: Omit<KafkaConfig, "logCreator" | "logLevel">,
  logger?: Logger | KafkaLogRoute,
): Kafka {
  fixKafkajsIdleLoop();
  return new Kafka({
    ...config,
    logLevel: logger === undefined ? logLevel.NOTHING : logLevel.INFO,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, ...extra } = log;
        const name = LEVELS[level] ?? "info";
        const fields = { kafkajs: namespace, ...extra };
        if (typeof logger === "function") logger(name, fields, message);
        else logger?.[name](fields, message);
      },
  });
}

/**
 * kafkajs's messages for the group answers it handles on its own (it joins again, or finds the
 * coordinator again), as in kafkajs 2.2.4's protocol/error.js; test/lib/kafka.test.ts checks
 * them against it.
 */
export const ROUTINE_GROUP_ERRORS: ReadonlySet<string> = new Set([
  "The group is rebalancing, so a rejoin is needed",
  "This is not the correct coordinator for this group",
  "The group coordinator is not available",
]);

/**
 * kafkajs's answers for a partition whose leader is moving: an election (a broker back, Kafka's
 * preferred-leader rebalance minutes later) or metadata that has not caught up. They pass.
 */
export const LEADER_MOVING: ReadonlySet<string> = new Set([
  "LEADER_NOT_AVAILABLE",
  "NOT_LEADER_FOR_PARTITION",
]);

/** Whether `error` (or what it wraps: kafkajs's retrier keeps the last one) is a LEADER_MOVING answer. */
export function leaderMoving(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    if (LEADER_MOVING.has(String((e as { type?: unknown }).type))) return true;
    e = (e as { originalError?: unknown }).originalError ?? e.cause;
  }
  return false;
}

/**
 * kafkajs's lines for a consumer group's members: a rebalance or a coordinator that moved (a
 * member joining or leaving, a broker restarting) is routine in a group and kafkajs recovers
 * from it, yet it logs each heartbeat and commit answer at error level (every minute, with
 * collectors scheduled every minute). Those go to debug; everything else keeps its level. What
 * kafkajs cannot recover from still reaches the caller as an error, and is logged there.
 */
export function groupMemberLogRoute(logger: Logger): KafkaLogRoute {
  return (level, fields, message) => {
    const error = fields.error;
    if (typeof error === "string" && ROUTINE_GROUP_ERRORS.has(error)) {
      logger.debug(fields, message);
      return;
    }
    logger[level](fields, message);
  };
}

/** Asks the cluster for its metadata; resolves with the broker count. */
export async function describeKafka(
  kafka: Kafka,
): Promise<{ brokers: number; controller: number | null }> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return { brokers: cluster.brokers.length, controller: cluster.controller };
  } catch (cause) {
    throw new HostflowError(
      "HF_KAFKA_UNREACHABLE",
      "the Kafka cluster did not answer a metadata request",
      {
        cause,
        retriable: true,
      },
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * The kafkajs client config: TLS and SASL files are read here, once, so that a missing or
 * unreadable file is a clear config error at start rather than a failure at every write.
 */
export async function kafkaClientConfig(
  options: KafkaConnectionConfig,
  retry: NonNullable<KafkaConfig["retry"]>,
): Promise<Omit<KafkaConfig, "logCreator" | "logLevel">> {
  const config: Omit<KafkaConfig, "logCreator" | "logLevel"> = {
    clientId: options.client_id,
    brokers: [...options.brokers],
    connectionTimeout: options.connection_timeout,
    requestTimeout: options.request_timeout + CLIENT_TIMEOUT_MARGIN_MS,
    enforceRequestTimeout: true,
    retry: { ...retry },
  };
  const tls = options.tls;
  if (tls?.enabled) {
    if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) {
      throw new HostflowError(
        "HF_CONFIG_INVALID",
        "tls: cert_file and key_file go together (a client certificate needs its key)",
        { context: { option: "tls" } },
      );
    }
    config.ssl = {
      rejectUnauthorized: tls.reject_unauthorized,
      ...(tls.ca_file ? { ca: await readConfigFile(tls.ca_file, "tls.ca_file") } : {}),
      ...(tls.cert_file ? { cert: await readConfigFile(tls.cert_file, "tls.cert_file") } : {}),
      ...(tls.key_file ? { key: await readConfigFile(tls.key_file, "tls.key_file") } : {}),
    };
  }
  const sasl = options.sasl;
  if (sasl) {
    if ((sasl.password === undefined) === (sasl.password_file === undefined)) {
      throw new HostflowError(
        "HF_CONFIG_INVALID",
        "sasl: give exactly one of password and password_file",
        { context: { option: "sasl" } },
      );
    }
    const password =
      sasl.password_file === undefined
        ? (sasl.password as string)
        : (await readConfigFile(sasl.password_file, "sasl.password_file")).trim();
    if (password === "") {
      throw new HostflowError(
        "HF_CONFIG_INVALID",
        sasl.password_file === undefined
          ? "sasl.password is empty"
          : `sasl.password_file ${sasl.password_file} is empty`,
        { context: { option: "sasl" } },
      );
    }
    config.sasl = { mechanism: sasl.mechanism, username: sasl.username, password } as SASLOptions;
  }
  return config;
}

async function readConfigFile(path: string, option: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code;
    throw new HostflowError(
      "HF_CONFIG_INVALID",
      `${option}: cannot read ${path}${errno ? ` (${errno})` : ""}`,
      { cause, context: { option, file: path } },
    );
  }
}

/**
 * Creates topics and waits until every partition has a leader that serves it. kafkajs's own
 * `waitForLeaders` asks for metadata once the create returns, and a busy KRaft broker answers
 * that with UNKNOWN_TOPIC_OR_PARTITION before it has applied the new topic; kafkajs gives up on
 * that at once. Here the create does not wait, and each topic is asked for its offsets (which
 * only a partition's serving leader answers) until all of them answer or `timeoutMs` passes.
 * Resolves false when the topics existed already, like kafkajs's createTopics.
 */
export async function createTopicsAndWait(
  admin: Admin,
  topics: { topic: string; numPartitions: number }[],
  timeoutMs = 30_000,
): Promise<boolean> {
  const created = await admin.createTopics({ topics, waitForLeaders: false });
  const deadline = Date.now() + timeoutMs;
  for (const { topic, numPartitions } of topics) {
    for (;;) {
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        if (offsets.length === numPartitions) break;
        throw new Error(`${offsets.length} of ${numPartitions} partitions answer`);
      } catch (error) {
        if (Date.now() >= deadline) {
          throw new HostflowError(
            "HF_KAFKA_UNREACHABLE",
            `topic ${topic} was created but its partitions have no serving leader after ${timeoutMs} ms: ${(error as Error).message}`,
            { cause: error, retriable: true, context: { topic } },
          );
        }
        await sleep(250);
      }
    }
  }
  return created;
}
