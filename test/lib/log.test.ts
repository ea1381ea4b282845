import { spawnSync } from "node:child_process";
import test from "ava";

function logCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const base = { ...process.env };
  delete base.HOSTFLOW_LOG_FORMAT;
  return spawnSync(process.execPath, ["--import", "tsx", "test/fixtures/log-cli.ts", ...args], {
    encoding: "utf8",
    env: { ...base, ...env },
    timeout: 60_000,
  });
}

test("off a terminal, log lines are JSON for files and log shippers", (t) => {
  const result = logCli(["log"]);
  t.is(result.status, 0, result.stderr);
  const line = JSON.parse(result.stderr.trim());
  t.like(line, { level: 30, name: "fixture", msg: "one line", n: 1 });
});

test("--log-format pretty, or HOSTFLOW_LOG_FORMAT=pretty, gives a line for people", (t) => {
  for (const result of [
    logCli(["log", "--log-format", "pretty"]),
    logCli(["log"], { HOSTFLOW_LOG_FORMAT: "pretty" }),
  ]) {
    t.is(result.status, 0, result.stderr);
    t.regex(result.stderr, /^\[\d\d:\d\d:\d\d\] INFO \(fixture\): one line \{"n":1\}\n$/);
  }
});

test("--log-format json wins over HOSTFLOW_LOG_FORMAT", (t) => {
  const result = logCli(["log", "--log-format", "json"], { HOSTFLOW_LOG_FORMAT: "pretty" });
  t.is(result.status, 0, result.stderr);
  t.is(JSON.parse(result.stderr.trim()).msg, "one line");
});

test("an unknown --log-format is refused, naming the choices", (t) => {
  const result = logCli(["log", "--log-format", "xml"]);
  t.is(result.status, 1);
  t.regex(result.stderr, /Invalid values:[\s\S]*log-format[\s\S]*"auto", "json", "pretty"/);
});
