/**
 * Partial aggregates per (host, measurement, tags, field, window). Partials of the same key from
 * different runs merge exactly (mergePartials), so that a window spread over several runs still
 * ends with the right count, sum, extremes and first/last values.
 */
import type { Sample } from "../lib/wire.js";

export interface PartialRow {
  host: string;
  measurement: string;
  /** Canonical JSON of the tags without "host", keys sorted: {"cpu":"cpu-total"}; "{}" when none. */
  tags: string;
  field: string;
  windowSeconds: number;
  /** Epoch ms, floor(ts / window) * window: windows are aligned on UTC. */
  windowStart: number;
  samples: number;
  total: number;
  minimum: number;
  maximum: number;
  firstValue: number;
  firstTs: number;
  lastValue: number;
  lastTs: number;
}

type RowKey = Pick<
  PartialRow,
  "host" | "measurement" | "tags" | "field" | "windowSeconds" | "windowStart"
>;

// NUL cannot occur in names (records.ts rejects control characters) and tags is JSON, so the
// joined key is unambiguous. The field comes last so that one prefix serves all of a sample's fields.
function keyPrefix(
  host: string,
  measurement: string,
  tags: string,
  windowSeconds: number,
  windowStart: number,
): string {
  return `${host}\0${measurement}\0${tags}\0${windowSeconds}\0${windowStart}\0`;
}

export function partialKey(row: RowKey): string {
  return (
    keyPrefix(row.host, row.measurement, row.tags, row.windowSeconds, row.windowStart) + row.field
  );
}

/** Built by hand: an object would put integer-like keys first whatever the sort. */
export function canonicalTags(tags: Record<string, string>): string {
  const keys: string[] = [];
  for (const key in tags) if (key !== "host") keys.push(key);
  if (keys.length === 0) return "{}";
  if (keys.length > 1) keys.sort();
  let json = "";
  for (const key of keys) json += `,${JSON.stringify(key)}:${JSON.stringify(tags[key])}`;
  return `{${json.slice(1)}}`;
}

export class WindowAggregator {
  readonly #windows: ReadonlyArray<{ ms: number; seconds: number }>;
  /** Rows by key prefix, then by field: a field name from JSON.parse hashes for free, while a
   * joined key per field would be hashed in full 16 million times per million samples. */
  readonly #groups = new Map<string, Map<string, PartialRow>>();
  #rowCount = 0;

  /** Every sample goes into one window of each size, e.g. [60_000, 3_600_000]. */
  constructor(windowsMs: readonly number[]) {
    for (const ms of windowsMs) {
      if (!Number.isInteger(ms) || ms <= 0 || ms % 1000 !== 0) {
        throw new RangeError(`window of ${ms} ms: must be a positive whole number of seconds`);
      }
    }
    this.#windows = [...new Set(windowsMs)].map((ms) => ({ ms, seconds: ms / 1000 }));
  }

  add(host: string, sample: Sample): void {
    const { name, fields, timestamp: ts } = sample;
    const tags = canonicalTags(sample.tags);
    for (const window of this.#windows) {
      const start = Math.floor(ts / window.ms) * window.ms;
      const prefix = keyPrefix(host, name, tags, window.seconds, start);
      let group = this.#groups.get(prefix);
      if (group === undefined) {
        group = new Map();
        this.#groups.set(prefix, group);
      }
      for (const field in fields) {
        const value = fields[field] as number;
        const row = group.get(field);
        if (row === undefined) {
          this.#rowCount++;
          group.set(field, {
            host,
            measurement: name,
            tags,
            field,
            windowSeconds: window.seconds,
            windowStart: start,
            samples: 1,
            total: value,
            minimum: value,
            maximum: value,
            firstValue: value,
            firstTs: ts,
            lastValue: value,
            lastTs: ts,
          });
          continue;
        }
        row.samples++;
        row.total += value;
        if (value < row.minimum) row.minimum = value;
        if (value > row.maximum) row.maximum = value;
        // Equal timestamps: first keeps the earlier-added, last takes the later-added.
        if (ts < row.firstTs) {
          row.firstTs = ts;
          row.firstValue = value;
        }
        if (ts >= row.lastTs) {
          row.lastTs = ts;
          row.lastValue = value;
        }
      }
    }
  }

  get rowCount(): number {
    return this.#rowCount;
  }

  /** The current partials, in no particular order; they stay owned by the aggregator. */
  rows(): PartialRow[] {
    return [...this.#groups.values()].flatMap((group) => [...group.values()]);
  }

  clear(): void {
    this.#groups.clear();
    this.#rowCount = 0;
  }
}

/**
 * Merges two partials of the same key. Ties keep the order of loading: first keeps a's value,
 * last takes b's (the later-loaded).
 */
export function mergePartials(a: PartialRow, b: PartialRow): PartialRow {
  if (partialKey(a) !== partialKey(b)) {
    throw new RangeError(
      `cannot merge partials of different keys: ${describe(a)} and ${describe(b)}`,
    );
  }
  const first = b.firstTs < a.firstTs ? b : a;
  const last = b.lastTs >= a.lastTs ? b : a;
  return {
    ...a,
    samples: a.samples + b.samples,
    total: a.total + b.total,
    minimum: Math.min(a.minimum, b.minimum),
    maximum: Math.max(a.maximum, b.maximum),
    firstValue: first.firstValue,
    firstTs: first.firstTs,
    lastValue: last.lastValue,
    lastTs: last.lastTs,
  };
}

function describe(row: RowKey): string {
  return JSON.stringify([
    row.host,
    row.measurement,
    row.tags,
    row.field,
    row.windowSeconds,
    row.windowStart,
  ]);
}
