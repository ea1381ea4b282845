import test from "ava";
import { loadCollectorConfigText } from "../../collector/config/load.js";
import type { LiveStatus } from "../../collector/dashboard/live-tail.js";
import { startDashboard } from "../../collector/dashboard/server.js";
import { createKafka } from "../../lib/kafka.js";
import { encodeSample } from "../../lib/wire.js";
import { quiet } from "../helpers/collector.js";
import { createTopic } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import { freePort } from "../helpers/ports.js";
import { privateKafka } from "../helpers/private-kafka.js";
import { waitFor } from "../helpers/wait.js";

interface LiveAnswer {
  status: LiveStatus;
  hosts: Array<{ host: string; lastSeen: number; receivedAt: number }>;
}

test("a broker outage mid-stream: the tail says down, keeps what it read, and goes on after it without reading twice", async (t) => {
  // A broker of the test's own: the shared one is not stopped.
  const kafka = await privateKafka();
  t.teardown(() => kafka.dispose());
  const topic = uniqueName("hf_live");
  await createTopic(kafka.brokers, topic, 2);
  // No Hive at all: what is checked here is the live part alone (/api/live never asks Hive).
  const yaml = `kafka:\n  brokers: ["${kafka.brokers[0]}"]\n  topics: [${topic}]\n  group_id: ${topic}\nhive:\n  port: ${await freePort()}\n  connect_timeout: 2s\n  retries: 0\n`;
  const { config } = loadCollectorConfigText(yaml, "outage.yaml", {});
  const dashboard = await startDashboard(config, quiet, { host: "127.0.0.1", port: 0 });
  t.teardown(() => dashboard.close());
  const live = async () =>
    (await (await fetch(new URL("/api/live", dashboard.url))).json()) as LiveAnswer;
  const send = async (host: string) => {
    const ts = Date.now();
    const producer = createKafka({ clientId: "hostflow-test", brokers: kafka.brokers }).producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: host,
          value: encodeSample({
            name: "cpu",
            tags: { host, cpu: "cpu-total" },
            fields: { usage_idle: 50 },
            timestamp: ts,
          }),
        },
      ],
    });
    await producer.disconnect();
    return ts;
  };
  const seen = (host: string, ts: number) =>
    waitFor(
      `${host} in /api/live`,
      async () =>
        (await live()).hosts.some((h) => h.host === host && h.lastSeen >= ts) ? true : undefined,
      60_000,
    );

  await waitFor(
    "the tail live",
    async () => ((await live()).status.state === "live" ? true : undefined),
    60_000,
  );
  await seen("before-01", await send("before-01"));

  const stoppedAt = Date.now();
  await kafka.stop();
  const down = await waitFor(
    "the tail down",
    async () => {
      const { status } = await live();
      return status.state === "down" ? status : undefined;
    },
    90_000,
  );
  t.log(
    `down ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after the broker stopped: ${down.error}`,
  );
  t.true(
    (await live()).hosts.some((h) => h.host === "before-01"),
    "what was read stays",
  );
  const fleet = await fetch(new URL("/api/fleet", dashboard.url));
  t.is(fleet.status, 503, "neither Hive nor the tail has anything new to give");
  t.regex(
    ((await fleet.json()) as { error: { message: string } }).error.message,
    /live from Kafka: down/,
  );

  const restartedAt = Date.now();
  await kafka.start();
  await waitFor(
    "the tail live again",
    async () => ((await live()).status.state === "live" ? true : undefined),
    120_000,
  );
  t.log(`live again ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the broker started`);
  await seen("after-01", await send("after-01"));
  const { status } = await live();
  t.is(status.records, 2, "each record read once: the tail went on from where it stopped");
  t.is(status.bad, 0);
});
