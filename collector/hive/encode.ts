/**
 * One load as one HiveQL statement. The rows travel as a single string literal (fields split by
 * U+0001, rows by U+0002, as Hive's own text format does) that the server explodes and casts:
 * Spark's and Hive's parsers take a long literal in stride, but slow down badly on a VALUES list
 * of a hundred thousand tuples. A multi-insert then writes every table the load touches,
 * `loads` last, in the one statement.
 *
 * Strings that could hold the separators (a quarantined record's key and value, its reason) go
 * base64-encoded; the others cannot (records.ts refuses control characters in names, tags are
 * JSON, which escapes them).
 */
import type { PartialRow } from "../aggregate.js";
import type { GapEvent, StreamState } from "../gaps.js";
import type { Column, TableKind, TableSpec, TableSpecs } from "./tables.js";

const FIELD = "\u0001";
const ROW = "\u0002";

export interface RawRow {
  host: string;
  measurement: string;
  tags: string;
  field: string;
  value: number;
  ts: number;
  agentId: string | undefined;
  seq: number | undefined;
  topic: string;
  partition: number;
  offset: number;
}

export interface QuarantineRow {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number | undefined;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
}

/** A gap event, or a range of offsets lost to retention (topic and partition set, no agent). */
export type GapRow = Omit<GapEvent, "kind"> & {
  kind: GapEvent["kind"] | "retention";
  topic: string | undefined;
  partition: number | undefined;
};

export interface OffsetRange {
  topic: string;
  /** -1 for a load that carries state only (gaps found at the end of a run). */
  partition: number;
  from: number;
  next: number;
  records: number;
  bad: number;
}

export interface LoadUnit {
  loadId: string;
  groupId: string;
  collector: string;
  loadedAt: number;
  metrics: Iterable<PartialRow>;
  raw: readonly RawRow[];
  quarantine: readonly QuarantineRow[];
  gaps: readonly GapRow[];
  streams: readonly StreamState[];
  offsets: readonly OffsetRange[];
}

export interface EncodedLoad {
  /**
   * The statement of one attempt at the load. Every row it writes, in every table, carries
   * `attemptId` as its load_id (the rows' own load_id cell is not used), so that two attempts
   * that both commit (a retry while the first still ran on the server) can be told apart; the
   * views count only the first attempt of a load (tables.ts, committedLoads).
   */
  statement: (attemptId: string) => string;
  /** Rows per table. */
  rows: Record<TableKind, number>;
}

/** The id of attempt `attempt` (1, 2, …) of load `loadId`: `<loadId>#<attempt>`. */
export const attemptId = (loadId: string, attempt: number) => `${loadId}#${attempt}`;

/** The load an attempt id belongs to (an id of an older version, without `#`, is its own). */
export const loadOfAttempt = (id: string) => id.split("#")[0] as string;

/** A cell as the row holds it; base64 columns hold bytes or text (Decode). */
export type Cell = string | number | undefined | Buffer | null;
/** How a column's text becomes its value on the server. */
type Decode = "plain" | "base64" | "nullable";

const DAY_MS = 86_400_000;
const days = new Map<number, string>();
/** The UTC day of an epoch ms, each formatted once (a load's rows span a few days). */
export function utcDay(ms: number): string {
  const n = Math.floor(ms / DAY_MS);
  let text = days.get(n);
  if (text === undefined) {
    text = new Date(n * DAY_MS).toISOString().slice(0, 10);
    if (days.size >= 1_000) days.clear();
    days.set(n, text);
  }
  return text;
}
const hour = (ms: number) => new Date(ms).toISOString().slice(11, 13);
const b64 = (value: Cell) =>
  value === null || value === undefined
    ? ""
    : (typeof value === "string" ? Buffer.from(value) : Buffer.from(value as Buffer)).toString(
        "base64",
      );

/** The load_id cell: left empty, the statement writes the attempt's id (EncodedLoad). */
const LOAD_ID = "";

/** Each table's cells in spec order (columns, then partitions), and columns not sent plain. */
const ENCODERS: {
  [K in TableKind]: {
    decode?: Record<string, Decode>;
    cells: (row: never, load: LoadUnit) => Cell[];
  };
} = {
  metrics: {
    cells: (r: PartialRow) => [
      r.host,
      r.measurement,
      r.tags,
      r.field,
      r.windowSeconds,
      r.windowStart,
      r.samples,
      r.total,
      r.minimum,
      r.maximum,
      r.firstValue,
      r.firstTs,
      r.lastValue,
      r.lastTs,
      LOAD_ID,
      utcDay(r.windowStart),
    ],
  },
  raw: {
    decode: { agent_id: "nullable", seq: "nullable" },
    cells: (r: RawRow) => [
      r.host,
      r.measurement,
      r.tags,
      r.field,
      r.value,
      r.ts,
      r.agentId,
      r.seq,
      r.topic,
      r.partition,
      r.offset,
      LOAD_ID,
      utcDay(r.ts),
      hour(r.ts),
    ],
  },
  quarantine: {
    decode: {
      kafka_timestamp: "nullable",
      record_key: "base64",
      raw_value: "base64",
      reason: "base64",
    },
    cells: (r: QuarantineRow, load) => [
      r.topic,
      r.partition,
      r.offset,
      r.timestamp,
      r.key,
      r.value,
      r.reason,
      load.loadedAt,
      LOAD_ID,
      utcDay(load.loadedAt),
    ],
  },
  gaps: {
    decode: {
      agent_id: "base64",
      stream: "base64",
      host: "base64",
      before_ts: "nullable",
      after_ts: "nullable",
      topic: "nullable",
      kafka_partition: "nullable",
    },
    cells: (r: GapRow, load) => [
      r.kind,
      r.agentId,
      r.stream,
      r.host,
      r.fromSeq,
      r.toSeq,
      r.count,
      r.beforeTs,
      r.afterTs,
      r.topic,
      r.partition,
      load.loadedAt,
      LOAD_ID,
      utcDay(load.loadedAt),
    ],
  },
  streams: {
    decode: { agent_id: "base64", stream: "base64", host: "base64" },
    cells: (r: StreamState) => [
      r.agentId,
      r.stream,
      r.host,
      r.maxSeq,
      encodeHoles(r),
      r.lastTs,
      r.updatedAt,
      LOAD_ID,
      utcDay(r.updatedAt),
    ],
  },
  loads: {
    cells: (r: OffsetRange, load) => [
      LOAD_ID,
      load.groupId,
      r.topic,
      r.partition,
      r.from,
      r.next,
      r.records,
      r.bad,
      load.loadedAt,
      load.collector,
    ],
  },
};

/** `loads` goes last: a statement the server stops half way leaves rows without their commit. */
const ORDER: TableKind[] = ["metrics", "raw", "quarantine", "gaps", "streams", "loads"];
const KIND_TAG: Record<TableKind, string> = {
  metrics: "m",
  raw: "r",
  quarantine: "q",
  gaps: "g",
  streams: "s",
  loads: "o",
};

/** The INSERT statement of a load; its size is what `hive.max_statement_bytes` bounds. */
export function encodeLoad(load: LoadUnit, database: string, specs: TableSpecs): EncodedLoad {
  const rows = emptyCounts();
  const literal = [...encodedLines(load, specs, rows)]
    .join(ROW)
    .replace(/\\/g, "\\\\")
    .replace(/'/g, "\\'");
  const from = `FROM (SELECT split(line, '${FIELD}') AS c FROM (SELECT explode(split('${literal}', '${ROW}')) AS line) x) s\n`;
  return {
    statement: (attempt) => from + insertClauses(database, specs, rows, attempt).join("\n"),
    rows,
  };
}

/**
 * The commit of a load whose rows went as files: its offset ranges into `loads`, each row
 * carrying the attempt's id. One small statement: the load counts once it has run. Undefined for
 * a load without offset ranges, which nothing commits (as in a statement, whose multi-insert
 * then has no `loads` clause); a run gives a load that carries state only a range of partition -1.
 */
export function commitStatement(
  load: LoadUnit,
  database: string,
  specs: TableSpecs,
  attempt: string,
): string | undefined {
  if (load.offsets.length === 0) return undefined;
  const rows = load.offsets.map(
    (range) =>
      `(${tableCells("loads", range, load)
        .map((cell, i) => (i === 0 ? `'${sqlString(attempt)}'` : sqlValue(cell)))
        .join(", ")})`,
  );
  return `INSERT INTO TABLE ${database}.${specs.loads.name} VALUES ${rows.join(", ")}`;
}

function sqlValue(cell: Cell): string {
  if (cell === undefined || cell === null) return "NULL";
  return typeof cell === "number" ? String(cell) : `'${sqlString(String(cell))}'`;
}

/** Rows per table, all zero. */
export const emptyCounts = (): Record<TableKind, number> => ({
  metrics: 0,
  raw: 0,
  quarantine: 0,
  gaps: 0,
  streams: 0,
  loads: 0,
});

/** Each row as `tag FIELD cell FIELD … FIELD .`, tables in ORDER; counts them into `rows`. */
function* encodedLines(
  load: LoadUnit,
  specs: TableSpecs,
  rows: Record<TableKind, number>,
): Generator<string> {
  const sources: Record<TableKind, Iterable<unknown>> = {
    metrics: load.metrics,
    raw: load.raw,
    quarantine: load.quarantine,
    gaps: load.gaps,
    streams: load.streams,
    loads: load.offsets,
  };
  for (const kind of ORDER) {
    const { cells } = ENCODERS[kind];
    const tag = KIND_TAG[kind];
    if (kind === "metrics") {
      // Most of a load's rows: one template instead of an array of cells (a third of the time).
      for (const r of load.metrics) {
        yield `${tag}${FIELD}${metricLine(r)}${FIELD}.`;
        rows.metrics += 1;
      }
      continue;
    }
    const base64 = base64Columns(kind, specs);
    for (const row of sources[kind]) {
      yield `${tag}${FIELD}${cells(row as never, load)
        .map((cell, i) => (base64[i] ? b64(cell) : cellText(cell)))
        .join(FIELD)}${FIELD}.`;
      rows[kind] += 1;
    }
  }
}

/** ENCODERS.metrics.cells as one string, for speed; a unit test holds the two equal. */
export function metricLine(r: PartialRow): string {
  const F = FIELD;
  return (
    `${r.host}${F}${r.measurement}${F}${r.tags}${F}${r.field}${F}${r.windowSeconds}${F}` +
    `${r.windowStart}${F}${r.samples}${F}${r.total}${F}${r.minimum}${F}${r.maximum}${F}` +
    `${r.firstValue}${F}${r.firstTs}${F}${r.lastValue}${F}${r.lastTs}${F}${LOAD_ID}${F}${utcDay(r.windowStart)}`
  );
}

/** The cells of a row of `kind`, joined as a load's line holds them (tests). */
export function cellsLine(
  kind: TableKind,
  row: unknown,
  load: LoadUnit,
  specs: TableSpecs,
): string {
  const base64 = base64Columns(kind, specs);
  return tableCells(kind, row, load)
    .map((cell, i) => (base64[i] ? b64(cell) : cellText(cell)))
    .join(FIELD);
}

/** A row's cells in its table's order (columns, then partitions), as the row holds them. */
export function tableCells(kind: TableKind, row: unknown, load: LoadUnit): Cell[] {
  return ENCODERS[kind].cells(row as never, load);
}

/** Per cell of `kind`: whether the statement sends it base64-encoded. */
function base64Columns(kind: TableKind, specs: TableSpecs): boolean[] {
  const decode = ENCODERS[kind].decode ?? {};
  return [...specs[kind].columns, ...specs[kind].partitions].map(
    (col) => decode[col.name] === "base64",
  );
}

/** One INSERT per table that has rows, `loads` last. */
function insertClauses(
  database: string,
  specs: TableSpecs,
  rows: Record<TableKind, number>,
  attempt: string,
): string[] {
  return ORDER.filter((kind) => rows[kind] > 0).map((kind) =>
    insertClause(database, specs[kind], KIND_TAG[kind], ENCODERS[kind].decode ?? {}, attempt),
  );
}

/**
 * `streams.holes`: the JSON array of [from, to] ranges, or with a floor (a stream first heard of
 * in a run still going) {"floor": n, "holes": [...]}.
 */
export function encodeHoles(state: Pick<StreamState, "holes" | "floor">): string {
  return state.floor === undefined
    ? JSON.stringify(state.holes)
    : JSON.stringify({ floor: state.floor, holes: state.holes });
}

export function decodeHoles(text: string): Pick<StreamState, "holes" | "floor"> {
  const parsed = JSON.parse(text) as
    | Array<[number, number]>
    | { floor: number; holes: Array<[number, number]> };
  return Array.isArray(parsed) ? { holes: parsed } : { holes: parsed.holes, floor: parsed.floor };
}

/** Content of a HiveQL string literal. */
export function sqlString(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
}

function cellText(cell: Cell): string {
  if (cell === undefined || cell === null) return "";
  return typeof cell === "string" ? cell : String(cell);
}

function insertClause(
  database: string,
  spec: TableSpec,
  tag: string,
  decode: Record<string, Decode>,
  attempt: string,
): string {
  const all = [...spec.columns, ...spec.partitions];
  const values = all.map((col, index) =>
    col.name === "load_id"
      ? `'${sqlString(attempt)}'`
      : serverValue(col, `s.c[${index + 1}]`, decode[col.name]),
  );
  const partition =
    spec.partitions.length > 0
      ? ` PARTITION (${spec.partitions.map((p) => p.name).join(", ")})`
      : "";
  return `INSERT INTO TABLE ${database}.${spec.name}${partition} SELECT ${values.join(", ")} WHERE s.c[0] = '${tag}'`;
}

function serverValue(col: Column, cell: string, decode: Decode = "plain"): string {
  if (decode === "base64") return `CAST(unbase64(${cell}) AS STRING)`;
  const value = col.type === "STRING" ? cell : `CAST(${cell} AS ${col.type})`;
  return decode === "nullable" ? `IF(${cell} = '', NULL, ${value})` : value;
}
