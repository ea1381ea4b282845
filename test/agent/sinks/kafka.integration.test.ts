/**
 * The kafka sink against the real local Kafka (127.0.0.1:9092, or KAFKA_BROKERS): records read
 * back with a plain kafkajs consumer. Each test has topics of its own, so tests (and other
 * engineers' runs) share the broker safely; none stops or restarts it.
 */
import test, { type ExecutionContext } from "ava";
import { Partitioners, type Producer } from "kafkajs";
import type { ChannelEvent } from "../../../agent/core/types.js";
import { createKafkaSink } from "../../../agent/sinks/kafka.js";
import { endpointsFromEnv } from "../../../lib/endpoints.js";
import { isHostflowError } from "../../../lib/errors.js";
import { createKafka, createTopicsAndWait } from "../../../lib/kafka.js";
import type { Sample } from "../../../lib/wire.js";
import { uniqueName } from "../../helpers/names.js";
import { event, fakeChannel, kafkaOptions, testContext } from "./_context.js";

const brokers = endpointsFromEnv().kafkaBrokers;
const kafka = createKafka({ clientId: "hostflow-test", brokers });

async function createTopics(t: ExecutionContext, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(async () => {
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });
  await createTopicsAndWait(
    admin,
    topics.map((topic) => ({ topic, numPartitions: 3 })),
  );
}

interface Received {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Sample;
  headers: Record<string, string>;
}

/** Reads `count` records from the start of `topics` with a plain consumer. */
async function consume(topics: string[], count: number): Promise<Received[]> {
  const consumer = kafka.consumer({ groupId: uniqueName("hf_sink_test") });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    const received: Received[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`got ${received.length} of ${count} records in 60 s`)),
        60_000,
      );
      void consumer.run({
        eachMessage: async ({ topic, partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
          received.push({
            topic,
            partition,
            offset: Number(message.offset),
            key: message.key === null ? null : message.key.toString(),
            value: JSON.parse(String(message.value)) as Sample,
            headers,
          });
          if (received.length === count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    return received;
  } finally {
    await consumer.disconnect();
  }
}

const hosts = ["web-01", "web-02", "db-01", "db-02", "cache-01", "lb-01"];

/** `batches` batches; each has `perHost` events of every host; seq runs on across batches. */
function batchesOf(batches: number, perHost: number, name = "cpu"): ChannelEvent[][] {
  let seq = 0;
  return Array.from({ length: batches }, () =>
    Array.from({ length: perHost }).flatMap(() => hosts.map((host) => event(seq++, host, name))),
  );
}

test("records carry the exact wire format; a host's records stay in order in one partition", async (t) => {
  const topic = uniqueName("hf_sink");
  await createTopics(t, [topic]);
  const ctx = testContext("agent-int");
  const sink = createKafkaSink("out", kafkaOptions({ brokers, topic, acks: "all" }), ctx);
  await sink.start();
  t.teardown(() => sink.stop());
  const channel = fakeChannel("main@1700000000000");
  const batches = batchesOf(5, 10);
  for (const batch of batches) await sink.write(batch, channel);
  t.true(sink.health().ok, sink.health().detail);

  const sent = batches.flat();
  const received = await consume([topic], sent.length);
  const bySeq = new Map(received.map((r) => [r.headers["hf-seq"], r]));
  t.is(bySeq.size, sent.length, "each event once");
  for (const e of sent) {
    const r = bySeq.get(String(e.seq));
    t.is(r?.key, e.headers.host);
    t.deepEqual(r?.value, e.body);
    t.deepEqual(r?.headers, {
      "hf-schema-version": "1",
      "hf-agent-id": "agent-int",
      "hf-stream": "main@1700000000000",
      "hf-seq": String(e.seq),
    });
  }
  for (const host of hosts) {
    const mine = received.filter((r) => r.key === host).sort((a, b) => a.offset - b.offset);
    t.is(new Set(mine.map((r) => r.partition)).size, 1, `${host} stays in one partition`);
    const seqs = mine.map((r) => Number(r.headers["hf-seq"]));
    t.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      `${host} in order`,
    );
    t.is(seqs.length, 50);
  }
  t.true(new Set(received.map((r) => r.partition)).size > 1, "hosts spread over the partitions");
});

test("topic pattern metrics.%{name}: each measurement lands in its own topic", async (t) => {
  const prefix = uniqueName("hf_sink");
  const names = ["cpu", "mem", "disk"];
  await createTopics(
    t,
    names.map((n) => `${prefix}.${n}`),
  );
  const sink = createKafkaSink(
    "out",
    kafkaOptions({ brokers, topic: `${prefix}.%{name}`, compression: "gzip" }),
    testContext(),
  );
  await sink.start();
  t.teardown(() => sink.stop());
  let seq = 0;
  const batch = hosts.flatMap((host) => names.map((name) => event(seq++, host, name)));
  await sink.write(batch, fakeChannel());

  const received = await consume(
    names.map((n) => `${prefix}.${n}`),
    batch.length,
  );
  t.is(received.length, batch.length);
  for (const r of received) t.is(r.topic, `${prefix}.${r.value.name}`);
  for (const name of names) {
    t.is(received.filter((r) => r.topic === `${prefix}.${name}`).length, hosts.length);
  }
});

test("acks leader and none also deliver", async (t) => {
  const topic = uniqueName("hf_sink");
  await createTopics(t, [topic]);
  for (const acks of ["leader", "none"] as const) {
    const sink = createKafkaSink("out", kafkaOptions({ brokers, topic, acks }), testContext());
    await sink.start();
    await sink.write([event(acks === "leader" ? 0 : 1, "web-01")], fakeChannel());
    await sink.stop();
  }
  const received = await consume([topic], 2);
  t.deepEqual(received.map((r) => r.headers["hf-seq"]).sort(), ["0", "1"]);
});

test("brokers that do not answer: start() is quick, health says why, write rejects retriably in bounded time", async (t) => {
  const sink = createKafkaSink(
    "out",
    kafkaOptions({ brokers: ["127.0.0.1:1"], connection_timeout: 1_000, request_timeout: 2_000 }),
    testContext(),
  );
  let started = Date.now();
  await sink.start();
  t.true(Date.now() - started < 1_000, "start() does not wait for Kafka");
  t.false(sink.health().ok);

  started = Date.now();
  const error = await t.throwsAsync(sink.write([event(0, "web-01")], fakeChannel()));
  t.true(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  t.true(isHostflowError(error, "HF_KAFKA_UNREACHABLE"), String(error));
  t.true(isHostflowError(error) && error.retriable);
  t.false(sink.health().ok);
  t.regex(sink.health().detail ?? "", /HF_KAFKA_UNREACHABLE.*127\.0\.0\.1:1/);

  started = Date.now();
  await sink.stop();
  t.true(Date.now() - started < 5_000);
});

test("a producer that kafkajs left disconnected is replaced: the next write goes through", async (t) => {
  const topic = uniqueName("hf_sink");
  await createTopics(t, [topic]);
  const made: Producer[] = [];
  const sink = createKafkaSink("out", kafkaOptions({ brokers, topic }), testContext(), {
    // Real kafkajs producers, kept at hand so the test can break one.
    createProducer: (client) => {
      const producer = createKafka(client).producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: 2 },
      });
      made.push(producer);
      return producer;
    },
  });
  await sink.start();
  t.teardown(() => sink.stop());
  await sink.write([event(0, "web-01")], fakeChannel());
  // The state a broker restart can leave kafkajs in: every send says "The producer is
  // disconnected" until the process restarts.
  await made[0]?.disconnect();
  await sink.write([event(1, "web-01")], fakeChannel());
  t.is(made.length, 2);
  t.true(sink.health().ok);
  const received = await consume([topic], 2);
  t.deepEqual(
    received.map((r) => r.headers["hf-seq"]),
    ["0", "1"],
  );
});
