import test from "ava";
import { loadAgentConfig } from "../../../agent/config/load.js";
import { ConfigError } from "../../../lib/config/issues.js";
import { isHostflowError } from "../../../lib/errors.js";
import { writeConfig } from "../../lib/config/helpers.js";

/** A small valid flow, with room to break one thing at a time. */
const SOURCE = ["sources:", "  host:", "    type: sysinfo", "    channels: [events]"];
const CHANNEL = ["channels:", "  events:", "    type: memory"];
const SINK = ["sinks:", "  out:", "    type: logger", "    channel: events"];

/** The issues of a config that must not load, one formatted line each, the file shown as F. */
function problems(lines: readonly string[], env: Record<string, string> = {}): string[] {
  const file = writeConfig(lines);
  try {
    loadAgentConfig(file, env, { hostname: "test-host" });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error
      .formatIssues()
      .split("\n")
      .map((line) => line.replaceAll(file, "F"));
  }
  throw new Error("the config loaded");
}

const invalid: [string, string[], string[], Record<string, string>?][] = [
  [
    "an unknown key, with the key it is probably a typo of",
    [...SOURCE, "channels:", "  events:", "    type: memory", "    capcity: 100", ...SINK],
    ['F:8:5: channels.events.capcity: unknown key "capcity" (hint: did you mean "capacity"?)'],
  ],
  [
    "a value of the wrong type",
    [...SOURCE, ...CHANNEL, ...SINK, "    batch_size: ten"],
    ['F:12:17: sinks.out.batch_size: must be an integer, not "ten" (hint: most events per write)'],
  ],
  [
    "a number out of range",
    [...SOURCE, ...CHANNEL, ...SINK, "    batch_size: 0"],
    ["F:12:17: sinks.out.batch_size: must be >= 1, not 0 (hint: most events per write)"],
  ],
  [
    "a bad duration",
    [...SOURCE, "    interval: 10x", ...CHANNEL, ...SINK],
    [
      'F:5:15: sources.host.interval: invalid duration "10x" (hint: write a number and a unit: 500ms, 10s, 5m, 1h, 7d; a bare number is milliseconds)',
    ],
  ],
  [
    "a bad size",
    [...SOURCE, "channels:", "  events:", "    type: file", "    max_bytes: -5MiB", ...SINK],
    [
      'F:8:16: channels.events.max_bytes: invalid size "-5MiB" (hint: write a number and a unit: 512MiB, 64KB, 1GiB; units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB; a bare number is bytes)',
    ],
  ],
  [
    "an unknown component type, and only that (not every branch's complaints)",
    [
      "sources:",
      "  host:",
      "    type: sysinf",
      "    channels: [events]",
      "    percpu: 3",
      ...CHANNEL,
      ...SINK,
    ],
    [
      'F:3:11: sources.host.type: unknown type "sysinf" (hint: did you mean "sysinfo"? valid: sysinfo, synthetic, sequence)',
    ],
  ],
  [
    "a missing type",
    ["sources:", "  host:", "    channels: [events]", ...CHANNEL, ...SINK],
    ['F:2:3: sources.host.type: missing key "type" (hint: one of: sysinfo, synthetic, sequence)'],
  ],
  [
    "a sink naming a channel that does not exist (which leaves the channel undrained)",
    [...SOURCE, ...CHANNEL, "sinks:", "  out:", "    type: logger", "    channel: evnts"],
    [
      'F:6:3: channels.events: channel "events" is never drained (hint: add a sink with channel: events)',
      'F:11:14: sinks.out.channel: unknown channel "evnts" (hint: did you mean "events"?)',
    ],
  ],
  [
    "a source naming a channel that does not exist",
    [
      "sources:",
      "  host:",
      "    type: sysinfo",
      "    channels: [events, archive]",
      ...CHANNEL,
      ...SINK,
    ],
    ['F:4:24: sources.host.channels[1]: unknown channel "archive" (hint: channels: "events")'],
  ],
  [
    "a channel no sink drains",
    [...SOURCE, ...CHANNEL, "  spare:", "    type: memory", ...SINK],
    [
      'F:8:3: channels.spare: channel "spare" is never drained (hint: add a sink with channel: spare)',
    ],
  ],
  [
    "a missing required key",
    [...SOURCE, ...CHANNEL, "sinks:", "  kafka:", "    type: kafka", "    channel: events"],
    [
      'F:9:3: sinks.kafka.brokers: missing key "brokers" (hint: bootstrap brokers, host:port; e.g. [kafka-1:9092, kafka-2:9092])',
    ],
  ],
  [
    "an environment variable that is not set",
    [
      ...SOURCE,
      ...CHANNEL,
      "sinks:",
      "  kafka:",
      "    type: kafka",
      "    channel: events",
      "    brokers: ${BROKERS}",
    ],
    [
      "F:12:14: sinks.kafka.brokers: environment variable BROKERS is not set (hint: set BROKERS, or give a default: ${BROKERS:-value})",
    ],
  ],
  [
    "a multiplexing selector routing to a channel that is not the source's",
    [
      ...SOURCE,
      "    selector:",
      "      type: multiplexing",
      "      header: name",
      "      mapping:",
      "        cpu: [events]",
      "        disk: [archive]",
      "channels:",
      "  events:",
      "    type: memory",
      "  archive:",
      "    type: memory",
      "sinks:",
      "  out:",
      "    type: logger",
      "    channel: events",
      "  keep:",
      "    type: logger",
      "    channel: archive",
    ],
    [
      "F:10:16: sources.host.selector.mapping.disk[0]: channel \"archive\" is not one of this source's channels (hint: a selector routes only to the source's channels: add archive to sources.host.channels)",
    ],
  ],
  [
    "a bad cron expression",
    [...SOURCE, '    cron: "61 * * * *"', ...CHANNEL, ...SINK],
    [
      'F:5:11: sources.host.cron: invalid cron expression "61 * * * *": 61 is a invalid expression for minute (hint: 5 or 6 fields (seconds first when 6), e.g. */10 * * * * * for every 10 seconds)',
    ],
  ],
  [
    "cron and interval both given",
    [...SOURCE, '    cron: "*/10 * * * * *"', "    interval: 1m", ...CHANNEL, ...SINK],
    [
      "F:6:5: sources.host.interval: interval and cron are both given (hint: a source runs on its cron schedule or every interval; remove one of them)",
    ],
  ],
  [
    "a sink group whose sinks drain different channels",
    [
      "sources:",
      "  host:",
      "    type: sysinfo",
      "    channels: [a, b]",
      "channels:",
      "  a: {type: memory}",
      "  b: {type: memory}",
      "sinks:",
      "  one: {type: logger, channel: a}",
      "  two: {type: logger, channel: b}",
      "sink_groups:",
      "  pair:",
      "    sinks: [one, two]",
      "    processor: {type: failover}",
    ],
    [
      'F:13:5: sink_groups.pair.sinks: the sinks of group "pair" drain different channels (one ← a; two ← b) (hint: a group\'s sinks take batches from one channel; give them the same channel)',
    ],
  ],
  [
    "a sink group naming a sink that does not exist, and a sink in two groups",
    [
      ...SOURCE,
      ...CHANNEL,
      "sinks:",
      "  one: {type: logger, channel: events}",
      '  two: {type: "null", channel: events}',
      "sink_groups:",
      "  first:",
      "    sinks: [one, two]",
      "    processor: {type: load_balance}",
      "  second:",
      "    sinks: [one, three]",
      "    processor: {type: failover}",
    ],
    [
      'F:16:13: sink_groups.second.sinks[0]: sink "one" is already in sink group "first" (hint: a sink belongs to one group at most)',
      'F:16:18: sink_groups.second.sinks[1]: unknown sink "three" (hint: sinks: "one", "two")',
    ],
  ],
  [
    "empty sources",
    ["sources: {}", ...CHANNEL, ...SINK],
    [
      "F:1:10: sources: must have at least 1 entry (hint: named sources; e.g. {host: {type: sysinfo, channels: [events]}})",
    ],
  ],
  [
    "a SASL block without a password",
    [
      ...SOURCE,
      ...CHANNEL,
      "sinks:",
      "  kafka:",
      "    type: kafka",
      "    channel: events",
      "    brokers: [k1:9092]",
      "    sasl: {mechanism: plain, username: hf}",
    ],
    [
      'F:13:5: sinks.kafka.sasl: missing key "password" or "password_file" (hint: give password_file, or password: ${ENV_VAR} rather than a literal)',
    ],
  ],
  [
    "a component name with a dot",
    [...SOURCE, ...CHANNEL, "sinks:", "  out.1:", "    type: logger", "    channel: events"],
    [
      'F:9:3: sinks["out.1"]: invalid name "out.1" (hint: a name of letters, digits, _ and -, starting with a letter)',
    ],
  ],
  [
    "a measurement that does not exist, and one listed twice",
    [...SOURCE, "    measurements: [cpu, memory, cpu]", ...CHANNEL, ...SINK],
    [
      'F:5:25: sources.host.measurements[1]: must be one of cpu, mem, swap, system, disk, diskio, net, processes, not "memory" (hint: did you mean "mem"?)',
      'F:5:33: sources.host.measurements[2]: "cpu" is listed twice (items 0 and 2) (hint: list each once)',
    ],
  ],
  [
    "a file that is empty",
    ["# nothing here yet"],
    ["F:1:1: the file is empty (hint: a config is a mapping with: sources, channels, sinks)"],
  ],
];

for (const [name, lines, expected, env] of invalid) {
  test(`reports ${name}`, (t) => {
    t.deepEqual(problems(lines, env), expected);
  });
}

test("reports every problem at once, in file order, in one HF_CONFIG_INVALID error", (t) => {
  const file = writeConfig([
    "sources:",
    "  host:",
    "    type: sysinfo",
    "    channels: [events]",
    "    intervall: 10s",
    "channels:",
    "  events:",
    "    type: memory",
    "    capacity: 0",
    "sinks:",
    "  out:",
    "    type: loger",
    "    channel: events",
  ]);
  const error = t.throws(() => loadAgentConfig(file, {}), { instanceOf: ConfigError });
  t.true(isHostflowError(error, "HF_CONFIG_INVALID"));
  t.deepEqual(
    error?.issues.map((i) => [i.line, i.column, i.kind, i.path]),
    [
      [5, 5, "unknown_key", "sources.host.intervall"],
      [9, 15, "invalid_value", "channels.events.capacity"],
      [12, 11, "unknown_type", "sinks.out.type"],
    ],
  );
  t.true(error?.message.startsWith(`${file} is invalid (3 errors):\n${file}:5:5: `));
});

test("a YAML syntax error is HF_CONFIG_PARSE with its position", (t) => {
  const file = writeConfig(["sources:", "  host:", "    type: sysinfo", "   channels: [events]"]);
  const error = t.throws(() => loadAgentConfig(file, {}), { instanceOf: ConfigError });
  t.true(isHostflowError(error, "HF_CONFIG_PARSE"));
  t.deepEqual(
    error?.formatIssues().replaceAll(file, "F"),
    "F:4:1: all mapping items must start at the same column",
  );
});

test("a duplicate key is HF_CONFIG_PARSE", (t) => {
  const file = writeConfig([...SOURCE, ...CHANNEL, ...SINK, "    channel: events"]);
  const error = t.throws(() => loadAgentConfig(file, {}), { instanceOf: ConfigError });
  t.true(isHostflowError(error, "HF_CONFIG_PARSE"));
  t.deepEqual(
    error?.formatIssues().replaceAll(file, "F"),
    'F:12:5: duplicate key "channel" (hint: each key may appear once in a mapping; remove or merge the other one)',
  );
});

test("a missing file is HF_CONFIG_READ", (t) => {
  const error = t.throws(() => loadAgentConfig("/nonexistent/hostflow/agent.yaml", {}));
  t.true(isHostflowError(error, "HF_CONFIG_READ"));
  t.false(error instanceof ConfigError);
});

test("a channel no source feeds is a warning, returned, not thrown", (t) => {
  const file = writeConfig([
    ...SOURCE,
    ...CHANNEL,
    "  spare:",
    "    type: memory",
    ...SINK,
    "  drain:",
    '    type: "null"',
    "    channel: spare",
  ]);
  const { warnings } = loadAgentConfig(file, {});
  t.deepEqual(
    warnings.map((w) => [w.severity, w.kind, w.line, w.column, w.path]),
    [["warning", "unused", 8, 3, "channels.spare"]],
  );
});

test("the same name for a source, a channel and a sink is fine", (t) => {
  const file = writeConfig([
    "sources:",
    "  host: {type: sysinfo, channels: [host]}",
    "channels:",
    "  host: {type: memory}",
    "sinks:",
    "  host: {type: logger, channel: host}",
  ]);
  t.deepEqual(loadAgentConfig(file, {}).warnings, []);
});
