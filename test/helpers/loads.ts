/**
 * Files of `loads` for unit tests of what reads them: real Parquet files with its columns and
 * types, as Hive writes them.
 */
import { parquetWriteBuffer } from "hyparquet-writer";
import type { StreamsRow } from "../../collector/hive/store.js";
import { LocalWarehouse, type WarehouseFs } from "../../collector/hive/warehouse-fs.js";

/** Rows of one run's loads (one per Kafka partition 0..2). */
export const ROWS_PER_RUN = 3;

/** One row of `loads` as the tables write it. */
export interface LoadRow {
  load_id: string;
  group_id: string;
  topic: string;
  kafka_partition: number;
  from_offset: number;
  next_offset: number;
  records: number;
  bad: number;
  loaded_at: number;
  collector: string;
}

const LOADS_COLUMNS = [
  ["load_id", "STRING"],
  ["group_id", "STRING"],
  ["topic", "STRING"],
  ["kafka_partition", "INT32"],
  ["from_offset", "INT64"],
  ["next_offset", "INT64"],
  ["records", "INT64"],
  ["bad", "INT64"],
  ["loaded_at", "INT64"],
  ["collector", "STRING"],
] as const;

/** A Parquet file of rows with these columns and types. */
function parquetOf<Row>(
  columns: readonly (readonly [keyof Row & string, "STRING" | "INT32" | "INT64"])[],
  rows: Row[],
): Uint8Array {
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: columns.map(([name, type]) => ({
        name,
        type,
        data: rows.map((r) => (type === "INT64" ? BigInt(r[name] as number) : r[name])),
      })),
    }),
  );
}

/** A Parquet file of `loads` rows, with its columns and types (what the rewrite reads back). */
export function loadsParquet(rows: LoadRow[]): Uint8Array {
  return parquetOf(LOADS_COLUMNS, rows);
}

/**
 * File i holds the loads of run i: one row per Kafka partition 0..2, offsets 100 i → 100 (i + 1),
 * loaded at 1000 i.
 */
export function runRows(i: number): LoadRow[] {
  return Array.from({ length: ROWS_PER_RUN }, (_, p) => ({
    load_id: `l${i}-${p}#1`,
    group_id: "g",
    topic: "t",
    kafka_partition: p,
    from_offset: 100 * i,
    next_offset: 100 * (i + 1),
    records: 100,
    bad: 0,
    loaded_at: 1000 * i,
    collector: "c",
  }));
}

/** One row of `streams` as the loads write it. */
export type StreamRow = StreamsRow & { load_id: string };

const STREAMS_COLUMNS = [
  ["agent_id", "STRING"],
  ["stream", "STRING"],
  ["host", "STRING"],
  ["max_seq", "INT64"],
  ["holes", "STRING"],
  ["last_ts", "INT64"],
  ["updated_at", "INT64"],
  ["load_id", "STRING"],
] as const;

/** A Parquet file of `streams` rows, with its columns and types. */
export function streamsParquet(rows: StreamRow[]): Uint8Array {
  return parquetOf(STREAMS_COLUMNS, rows);
}

/** The local warehouse with some of its calls replaced (a test's hook into a read). */
export function hookedWarehouse(hooks: Partial<WarehouseFs>): WarehouseFs {
  const local = new LocalWarehouse();
  return {
    description: local.description,
    user: local.user,
    list: (p) => local.list(p),
    mkdirs: (p) => local.mkdirs(p),
    read: (p) => local.read(p),
    write: (p, data) => local.write(p, data),
    rename: (a, b) => local.rename(a, b),
    claim: (a, b) => local.claim(a, b),
    readIfAny: (p) => local.readIfAny(p),
    readRange: (p, offset, length) => local.readRange(p, offset, length),
    delete: (p) => local.delete(p),
    touch: (p, ms) => local.touch(p, ms),
    ...hooks,
  };
}
