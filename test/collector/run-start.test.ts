/**
 * Failure paths at a run's start, with fakes: Kafka's side and Hive's are read side by side, and
 * when one fails first the other must not reject unhandled (that ends the process, and with
 * `run --schedule` every later run).
 */
import path from "node:path";
import test from "ava";
import type { Kafka } from "kafkajs";
import { loadCollectorConfig } from "../../collector/config/load.js";
import type { Loader } from "../../collector/hive/load.js";
import type { HiveStore } from "../../collector/hive/store.js";
import { CollectorRun } from "../../collector/run.js";
import { HostflowError, isHostflowError } from "../../lib/errors.js";
import { createLogger } from "../../lib/log.js";

const root = path.resolve(import.meta.dirname, "../..");

test("regression: Kafka failing before Hive's answer fails the run, and Hive's later failure is not an unhandled rejection", async (t) => {
  const { config } = loadCollectorConfig(path.join(root, "conf/collector.yaml"), {});
  let hiveFailed!: () => void;
  const hiveDone = new Promise<void>((resolve) => {
    hiveFailed = resolve;
  });
  // Hive answers after Kafka has failed, with an error (the session was closed under it).
  const store = {
    loadedOffsets: () =>
      new Promise((_, reject) =>
        setTimeout(() => {
          reject(new HostflowError("HF_HIVE_QUERY", "Invalid OperationHandle"));
          hiveFailed();
        }, 50),
      ),
    streamStates: async () => [],
  } as unknown as HiveStore;
  const kafka = {
    admin: () => ({
      connect: async () => {
        throw new HostflowError("HF_KAFKA_UNREACHABLE", "connect ECONNREFUSED 127.0.0.1:9094");
      },
      disconnect: async () => undefined,
    }),
  } as unknown as Kafka;
  const run = new CollectorRun(
    config,
    { logger: createLogger("test", "silent") },
    store,
    {} as Loader,
    kafka,
  );
  const error = await t.throwsAsync(run.run());
  t.regex(error?.message ?? "", /ECONNREFUSED/);
  // Hive's rejection comes after the run failed; AVA fails the test on an unhandled rejection.
  await hiveDone;
  await new Promise((resolve) => setImmediate(resolve));
});

/** A Kafka whose admins answer fetchTopicOffsets from `answers` in turn (an Error is thrown). */
function kafkaAnswering(answers: (Error | { partition: number; low: string; high: string }[])[]) {
  const admins: string[] = [];
  const kafka = {
    admin: () => {
      const id = `admin ${admins.length + 1}`;
      admins.push(id);
      return {
        connect: async () => undefined,
        disconnect: async () => undefined,
        listTopics: async () => ["hostflow.metrics"],
        fetchTopicOffsets: async () => {
          const answer = answers.shift();
          if (answer === undefined) throw new Error("asked more often than the test expects");
          if (answer instanceof Error) throw answer;
          return answer;
        },
      };
    },
  } as unknown as Kafka;
  return { kafka, admins };
}

const leaderError = (type: string) => Object.assign(new Error(type), { type, retriable: true });

test("a partition leader moving at a run's start is waited out, each time with a new admin client; other errors fail the run at once", async (t) => {
  const { config } = loadCollectorConfig(path.join(root, "conf/collector.yaml"), {});
  const store = {
    loadedOffsets: async () => new Map([["hostflow.metrics:0", 5]]),
    streamStates: async () => [],
  } as unknown as HiveStore;
  const moving = kafkaAnswering([
    leaderError("LEADER_NOT_AVAILABLE"),
    leaderError("NOT_LEADER_FOR_PARTITION"),
    [{ partition: 0, low: "0", high: "5" }],
  ]);
  const logger = createLogger("test", "silent");
  const summary = await new CollectorRun(
    config,
    { logger },
    store,
    {} as Loader,
    moving.kafka,
  ).run();
  t.is(summary.records, 0, "nothing to load: Hive has the partition up to its end");
  t.is(summary.lagLeft, 0);
  t.deepEqual(moving.admins, ["admin 1", "admin 2", "admin 3"]);

  const refused = kafkaAnswering([leaderError("TOPIC_AUTHORIZATION_FAILED")]);
  const error = await t.throwsAsync(
    new CollectorRun(config, { logger }, store, {} as Loader, refused.kafka).run(),
  );
  t.true(isHostflowError(error, "HF_KAFKA_UNREACHABLE"), String(error));
  t.regex(error?.message ?? "", /TOPIC_AUTHORIZATION_FAILED/);
  t.deepEqual(refused.admins, ["admin 1"]);
});
