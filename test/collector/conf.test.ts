import { readFileSync } from "node:fs";
import path from "node:path";
import test from "ava";
import { collectorConfigArtifacts } from "../../collector/config/docs.js";
import { loadCollectorConfig } from "../../collector/config/load.js";
import { projectRoot } from "../../lib/project.js";

const root = projectRoot();

test("conf/collector.yaml is valid, without warnings, with the documented defaults", (t) => {
  const { config, warnings } = loadCollectorConfig(path.join(root, "conf/collector.yaml"), {});
  t.deepEqual(warnings, []);
  t.deepEqual(config.kafka.brokers, ["127.0.0.1:9092"]);
  t.deepEqual(config.aggregation.windows, [60_000, 3_600_000]);
  t.is(config.hive.port, 10000);
  t.is(config.hive.max_statement_bytes, 16 * 1024 * 1024);
  t.is(config.run.lock_file, "/tmp/hostflow-collector.lock");
});

test("KAFKA_BROKERS with two brokers gives a list of two", (t) => {
  const { config } = loadCollectorConfig(path.join(root, "conf/collector.yaml"), {
    KAFKA_BROKERS: "k1:9092,k2:9092",
  });
  t.deepEqual(config.kafka.brokers, ["k1:9092", "k2:9092"]);
});

for (const [file, expected] of Object.entries(collectorConfigArtifacts())) {
  test(`${file} is what npm run gen:config makes of the schema`, (t) => {
    const committed = readFileSync(path.join(root, file), "utf8");
    t.true(committed === expected, `${file} is stale: run npm run gen:config`);
  });
}
