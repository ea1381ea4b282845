/**
 * The Parquet writer's side of a load's files (parquet.ts plans them): columns in, file bytes
 * out, with nothing shared but what a structured clone or a transfer carries, so that it runs in
 * the collector's thread or in a worker (parquet-worker.ts) alike. hyparquet-writer (pure
 * JavaScript), snappy, data page v2, no statistics.
 */
import { parquetWriteBuffer } from "hyparquet-writer";
import type { Column } from "./tables.js";

/**
 * A column's values: numbers in a typed array (no NULL), strings as indexes into
 * ParquetJobs.strings (-1: NULL), or anything else as a plain array (BigInt, UTF-8 bytes,
 * numbers, null).
 */
export type ColumnData =
  | { typed: Int32Array | Float64Array | BigInt64Array }
  | { strings: Int32Array }
  | { plain: unknown[] };

export interface ParquetJobs {
  /** The strings that `strings` columns index, for every file of the load. */
  strings: string[];
  files: {
    columns: { name: string; type: Column["type"]; plainEncoding: boolean; data: ColumnData }[];
  }[];
}

const PARQUET_TYPE = {
  STRING: "STRING",
  BIGINT: "INT64",
  INT: "INT32",
  DOUBLE: "DOUBLE",
} as const;

/** One Parquet file per entry of `jobs.files`, in order. */
export function writeParquet(jobs: ParquetJobs): Uint8Array[] {
  const encoder = new TextEncoder();
  const utf8: (Uint8Array | undefined)[] = new Array(jobs.strings.length);
  const bytesOf = (i: number) => {
    if (i < 0) return null;
    let bytes = utf8[i];
    if (bytes === undefined) {
      bytes = encoder.encode(jobs.strings[i] as string);
      utf8[i] = bytes;
    }
    return bytes;
  };
  return jobs.files.map((file) => {
    const data = parquetWriteBuffer({
      columnData: file.columns.map((col) => {
        const values =
          "typed" in col.data
            ? col.data.typed
            : "strings" in col.data
              ? Array.from(col.data.strings, bytesOf)
              : col.data.plain;
        return {
          name: col.name,
          data: values as never,
          type: PARQUET_TYPE[col.type],
          ...(col.plainEncoding ? { encoding: "PLAIN" as const } : {}),
        };
      }),
      statistics: false,
      rowGroupSize: 1_000_000,
      codec: "SNAPPY",
      createdBy: "hostflow-collector",
    });
    return new Uint8Array(data);
  });
}

/** The buffers of `jobs` that can move to another thread instead of being copied. */
export function transferables(jobs: ParquetJobs): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const file of jobs.files) {
    for (const { data } of file.columns) {
      const array = "typed" in data ? data.typed : "strings" in data ? data.strings : undefined;
      if (array !== undefined) buffers.add(array.buffer as ArrayBuffer);
    }
  }
  return [...buffers];
}
