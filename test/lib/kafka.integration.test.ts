import test from "ava";
import { endpointsFromEnv } from "../../lib/endpoints.js";
import { createKafka, createTopicsAndWait, describeKafka } from "../../lib/kafka.js";
import { uniqueName } from "../helpers/names.js";

const brokers = endpointsFromEnv().kafkaBrokers;

test("produce and consume round trip on a topic with 3 partitions, per-key order kept", async (t) => {
  const kafka = createKafka({ clientId: "hostflow-test", brokers });
  const topic = uniqueName("hf_roundtrip");
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });
  t.true(await createTopicsAndWait(admin, [{ topic, numPartitions: 3 }]));

  const hosts = ["web-01", "web-02", "db-01", "db-02", "cache-01", "lb-01"];
  const sent = hosts.flatMap((host) => Array.from({ length: 50 }, (_, seq) => ({ host, seq })));
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: sent.map(({ host, seq }) => ({
      key: host,
      value: JSON.stringify({ host, seq }),
      headers: { seq: String(seq) },
    })),
  });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: uniqueName("hf_roundtrip_group") });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received: { host: string; seq: number; partition: number; header: string }[] = [];
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const value = JSON.parse(String(message.value)) as { host: string; seq: number };
        received.push({ ...value, partition, header: String(message.headers?.seq) });
        if (received.length === sent.length) resolve();
      },
    });
  });
  await Promise.race([
    done,
    new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), 60_000)),
  ]);
  await consumer.disconnect();

  t.is(received.length, sent.length);
  t.deepEqual(
    received.map((r) => `${r.host}#${r.seq}`).sort(),
    sent.map((s) => `${s.host}#${s.seq}`).sort(),
  );
  t.true(received.every((r) => r.header === String(r.seq)));
  for (const host of hosts) {
    const mine = received.filter((r) => r.host === host);
    t.deepEqual(
      mine.map((r) => r.seq),
      Array.from({ length: 50 }, (_, i) => i),
      `${host} arrives in order`,
    );
    t.is(new Set(mine.map((r) => r.partition)).size, 1, `${host} stays in one partition`);
  }
  t.true(new Set(received.map((r) => r.partition)).size > 1, "the keys spread over the partitions");
  const offsets = await admin.fetchTopicOffsets(topic);
  t.is(offsets.length, 3);
  t.is(
    offsets.reduce((sum, p) => sum + Number(p.high), 0),
    sent.length,
  );
});

test("describeKafka counts the brokers that answer a metadata request", async (t) => {
  const cluster = await describeKafka(createKafka({ clientId: "hostflow-test", brokers }));
  t.true(cluster.brokers >= 1);
  t.not(cluster.controller, null);
});
