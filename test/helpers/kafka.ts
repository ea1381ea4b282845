import type { IHeaders } from "kafkajs";
import { createKafka, createTopicsAndWait } from "../../lib/kafka.js";
import { uniqueName } from "./names.js";

export interface ReadRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer | null;
  headers: IHeaders;
}

/**
 * Every record of `topic` up to its end offsets at the time of the call (a bounded read, as a
 * plain consumer with a fresh group would see it).
 */
export async function readTopic(
  brokers: string[],
  topic: string,
  timeoutMs = 60_000,
): Promise<ReadRecord[]> {
  const kafka = createKafka({ clientId: "hostflow-test-reader", brokers });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const expected = ends.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  const records: ReadRecord[] = [];
  if (expected === 0) return records;
  const consumer = kafka.consumer({ groupId: uniqueName("hf_reader") });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`read ${records.length} of ${expected} records of ${topic}`)),
      timeoutMs,
    );
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({
          partition,
          offset: Number(message.offset),
          key: message.key?.toString() ?? null,
          value: message.value,
          headers: message.headers ?? {},
        });
        if (records.length >= expected) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return records;
}

/** Creates a topic with `partitions` partitions and waits for its leaders. */
export async function createTopic(brokers: string[], topic: string, partitions = 3): Promise<void> {
  const admin = createKafka({
    clientId: "hostflow-test-admin",
    brokers,
    retry: { retries: 5 },
  }).admin();
  await admin.connect();
  try {
    await createTopicsAndWait(admin, [{ topic, numPartitions: partitions }]);
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopic(brokers: string[], topic: string): Promise<void> {
  const admin = createKafka({ clientId: "hostflow-test-admin", brokers }).admin();
  await admin.connect().catch(() => undefined);
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
}

export const header = (headers: IHeaders, key: string): string | undefined =>
  headers[key]?.toString();
