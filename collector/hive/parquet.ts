/**
 * A load's rows as Parquet files, one per table and partition, in the tables' column order:
 * STRING as UTF-8 byte arrays, BIGINT as INT64, INT as INT32, DOUBLE as DOUBLE, every column
 * optional (NULL where the row has none); times stay BIGINT epoch ms. Hive and Spark read the
 * columns by name. Written with hyparquet-writer (pure JavaScript, snappy).
 */
import { parquetWriteBuffer } from "hyparquet-writer";
import type { PartialRow } from "../aggregate.js";
import { type Cell, type LoadUnit, tableCells, utcDay } from "./encode.js";
import type { Column, TableKind, TableSpec, TableSpecs } from "./tables.js";

/** The tables a load writes as files; `loads` is the commit, a statement. */
export const FILE_TABLES = ["metrics", "raw", "quarantine", "gaps", "streams"] as const;
export type FileTable = (typeof FILE_TABLES)[number];

/** Partition values are days (YYYY-MM-DD) and hours (HH): no character Hive escapes in a path. */
export interface ParquetPart {
  kind: FileTable;
  /** `day=2026-12-06` or `day=2026-12-06/hour=07`: the partition's folder under the table's. */
  partitionPath: string;
  /** The partition spec of `ALTER TABLE … ADD PARTITION`: `day='2026-12-06', hour='07'`. */
  partitionSpec: string;
  rows: number;
  data: Uint8Array;
}

const PARQUET_TYPE = {
  STRING: "STRING",
  BIGINT: "INT64",
  INT: "INT32",
  DOUBLE: "DOUBLE",
} as const;

type Values = unknown[] | Int32Array | Float64Array | BigInt64Array;

/**
 * One column of one partition's rows. Numbers go into typed arrays (INT64 as BigInt64Array
 * filled through its two 32-bit halves: no BigInt per value) and strings as UTF-8 bytes encoded
 * once per distinct value: the writer then has little to allocate. A NULL turns the column into
 * a plain array.
 */
class ColumnValues {
  private values: Values;
  private readonly halves: Int32Array | undefined;
  private plain: unknown[] | undefined;

  constructor(
    private readonly type: Column["type"],
    size: number,
    private readonly utf8: (text: string) => Uint8Array,
  ) {
    switch (type) {
      case "BIGINT": {
        const big = new BigInt64Array(size);
        this.values = big;
        this.halves = new Int32Array(big.buffer);
        break;
      }
      case "INT":
        this.values = new Int32Array(size);
        break;
      case "DOUBLE":
        this.values = new Float64Array(size);
        break;
      default:
        this.values = new Array<unknown>(size);
        this.plain = this.values as unknown[];
    }
  }

  set(index: number, cell: Cell): void {
    if (cell === undefined || cell === null) {
      this.toPlain()[index] = null;
      return;
    }
    if (this.plain !== undefined) {
      this.plain[index] = this.convert(cell);
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

  get data(): Values {
    return this.values;
  }

  private convert(cell: Cell): unknown {
    switch (this.type) {
      case "BIGINT":
        return BigInt(cell as number);
      case "STRING":
        return typeof cell === "string"
          ? this.utf8(cell)
          : cell instanceof Buffer
            ? new Uint8Array(cell.buffer, cell.byteOffset, cell.byteLength)
            : this.utf8(String(cell));
      default:
        return cell;
    }
  }

  private toPlain(): unknown[] {
    if (this.plain === undefined) {
      this.plain = Array.from(this.values as ArrayLike<unknown>, (v) => v);
      this.values = this.plain;
    }
    return this.plain;
  }
}

/**
 * The Parquet files of one attempt at a load: every row of `kind`'s table carries `attempt` as
 * its load_id. Rows are grouped by partition (the last cells of a row).
 */
export function parquetParts(load: LoadUnit, specs: TableSpecs, attempt: string): ParquetPart[] {
  const sources: Record<FileTable, Iterable<unknown>> = {
    metrics: load.metrics,
    raw: load.raw,
    quarantine: load.quarantine,
    gaps: load.gaps,
    streams: load.streams,
  };
  // Hosts, fields and tags repeat across rows: each distinct string is encoded once.
  const encoder = new TextEncoder();
  const encoded = new Map<string, Uint8Array>();
  const utf8 = (text: string) => {
    let bytes = encoded.get(text);
    if (bytes === undefined) {
      bytes = encoder.encode(text);
      encoded.set(text, bytes);
    }
    return bytes;
  };
  const parts: ParquetPart[] = [];
  for (const kind of FILE_TABLES) {
    const spec = specs[kind];
    const width = spec.columns.length;
    const loadIdAt = spec.columns.findIndex((c) => c.name === "load_id");
    // First pass: each row's cells and partition; then each partition's columns at their size.
    // The metrics rows (most of a load) skip the cells arrays: their columns are read directly.
    const groups = new Map<string, { partition: string[]; rows: Cell[][] }>();
    if (kind === "metrics") {
      parts.push(...metricParts(load.metrics, spec, attempt, utf8));
      continue;
    }
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
      const size = group.rows.length;
      const columns = spec.columns.map((col) => new ColumnValues(col.type, size, utf8));
      for (let r = 0; r < size; r++) {
        const cells = group.rows[r] as Cell[];
        for (let c = 0; c < width; c++) {
          if (c === loadIdAt) (columns[c] as ColumnValues).set(r, attempt);
          else (columns[c] as ColumnValues).set(r, cells[c]);
        }
      }
      parts.push(part(kind, spec, group.partition, size, columns));
    }
  }
  return parts;
}

/** Columns whose values rarely repeat: a dictionary would cost time and save nothing. */
const PLAIN = new Set(["first_ts", "last_ts", "ts", "kafka_offset", "seq"]);

function part(
  kind: FileTable,
  spec: TableSpec,
  partition: string[],
  rows: number,
  columns: ColumnValues[],
): ParquetPart {
  const data = parquetWriteBuffer({
    columnData: spec.columns.map((col, i) => ({
      name: col.name,
      data: (columns[i] as ColumnValues).data as never,
      type: PARQUET_TYPE[col.type],
      ...(col.type === "DOUBLE" || PLAIN.has(col.name) ? { encoding: "PLAIN" as const } : {}),
    })),
    statistics: false,
    rowGroupSize: 1_000_000,
    codec: "SNAPPY",
    createdBy: "hostflow-collector",
  });
  return {
    kind,
    partitionPath: spec.partitions.map((p, i) => `${p.name}=${partition[i] as string}`).join("/"),
    partitionSpec: spec.partitions
      .map((p, i) => `${p.name}='${partition[i] as string}'`)
      .join(", "),
    rows,
    data: new Uint8Array(data),
  };
}

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

/** The metrics table's files: rows grouped by day, columns filled from the rows directly. */
function metricParts(
  metrics: Iterable<PartialRow>,
  spec: TableSpec,
  attempt: string,
  utf8: (text: string) => Uint8Array,
): ParquetPart[] {
  const byDay = new Map<string, PartialRow[]>();
  for (const row of metrics) {
    const day = utcDay(row.windowStart);
    const rows = byDay.get(day);
    if (rows === undefined) byDay.set(day, [row]);
    else rows.push(row);
  }
  const parts: ParquetPart[] = [];
  for (const [day, rows] of byDay) {
    const columns = spec.columns.map((col) => {
      const values = new ColumnValues(col.type, rows.length, utf8);
      const get = METRIC_VALUES[col.name];
      if (get === undefined) {
        for (let r = 0; r < rows.length; r++) values.set(r, attempt);
      } else {
        for (let r = 0; r < rows.length; r++) values.set(r, get(rows[r] as PartialRow));
      }
      return values;
    });
    parts.push(part("metrics", spec, [day], rows.length, columns));
  }
  return parts;
}
