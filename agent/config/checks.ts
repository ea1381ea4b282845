import path from "node:path";
import { validateDetailed, validate as validCron } from "node-cron";
import type { ConfigIssue, ConfigPath } from "../../lib/config/issues.js";
import { checkKafkaConnection } from "../../lib/config/kafka.js";
import { isRecord } from "../../lib/config/schema-walk.js";
import { suggestion } from "../../lib/config/suggest.js";
import type { IssueSpec, YamlSource } from "../../lib/config/yaml.js";

type Entries = [string, Record<string, unknown>][];

/**
 * What the schema cannot say about a flow: names that must refer to components that exist,
 * channels that something must drain, settings that exclude each other. Runs on data that may
 * also have schema errors, so every access is checked; a section that is not even a mapping is
 * left to the schema's message.
 */
export function checkAgentConfig(data: unknown, source: YamlSource): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const report = (spec: IssueSpec) => issues.push(source.issue(spec));
  const root = isRecord(data) ? data : {};
  const sources = entries(root.sources);
  const sinks = entries(root.sinks);
  const channels = isRecord(root.channels) ? root.channels : undefined;
  const channelNames = Object.keys(channels ?? {});

  const fed = new Set<string>();
  for (const [name, src] of sources) {
    const own = strings(src.channels);
    eachString(src.channels, (channel, index, all) => {
      const at: ConfigPath = ["sources", name, "channels", index];
      fed.add(channel);
      if (all.indexOf(channel) !== index) {
        report(listedTwice(at, `channel ${JSON.stringify(channel)}`));
      } else if (channels !== undefined && !channelNames.includes(channel)) {
        report(unknownName(at, "channel", channel, channelNames));
      }
    });
    checkSelector(name, src, own, channelNames, report);
    checkSchedule(name, src, source, report);
  }

  const drained = new Set<string>();
  for (const [name, sink] of sinks) {
    if (typeof sink.channel !== "string") continue;
    drained.add(sink.channel);
    if (channels !== undefined && !channelNames.includes(sink.channel)) {
      report(unknownName(["sinks", name, "channel"], "channel", sink.channel, channelNames));
    }
    if (sink.type === "kafka") checkKafkaConnection(sink, ["sinks", name], report);
  }

  if (channels !== undefined) {
    for (const channel of channelNames) {
      if (isRecord(root.sinks) && !drained.has(channel)) {
        report({
          kind: "unused",
          path: ["channels", channel],
          at: "key",
          message: `channel ${JSON.stringify(channel)} is never drained`,
          hint: `add a sink with channel: ${channel}`,
        });
      }
      if (isRecord(root.sources) && !fed.has(channel)) {
        report({
          severity: "warning",
          kind: "unused",
          path: ["channels", channel],
          at: "key",
          message: `channel ${JSON.stringify(channel)} is never fed by a source`,
          hint: `add ${channel} to a source's channels, or remove it`,
        });
      }
    }
    checkFileChannelDirs(root, channels, report);
  }

  if (isRecord(root.sinks)) checkSinkGroups(entries(root.sink_groups), sinks, report);
  return issues;
}

function checkSelector(
  name: string,
  src: Record<string, unknown>,
  own: string[],
  all: string[],
  report: (spec: IssueSpec) => void,
): void {
  const selector = src.selector;
  if (!isRecord(selector) || selector.type !== "multiplexing") return;
  const targets: [ConfigPath, string][] = [];
  for (const [value, list] of Object.entries(isRecord(selector.mapping) ? selector.mapping : {})) {
    eachString(list, (channel, i) => {
      targets.push([["sources", name, "selector", "mapping", value, i], channel]);
    });
  }
  eachString(selector.default, (channel, i) => {
    targets.push([["sources", name, "selector", "default", i], channel]);
  });
  for (const [at, channel] of targets) {
    if (own.includes(channel)) continue;
    const near = suggestion(channel, own, "this source's channels");
    report({
      kind: "reference",
      path: at,
      at: "value",
      message: `channel ${JSON.stringify(channel)} is not one of this source's channels`,
      hint: near.startsWith("did you mean")
        ? near
        : all.includes(channel)
          ? `a selector routes only to the source's channels: add ${channel} to sources.${name}.channels`
          : `there is no channel ${channel}; this source's channels: ${own.join(", ")}`,
    });
  }
}

function checkSchedule(
  name: string,
  src: Record<string, unknown>,
  source: YamlSource,
  report: (spec: IssueSpec) => void,
): void {
  if (typeof src.cron !== "string") return;
  if (!validCron(src.cron)) {
    const why = validateDetailed(src.cron)
      .errors.map((e) => e.message)
      .join("; ");
    report({
      kind: "invalid_value",
      path: ["sources", name, "cron"],
      at: "value",
      message: `invalid cron expression ${JSON.stringify(src.cron)}${why === "" ? "" : `: ${why}`}`,
      hint: "5 or 6 fields (seconds first when 6), e.g. */10 * * * * * for every 10 seconds",
    });
  }
  // Written in the file, not the default: which of the two would win is not obvious.
  if (source.has(["sources", name, "interval"])) {
    report({
      kind: "conflict",
      path: ["sources", name, "interval"],
      at: "key",
      message: "interval and cron are both given",
      hint: "a source runs on its cron schedule or every interval; remove one of them",
    });
  }
}

function checkFileChannelDirs(
  root: Record<string, unknown>,
  channels: Record<string, unknown>,
  report: (spec: IssueSpec) => void,
): void {
  const dataDir = isRecord(root.agent) ? root.agent.data_dir : undefined;
  const owners = new Map<string, string>();
  for (const [name, channel] of entries(channels)) {
    if (channel.type !== "file") continue;
    const dir =
      typeof channel.dir === "string"
        ? path.resolve(channel.dir)
        : typeof dataDir === "string"
          ? path.resolve(dataDir, "channels", name)
          : undefined;
    if (dir === undefined) continue;
    const owner = owners.get(dir);
    if (owner === undefined) {
      owners.set(dir, name);
      continue;
    }
    report({
      kind: "conflict",
      path: ["channels", name, ...(typeof channel.dir === "string" ? ["dir"] : [])],
      at: typeof channel.dir === "string" ? "value" : "key",
      message: `file channels ${JSON.stringify(owner)} and ${JSON.stringify(name)} use the same dir ${dir}`,
      hint: "each file channel needs a dir of its own",
    });
  }
}

function checkSinkGroups(groups: Entries, sinks: Entries, report: (spec: IssueSpec) => void) {
  const sinkNames = sinks.map(([name]) => name);
  const channelOf = new Map(sinks.map(([name, sink]) => [name, sink.channel]));
  const groupOf = new Map<string, string>();
  for (const [group, spec] of groups) {
    const members = strings(spec.sinks);
    const drains = new Map<string, string[]>();
    eachString(spec.sinks, (member, index, all) => {
      const at: ConfigPath = ["sink_groups", group, "sinks", index];
      if (all.indexOf(member) !== index) {
        report(listedTwice(at, `sink ${JSON.stringify(member)}`));
        return;
      }
      if (!sinkNames.includes(member)) {
        report(unknownName(at, "sink", member, sinkNames));
        return;
      }
      const other = groupOf.get(member);
      if (other !== undefined) {
        report({
          kind: "conflict",
          path: at,
          at: "value",
          message: `sink ${JSON.stringify(member)} is already in sink group ${JSON.stringify(other)}`,
          hint: "a sink belongs to one group at most",
        });
      } else {
        groupOf.set(member, group);
      }
      const channel = channelOf.get(member);
      if (typeof channel === "string")
        drains.set(channel, [...(drains.get(channel) ?? []), member]);
    });
    if (drains.size > 1) {
      const list = [...drains].map(([channel, names]) => `${names.join(", ")} ← ${channel}`);
      report({
        kind: "reference",
        path: ["sink_groups", group, "sinks"],
        at: "key",
        message: `the sinks of group ${JSON.stringify(group)} drain different channels (${list.join("; ")})`,
        hint: "a group's sinks take batches from one channel; give them the same channel",
      });
    }
    const processor = spec.processor;
    const priorities = isRecord(processor) ? processor.priorities : undefined;
    for (const member of Object.keys(isRecord(priorities) ? priorities : {})) {
      if (members.includes(member)) continue;
      report({
        kind: "reference",
        path: ["sink_groups", group, "processor", "priorities", member],
        at: "key",
        message: `sink ${JSON.stringify(member)} is not in this group`,
        hint: suggestion(member, members, "the group's sinks"),
      });
    }
  }
}

function unknownName(at: ConfigPath, what: string, name: string, names: string[]): IssueSpec {
  return {
    kind: "reference",
    path: at,
    at: "value",
    message: `unknown ${what} ${JSON.stringify(name)}`,
    hint: names.length === 0 ? `define ${what}s first` : suggestion(name, names, `${what}s`),
  };
}

function listedTwice(at: ConfigPath, what: string): IssueSpec {
  return { kind: "invalid_value", path: at, at: "value", message: `${what} is listed twice` };
}

function entries(value: unknown): Entries {
  return Object.entries(isRecord(value) ? value : {}).filter(
    (entry): entry is [string, Record<string, unknown>] => isRecord(entry[1]),
  );
}

/** Calls `fn` for the strings of a list, with their index in it (other items are the schema's). */
function eachString(
  value: unknown,
  fn: (item: string, index: number, all: readonly unknown[]) => void,
): void {
  if (!Array.isArray(value)) return;
  value.forEach((item, index) => {
    if (typeof item === "string") fn(item, index, value);
  });
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}
