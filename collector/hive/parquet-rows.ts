/**
 * How many rows a Parquet file holds, from its footer alone (the last bytes of the file): what
 * compaction checks Hive's reads and writes against before it deletes anything. A read that
 * comes back short with no error (HiveServer2's Tez in local mode did, in a fleet run) is caught
 * here instead of being taken for the truth.
 */
import { HostflowError } from "../../lib/errors.js";
import type { WarehouseFs } from "./warehouse-fs.js";

/** Most footers fit: one read. A bigger one takes a second, of its exact size. */
const TAIL_BYTES = 64 * 1024;

export async function parquetRows(fs: WarehouseFs, file: string, length: number): Promise<number> {
  const { parquetMetadata } = await import("hyparquet");
  const bad = (why: string) =>
    new HostflowError(
      "HF_WAREHOUSE",
      `${file} (${length} bytes) is not a Parquet file whose rows can be counted: ${why}`,
      { context: { file } },
    );
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
