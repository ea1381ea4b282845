/**
 * A load's rows as Parquet files, one per table and partition, in the tables' column order:
 * STRING as UTF-8 byte arrays, BIGINT as INT64, INT as INT32, DOUBLE as DOUBLE, every column
 * optional (NULL where the row has none); times stay BIGINT epoch ms. Hive and Spark read the
 * columns by name. Written with hyparquet-writer (pure JavaScript, snappy).
 */
import type { PartialRow } from "../aggregate.js";
import { type Cell, type LoadUnit, tableCells, utcDay } from "./encode.js";
import { type ColumnData, type ParquetJobs, writeParquet } from "./parquet-write.js";
import type { Column, TableKind, TableSpec, TableSpecs } from "./tables.js";

/** The tables a load writes as files; `loads` is the commit, a statement. */
export const FILE_TABLES = ["metrics", "raw", "quarantine", "gaps", "streams"] as const;
export type FileTable = (typeof FILE_TABLES)[number];

/** Where one file goes: its table and partition. */
export interface PartPlace {
  kind: FileTable;
  /** `day=2026-12-06` or `day=2026-12-06/hour=07`: the partition's folder under the table's. */
  partitionPath: string;
  /** The partition spec of `ALTER TABLE … ADD PARTITION`: `day='2026-12-06', hour='07'`. */
  partitionSpec: string;
  rows: number;
}

/** Partition values are days (YYYY-MM-DD) and hours (HH): no character Hive escapes in a path. */
export interface ParquetPart extends PartPlace {
  data: Uint8Array;
}

/** A load's files before they are written: the places, and the columns for the writer. */
export interface PlannedParts {
  places: PartPlace[];
  jobs: ParquetJobs;
}

/** Each distinct string of a load once: columns hold indexes into it (UTF-8 encoded once). */
class Strings {
  readonly list: string[] = [];
  private readonly index = new Map<string, number>();
  private readonly encoder = new TextEncoder();

  of(text: string): number {
    let i = this.index.get(text);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(text);
      this.index.set(text, i);
    }
    return i;
  }

  utf8(i: number): Uint8Array {
    return this.encoder.encode(this.list[i] as string);
  }
}

/**
 * One column of one partition's rows. Numbers go into typed arrays (INT64 as BigInt64Array
 * filled through its two 32-bit halves: no BigInt per value) and strings as indexes into the
 * load's Strings (-1: NULL): what crosses to the writer's thread is a few buffers, moved, not
 * copied. A NULL in a number column, or bytes in a string one, turn the column into a plain array.
 */
class ColumnValues {
  private values: Int32Array | Float64Array | BigInt64Array | unknown[];
  private readonly halves: Int32Array | undefined;
  private plain: unknown[] | undefined;

  constructor(
    private readonly type: Column["type"],
    size: number,
    private readonly strings: Strings,
  ) {
    switch (type) {
      case "BIGINT": {
        const big = new BigInt64Array(size);
        this.values = big;
        this.halves = new Int32Array(big.buffer);
        break;
      }
      case "INT":
      case "STRING":
        this.values = new Int32Array(size);
        break;
      case "DOUBLE":
        this.values = new Float64Array(size);
        break;
      default:
        this.values = new Array<unknown>(size);
        this.plain = this.values;
    }
  }

  set(index: number, cell: Cell): void {
    if (this.plain !== undefined) {
      this.plain[index] = cell === undefined || cell === null ? null : this.convert(cell);
      return;
    }
    if (this.type === "STRING") {
      if (cell === undefined || cell === null) (this.values as Int32Array)[index] = -1;
      else if (typeof cell === "string") (this.values as Int32Array)[index] = this.strings.of(cell);
      else this.toPlain(index)[index] = this.convert(cell);
      return;
    }
    if (cell === undefined || cell === null) {
      this.toPlain(index)[index] = null;
      return;
    }
    if (this.halves !== undefined) {
      const n = cell as number;
      this.halves[2 * index] = n >>> 0;
      this.halves[2 * index + 1] = Math.floor(n / 4_294_967_296);
      return;
    }
    (this.values as Int32Array | Float64Array)[index] = cell as number;
  }

  get data(): ColumnData {
    if (this.plain !== undefined) return { plain: this.plain };
    if (this.type === "STRING") return { strings: this.values as Int32Array };
    return { typed: this.values as Int32Array | Float64Array | BigInt64Array };
  }

  private convert(cell: Exclude<Cell, undefined | null>): unknown {
    switch (this.type) {
      case "BIGINT":
        return BigInt(cell as number);
      case "STRING":
        return cell instanceof Buffer
          ? new Uint8Array(cell.buffer, cell.byteOffset, cell.byteLength)
          : this.strings.utf8(this.strings.of(String(cell)));
      default:
        return cell;
    }
  }

  /** The values so far (before `upTo`) as a plain array: BigInt, UTF-8 bytes or numbers. */
  private toPlain(upTo: number): unknown[] {
    if (this.plain === undefined) {
      const plain = new Array<unknown>(this.values.length);
      for (let i = 0; i < upTo; i++) {
        const v = (this.values as Int32Array | Float64Array | BigInt64Array)[i] as number | bigint;
        plain[i] = this.type === "STRING" ? (v === -1 ? null : this.strings.utf8(v as number)) : v;
      }
      this.plain = plain;
      this.values = plain;
    }
    return this.plain;
  }
}

/**
 * The Parquet files of one attempt at a load, written in this thread: every row of `kind`'s
 * table carries `attempt` as its load_id. (ParquetWriter writes them in a worker thread.)
 */
export function parquetParts(load: LoadUnit, specs: TableSpecs, attempt: string): ParquetPart[] {
  const { places, jobs } = planParts(load, specs, attempt);
  const files = writeParquet(jobs);
  return places.map((place, i) => ({ ...place, data: files[i] as Uint8Array }));
}

/**
 * What parquetParts writes, as columns ready for the writer. Rows are grouped by partition (the
 * last cells of a row).
 */
export function planParts(load: LoadUnit, specs: TableSpecs, attempt: string): PlannedParts {
  const sources: Record<FileTable, Iterable<unknown>> = {
    metrics: load.metrics,
    raw: load.raw,
    quarantine: load.quarantine,
    gaps: load.gaps,
    streams: load.streams,
  };
  // Hosts, fields and tags repeat across rows: each distinct string is encoded once.
  const strings = new Strings();
  const places: PartPlace[] = [];
  const files: ParquetJobs["files"] = [];
  const add = (kind: FileTable, spec: TableSpec, partition: string[], columns: ColumnValues[]) => {
    const rows = columns[0] === undefined ? 0 : columnLength(columns[0]);
    places.push({
      kind,
      partitionPath: spec.partitions.map((p, i) => `${p.name}=${partition[i] as string}`).join("/"),
      partitionSpec: spec.partitions
        .map((p, i) => `${p.name}='${partition[i] as string}'`)
        .join(", "),
      rows,
    });
    files.push({
      columns: spec.columns.map((col, i) => ({
        name: col.name,
        type: col.type,
        plainEncoding: col.type === "DOUBLE" || PLAIN.has(col.name),
        data: (columns[i] as ColumnValues).data,
      })),
    });
  };
  for (const kind of FILE_TABLES) {
    const spec = specs[kind];
    const width = spec.columns.length;
    if (kind === "metrics") {
      // Most of a load: the columns are read from the rows directly, without cells arrays.
      for (const [day, rows] of metricsByDay(load.metrics)) {
        add(kind, spec, [day], metricColumns(rows, spec, attempt, strings));
      }
      continue;
    }
    // First pass: each row's cells and partition; then each partition's columns at their size.
    const groups = new Map<string, { partition: string[]; rows: Cell[][] }>();
    for (const row of sources[kind]) {
      const cells = tableCells(kind as TableKind, row, load);
      const key =
        cells.length > width + 1 ? `${cells[width]}/${cells[width + 1]}` : String(cells[width]);
      let group = groups.get(key);
      if (group === undefined) {
        group = { partition: cells.slice(width).map((c) => String(c)), rows: [] };
        groups.set(key, group);
      }
      group.rows.push(cells);
    }
    for (const group of groups.values()) {
      add(kind, spec, group.partition, cellColumns(spec, group.rows, attempt, strings));
    }
  }
  return { places, jobs: { strings: strings.list, files } };
}

/** Rows of cells (a table's columns first) as columns, every load_id `attempt`. */
function cellColumns(
  spec: TableSpec,
  rows: Cell[][],
  attempt: string,
  strings: Strings,
): ColumnValues[] {
  const loadIdAt = spec.columns.findIndex((c) => c.name === "load_id");
  const columns = spec.columns.map((col) => new ColumnValues(col.type, rows.length, strings));
  for (let r = 0; r < rows.length; r++) {
    const cells = rows[r] as Cell[];
    for (let c = 0; c < spec.columns.length; c++) {
      (columns[c] as ColumnValues).set(r, c === loadIdAt ? attempt : cells[c]);
    }
  }
  return columns;
}

/** The rows of `loads` that commit a load: one per Kafka partition range. */
export function loadsRows(load: LoadUnit): Cell[][] {
  return load.offsets.map((range) => tableCells("loads", range, load));
}

/**
 * The commit of an attempt as a file of `loads` (unpartitioned): `rows` (loadsRows), load_id
 * `attempt`. The same rows as the commit statement's.
 */
export function loadsFile(rows: Cell[][], specs: TableSpecs, attempt: string): Uint8Array {
  const spec = specs.loads;
  const strings = new Strings();
  const columns = cellColumns(spec, rows, attempt, strings);
  const [file] = writeParquet({
    strings: strings.list,
    files: [
      {
        columns: spec.columns.map((col, i) => ({
          name: col.name,
          type: col.type,
          plainEncoding: col.type === "DOUBLE",
          data: (columns[i] as ColumnValues).data,
        })),
      },
    ],
  });
  return file as Uint8Array;
}

function columnLength(column: ColumnValues): number {
  const data = column.data;
  return "plain" in data
    ? data.plain.length
    : "strings" in data
      ? data.strings.length
      : data.typed.length;
}

/** Columns whose values rarely repeat: a dictionary would cost time and save nothing. */
const PLAIN = new Set(["first_ts", "last_ts", "ts", "kafka_offset", "seq"]);

/** Each metrics column read from a partial row, by name (tableCells holds the same values). */
const METRIC_VALUES: Record<string, (r: PartialRow) => Cell> = {
  host: (r) => r.host,
  measurement: (r) => r.measurement,
  tags: (r) => r.tags,
  field: (r) => r.field,
  window_seconds: (r) => r.windowSeconds,
  window_start: (r) => r.windowStart,
  samples: (r) => r.samples,
  total: (r) => r.total,
  minimum: (r) => r.minimum,
  maximum: (r) => r.maximum,
  first_val: (r) => r.firstValue,
  first_ts: (r) => r.firstTs,
  last_val: (r) => r.lastValue,
  last_ts: (r) => r.lastTs,
};

function metricsByDay(metrics: Iterable<PartialRow>): Map<string, PartialRow[]> {
  const byDay = new Map<string, PartialRow[]>();
  for (const row of metrics) {
    const day = utcDay(row.windowStart);
    const rows = byDay.get(day);
    if (rows === undefined) byDay.set(day, [row]);
    else rows.push(row);
  }
  return byDay;
}

function metricColumns(
  rows: PartialRow[],
  spec: TableSpec,
  attempt: string,
  strings: Strings,
): ColumnValues[] {
  return spec.columns.map((col) => {
    const values = new ColumnValues(col.type, rows.length, strings);
    const get = METRIC_VALUES[col.name];
    if (get === undefined) {
      for (let r = 0; r < rows.length; r++) values.set(r, attempt);
    } else {
      for (let r = 0; r < rows.length; r++) values.set(r, get(rows[r] as PartialRow));
    }
    return values;
  });
}
