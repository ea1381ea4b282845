/**
 * What a Parquet file holds, read by the collector itself: its row count from its footer alone
 * (the last bytes of the file), or its rows. What compaction checks Hive's reads and writes
 * against before it deletes anything. A read that comes back short with no error (HiveServer2's
 * Tez in local mode did, in a fleet run) is caught here instead of being taken for the truth.
 */
import { HostflowError } from "../../lib/errors.js";
import type { WarehouseFs } from "./warehouse-fs.js";

/** Most footers fit: one read. A bigger one takes a second, of its exact size. */
const TAIL_BYTES = 64 * 1024;

const notParquet = (file: string, length: number, why: string) =>
  new HostflowError(
    "HF_WAREHOUSE",
    `${file} (${length} bytes) is not a Parquet file whose rows can be read: ${why}`,
    { context: { file } },
  );

export async function parquetRows(fs: WarehouseFs, file: string, length: number): Promise<number> {
  const { parquetMetadata } = await import("hyparquet");
  const bad = (why: string) => notParquet(file, length, why);
  if (length < 12) throw bad("too short");
  let tail = await fs.readRange(
    file,
    Math.max(0, length - TAIL_BYTES),
    Math.min(length, TAIL_BYTES),
  );
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  if (tail.byteLength < 8 || view.getUint32(tail.byteLength - 4, true) !== 0x31524150)
    throw bad("no PAR1 at its end");
  const footer = view.getUint32(tail.byteLength - 8, true) + 8;
  if (footer > length) throw bad(`its footer length ${footer} exceeds the file`);
  if (footer > tail.byteLength) tail = await fs.readRange(file, length - footer, footer);
  try {
    return Number(parquetMetadata(tail).num_rows);
  } catch (error) {
    throw bad((error as Error).message);
  }
}

/**
 * The rows of a (small) Parquet file, `columns` of each, every value as text (INT64 comes back
 * as a bigint, INT32 as a number; null as null): a whole-file read, for `loads`' one file.
 */
export async function parquetTextRows(
  fs: WarehouseFs,
  file: string,
  length: number,
  columns: string[],
): Promise<(string | null)[][]> {
  const { parquetReadObjects } = await import("hyparquet");
  const bytes = await fs.readRange(file, 0, length);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  try {
    const rows = await parquetReadObjects({ file: buffer as ArrayBuffer, columns });
    return rows.map((row) => columns.map((c) => (row[c] == null ? null : String(row[c]))));
  } catch (error) {
    throw notParquet(file, length, (error as Error).message);
  }
}
