import { Kafka, type KafkaConfig, type LogEntry, logLevel } from "kafkajs";
import { HostflowError } from "./errors.js";
import type { Logger } from "./log.js";

const LEVELS: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/**
 * A kafkajs client whose log lines go to the hostflow logger (or nowhere), so that kafkajs's
 * own console output does not mix with a CLI's.
 */
export function createKafka(
  config: Omit<KafkaConfig, "logCreator" | "logLevel">,
  logger?: Logger,
): Kafka {
  return new Kafka({
    ...config,
    logLevel: logger === undefined ? logLevel.NOTHING : logLevel.INFO,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        const { message, ...extra } = log;
        logger?.[LEVELS[level] ?? "info"]({ kafkajs: namespace, ...extra }, message);
      },
  });
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
