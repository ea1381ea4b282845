import { hostname } from "node:os";
import test from "ava";
import { endpointsFromEnv } from "../../lib/endpoints.js";
import { decodeHeaders, decodeSample, type WireHeaders } from "../../lib/wire.js";
import { agentFromYaml, eventCount, tempDir, waitFor } from "../helpers/agent.js";
import { createTopic, deleteTopic, readTopic } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import { privateKafka } from "../helpers/private-kafka.js";

const brokers = endpointsFromEnv().kafkaBrokers;

/** Asserts that the records' hf-seq values are exactly 0 … n-1 of one stream, and returns them. */
function sequence(headers: WireHeaders[]): { stream: string; seqs: number[] } {
  const streams = new Set(headers.map((h) => h.stream));
  if (streams.size !== 1) throw new Error(`expected one stream, got ${[...streams].join(", ")}`);
  return {
    stream: [...streams][0] as string,
    seqs: headers.map((h) => h.seq).sort((a, b) => a - b),
  };
}

test("sysinfo → file channel → kafka: a plain consumer reads the documented wire format", async (t) => {
  const topic = uniqueName("hf_agent_wire");
  const dir = await tempDir(t);
  await createTopic(brokers, topic);
  t.teardown(() => deleteTopic(brokers, topic));
  const agent = agentFromYaml(`
agent: { id: wire-test, data_dir: ${dir} }
sources:
  host:
    type: sysinfo
    channels: [events]
    interval: 500ms
    interceptors: [{ type: host }]
channels:
  events: { type: file }
sinks:
  kafka: { type: kafka, channel: events, brokers: [${brokers.join(",")}], topic: ${topic} }
`);
  await agent.start();
  await waitFor(
    "two sample cycles delivered",
    async () => (await eventCount(agent, "kafka", "committed")) >= 30,
  );
  await agent.stop();

  const records = await readTopic(brokers, topic);
  const put = await eventCount(agent, "events", "put");
  t.is(records.length, put, "every event put into the channel reached Kafka");
  const names = new Set<string>();
  const headers: WireHeaders[] = [];
  for (const record of records) {
    const sample = decodeSample(record.value);
    if (!sample.ok) return t.fail(`bad value: ${sample.reason}`);
    names.add(sample.value.name);
    t.is(record.key, hostname());
    t.is(sample.value.tags.host, hostname());
    t.true(Math.abs(sample.value.timestamp - Date.now()) < 60_000, "timestamp in epoch ms");
    t.true(Object.values(sample.value.fields).every(Number.isFinite));
    const h = decodeHeaders(record.headers as Record<string, Buffer>);
    if (h === undefined) return t.fail("missing hostflow headers");
    t.is(h.schemaVersion, 1);
    t.is(h.agentId, "wire-test");
    headers.push(h);
  }
  for (const name of ["cpu", "mem", "system", "disk", "net"])
    t.true(names.has(name), `measurement ${name}`);
  const { stream, seqs } = sequence(headers);
  t.regex(stream, /^events@[0-9a-f]+$/);
  t.deepEqual(
    seqs,
    Array.from({ length: seqs.length }, (_, i) => i),
    "hf-seq is 0 … n-1, no gap, no repeat",
  );
});

test("Kafka down for a while: the agent keeps sampling into the file channel, and every sequence number arrives after the broker is back", async (t) => {
  const kafka = await privateKafka();
  t.teardown(() => kafka.dispose());
  const topic = uniqueName("hf_agent_outage");
  await createTopic(kafka.brokers, topic);
  const dir = await tempDir(t);
  const agent = agentFromYaml(`
agent: { id: outage-test, data_dir: ${dir}, shutdown_timeout: 20s }
sources:
  seq: { type: sequence, channels: [events], rate: 400, batch_size: 20 }
channels:
  events: { type: file }
sinks:
  kafka:
    type: kafka
    channel: events
    brokers: [${kafka.brokers[0]}]
    topic: ${topic}
    batch_size: 200
    request_timeout: 3s
    connection_timeout: 1s
    retry: { initial: 100ms, max: 1s }
`);
  await agent.start();
  await waitFor(
    "first events delivered",
    async () => (await eventCount(agent, "kafka", "committed")) >= 200,
  );

  await kafka.stop(2_000);
  const emittedAtOutage = await eventCount(agent, "seq", "emitted");
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  const emittedDuringOutage = (await eventCount(agent, "seq", "emitted")) - emittedAtOutage;
  t.true(
    emittedDuringOutage >= 1_000,
    `sampling went on while Kafka was down (${emittedDuringOutage} events)`,
  );
  t.false(agent.health().ok, "health says the sink cannot write");

  await kafka.start();
  await waitFor(
    "the backlog drained",
    async () => {
      const put = await eventCount(agent, "events", "put");
      return (
        put > emittedAtOutage + emittedDuringOutage &&
        (await eventCount(agent, "kafka", "committed")) >= put - 200
      );
    },
    60_000,
  );
  await agent.stop();

  const put = await eventCount(agent, "events", "put");
  const records = await readTopic(kafka.brokers, topic);
  const headers = records.map(
    (r) => decodeHeaders(r.headers as Record<string, Buffer>) as WireHeaders,
  );
  const { seqs } = sequence(headers);
  const distinct = [...new Set(seqs)];
  t.deepEqual(
    distinct,
    Array.from({ length: put }, (_, i) => i),
    "every sequence number 0 … put-1 arrived",
  );
  t.true(
    seqs.length - distinct.length <= 400,
    `duplicates only from batches retried around the outage (${seqs.length - distinct.length})`,
  );
});

test("a full memory channel with drop_oldest drops, and counts every dropped event", async (t) => {
  const agent = agentFromYaml(`
agent: { id: full-test, data_dir: /nonexistent, shutdown_timeout: 1s }
sources:
  seq: { type: sequence, channels: [events], total: 1000, batch_size: 50 }
channels:
  events: { type: memory, capacity: 100, transaction_capacity: 50, when_full: drop_oldest }
sinks:
  kafka: { type: kafka, channel: events, brokers: ["127.0.0.1:1"], batch_size: 50, connection_timeout: 200ms }
`);
  await agent.start();
  await waitFor(
    "the source finished",
    async () => (await eventCount(agent, "seq", "emitted")) === 1000,
  );
  const dropped = await eventCount(agent, "events", "dropped");
  t.is(dropped, 900, "1000 put into a channel of 100 that nobody drains: 900 dropped");
  await agent.stop();
});

test("a full memory channel with block holds the source back, loses nothing, and stops promptly", async (t) => {
  const agent = agentFromYaml(`
agent: { id: block-test, data_dir: /nonexistent, shutdown_timeout: 1s }
sources:
  seq: { type: sequence, channels: [events], total: 1000, batch_size: 50 }
channels:
  events: { type: memory, capacity: 100, transaction_capacity: 50, when_full: block }
sinks:
  kafka: { type: kafka, channel: events, brokers: ["127.0.0.1:1"], batch_size: 50, connection_timeout: 200ms }
`);
  await agent.start();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  t.is(await eventCount(agent, "seq", "emitted"), 100, "the source waits at capacity");
  t.is(await eventCount(agent, "events", "dropped"), 0);
  const started = Date.now();
  await agent.stop();
  t.true(Date.now() - started < 5_000, "a blocked source does not hold up stop()");
});
