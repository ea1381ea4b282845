import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import path from "node:path";
import test from "ava";
import { collectorConfigArtifacts } from "../../collector/config/docs.js";
import { loadCollectorConfig, loadCollectorConfigText } from "../../collector/config/load.js";
import { ConfigError } from "../../lib/config/issues.js";
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

function issuesOf(text: string): string[] {
  try {
    loadCollectorConfigText(text, "collector.yaml", {});
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.issues.map((i) => `${i.line}:${i.column}: ${i.path}: ${i.message}`);
    }
    throw error;
  }
  return [];
}

test("invalid configs: each mistake with its line, key and what is wrong, all at once", (t) => {
  const issues = issuesOf(`kafka:
  brokers: [k1:9092]
  group_idd: x
hive:
  password: a
  password_file: /p
  tables: { metrics: m, gaps: M }
aggregation:
  windows: [1m, 1500ms, 60s]
records:
  timestamp_unit: sec
  max_bad_ratio: 2
run:
  max_duration: 10x
`);
  t.deepEqual(issues, [
    '3:3: kafka.group_idd: unknown key "group_idd"',
    "4:1: hive: password and password_file are both given",
    '7:31: hive.tables.gaps: "M" is also the name of tables.metrics',
    "9:17: aggregation.windows[1]: window of 1500 ms is not a whole number of seconds of at least 1s",
    "9:25: aggregation.windows[2]: this window size is listed twice",
    '11:19: records.timestamp_unit: must be one of ms, s, us, ns, not "sec"',
    "12:18: records.max_bad_ratio: must be <= 1, not 2",
    '14:17: run.max_duration: invalid duration "10x"',
  ]);
});

test("a config without kafka.brokers says so", (t) => {
  t.deepEqual(issuesOf("hive: {}\n"), ['1:1: kafka.brokers: missing key "brokers"']);
});

test("webhdfs_user: HADOOP_USER_NAME, else the OS user; webhdfs_url must be http(s)://host:port", (t) => {
  const hive = (text: string) =>
    loadCollectorConfigText(
      `kafka: { brokers: ["k:9092"], topics: [m], group_id: "g/1" }\nhive: { ${text} }\n`,
      "collector.yaml",
      {},
    ).config.hive;
  const saved = process.env.HADOOP_USER_NAME;
  try {
    process.env.HADOOP_USER_NAME = "etl";
    t.is(hive("load_via: files").webhdfs_user, "etl");
    delete process.env.HADOOP_USER_NAME;
    t.is(hive("load_via: files").webhdfs_user, userInfo().username);
  } finally {
    if (saved === undefined) delete process.env.HADOOP_USER_NAME;
    else process.env.HADOOP_USER_NAME = saved;
  }
  t.is(hive("webhdfs_user: loader").webhdfs_user, "loader");
  t.is(hive('webhdfs_url: "http://nn:9870"').webhdfs_url, "http://nn:9870");
  const issues = issuesOf(
    `kafka: { brokers: ["k:9092"], topics: [m], group_id: g }\nhive:\n  webhdfs_url: hdfs://nn:8020\n`,
  );
  t.is(issues.length, 1, issues.join("\n"));
  t.regex(issues[0] ?? "", /^3:\d+: hive\.webhdfs_url: /);
});

test("load_via: an unknown value is an issue at its line", (t) => {
  const issues = issuesOf(
    `kafka: { brokers: ["k:9092"], topics: [m], group_id: g }\nhive:\n  load_via: ftp\n`,
  );
  t.is(issues.length, 1, issues.join("\n"));
  t.regex(issues[0] ?? "", /^3:\d+: hive\.load_via: .*(auto|statement|files)/);
});

test("dashboard.live_window holds 1 to 360 windows of the finest size; the live options' defaults", (t) => {
  const base = `kafka: { brokers: ["k:9092"] }\naggregation: { windows: [1m, 1h] }\n`;
  t.deepEqual(issuesOf(`${base}dashboard: { live_window: 30s }\n`), [
    "3:27: dashboard.live_window: 30000 ms holds less than one of the finest aggregation window (60000 ms)",
  ]);
  t.is(issuesOf(`${base}dashboard: { live_window: 7h }\n`).length, 1);
  const { dashboard } = loadCollectorConfigText(base, "collector.yaml", {}).config;
  t.like(dashboard, {
    live: true,
    live_window: 600_000,
    live_max_hosts: 20_000,
    live_refresh: 5_000,
  });
  // 1-second windows with the default window: accepted, the tail cuts it to 360 s (live-tail.ts).
  t.deepEqual(issuesOf(`kafka: { brokers: ["k:9092"] }\naggregation: { windows: [1s] }\n`), []);
});
