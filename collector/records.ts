/**
 * Parses and checks one Kafka record (docs/wire-format.md). A bad record comes back with a
 * one-line reason naming the offending key or value, so that it can be quarantined and fixed
 * at its source.
 */
import { decodeHeaders, decodeSample, type Sample, type WireHeaders } from "../lib/wire.js";

export type TimestampUnit = "ms" | "s" | "us" | "ns";

/** kafkajs' IHeaders. */
export type RecordHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

export interface RecordCheckOptions {
  /** Records from Telegraf's Kafka output carry seconds. */
  timestampUnit: TimestampUnit;
  /** Bytes; bigger values are bad. */
  maxBytes: number;
  /** Timestamps older than now - maxAgeMs are bad. */
  maxAgeMs: number;
  /** Timestamps later than now + maxFutureMs are bad. */
  maxFutureMs: number;
  /** Epoch ms, fixed per run so that a record gets the same verdict all run long. */
  now: number;
}

export type CheckedRecord =
  | {
      ok: true;
      sample: Sample;
      host: string;
      headers: WireHeaders | undefined;
      /** String fields left out of `sample` (Telegraf's uptime_format …). */
      skipped: number;
    }
  | { ok: false; reason: string };

export const MAX_NAME_LENGTH = 256;
export const MAX_TAG_VALUE_LENGTH = 1024;

const UNIT_TO_MS: Record<TimestampUnit, number> = { ms: 1, s: 1000, us: 1 / 1000, ns: 1 / 1e6 };
const MAX_DATE_MS = 8.64e15;

/** Never throws. */
export function checkRecord(
  key: Buffer | null,
  value: Buffer | null,
  headers: RecordHeaders | undefined,
  options: RecordCheckOptions,
): CheckedRecord {
  const decoded = decodeSample(value, {
    timestampUnit: options.timestampUnit,
    maxBytes: options.maxBytes,
  });
  if (!decoded.ok) return decoded;
  const sample = decoded.value;
  const bad =
    checkName("name", sample.name, "name") ??
    checkEntries("tags", sample.tags) ??
    checkEntries("fields", sample.fields) ??
    checkTimestamp(sample.timestamp, options);
  if (bad !== undefined) return { ok: false, reason: bad };

  let host = sample.tags.host;
  if (!host) {
    host = key === null ? "" : key.toString("utf8");
    if (host === "")
      return { ok: false, reason: "no host: tags.host missing and the record has no key" };
    const badKey = checkText(host, "host", MAX_TAG_VALUE_LENGTH);
    if (badKey !== undefined) return { ok: false, reason: `record key: ${badKey}` };
  }
  const wire = decodeHeaders(headers);
  // A seq beyond 2^53 cannot be counted exactly; malformed headers only cost the gap check.
  const usable = wire !== undefined && Number.isSafeInteger(wire.seq);
  return {
    ok: true,
    sample,
    host,
    headers: usable ? wire : undefined,
    skipped: decoded.skipped ?? 0,
  };
}

function checkEntries(prefix: string, entries: Record<string, unknown>): string | undefined {
  for (const key in entries) {
    const entry = entries[key];
    const bad =
      checkText(key, "key", MAX_NAME_LENGTH) ??
      (typeof entry === "string" ? checkText(entry, "value", MAX_TAG_VALUE_LENGTH) : undefined);
    // The path is made only for a bad entry: it costs more than the checks.
    if (bad !== undefined) return `${path(prefix, key)}: ${bad}`;
  }
  return undefined;
}

function checkName(where: string, name: string, what: string): string | undefined {
  const bad = checkText(name, what, MAX_NAME_LENGTH);
  return bad === undefined ? undefined : `${where}: ${bad}`;
}

/** What is wrong with `text`, without saying where, or undefined. */
function checkText(text: string, what: string, max: number): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) {
      const hex = code.toString(16).toUpperCase().padStart(4, "0");
      return `control character U+${hex} in ${what} ${quote(text)}`;
    }
  }
  if (text.length > max) return `${what} of ${text.length} characters, more than ${max}`;
  return undefined;
}

function checkTimestamp(ms: number, options: RecordCheckOptions): string | undefined {
  const oldest = options.now - options.maxAgeMs;
  const latest = options.now + options.maxFutureMs;
  if (ms >= oldest && ms <= latest) return undefined;
  const unit = options.timestampUnit;
  const raw = ms / UNIT_TO_MS[unit];
  // Another unit that would put the raw value inside the window is most likely the right one.
  const likely = (Object.keys(UNIT_TO_MS) as TimestampUnit[]).find((other) => {
    const candidate = raw * UNIT_TO_MS[other];
    return other !== unit && candidate >= oldest && candidate <= latest;
  });
  const hint = likely === undefined ? "" : `; records.timestamp_unit is ${unit}; is it ${likely}?`;
  const limit =
    ms < oldest
      ? `older than ${duration(options.maxAgeMs)} (limit ${iso(oldest)}${hint})`
      : `more than ${duration(options.maxFutureMs)} in the future (limit ${iso(latest)}${hint})`;
  return `timestamp ${raw} is ${iso(ms)}, ${limit}`;
}

function path(prefix: string, key: string): string {
  return /^[\w.:/-]{1,80}$/.test(key) ? `${prefix}.${key}` : `${prefix}[${quote(key)}]`;
}

// JSON.stringify escapes every control character but DEL.
function quote(text: string): string {
  const quoted = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
  return quoted.replaceAll("\u007f", "\\u007f");
}

// Date throws beyond ±8.64e15 ms, which a nanosecond value read as milliseconds reaches.
function iso(ms: number): string {
  return Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : `${ms} ms (beyond any date)`;
}

function duration(ms: number): string {
  const units: Array<[string, number]> = [
    ["day", 86_400_000],
    ["hour", 3_600_000],
    ["minute", 60_000],
    ["second", 1000],
  ];
  for (const [name, size] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${name}${ms === size ? "" : "s"}`;
  }
  return `${ms} ms`;
}
