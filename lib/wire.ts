/**
 * The wire format between the agent and the collector (docs/wire-format.md): one Kafka record
 * per measurement sample, key = host, value = UTF-8 JSON in Telegraf's JSON shape, headers
 * with the schema version, the agent id, the stream and the sequence number.
 */

export const WIRE_SCHEMA_VERSION = 1;

/** A measurement sample: Telegraf's JSON output shape, timestamp in epoch milliseconds. */
export interface Sample {
  name: string;
  tags: Record<string, string>;
  fields: Record<string, number>;
  timestamp: number;
}

export const WIRE_HEADERS = {
  /** Decimal WIRE_SCHEMA_VERSION. */
  schemaVersion: "hf-schema-version",
  /** The agent's id (config `agent.id`, default the host name). */
  agentId: "hf-agent-id",
  /**
   * The sequence's scope within the agent: `<channel>@<epoch>`. The epoch is fixed for the life of
   * a file channel's data and new at every start of a memory channel, so that a consumer can tell
   * a restart of the numbering from a duplicate.
   */
  stream: "hf-stream",
  /** Decimal sequence number, +1 per event within the stream, starting at 0. */
  seq: "hf-seq",
} as const;

export interface WireHeaders {
  schemaVersion: number;
  agentId: string;
  stream: string;
  seq: number;
}

export function encodeSample(sample: Sample): Buffer {
  return Buffer.from(JSON.stringify(sample), "utf8");
}

export function encodeHeaders(h: WireHeaders): Record<string, string> {
  return {
    [WIRE_HEADERS.schemaVersion]: String(h.schemaVersion),
    [WIRE_HEADERS.agentId]: h.agentId,
    [WIRE_HEADERS.stream]: h.stream,
    [WIRE_HEADERS.seq]: String(h.seq),
  };
}

export type DecodeResult<T> =
  | { ok: true; value: T /** String fields left out (decodeSample). */; skipped?: number }
  | { ok: false; reason: string };

/** Options for records from other producers (Telegraf's Kafka output writes seconds). */
export interface DecodeOptions {
  timestampUnit?: "ms" | "s" | "us" | "ns";
  /** Bytes; larger values are refused before parsing. */
  maxBytes?: number;
}

const UNIT_TO_MS = { ms: 1, s: 1000, us: 1 / 1000, ns: 1 / 1_000_000 } as const;

/**
 * Parses and checks a record value. Never throws: a bad record comes back with the reason, so
 * that the collector can quarantine it.
 */
export function decodeSample(
  value: Buffer | null,
  options: DecodeOptions = {},
): DecodeResult<Sample> {
  if (value === null) return { ok: false, reason: "empty value (tombstone)" };
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  if (value.length > maxBytes)
    return { ok: false, reason: `value of ${value.length} bytes exceeds ${maxBytes}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString("utf8"));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: "not a JSON object" };
  }
  const { name, tags, fields, timestamp } = parsed as Record<string, unknown>;
  if (typeof name !== "string" || name === "")
    return { ok: false, reason: "name: missing or not a string" };
  if (typeof tags !== "object" || tags === null || Array.isArray(tags)) {
    return { ok: false, reason: "tags: missing or not an object" };
  }
  for (const key in tags) {
    if (typeof (tags as Record<string, unknown>)[key] !== "string") {
      return { ok: false, reason: `tags.${key}: not a string` };
    }
  }
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
    return { ok: false, reason: "fields: missing or not an object" };
  }
  // Telegraf writes string fields (system's uptime_format, a service's state) beside numbers,
  // and booleans: strings are left out and counted, booleans become 0/1. The common case, all
  // numbers, keeps the parsed object.
  let numeric = fields as Record<string, number>;
  let count = 0;
  let skipped = 0;
  let copied = false;
  for (const key in fields) {
    const field = (fields as Record<string, unknown>)[key];
    count++;
    if (typeof field === "number" && Number.isFinite(field)) {
      if (copied) numeric[key] = field;
      continue;
    }
    if (typeof field !== "boolean" && typeof field !== "string") {
      return { ok: false, reason: `fields.${key}: not a finite number, a boolean or a string` };
    }
    if (!copied) {
      numeric = numbersBefore(fields as Record<string, unknown>, key);
      copied = true;
    }
    if (typeof field === "boolean") numeric[key] = field ? 1 : 0;
    else skipped++;
  }
  if (count === 0) return { ok: false, reason: "fields: empty" };
  if (typeof timestamp !== "number" || !Number.isFinite(timestamp)) {
    return { ok: false, reason: "timestamp: missing or not a number" };
  }
  const ms = Math.round(timestamp * UNIT_TO_MS[options.timestampUnit ?? "ms"]);
  return {
    ok: true,
    value: { name, tags: tags as Record<string, string>, fields: numeric, timestamp: ms },
    ...(skipped > 0 ? { skipped } : {}),
  };
}

/** The fields before `stop` (all numbers), in a new object. */
function numbersBefore(fields: Record<string, unknown>, stop: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key in fields) {
    if (key === stop) break;
    out[key] = fields[key] as number;
  }
  return out;
}

/** Reads the hostflow headers of a record; undefined when any is missing or malformed. */
export function decodeHeaders(
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined,
): WireHeaders | undefined {
  const get = (key: string): string | undefined => {
    const raw = headers?.[key];
    const one = Array.isArray(raw) ? raw[0] : raw;
    return one === undefined ? undefined : one.toString();
  };
  const version = Number(get(WIRE_HEADERS.schemaVersion));
  const agentId = get(WIRE_HEADERS.agentId);
  const stream = get(WIRE_HEADERS.stream);
  const seqText = get(WIRE_HEADERS.seq);
  if (
    !Number.isInteger(version) ||
    !agentId ||
    !stream ||
    seqText === undefined ||
    !/^\d+$/.test(seqText)
  ) {
    return undefined;
  }
  return { schemaVersion: version, agentId, stream, seq: Number(seqText) };
}
