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
import { HostflowError } from "../../lib/errors.js";
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
