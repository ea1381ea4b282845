/**
 * What every sink makes of an event: the Kafka record of lib/wire.ts (topic, key, hostflow
 * headers, value), and the JSON line the logger and file_roll sinks print, so that `--dry-run`
 * and the rolled files show exactly what the kafka sink would produce.
 */
import { HostflowError } from "../../lib/errors.js";
import { encodeHeaders, encodeSample, WIRE_SCHEMA_VERSION } from "../../lib/wire.js";
import { KafkaSink } from "../config/schema.js";
import type { Channel, ChannelEvent, ComponentContext } from "../core/types.js";

/** Substituted for a `%{header}` the event lacks: the batch still goes out (see renderTopic). */
export const MISSING_HEADER_VALUE = "unknown";

/** The kafka sink's defaults, for sinks that print records without a kafka sink's options. */
export const DEFAULT_ROUTING: Routing = {
  topic: KafkaSink.properties.topic.default as string,
  key_header: KafkaSink.properties.key_header.default as string,
};

export interface Routing {
  /** A topic, with `%{header}` placeholders. */
  topic: string;
  /** The header whose value is the record key. */
  key_header: string;
}

export interface WireRecord {
  topic: string;
  /** null when the event lacks the key header: Kafka then spreads such records. */
  key: string | null;
  headers: Record<string, string>;
  value: Buffer;
}

type Part = { text: string } | { header: string };

export interface TopicPattern {
  readonly pattern: string;
  /** The headers the pattern reads, in order. */
  readonly headers: readonly string[];
  /** The topic for these headers; `missing` lists the placeholders that had no value. */
  render(headers: Readonly<Record<string, string>>): { topic: string; missing: string[] };
}

// Kafka's legal topic characters (kafka.common.internals.Topic), and its longest name.
const TOPIC_CHARS = /^[A-Za-z0-9._-]*$/;
const ILLEGAL_TOPIC_CHARS = /[^A-Za-z0-9._-]/g;
const MAX_TOPIC_LENGTH = 249;
const PLACEHOLDER = /%\{([^}]*)\}/g;

/**
 * Parses a topic pattern once. The fixed text must be a legal topic name (a config error
 * otherwise). Per event, a missing or empty header becomes `unknown` and characters Kafka
 * refuses become `_`: refusing such events would fail their batch for good and block the channel
 * behind them, so they go to a visible topic instead and the sink counts and logs them.
 */
export function compileTopicPattern(pattern: string, where = "topic"): TopicPattern {
  const parts: Part[] = [];
  let last = 0;
  for (const match of pattern.matchAll(PLACEHOLDER)) {
    const header = match[1] ?? "";
    if (header.trim() === "") {
      throw new HostflowError("HF_CONFIG_INVALID", `${where} "${pattern}" has an empty %{}`, {
        context: { option: where, value: pattern },
      });
    }
    if (match.index > last) parts.push({ text: pattern.slice(last, match.index) });
    parts.push({ header });
    last = match.index + match[0].length;
  }
  if (last < pattern.length) parts.push({ text: pattern.slice(last) });
  for (const part of parts) {
    if ("text" in part && !TOPIC_CHARS.test(part.text)) {
      throw new HostflowError(
        "HF_CONFIG_INVALID",
        `${where} "${pattern}" is not a valid Kafka topic: use letters, digits, '.', '_' and '-' outside %{…}`,
        { context: { option: where, value: pattern } },
      );
    }
  }
  if (parts.length === 0) {
    throw new HostflowError("HF_CONFIG_INVALID", `${where} is empty`, {
      context: { option: where },
    });
  }
  const headers = parts.flatMap((p) => ("header" in p ? [p.header] : []));
  return {
    pattern,
    headers,
    render(eventHeaders) {
      const missing: string[] = [];
      let topic = "";
      for (const part of parts) {
        if ("text" in part) {
          topic += part.text;
          continue;
        }
        const value = eventHeaders[part.header];
        if (value === undefined || value === "") {
          missing.push(part.header);
          topic += MISSING_HEADER_VALUE;
        } else {
          topic += value.replace(ILLEGAL_TOPIC_CHARS, "_");
        }
      }
      // "." and ".." are the only all-dot names Kafka refuses; a header of dots is no topic.
      if (topic === "." || topic === "..") topic = topic.replace(/\./g, "_");
      return { topic: topic.slice(0, MAX_TOPIC_LENGTH), missing };
    },
  };
}

/** Renders one event as the record the kafka sink produces (lib/wire.ts). */
export function toWireRecord(
  event: ChannelEvent,
  topic: string,
  keyHeader: string,
  agentId: string,
  stream: string,
): WireRecord {
  const key = event.headers[keyHeader];
  return {
    topic,
    key: key === undefined || key === "" ? null : key,
    headers: encodeHeaders({
      schemaVersion: WIRE_SCHEMA_VERSION,
      agentId,
      stream,
      seq: event.seq,
    }),
    // The channel's JSON of the body when it has one: the same bytes encodeSample would make.
    value: event.encodedBody ?? encodeSample(event.body),
  };
}

/**
 * `{"topic":…,"key":…,"headers":{…},"value":{sample}}` and a newline. The value is spliced in as
 * the very bytes the kafka sink sends, not re-serialized, so the line shows the wire value.
 */
export function recordLine(record: WireRecord): string {
  return `{"topic":${JSON.stringify(record.topic)},"key":${JSON.stringify(record.key)},"headers":${JSON.stringify(record.headers)},"value":${record.value.toString("utf8")}}\n`;
}

/** Turns batches into wire records, counting (and logging once per header) missing headers. */
export type RecordBuilder = (
  events: readonly ChannelEvent[],
  channel: Pick<Channel, "stream">,
) => WireRecord[];

export function createRecordBuilder(
  sink: string,
  routing: Routing,
  ctx: ComponentContext,
): RecordBuilder {
  const pattern = compileTopicPattern(routing.topic);
  const keyHeader = routing.key_header;
  // Per sink instance: a warning per header the first time it is missing, then only the count.
  const warned = new Set<string>();
  const report = (header: string, use: string) => {
    if (warned.has(header)) return;
    warned.add(header);
    ctx.logger.warn(
      { sink, header, use },
      `events without the "${header}" header: ${use} (counted as outcome missing_header; logged once)`,
    );
  };
  return (events, channel) => {
    let missingCount = 0;
    const records = events.map((event) => {
      const { topic, missing } = pattern.render(event.headers);
      const record = toWireRecord(event, topic, keyHeader, ctx.agentId, channel.stream);
      for (const header of missing) report(header, `topic "${topic}"`);
      if (record.key === null) report(keyHeader, "no record key");
      if (missing.length > 0 || record.key === null) missingCount++;
      return record;
    });
    ctx.metrics.count(sink, "sink", "missing_header", missingCount);
    return records;
  };
}
