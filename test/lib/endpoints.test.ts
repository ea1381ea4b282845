import test from "ava";
import { endpointsFromEnv } from "../../lib/endpoints.js";
import { isHostflowError } from "../../lib/errors.js";

test("defaults point at the local stack", (t) => {
  const endpoints = endpointsFromEnv({ USER: "ops" });
  t.deepEqual(endpoints.kafkaBrokers, ["127.0.0.1:9092"]);
  t.deepEqual(endpoints.hive, {
    host: "127.0.0.1",
    port: 10000,
    user: "ops",
    password: "anonymous",
  });
  t.deepEqual(endpoints.webHdfs, { url: "http://127.0.0.1:9870", user: "ops" });
});

test("WEBHDFS_URL names the warehouse's HDFS; HADOOP_USER_NAME its user", (t) => {
  const endpoints = endpointsFromEnv({
    WEBHDFS_URL: "http://namenode.example:9870/",
    HADOOP_USER_NAME: "hive",
    USER: "ops",
  });
  t.deepEqual(endpoints.webHdfs, { url: "http://namenode.example:9870", user: "hive" });
  for (const value of ["namenode:9870", "https://nn:9871"]) {
    const error = t.throws(() => endpointsFromEnv({ WEBHDFS_URL: value }));
    t.true(isHostflowError(error, "HF_CONFIG_INVALID"));
    t.regex(error?.message ?? "", /WEBHDFS_URL=".*" is invalid/);
  }
});

test("the environment points at an existing cluster", (t) => {
  const endpoints = endpointsFromEnv({
    KAFKA_BROKERS: " k1:9092, k2:19092 ,",
    HIVE_HOST: "hive.example",
    HIVE_PORT: "10001",
    HIVE_USER: "etl",
    HIVE_PASSWORD: "s3cret",
  });
  t.deepEqual(endpoints.kafkaBrokers, ["k1:9092", "k2:19092"]);
  t.deepEqual(endpoints.hive, {
    host: "hive.example",
    port: 10001,
    user: "etl",
    password: "s3cret",
  });
});

for (const [name, env, fragment] of [
  [
    "a broker without a port",
    { KAFKA_BROKERS: "k1" },
    'KAFKA_BROKERS="k1" is invalid: "k1" has no port',
  ],
  [
    "a port out of range",
    { HIVE_PORT: "70000" },
    'HIVE_PORT="70000" is invalid: expected a port number',
  ],
  ["a port that is no number", { HIVE_PORT: "10k" }, 'HIVE_PORT="10k" is invalid'],
  ["an empty broker list", { KAFKA_BROKERS: " , " }, "expected host:port"],
] as const) {
  test(`rejects ${name}, naming the variable`, (t) => {
    const error = t.throws(() => endpointsFromEnv(env));
    t.true(isHostflowError(error, "HF_CONFIG_INVALID"));
    t.true(error?.message.includes(fragment), error?.message);
  });
}
