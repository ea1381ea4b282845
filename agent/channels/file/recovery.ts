/**
 * Replay at start: rebuilds the live events and the next seq from the checkpoint and the
 * segments. A torn tail of the last segment (the agent died mid-write) is cut off with a
 * warning; damage anywhere else (bit rot) is skipped record by record, counted and logged loudly.
 */
import { open, readFile } from "node:fs/promises";
import type { Logger } from "../../../lib/log.js";
import type { AgentEvent } from "../../core/types.js";
import { type Checkpoint, inRanges, readCheckpoint } from "./checkpoint.js";
import { jsonPayload, putJsonAt, putSeq, RecordType, scanRecords, takeRanges } from "./record.js";
import { listSegments, segmentPath } from "./segments.js";

/**
 * An event of the file channel in memory: its JSON as written to the log, `buf[at, end)`, and
 * its segment. For a put, buf is the batch's buffer (the bytes the log wrote), shared by the
 * batch's events; for a recovered event, a copy of its bytes.
 */
export interface FileEntry {
  readonly seq: number;
  readonly buf: Buffer;
  readonly at: number;
  readonly end: number;
  readonly segment: number;
  /**
   * The event as it was put, kept while the channel holds few events (see HOT_EVENTS in
   * index.ts) so that a take need not parse the headers; never set for recovered events.
   */
  readonly event?: AgentEvent | undefined;
  /** Where the body's JSON starts in `buf` (see preparePut); unknown for recovered events. */
  readonly bodyAt?: number;
}

export interface Recovered {
  epoch: string | undefined;
  nextSeq: number;
  /** Live events, oldest first. */
  entries: FileEntry[];
  /** Segments on disk after replay and their sizes, oldest first. */
  segments: Map<number, number>;
  checkpointBytes: number;
  /** Events lost to damaged records (at least one per damaged stretch that held any). */
  corrupt: number;
  /** Damaged stretches skipped. */
  damaged: number;
  tornBytes: number;
}

export async function recover(dir: string, logger: Logger): Promise<Recovered> {
  const read = await readCheckpoint(dir);
  const checkpoint: Checkpoint | undefined = read.ok ? read.checkpoint : undefined;
  if (!read.ok && !read.missing) {
    logger.warn(
      { reason: read.reason },
      "the checkpoint is unreadable; replaying every segment instead",
    );
  }
  const segments = await listSegments(dir);
  const live = new Map<number, FileEntry>();
  let epoch = checkpoint?.epoch;
  let maxSeq = checkpoint ? checkpoint.nextSeq - 1 : -1;
  let corrupt = 0;
  let tornBytes = 0;
  let damaged = 0;
  const last = [...segments.keys()].pop();

  for (const segment of segments.keys()) {
    const path = segmentPath(dir, segment);
    const buf = await readFile(path);
    const beforeCheckpoint = (offset: number) =>
      checkpoint !== undefined &&
      (segment < checkpoint.segment ||
        (segment === checkpoint.segment && offset < checkpoint.offset));
    // The seq a PUT after a damaged stretch would have if nothing was lost in between.
    let expected: number | undefined;
    let damagedAt: number | undefined;
    // Seqs the checkpoint already knew as taken are no loss.
    const lost = (from: number, to: number) => {
      let n = 0;
      for (let s = from; s <= to; s++) {
        if (!beforeCheckpoint(damagedAt ?? 0) || inRanges(checkpoint?.live ?? [], s)) n++;
      }
      return n;
    };

    for (const item of scanRecords(buf, 0)) {
      if (item.kind === "damage") {
        if (segment === last && item.resumeAt === undefined) {
          tornBytes = buf.length - item.offset;
          const handle = await open(path, "r+");
          try {
            await handle.truncate(item.offset);
            await handle.sync();
          } finally {
            await handle.close();
          }
          segments.set(segment, item.offset);
          logger.warn(
            { segment, offset: item.offset, bytes: tornBytes },
            "cut off a torn record at the end of the log (the agent stopped mid-write); the put it belonged to had not returned",
          );
          break;
        }
        damagedAt = item.offset;
        damaged++;
        logger.error(
          { segment, offset: item.offset, resumeAt: item.resumeAt ?? buf.length },
          `damaged record in ${path}: skipping ${(item.resumeAt ?? buf.length) - item.offset} bytes`,
        );
        continue;
      }
      switch (item.type) {
        case RecordType.HEADER: {
          const header = jsonPayload(buf, item) as { epoch?: string; nextSeq?: number };
          if (typeof header.epoch === "string") {
            if (epoch === undefined) epoch = header.epoch;
            else if (epoch !== header.epoch) {
              logger.warn(
                { segment, epoch, segmentEpoch: header.epoch },
                "segment from another epoch",
              );
            }
          }
          if (typeof header.nextSeq === "number") {
            maxSeq = Math.max(maxSeq, header.nextSeq - 1);
            expected ??= header.nextSeq;
          }
          break;
        }
        case RecordType.PUT: {
          if (item.end - item.payloadAt < 8) break;
          const seq = putSeq(buf, item);
          if (damagedAt !== undefined) {
            // PUT seqs in a segment are consecutive: the gap is what the damage swallowed.
            corrupt += expected === undefined ? 1 : lost(expected, seq - 1);
          }
          damagedAt = undefined;
          expected = seq + 1;
          maxSeq = Math.max(maxSeq, seq);
          if (beforeCheckpoint(item.offset) && !inRanges(checkpoint?.live ?? [], seq)) break;
          // The segment's buffer for now; the survivors are copied out at the end.
          live.set(seq, { seq, buf, at: putJsonAt(item), end: item.end, segment });
          break;
        }
        case RecordType.TAKE: {
          for (const [from, to] of takeRanges(buf, item)) {
            maxSeq = Math.max(maxSeq, to);
            if (beforeCheckpoint(item.offset)) continue;
            for (let s = from; s <= to; s++) live.delete(s);
          }
          break;
        }
        default:
          break;
      }
    }
    // Damage with no PUT after it in this segment: how many events it held is unknown.
    if (damagedAt !== undefined) corrupt += 1;
  }
  return {
    epoch,
    nextSeq: maxSeq + 1,
    // Copies, so that one live event does not keep a whole segment's buffer in memory.
    entries: Array.from(live.values(), (e) => {
      const buf = Buffer.from(e.buf.subarray(e.at, e.end));
      return { seq: e.seq, buf, at: 0, end: buf.length, segment: e.segment };
    }),
    segments,
    checkpointBytes: read.bytes,
    corrupt,
    damaged,
    tornBytes,
  };
}
