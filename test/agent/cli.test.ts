import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import { decodeHeaders, decodeSample } from "../../lib/wire.js";

function agent(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", "agent/cli.ts", ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
}

test("validate: every mistake with file:line:col, key and hint, exit 1", (t) => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "hostflow-cli-")), "agent.yaml");
  writeFileSync(
    file,
    `sources:
  host:
    type: sysinfo
    channels: [events]
    intervl: 10s
channels:
  events: { type: memory, when_full: drop_newest }
sinks:
  out: { type: logger, channel: evnts }
`,
  );
  const result = agent(["validate", "-c", file]);
  t.is(result.status, 1);
  t.is(result.stdout, "");
  const lines = result.stderr.trim().split("\n");
  t.is(lines[0], `hostflow-agent: HF_CONFIG_INVALID: ${file} is invalid (4 errors):`);
  t.deepEqual(lines.slice(1), [
    `${file}:5:5: sources.host.intervl: unknown key "intervl" (hint: did you mean "interval"?)`,
    `${file}:7:3: channels.events: channel "events" is never drained (hint: add a sink with channel: events)`,
    `${file}:7:38: channels.events.when_full: must be one of block, drop_oldest, not "drop_newest" (hint: did you mean "drop_oldest"?)`,
    `${file}:9:33: sinks.out.channel: unknown channel "evnts" (hint: did you mean "events"?)`,
  ]);
});

test("validate: the shipped configs are valid", (t) => {
  for (const file of [
    "conf/agent.yaml",
    "conf/examples/failover.yaml",
    "conf/examples/multiplexing.yaml",
  ]) {
    const result = agent(["validate", "-c", file]);
    t.is(result.status, 0, result.stderr);
    t.regex(result.stdout, new RegExp(`^${file}: ok \\(agent `));
  }
});

test("schema prints the JSON Schema that conf/agent.schema.json holds", (t) => {
  const result = agent(["schema"]);
  t.is(result.status, 0, result.stderr);
  t.deepEqual(
    JSON.parse(result.stdout),
    JSON.parse(readFileSync("conf/agent.schema.json", "utf8")),
  );
});

test("run --once prints one cycle of this host as the Kafka records, and exits", (t) => {
  const result = agent(["run", "-c", "conf/agent.yaml", "--once"]);
  t.is(result.status, 0, result.stderr);
  const lines = result.stdout
    .trim()
    .split("\n")
    .map(
      (l) =>
        JSON.parse(l) as {
          topic: string;
          key: string;
          headers: Record<string, string>;
          value: unknown;
        },
    );
  const names = new Set<string>();
  for (const line of lines) {
    t.is(line.topic, "hostflow.metrics");
    const sample = decodeSample(Buffer.from(JSON.stringify(line.value)));
    if (!sample.ok) return t.fail(sample.reason);
    t.is(line.key, sample.value.tags.host ?? "(no host tag)");
    t.truthy(decodeHeaders(line.headers));
    names.add(sample.value.name);
  }
  t.deepEqual([...names].sort(), [
    "cpu",
    "disk",
    "diskio",
    "mem",
    "net",
    "processes",
    "swap",
    "system",
  ]);
});

test("--dry-run and --once exclude each other", (t) => {
  const result = agent(["run", "-c", "conf/agent.yaml", "--once", "--dry-run"]);
  t.is(result.status, 1);
  t.regex(result.stderr, /--dry-run and --once exclude each other/);
});

test("run with an option it does not know is still refused with the usage (run's own parser hands it to yargs)", (t) => {
  const result = agent(["run", "-c", "conf/agent.yaml", "--bogus"]);
  t.is(result.status, 1);
  t.regex(result.stderr, /Unknown argument: bogus/);
});

test("run reports a config that does not load as one line, exit 1", (t) => {
  const result = agent(["run", "-c", "/nonexistent/agent.yaml"]);
  t.is(result.status, 1);
  t.regex(result.stderr, /^hostflow-agent: HF_CONFIG_\w+: /);
});
