import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { HostflowError } from "../../lib/errors.js";
import { createKafka, describeKafka } from "../../lib/kafka.js";
import { tail } from "./jars.js";
import type { StackLayout } from "./layout.js";
import type { Java } from "./prerequisites.js";
import type { Service, ServiceGroup } from "./service.js";

export type BrokerCount = 1 | 3;
export const BROKER_COUNTS: readonly BrokerCount[] = [1, 3];

/**
 * Node n (1-based) listens for clients on base, base + 2, base + 4 (9092, 9094, 9096) and for
 * the KRaft quorum one above each.
 */
export function kafkaPorts(node: number, base = 9092): { broker: number; controller: number } {
  return { broker: base - 2 + 2 * node, controller: base - 1 + 2 * node };
}

export function kafkaBootstrap(brokers: BrokerCount, base = 9092): string {
  return Array.from(
    { length: brokers },
    (_, i) => `127.0.0.1:${kafkaPorts(i + 1, base).broker}`,
  ).join(",");
}

/**
 * server.properties of node `node` in a cluster of `brokers` combined broker+controller nodes
 * (KRaft). One node: every internal topic has one replica. Three nodes: three replicas and
 * min.insync.replicas=2, so a cluster with one broker stopped still takes acks=all writes.
 */
export function kafkaProperties(
  node: number,
  brokers: BrokerCount,
  logDir: string,
  base = 9092,
): string {
  const { broker, controller } = kafkaPorts(node, base);
  const voters = Array.from(
    { length: brokers },
    (_, i) => `${i + 1}@127.0.0.1:${kafkaPorts(i + 1, base).controller}`,
  );
  const replicas = brokers === 1 ? 1 : 3;
  const minIsr = brokers === 1 ? 1 : 2;
  const settings: Record<string, string | number | boolean> = {
    "process.roles": "broker,controller",
    "node.id": node,
    "controller.quorum.voters": voters.join(","),
    listeners: `PLAINTEXT://127.0.0.1:${broker},CONTROLLER://127.0.0.1:${controller}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${broker}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "log.dirs": logDir,
    "num.partitions": 3,
    "default.replication.factor": replicas,
    "min.insync.replicas": minIsr,
    "offsets.topic.replication.factor": replicas,
    "offsets.topic.num.partitions": 10,
    "transaction.state.log.replication.factor": replicas,
    "transaction.state.log.min.isr": minIsr,
    "share.coordinator.state.topic.replication.factor": replicas,
    "share.coordinator.state.topic.min.isr": minIsr,
    // Tests create many consumer groups: do not wait 3 s for more members before each first rebalance.
    "group.initial.rebalance.delay.ms": 0,
    "auto.create.topics.enable": true,
    "delete.topic.enable": true,
    "unclean.leader.election.enable": false,
  };
  return `${Object.entries(settings)
    .map(([key, value]) => `${key}=${value}`)
    .join("\n")}\n`;
}

/** Kafka 4 logs through log4j2 (log4j 1.x configuration files are no longer read). */
const LOG4J2 = `rootLogger.level = info
rootLogger.appenderRef.stdout.ref = stdout
appender.stdout.type = Console
appender.stdout.name = stdout
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
logger.log.name = kafka.log
logger.log.level = warn
logger.stateChange.name = state.change.logger
logger.stateChange.level = warn
logger.storage.name = org.apache.kafka.storage.internals.log
logger.storage.level = warn
`;

export function kafkaGroup(layout: StackLayout, brokers: BrokerCount): ServiceGroup {
  const base = layout.ports.kafka;
  const clusterDir = layout.data(`kafka-${brokers === 1 ? "single" : "cluster3"}`);
  const services = Array.from({ length: brokers }, (_, i): Service => {
    const node = i + 1;
    const name = `kafka-${node}`;
    return {
      name,
      ports: Object.values(kafkaPorts(node, base)),
      async prepare(java: Java, classpath: string) {
        const conf = layout.conf(name);
        const dataDir = path.join(clusterDir, `node-${node}`);
        await mkdir(conf, { recursive: true });
        await mkdir(dataDir, { recursive: true });
        const properties = path.join(conf, "server.properties");
        const log4j2 = path.join(conf, "log4j2.properties");
        await writeFile(properties, kafkaProperties(node, brokers, dataDir, base));
        await writeFile(log4j2, LOG4J2);
        const common = [`-Dlog4j2.configurationFile=file:${log4j2}`, "-cp", `${classpath}/*`];
        if (!existsSync(path.join(dataDir, "meta.properties"))) {
          const clusterId = await readOrCreateClusterId(clusterDir);
          const format = spawnSync(
            java.bin,
            [
              ...common,
              "kafka.tools.StorageTool",
              "format",
              "-t",
              clusterId,
              "-c",
              properties,
              "--ignore-formatted",
            ],
            { encoding: "utf8" },
          );
          if (format.status !== 0) {
            throw new HostflowError(
              "HF_STACK_START",
              `formatting the storage of ${name} failed:\n${tail(format.stdout + format.stderr, 15)}`,
            );
          }
        }
        return {
          cwd: dataDir,
          args: [
            "-Xms256m",
            "-Xmx512m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            ...common,
            "kafka.Kafka",
            properties,
          ],
        };
      },
    };
  });
  const bootstrap = kafkaBootstrap(brokers, base);
  return {
    name: "kafka",
    component: "kafka",
    services,
    endpoint: bootstrap,
    readyTimeoutMs: 90_000,
    async probe() {
      const kafka = createKafka({
        clientId: "hostflow-stack",
        brokers: bootstrap.split(","),
        connectionTimeout: 1_000,
        retry: { retries: 0 },
      });
      const cluster = await describeKafka(kafka);
      if (cluster.brokers < brokers || cluster.controller === null) {
        throw new HostflowError(
          "HF_KAFKA_UNREACHABLE",
          `${cluster.brokers} of ${brokers} brokers registered`,
          {
            retriable: true,
          },
        );
      }
    },
  };
}

/** KRaft nodes of one cluster share an id: a base64url UUID, as `kafka-storage random-uuid` makes. */
async function readOrCreateClusterId(clusterDir: string): Promise<string> {
  const file = path.join(clusterDir, "cluster.id");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  let id: string;
  do {
    id = randomBytes(16).toString("base64url");
    // As Kafka's own Uuid.randomUuid: an id starting with "-" reads as an option on a command line.
  } while (id.startsWith("-"));
  await writeFile(file, `${id}\n`);
  return id;
}
