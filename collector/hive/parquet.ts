/**
 * A load's rows as Parquet files, one per table and partition, in the tables' column order:
 * STRING as UTF-8 byte arrays, BIGINT as INT64, INT as INT32, DOUBLE as DOUBLE, every column
 * optional (NULL where the row has none); times stay BIGINT epoch ms. Hive and Spark read the
 * columns by name. Written with hyparquet-writer (pure JavaScript, snappy).
 */
import { parquetWriteBuffer } from "hyparquet-writer";
import { type Cell, type LoadUnit, tableCells } from "./encode.js";
import type { Column, TableKind, TableSpecs } from "./tables.js";

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

/** Rows of one table and partition, column by column. */
class Columns {
  readonly values: unknown[][];
  rows = 0;
  constructor(
    private readonly columns: Column[],
    readonly partition: string[],
  ) {
    this.values = columns.map(() => []);
  }

  add(cells: Cell[], loadIdAt: number, attempt: string): void {
    for (let i = 0; i < this.columns.length; i++) {
      (this.values[i] as unknown[]).push(
        i === loadIdAt ? attempt : value(cells[i], (this.columns[i] as Column).type),
      );
    }
    this.rows += 1;
  }
}

function value(cell: Cell, type: Column["type"]): unknown {
  if (cell === undefined || cell === null) return null;
  switch (type) {
    case "BIGINT":
      return BigInt(cell as number);
    case "STRING":
      return typeof cell === "string"
        ? cell
        : cell instanceof Buffer
          ? new Uint8Array(cell)
          : String(cell);
    default:
      return cell;
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
  const parts: ParquetPart[] = [];
  for (const kind of FILE_TABLES) {
    const spec = specs[kind];
    const width = spec.columns.length;
    const loadIdAt = spec.columns.findIndex((c) => c.name === "load_id");
    const groups = new Map<string, Columns>();
    for (const row of sources[kind]) {
      const cells = tableCells(kind as TableKind, row, load);
      const partition = cells.slice(width).map((c) => String(c));
      const key = partition.join("/");
      let group = groups.get(key);
      if (group === undefined) {
        group = new Columns(spec.columns, partition);
        groups.set(key, group);
      }
      group.add(cells, loadIdAt, attempt);
    }
    for (const group of groups.values()) {
      const data = parquetWriteBuffer({
        columnData: spec.columns.map((col, i) => ({
          name: col.name,
          data: group.values[i] as never,
          type: PARQUET_TYPE[col.type],
          // Measured values rarely repeat: a dictionary costs time and saves nothing.
          ...(col.type === "DOUBLE" ? { encoding: "PLAIN" as const } : {}),
        })),
        statistics: false,
        rowGroupSize: 1_000_000,
        codec: "SNAPPY",
        createdBy: "hostflow-collector",
      });
      parts.push({
        kind,
        partitionPath: spec.partitions
          .map((p, i) => `${p.name}=${group.partition[i] as string}`)
          .join("/"),
        partitionSpec: spec.partitions
          .map((p, i) => `${p.name}='${group.partition[i] as string}'`)
          .join(", "),
        rows: group.rows,
        data: new Uint8Array(data),
      });
    }
  }
  return parts;
}
