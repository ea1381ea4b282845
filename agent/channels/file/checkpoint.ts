/**
 * The checkpoint: where replay after a restart starts, and which events were live there. Written
 * atomically (temp file, fsync, rename, fsync of the folder), so a crash leaves the old one or
 * the new one, never half of one; its own CRC catches the rest.
 */
import { open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { encodeJson, jsonPayload, RecordType, recordAt } from "./record.js";
import { fsyncDir } from "./segments.js";

export const CHECKPOINT_FILE = "checkpoint";

export interface Checkpoint {
  version: 1;
  /** The channel's epoch: fixed for the life of the data dir (hf-stream = <channel>@<epoch>). */
  epoch: string;
  /** One more than the highest seq ever assigned. */
  nextSeq: number;
  /** The log position at the checkpoint: records before it are reflected in `live`. */
  segment: number;
  offset: number;
  /** Events put and not committed-taken at that position (takes in flight included): [from, to]. */
  live: [number, number][];
  writtenAt: string;
}

export type CheckpointRead =
  | { ok: true; checkpoint: Checkpoint; bytes: number }
  | { ok: false; missing: boolean; reason: string; bytes: number };

export async function readCheckpoint(dir: string): Promise<CheckpointRead> {
  let buf: Buffer;
  try {
    buf = await readFile(join(dir, CHECKPOINT_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      return { ok: false, missing: true, reason: "no checkpoint", bytes: 0 };
    }
    return { ok: false, missing: false, reason: (error as Error).message, bytes: 0 };
  }
  const record = recordAt(buf, 0);
  if (!record || record.type !== RecordType.CHECKPOINT || record.end !== buf.length) {
    return { ok: false, missing: false, reason: "checksum or framing mismatch", bytes: buf.length };
  }
  try {
    const value = jsonPayload(buf, record) as Partial<Checkpoint>;
    if (
      value.version !== 1 ||
      typeof value.epoch !== "string" ||
      !Number.isSafeInteger(value.nextSeq) ||
      !Number.isSafeInteger(value.segment) ||
      !Number.isSafeInteger(value.offset) ||
      !Array.isArray(value.live)
    ) {
      return { ok: false, missing: false, reason: "unexpected content", bytes: buf.length };
    }
    return { ok: true, checkpoint: value as Checkpoint, bytes: buf.length };
  } catch (error) {
    return { ok: false, missing: false, reason: (error as Error).message, bytes: buf.length };
  }
}

/** Replaces the checkpoint atomically; returns its size in bytes. */
export async function writeCheckpoint(dir: string, checkpoint: Checkpoint): Promise<number> {
  const buf = encodeJson(RecordType.CHECKPOINT, checkpoint);
  const temp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  const handle = await open(temp, "w");
  try {
    await handle.writeFile(buf);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, join(dir, CHECKPOINT_FILE));
  await fsyncDir(dir);
  return buf.length;
}

/** Whether `seq` is in the sorted, disjoint `ranges`. */
export function inRanges(ranges: readonly [number, number][], seq: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [from, to] = ranges[mid] as [number, number];
    if (seq < from) hi = mid - 1;
    else if (seq > to) lo = mid + 1;
    else return true;
  }
  return false;
}
