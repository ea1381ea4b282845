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
