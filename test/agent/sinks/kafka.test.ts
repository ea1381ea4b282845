import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import kafkajs, { CompressionTypes, type KafkaConfig, type ProducerBatch } from "kafkajs";
import { createKafkaSink, KAFKAJS_RETRY } from "../../../agent/sinks/kafka.js";
import { toProducerBatch } from "../../../agent/sinks/kafka-client.js";
import type { ProducerLike } from "../../../agent/sinks/kafka-producer.js";
import { createRecordBuilder } from "../../../agent/sinks/record.js";
import type { KafkaConnectionConfig } from "../../../lib/config/kafka.js";
import { isHostflowError } from "../../../lib/errors.js";
import { kafkaClientConfig } from "../../../lib/kafka.js";
import {
  event,
  eventCount,
  fakeChannel,
  kafkaOptions,
  sinkErrorCount,
  testContext,
} from "./_context.js";

const clientConfig = (options: KafkaConnectionConfig) => kafkaClientConfig(options, KAFKAJS_RETRY);

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hf-kafka-sink-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("TLS files are read at start; an unreadable one is HF_CONFIG_INVALID naming the file", async (t) => {
  const dir = await tempDir(t);
  const ca = join(dir, "ca.pem");
  await writeFile(ca, "-----BEGIN CERTIFICATE-----\n");
  const ok = await clientConfig(
    kafkaOptions({ tls: { enabled: true, ca_file: ca, reject_unauthorized: false } }),
  );
  t.deepEqual(ok.ssl, { rejectUnauthorized: false, ca: "-----BEGIN CERTIFICATE-----\n" });

  const missing = join(dir, "nope.pem");
  const error = await t.throwsAsync(
    clientConfig(
      kafkaOptions({ tls: { enabled: true, ca_file: missing, reject_unauthorized: true } }),
    ),
  );
  t.true(isHostflowError(error, "HF_CONFIG_INVALID"));
  t.true(error?.message.includes(missing) && error.message.includes("tls.ca_file"), error?.message);

  const noKey = await t.throwsAsync(
    clientConfig(
      kafkaOptions({ tls: { enabled: true, cert_file: ca, reject_unauthorized: true } }),
    ),
  );
  t.true(isHostflowError(noKey, "HF_CONFIG_INVALID"));
  const off = await clientConfig(
    kafkaOptions({ tls: { enabled: false, ca_file: missing, reject_unauthorized: true } }),
  );
  t.is(off.ssl, undefined, "files of disabled TLS are not read");
});

test("the SASL password comes from password or password_file (trimmed), never both", async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, "password");
  await writeFile(file, "  s3cret\n");
  const fromFile = await clientConfig(
    kafkaOptions({ sasl: { mechanism: "scram-sha-512", username: "agent", password_file: file } }),
  );
  t.deepEqual(fromFile.sasl, { mechanism: "scram-sha-512", username: "agent", password: "s3cret" });
  const literal = await clientConfig(
    kafkaOptions({ sasl: { mechanism: "plain", username: "agent", password: "pw" } }),
  );
  t.deepEqual(literal.sasl, { mechanism: "plain", username: "agent", password: "pw" });

  for (const sasl of [
    { mechanism: "plain" as const, username: "a" },
    { mechanism: "plain" as const, username: "a", password: "x", password_file: file },
    { mechanism: "plain" as const, username: "a", password_file: join(dir, "missing") },
  ]) {
    const error = await t.throwsAsync(clientConfig(kafkaOptions({ sasl })));
    t.true(isHostflowError(error, "HF_CONFIG_INVALID"), String(error));
    t.false(error?.message.includes("s3cret"));
  }
  await writeFile(file, " \n");
  const empty = await t.throwsAsync(
    clientConfig(
      kafkaOptions({ sasl: { mechanism: "plain", username: "a", password_file: file } }),
    ),
  );
  t.regex(empty?.message ?? "", /is empty/);
});

test("timeouts, client id and kafkajs's short retries reach the client config", async (t) => {
  const config = await clientConfig(
    kafkaOptions({ client_id: "agent-x", request_timeout: 7_000, connection_timeout: 2_000 }),
  );
  t.is(config.clientId, "agent-x");
  t.is(config.connectionTimeout, 2_000);
  t.true((config.requestTimeout ?? 0) > 7_000, "the client waits longer than the broker");
  t.true((config.retry?.retries ?? 99) <= 3);
});

test("a batch is one sendBatch grouped by topic, in order, with acks and compression", (t) => {
  const ctx = testContext();
  const build = createRecordBuilder("k", { topic: "m.%{name}", key_header: "host" }, ctx);
  const records = build(
    [event(0, "a", "cpu"), event(1, "b", "mem"), event(2, "a", "cpu"), event(3, "a", "mem")],
    fakeChannel(),
  );
  const batch = toProducerBatch(records, {
    acks: "all",
    compression: "gzip",
    request_timeout: 9_000,
  });
  t.is(batch.acks, -1);
  t.is(batch.compression, CompressionTypes.GZIP);
  t.is(batch.timeout, 9_000);
  t.deepEqual(
    batch.topicMessages?.map((tm) => [tm.topic, tm.messages.map((m) => m.headers?.["hf-seq"])]),
    [
      ["m.cpu", ["0", "2"]],
      ["m.mem", ["1", "3"]],
    ],
  );
  const leader = toProducerBatch(records, {
    acks: "leader",
    compression: "none",
    request_timeout: 1,
  });
  t.is(leader.acks, 1);
  t.is(leader.compression, CompressionTypes.None);
  t.is(toProducerBatch(records, { acks: "none", compression: "none", request_timeout: 1 }).acks, 0);
});

test("a bad topic pattern fails when the sink is made", (t) => {
  const error = t.throws(() =>
    createKafkaSink("k", kafkaOptions({ topic: "a/%{name}" }), testContext()),
  );
  t.true(isHostflowError(error, "HF_CONFIG_INVALID"));
});

/** A fake producer for the sink's failure paths: `fail` decides each send. */
function fakeProducers(fail: () => Error | undefined) {
  const sent: ProducerBatch[] = [];
  const clients: KafkaConfig[] = [];
  let connectGate: Promise<void> = Promise.resolve();
  const create = (client: KafkaConfig): ProducerLike => {
    clients.push(client);
    return {
      connect: () => connectGate,
      disconnect: async () => undefined,
      sendBatch: async (batch) => {
        const error = fail();
        if (error) throw error;
        sent.push(batch);
        return [];
      },
    };
  };
  return {
    create,
    sent,
    clients,
    gate(p: Promise<void>) {
      connectGate = p;
    },
  };
}

test("start() does not wait for Kafka; health says why until connected; writes count", async (t) => {
  const ctx = testContext("agent-1");
  const fakes = fakeProducers(() => undefined);
  let open: () => void = () => undefined;
  fakes.gate(
    new Promise((resolve) => {
      open = resolve;
    }),
  );
  const sink = createKafkaSink("out", kafkaOptions({ topic: "m.%{name}" }), ctx, {
    createProducer: fakes.create,
  });
  await sink.start();
  t.false(sink.health().ok);
  t.regex(sink.health().detail ?? "", /not connected to the Kafka brokers 127\.0\.0\.1:9092/);
  open();
  await new Promise((resolve) => setTimeout(resolve, 10));
  t.deepEqual(sink.health(), { ok: true });

  await sink.write([event(5, "web-01")], fakeChannel("main@7"));
  const message = fakes.sent[0]?.topicMessages?.[0];
  t.is(message?.topic, "m.cpu");
  t.is(message?.messages[0]?.key, "web-01");
  t.deepEqual(message?.messages[0]?.headers, {
    "hf-schema-version": "1",
    "hf-agent-id": "agent-1",
    "hf-stream": "main@7",
    "hf-seq": "5",
  });
  t.is(await eventCount(ctx, "out", "written"), 1);
  t.is(fakes.clients[0]?.clientId, "hostflow-test");
  await sink.stop();
});

test("a failed write makes the sink unhealthy with the error; the next good write heals it", async (t) => {
  const ctx = testContext();
  let failing = true;
  const fakes = fakeProducers(() =>
    failing
      ? new kafkajs.KafkaJSNumberOfRetriesExceeded(
          new kafkajs.KafkaJSConnectionError("Connection error: ECONNREFUSED", {
            code: "ECONNREFUSED",
          }),
          { retryCount: 2, retryTime: 300 },
        )
      : undefined,
  );
  const sink = createKafkaSink("out", kafkaOptions(), ctx, { createProducer: fakes.create });
  await sink.start();
  const error = await t.throwsAsync(sink.write([event(0, "a")], fakeChannel()));
  t.true(isHostflowError(error, "HF_KAFKA_UNREACHABLE"));
  t.true(isHostflowError(error) && error.retriable);
  t.false(sink.health().ok);
  t.regex(sink.health().detail ?? "", /^HF_KAFKA_UNREACHABLE: /);
  t.is(await sinkErrorCount(ctx, "out", "HF_KAFKA_UNREACHABLE"), 1);
  t.is(await eventCount(ctx, "out", "written"), 0);

  failing = false;
  await sink.write([event(0, "a")], fakeChannel());
  t.deepEqual(sink.health(), { ok: true });
  t.is(await eventCount(ctx, "out", "written"), 1);
  await sink.stop();
});

test("write before start() or after stop() is refused, not hung", async (t) => {
  const fakes = fakeProducers(() => undefined);
  const sink = createKafkaSink("out", kafkaOptions(), testContext(), {
    createProducer: fakes.create,
  });
  t.true(
    isHostflowError(
      await t.throwsAsync(sink.write([event(0, "a")], fakeChannel())),
      "HF_SINK_WRITE",
    ),
  );
  await sink.start();
  await sink.stop();
  t.true(
    isHostflowError(
      await t.throwsAsync(sink.write([event(0, "a")], fakeChannel())),
      "HF_SINK_WRITE",
    ),
  );
});

test("a batch the broker refuses as too large goes again in halves, in order; a single record too large stays refused", async (t) => {
  const ctx = testContext("agent-1");
  const tooLarge = () =>
    new kafkajs.KafkaJSProtocolError(
      Object.assign(new Error("too large"), {
        type: "MESSAGE_TOO_LARGE",
        code: 10,
        retriable: false,
      }),
    );
  let limit = 3;
  const fakes = fakeProducers(() => undefined);
  const sink = createKafkaSink("out", kafkaOptions(), ctx, {
    createProducer: (client) => {
      const producer = fakes.create(client);
      return {
        ...producer,
        sendBatch: async (batch) => {
          const count = batch.topicMessages?.reduce((n, m) => n + m.messages.length, 0) ?? 0;
          if (count > limit) throw tooLarge();
          return producer.sendBatch(batch);
        },
      };
    },
  });
  await sink.start();
  t.teardown(() => sink.stop());
  const events = Array.from({ length: 10 }, (_, i) => event(i, "web-01"));
  await sink.write(events, fakeChannel());
  const seqs = fakes.sent.flatMap((b) =>
    (b.topicMessages ?? []).flatMap((m) => m.messages.map((r) => r.headers?.["hf-seq"])),
  );
  t.deepEqual(
    seqs,
    events.map((e) => String(e.seq)),
  );
  t.true(fakes.sent.every((b) => (b.topicMessages?.[0]?.messages.length ?? 0) <= 3));
  t.is(await eventCount(ctx, "out", "written"), 10);

  limit = 0;
  const error = await t.throwsAsync(sink.write([event(10, "web-01")], fakeChannel()));
  t.regex(error?.message ?? "", /MESSAGE_TOO_LARGE/);
});
