import test from "ava";
import { kafkaBootstrap, kafkaPorts, kafkaProperties } from "../../../scripts/stack/kafka.js";

function parse(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trim()
      .split("\n")
      .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
  );
}

test("one node: combined broker and controller on 9092/9093, one replica of everything", (t) => {
  const p = parse(kafkaProperties(1, 1, "/data/n1"));
  t.is(p["process.roles"], "broker,controller");
  t.is(p["controller.quorum.voters"], "1@127.0.0.1:9093");
  t.is(p.listeners, "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093");
  t.is(p["advertised.listeners"], "PLAINTEXT://127.0.0.1:9092");
  t.is(p["log.dirs"], "/data/n1");
  for (const key of [
    "offsets.topic.replication.factor",
    "transaction.state.log.replication.factor",
    "default.replication.factor",
  ]) {
    t.is(p[key], "1", key);
  }
  t.is(p["min.insync.replicas"], "1");
  t.is(p["group.initial.rebalance.delay.ms"], "0");
});

test("three nodes: 9092/9094/9096, a shared quorum, replicas 3 and min ISR 2 so one broker may stop", (t) => {
  t.deepEqual(
    [1, 2, 3].map((n) => kafkaPorts(n)),
    [
      { broker: 9092, controller: 9093 },
      { broker: 9094, controller: 9095 },
      { broker: 9096, controller: 9097 },
    ],
  );
  t.is(kafkaBootstrap(3), "127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096");
  const p = parse(kafkaProperties(2, 3, "/data/n2"));
  t.is(p["node.id"], "2");
  t.is(p["controller.quorum.voters"], "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097");
  t.is(p.listeners, "PLAINTEXT://127.0.0.1:9094,CONTROLLER://127.0.0.1:9095");
  t.is(p["offsets.topic.replication.factor"], "3");
  t.is(p["transaction.state.log.min.isr"], "2");
  t.is(p["min.insync.replicas"], "2");
});

test("every listener is on loopback", (t) => {
  for (const brokers of [1, 3] as const) {
    for (let node = 1; node <= brokers; node++) {
      const p = parse(kafkaProperties(node, brokers, "/d"));
      for (const key of ["listeners", "advertised.listeners", "controller.quorum.voters"]) {
        const hosts = [...(p[key] ?? "").matchAll(/(?:\/\/|@)([^:,]+):/g)].map((m) => m[1]);
        t.true(hosts.length > 0 && hosts.every((h) => h === "127.0.0.1"), `${key}=${p[key]}`);
      }
    }
  }
});
