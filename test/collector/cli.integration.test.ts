import { spawnSync } from "node:child_process";
import test from "ava";

function collector(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, ["--import", "tsx", "collector/cli.ts", ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
}

test("check gets a real answer from Kafka and from HiveServer2", (t) => {
  const result = collector(["check"]);
  t.is(result.status, 0, result.stdout + result.stderr);
  t.regex(result.stdout, /^ok {3}kafka .* \d+ brokers?, controller \d+/m);
  t.regex(result.stdout, /^ok {3}hive .* HiveServer2 session ran SELECT 1/m);
});

test("check fails with exit 1 and names the endpoint that does not answer", (t) => {
  const result = collector(["check"], { KAFKA_BROKERS: "127.0.0.1:1", HIVE_PORT: "1" });
  t.is(result.status, 1);
  t.regex(result.stdout, /^FAIL kafka +127\.0\.0\.1:1 +HF_KAFKA_UNREACHABLE/m);
  t.regex(
    result.stdout,
    /^FAIL hive +127\.0\.0\.1:1 +HF_HIVE_UNREACHABLE: cannot connect to HiveServer2 at 127\.0\.0\.1:1: ECONNREFUSED/m,
  );
});

test("a bad endpoint variable is one line naming the variable, exit 1", (t) => {
  const result = collector(["check"], { HIVE_PORT: "ten" });
  t.is(result.status, 1);
  t.is(
    result.stderr.trim(),
    'hostflow-collector: HF_CONFIG_INVALID: HIVE_PORT="ten" is invalid: expected a port number from 1 to 65535',
  );
});

test("an unknown command shows the help and exits 1", (t) => {
  const result = collector(["frobnicate"]);
  t.is(result.status, 1);
  t.regex(result.stderr, /Unknown argument: frobnicate/);
});
