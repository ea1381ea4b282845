/**
 * What the kafka sink loads from kafkajs, in one module that agent/sinks/kafka.ts imports when a
 * kafka sink starts: a config without a kafka sink never loads the Kafka client.
 */
import {
  CompressionTypes,
  type ICustomPartitioner,
  type KafkaConfig,
  type Message,
  Partitioners,
  type ProducerBatch,
} from "kafkajs";
import { createKafka } from "../../lib/kafka.js";
import type { Logger } from "../../lib/log.js";
import type { KafkaSinkConfig } from "../config/schema.js";
import { kafkajsLogRoute } from "./kafka-log.js";
import type { ProducerLike } from "./kafka-producer.js";
import type { WireRecord } from "./record.js";

export { kafkaClientConfig } from "../../lib/kafka.js";
export { isTooLarge } from "./kafka-errors.js";
export { ReplacingProducer } from "./kafka-producer.js";

const ACKS = { all: -1, leader: 1, none: 0 } as const;
const COMPRESSION = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP } as const;

export function kafkajsProducers(
  client: Omit<KafkaConfig, "logCreator" | "logLevel">,
  logger: Logger,
  retry: NonNullable<KafkaConfig["retry"]>,
  recovering: () => boolean,
): () => ProducerLike {
  const kafka = createKafka(client, kafkajsLogRoute(logger, recovering));
  return () =>
    kafka.producer({
      // A host's records land in the partition Java and librdkafka producers would choose.
      createPartitioner: recordingPartitioner,
      retry,
      idempotent: false,
      // One request per broker at a time: a retried request cannot overtake a later one, so a
      // host's records keep their order within the partition.
      maxInFlightRequests: 1,
      // The broker's auto.create.topics.enable decides, as for any producer.
      allowAutoTopicCreation: true,
    });
}

/**
 * Java's murmur2 partitioner (kafkajs 2's default), which also writes the partition it chose
 * into the message: the sink then checks that Kafka acknowledged every partition the batch went
 * to (see unacknowledged() in kafka-producer.ts), and a batch sent again keeps its partitions.
 */
export const recordingPartitioner: ICustomPartitioner = () => {
  const choose = Partitioners.DefaultPartitioner();
  return (args) => {
    const partition = choose(args);
    args.message.partition = partition;
    return partition;
  };
};

/** One sendBatch per batch: the records grouped by topic, each topic's in batch order. */
export function toProducerBatch(
  records: readonly WireRecord[],
  options: Pick<KafkaSinkConfig, "acks" | "compression" | "request_timeout">,
): ProducerBatch {
  const byTopic = new Map<string, Message[]>();
  for (const record of records) {
    let messages = byTopic.get(record.topic);
    if (!messages) {
      messages = [];
      byTopic.set(record.topic, messages);
    }
    messages.push({ key: record.key, value: record.value, headers: record.headers });
  }
  return {
    acks: ACKS[options.acks],
    compression: COMPRESSION[options.compression],
    timeout: options.request_timeout,
    topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
  };
}
