import test from "ava";
import { isHostflowError } from "../../../lib/errors.js";
import { hiveFlavorFromEnv, hiveHeapFromEnv, hiveSettings } from "../../../scripts/stack/hive.js";
import { DEFAULT_PORTS, portsFromEnv } from "../../../scripts/stack/layout.js";
import { localGroups } from "../../../scripts/stack/stack.js";

test("the stack's default ports are Kafka's, Hadoop's and Hive's own", (t) => {
  t.deepEqual(
    { ...DEFAULT_PORTS },
    {
      kafka: 9092,
      hive: 10000,
      namenode: 8020,
      namenodeHttp: 9870,
      datanode: 9866,
      datanodeHttp: 9864,
      datanodeIpc: 9867,
    },
  );
});

test("HOSTFLOW_STACK_PORTS moves any port, names case-insensitive", (t) => {
  t.deepEqual(portsFromEnv("kafka=29092, hive=20000,NameNodeHttp=29870"), {
    kafka: 29092,
    hive: 20000,
    namenodeHttp: 29870,
  });
  t.deepEqual(portsFromEnv(undefined), {});
  t.deepEqual(portsFromEnv(""), {});
});

for (const [what, value] of [
  ["an unknown name", "zookeeper=2181"],
  ["a port that is no number", "hive=ten"],
  ["a port out of range", "hive=70000"],
  ["no '='", "hive"],
]) {
  test(`HOSTFLOW_STACK_PORTS with ${what} is HF_CONFIG_INVALID naming the pair and the names`, (t) => {
    const error = t.throws(() => portsFromEnv(value));
    t.true(isHostflowError(error, "HF_CONFIG_INVALID"));
    t.regex(error?.message ?? "", /HOSTFLOW_STACK_PORTS=".*" is invalid at ".*": .*namenodeHttp/);
  });
}

test("HOSTFLOW_STACK_HIVE picks the HiveServer2: apache by default, spark, nothing else", (t) => {
  t.is(hiveFlavorFromEnv({}), "apache");
  t.is(hiveFlavorFromEnv({ HOSTFLOW_STACK_HIVE: "spark" }), "spark");
  const error = t.throws(() => hiveFlavorFromEnv({ HOSTFLOW_STACK_HIVE: "presto" }));
  t.true(isHostflowError(error, "HF_CONFIG_INVALID"));
});

test("HOSTFLOW_STACK_HIVE_HEAP sets HiveServer2's heap: 2g by default, sizes only", (t) => {
  t.is(hiveHeapFromEnv({}), "2g");
  t.is(hiveHeapFromEnv({ HOSTFLOW_STACK_HIVE_HEAP: "6144m" }), "6144m");
  for (const bad of ["8", "8gb", "-1g", "lots"]) {
    const error = t.throws(() => hiveHeapFromEnv({ HOSTFLOW_STACK_HIVE_HEAP: bad }));
    t.true(isHostflowError(error, "HF_CONFIG_INVALID"), bad);
  }
});

test("HiveServer2's scratch folder is in the stack's data folder (Tez's local session files stay with the stack)", (t) => {
  const settings = hiveSettings(
    { ports: DEFAULT_PORTS } as unknown as Parameters<typeof hiveSettings>[0],
    "/stack/data/hive",
  );
  t.is(settings["hive.exec.scratchdir"], "/stack/data/hive/scratch");
});

test("npm test's local groups: HiveServer2 brings its HDFS; an endpoint in the environment is not started", (t) => {
  t.deepEqual(localGroups(["kafka", "hive"], {}), ["kafka", "hdfs", "hive"]);
  t.deepEqual(localGroups(["kafka", "hive"], { KAFKA_BROKERS: "k:9092" }), ["hdfs", "hive"]);
  t.deepEqual(localGroups(["kafka", "hive"], { HIVE_HOST: "hs2" }), ["kafka"]);
  t.deepEqual(localGroups(["kafka", "hive"], { HIVE_HOST: "hs2", WEBHDFS_URL: "http://nn:9870" }), [
    "kafka",
  ]);
  t.deepEqual(localGroups(["kafka"], { WEBHDFS_URL: "http://nn:9870" }), ["kafka"]);
});

test("WEBHDFS_URL without HIVE_HOST is refused: the local HiveServer2 needs the local HDFS", (t) => {
  const error = t.throws(() => localGroups(["hive"], { WEBHDFS_URL: "http://nn:9870" }));
  t.true(isHostflowError(error, "HF_CONFIG_INVALID"));
  t.regex(error?.message ?? "", /WEBHDFS_URL is set but HIVE_HOST is not/);
});
