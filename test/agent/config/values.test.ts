import path from "node:path";
import test from "ava";
import { loadAgentConfig } from "../../../agent/config/load.js";
import { writeConfig } from "../../lib/config/helpers.js";

const FLOW = [
  "agent:",
  "  data_dir: /srv/hostflow",
  "sources:",
  "  host:",
  "    type: sysinfo",
  "    channels: [events]",
  "    interval: 10s",
  "    interceptors:",
  "      - type: host",
  "channels:",
  "  events:",
  "    type: file",
  "    max_bytes: 512MiB",
  "sinks:",
  "  kafka:",
  "    type: kafka",
  "    channel: events",
  "    brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}",
  "    linger: 1.5s",
  "    retry: {max: 2m}",
];

test("applies the schema's defaults, inside unions and nested objects too", (t) => {
  const { config } = loadAgentConfig(writeConfig(FLOW), {}, { hostname: "web-1" });
  const host = config.sources.host;
  t.is(host?.type, "sysinfo");
  if (host?.type !== "sysinfo") return;
  t.is(host.jitter, 0);
  t.deepEqual(host.interceptors, [{ type: "host", preserve_existing: true }]);
  t.true(host.totalcpu);
  t.is(config.agent.log_level, "info");
  t.deepEqual(config.sink_groups, {});
  const sink = config.sinks.kafka;
  t.is(sink?.batch_size, 500);
  t.deepEqual(sink?.retry, { initial: 100, max: 120_000, multiplier: 2, jitter: 0.2 });
  t.is(sink?.type === "kafka" ? sink.topic : undefined, "hostflow.metrics");
});

test("converts durations to milliseconds and sizes to bytes", (t) => {
  const { config } = loadAgentConfig(writeConfig(FLOW), {});
  const host = config.sources.host;
  t.is(host?.type === "sysinfo" ? host.interval : undefined, 10_000);
  t.is(config.sinks.kafka?.linger, 1500);
  const channel = config.channels.events;
  t.is(channel?.type === "file" ? channel.max_bytes : undefined, 536_870_912);
  t.is(channel?.type === "file" ? channel.segment_bytes : undefined, 16 * 1024 * 1024);
  t.is(config.agent.shutdown_timeout, 10_000);
});

test("fills in agent.id and a file channel's dir", (t) => {
  const { config } = loadAgentConfig(writeConfig(FLOW), {}, { hostname: "web-1" });
  t.is(config.agent.id, "web-1");
  t.is(
    config.channels.events?.type === "file" ? config.channels.events.dir : undefined,
    path.join("/srv/hostflow", "channels", "events"),
  );
});

test("the result is deep-frozen", (t) => {
  const { config, warnings } = loadAgentConfig(writeConfig(FLOW), {});
  t.true(Object.isFrozen(config));
  t.true(Object.isFrozen(config.sinks.kafka?.retry));
  t.true(Object.isFrozen(config.sources.host?.channels));
  t.true(Object.isFrozen(warnings));
  t.throws(
    () => {
      (config.agent as { log_level: string }).log_level = "debug";
    },
    { instanceOf: TypeError },
  );
});

test("interpolates the environment: values, defaults, escapes, and lists from one variable", (t) => {
  const file = writeConfig([
    "agent:",
    "  id: ${AGENT:-fallback}-$${literal}",
    "sources:",
    "  host:",
    "    type: synthetic",
    "    channels: [events]",
    "    hosts: ${HOSTS}",
    "    host_prefix: ${PREFIX}",
    "channels:",
    "  events: {type: memory}",
    "sinks:",
    "  kafka:",
    "    type: kafka",
    "    channel: events",
    "    brokers: ${KAFKA_BROKERS:-127.0.0.1:9092}",
    "    client_id: '${CLIENT}'",
  ]);
  const env = { HOSTS: "12", PREFIX: "007", CLIENT: "true", KAFKA_BROKERS: "k1:9092, k2:9092," };
  const { config } = loadAgentConfig(file, env);
  t.is(config.agent.id, "fallback-${literal}");
  const source = config.sources.host;
  // A number where the schema takes a number; strings stay strings even when they look numeric.
  t.is(source?.type === "synthetic" ? source.hosts : undefined, 12);
  t.is(source?.type === "synthetic" ? source.host_prefix : undefined, "007");
  const sink = config.sinks.kafka;
  t.is(sink?.type === "kafka" ? sink.client_id : undefined, "true");
  t.deepEqual(sink?.type === "kafka" ? sink.brokers : undefined, ["k1:9092", "k2:9092"]);
});

test("a default is used for a variable that is set but empty", (t) => {
  const { config } = loadAgentConfig(writeConfig(FLOW), { KAFKA_BROKERS: "" });
  t.deepEqual(config.sinks.kafka?.type === "kafka" ? config.sinks.kafka.brokers : [], [
    "127.0.0.1:9092",
  ]);
});

test("a number written as a string in the file is still an error", (t) => {
  const file = writeConfig([...FLOW, '    batch_size: "500"']);
  const error = t.throws(() => loadAgentConfig(file, {}));
  t.true(error?.message.includes('sinks.kafka.batch_size: must be an integer, not "500"'));
});
