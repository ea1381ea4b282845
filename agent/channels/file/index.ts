/**
 * The file channel: a checksummed write-ahead log that survives kill -9, a torn write, bit rot
 * and a full disk. The same design is described for operators in docs/durability.md.
 *
 * Files in the channel folder (`dir`):
 * - `log-<n>.wal` segments, appended in order, rolled at segment_bytes. Every record is
 *   [length u32][crc32 u32][type u8][payload] (record.ts): HEADER first in each segment (epoch,
 *   next seq), then PUT (seq + the event's JSON) and TAKE (the seq ranges committed by a take,
 *   or evicted by drop_oldest).
 * - `checkpoint`: one record (epoch, next seq, a log position P, the seqs live at P as ranges),
 *   replaced atomically (temp, fsync, rename, fsync dir) checkpoint_interval after the first log
 *   write since the last checkpoint (an idle channel sets no timer) and at stop.
 * - `lock`: O_EXCL, the owner's pid; a lock whose pid is dead is taken over.
 *
 * Put: the batch is serialized once, its PUT records go out as ONE write, then one fdatasync with
 * fsync=every_commit (interval: a timer armed by the first write since the last sync syncs it
 * fsync_interval later; never: the OS does). Only then are the events in
 * the queue and the put resolved. Seqs are assigned in put order and never reused: the next seq
 * after a restart is one more than the highest ever seen (in a checkpoint, header, PUT or TAKE).
 * Take commit: one small TAKE record, written (group commit: a put and the take commits that
 * arrive meanwhile share a write) but not synced on its own: the next put's fsync, a checkpoint
 * (armed by the write, checkpoint_interval later) or a segment roll syncs it. A kill -9 loses
 * nothing written; an OS crash before that sync can bring the take's events back (at least once,
 * as an uncommitted take), never lose one. The sink does not wait for the disk between batches.
 *
 * Disk use: a segment is deleted once it and every older segment hold no live event (oldest
 * first, so a TAKE record is never lost while the PUT it cancels still exists). max_bytes
 * counts the segments and the checkpoint; a put that would exceed it is "full" (block or
 * drop_oldest, like the capacity in events).
 *
 * Recovery (recovery.ts): read the checkpoint (unreadable → replay everything), replay all
 * segments: before P, PUTs count only if live at P; after P, PUTs add and TAKEs remove. A bad
 * record at the end of the last segment is a torn write: cut off, warned, the put it belonged to
 * had not resolved. A bad record elsewhere is skipped by scanning for the next valid record;
 * the events it held (the gap in the PUT seqs) are logged at error level and counted as
 * `corrupt`. Events of takes that had not committed come back: at-least-once, duplicates only
 * from uncommitted takes. The log always restarts on a new segment, and a checkpoint is written
 * before the first put.
 *
 * Full disk: a failed append is cut back off the segment (ftruncate), the put rejects with a
 * retriable HF_CHANNEL_IO (back-pressure to the source) and nothing of it stays. If even the cut
 * fails, its seqs are never handed out again and the log moves to a new segment.
 *
 * Memory: every live event stays in memory as the bytes of its log record (a put's batch is
 * serialized once, into the buffer the log writes; its events are slices of that buffer, and a
 * take hands the body's bytes to the sink as the Kafka value: no parse, no stringify, no second
 * UTF-8 encoding). Bounded by capacity and max_bytes; what an event costs is measured by
 * scripts/bench/channels.ts and written in docs/durability.md. Not reading events back from the
 * segments keeps takes free of disk reads; the price is that a full 256 MiB channel holds
 * ~1.3× that in memory. While the channel holds at most HOT_EVENTS events (a sink keeping up), a put
 * also keeps its event objects, so that a take need not parse the headers (the parse was a tenth
 * of the agent's CPU in the pipeline bench). Events recovered at start are copied out of their
 * segment and parsed whole at take.
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { HostflowError } from "../../../lib/errors.js";
import type { Sample } from "../../../lib/wire.js";
import type { FileChannelConfig } from "../../config/schema.js";
import type { AgentEvent, Channel, ChannelEvent, ComponentContext } from "../../core/types.js";
import { type QueueStore, TransactionalQueue } from "../queue.js";
import { writeCheckpoint } from "./checkpoint.js";
import { acquireLock } from "./lock.js";
import {
  encodeJson,
  encodePuts,
  encodeTake,
  jsonAt,
  type PreparedPut,
  preparePut,
  putBody,
  putHeaders,
  RECORD_OVERHEAD,
  RecordType,
  recordEnd,
  toRanges,
} from "./record.js";
import { type FileEntry, recover } from "./recovery.js";
import { SegmentLog } from "./segments.js";

/** Room kept for a segment header and the checkpoint growing between two writes of it. */
const BYTES_SLACK = 8 * 1024;
const IO_ERROR_MEMORY_MS = 60_000;
/**
 * A put keeps its event objects (beside their JSON) while the channel then holds at most this
 * many events, so at most this many are kept: ~450 heap bytes each for a cpu sample, ~5 MB in all.
 */
export const HOT_EVENTS = 10_000;

export function createFileChannel(
  name: string,
  options: FileChannelConfig,
  ctx: ComponentContext,
): Channel {
  const dir = options.dir;
  if (dir === undefined) {
    throw new HostflowError("HF_CONFIG_INVALID", `file channel ${name} has no dir`, {
      context: { channel: name },
    });
  }
  const log = ctx.logger.child({ channel: name });
  // A segment must be small against max_bytes, or one live event could pin the whole budget.
  const segmentBytes = Math.max(4096, Math.min(options.segment_bytes, options.max_bytes / 4));

  let state: "new" | "starting" | "running" | "stopped" = "new";
  let epoch: string | undefined;
  let queue: TransactionalQueue<FileEntry, PreparedPut<AgentEvent>> | undefined;
  let wal: SegmentLog | undefined;
  let releaseLock: (() => Promise<void>) | undefined;
  let checkpointBytes = 0;
  /** Live events per segment: a segment whose count is 0 (and all older ones') can go. */
  const segmentLive = new Map<number, number>();
  let lastIoErrorAt = 0;
  let lastIoError: string | undefined;
  /**
   * Timers run only when something is due: a log append arms the checkpoint (and, with
   * fsync=interval, the sync) for `checkpoint_interval` (`fsync_interval`) later, unless it is
   * armed already; an idle channel has no timer at all.
   */
  let checkpointTimer: NodeJS.Timeout | undefined;
  let syncTimer: NodeJS.Timeout | undefined;
  const appended = () => {
    if (state !== "running") return;
    checkpointTimer ??= setTimeout(
      () => {
        checkpointTimer = undefined;
        void periodicCheckpoint();
      },
      Math.max(1, options.checkpoint_interval),
    ).unref();
    if (options.fsync === "interval") {
      syncTimer ??= setTimeout(
        () => {
          syncTimer = undefined;
          wal?.sync().catch((error: unknown) => {
            ioFailed(error);
            log.error({ err: error }, `channel ${name}: fsync failed`);
          });
        },
        Math.max(1, options.fsync_interval),
      ).unref();
    }
  };

  const notRunning = () =>
    new HostflowError(
      "HF_CHANNEL_CLOSED",
      state === "stopped" ? `channel ${name} is stopped` : `channel ${name} is not started`,
      { context: { channel: name } },
    );
  const running = () => {
    if (state !== "running" || !queue || !wal) throw notRunning();
    return { queue, wal };
  };
  const ioFailed = (error: unknown) => {
    lastIoErrorAt = Date.now();
    lastIoError = error instanceof Error ? error.message : String(error);
  };
  const diskBytes = () => (wal ? wal.bytes : 0) + checkpointBytes;
  const updateBytes = () => ctx.metrics.channelBytes.set({ channel: name }, diskBytes());

  const forget = (entries: readonly FileEntry[]) => {
    for (const e of entries) segmentLive.set(e.segment, (segmentLive.get(e.segment) ?? 1) - 1);
  };

  /** Deletes the oldest segments while none of their events is left. */
  const deleteDeadSegments = async () => {
    if (!wal) return;
    let freed = false;
    for (const segment of [...wal.sizes.keys()]) {
      if (segment === wal.activeSegment || (segmentLive.get(segment) ?? 0) > 0) break;
      await wal.delete(segment);
      segmentLive.delete(segment);
      freed = true;
    }
    if (freed) {
      updateBytes();
      queue?.roomChanged();
    }
  };

  const failIo = (error: unknown, what: string): never => {
    ioFailed(error);
    log.error({ err: error }, `channel ${name}: ${what} failed`);
    throw error instanceof HostflowError
      ? error
      : new HostflowError("HF_CHANNEL_IO", `channel ${name}: ${what} failed`, {
          cause: error,
          retriable: true,
          context: { channel: name },
        });
  };

  const store: QueueStore<FileEntry, PreparedPut<AgentEvent>> = {
    prepare: (events) => {
      const batch = preparePut(events);
      return { batch, bytes: batch.bytes };
    },
    fitsBytes: (bytes, evicting) => {
      if (!wal) return true;
      let incoming = bytes + BYTES_SLACK;
      let reclaim = 0;
      if (evicting.length > 0) {
        incoming += RECORD_OVERHEAD + 4 + 16 * evicting.length;
        const evictedPer = new Map<number, number>();
        for (const e of evicting) evictedPer.set(e.segment, (evictedPer.get(e.segment) ?? 0) + 1);
        for (const [segment, size] of wal.sizes) {
          if (segment === wal.activeSegment) break;
          const left = (segmentLive.get(segment) ?? 0) - (evictedPer.get(segment) ?? 0);
          if (left > 0) break;
          reclaim += size;
        }
      }
      return diskBytes() + incoming - reclaim <= options.max_bytes;
    },
    commitPut: async (batch, firstSeq, evicted) => {
      const w = running().wal;
      const buffers: Buffer[] = [];
      if (evicted.length > 0) {
        buffers.push(encodeTake(toRanges(evicted.map((e) => e.seq).sort((a, b) => a - b))));
      }
      buffers.push(encodePuts(batch, firstSeq));
      let at: { segment: number };
      try {
        at = await w.append(buffers);
      } catch (error) {
        if (error instanceof HostflowError && error.context.outcome === "unknown") {
          // The records may be on disk: their seqs must never name other events.
          queue?.skipSeqs(batch.starts.length);
        }
        return failIo(error, "put");
      }
      // `queue` no longer counts the evicted events; the put's events are not in it yet.
      const keep = (queue?.size() ?? 0) + batch.starts.length <= HOT_EVENTS;
      const data = batch.data;
      const entries = batch.starts.map(
        (_, i): FileEntry => ({
          seq: firstSeq + i,
          buf: data,
          at: jsonAt(batch, i),
          end: recordEnd(batch, i),
          segment: at.segment,
          bodyAt: batch.bodyAt[i] as number,
          event: keep ? (batch.events[i] as AgentEvent) : undefined,
        }),
      );
      segmentLive.set(at.segment, (segmentLive.get(at.segment) ?? 0) + entries.length);
      appended();
      if (evicted.length > 0) {
        forget(evicted);
        await deleteDeadSegments();
      }
      updateBytes();
      return entries;
    },
    materialize: (entries) =>
      entries.map((e): ChannelEvent => {
        if (e.bodyAt === undefined) {
          // Recovered from the log: parsed whole.
          const event = JSON.parse(e.buf.toString("utf8", e.at, e.end)) as ChannelEvent;
          event.seq = e.seq;
          return event;
        }
        const encodedBody = putBody(e.buf, e.bodyAt, e.end);
        // A copy, as the memory channel hands out: the same event may be in other channels.
        if (e.event) {
          return { headers: e.event.headers, body: e.event.body, seq: e.seq, encodedBody };
        }
        // Only the headers are parsed (topic and key); a sink that reads the body parses it once.
        let body: Sample | undefined;
        return {
          headers: putHeaders(e.buf, e.at, e.bodyAt),
          seq: e.seq,
          encodedBody,
          get body(): Sample {
            body ??= JSON.parse(encodedBody.toString("utf8")) as Sample;
            return body;
          },
        };
      }),
    commitTake: (entries) =>
      takesAndCheckpoints(async () => {
        const w = running().wal;
        const seqs = entries.map((e) => e.seq).sort((a, b) => a - b);
        try {
          await w.append([encodeTake(toRanges(seqs))], true);
        } catch (error) {
          failIo(error, "take commit");
        }
        appended();
        forget(entries);
        await deleteDeadSegments();
        updateBytes();
      }),
  };

  /**
   * Take commits and checkpoints run one at a time. A checkpoint taken while a TAKE record was
   * already in the log but its events not yet forgotten would list them as live at a position
   * after that record: replay would skip the record and hand a committed take out again (seen
   * under load in the kill -9 test). Serialized, a TAKE record is either before the checkpoint's
   * position with its events gone from the snapshot, or after it and replayed.
   */
  let exclusive: Promise<unknown> = Promise.resolve();
  const takesAndCheckpoints = <T>(work: () => Promise<T>): Promise<T> => {
    const run = exclusive.then(work, work);
    exclusive = run.catch(() => undefined);
    return run;
  };

  /**
   * Syncs the log and records its end and the seqs live there. Runs while no put commits (or
   * after the last one) and no take commits, so every PUT before that position is in `ready` or
   * in an open take, and every TAKE before it has removed its events.
   */
  const checkpoint = (
    q: TransactionalQueue<FileEntry, PreparedPut<AgentEvent>>,
    w: SegmentLog,
    ready: Iterable<FileEntry>,
  ) => takesAndCheckpoints(() => writeCheckpointAt(q, w, ready));

  const writeCheckpointAt = async (
    q: TransactionalQueue<FileEntry, PreparedPut<AgentEvent>>,
    w: SegmentLog,
    ready: Iterable<FileEntry>,
  ) => {
    const position = await w.sync();
    const seqs: number[] = [];
    for (const e of ready) seqs.push(e.seq);
    for (const e of q.takenEntries()) seqs.push(e.seq);
    checkpointBytes = await writeCheckpoint(dir, {
      version: 1,
      epoch: epoch as string,
      nextSeq: q.nextSeq,
      segment: position.segment,
      offset: position.offset,
      live: toRanges(Float64Array.from(seqs).sort()),
      writtenAt: new Date().toISOString(),
    });
    updateBytes();
  };

  const periodicCheckpoint = async () => {
    if (state !== "running" || !queue || !wal) return;
    const q = queue;
    const w = wal;
    try {
      await q.whilePutsPaused(() => checkpoint(q, w, q.readyEntries()));
    } catch (error) {
      if (state !== "running") return;
      ioFailed(error);
      log.error({ err: error }, `channel ${name}: checkpoint failed`);
    }
  };

  return {
    name,
    type: "file",
    get stream(): string {
      if (epoch === undefined) throw notRunning();
      return `${name}@${epoch}`;
    },
    start: async () => {
      if (state !== "new") throw notRunning();
      state = "starting";
      const began = Date.now();
      try {
        await mkdir(dir, { recursive: true });
      } catch (error) {
        state = "new";
        throw new HostflowError("HF_CHANNEL_IO", `channel ${name}: cannot create ${dir}`, {
          cause: error,
          context: { channel: name, dir },
        });
      }
      releaseLock = await acquireLock(dir, name, log).catch((error: unknown) => {
        state = "new";
        throw error;
      });
      try {
        const recovered = await recover(dir, log);
        epoch = recovered.epoch ?? randomBytes(6).toString("hex");
        const e = epoch;
        checkpointBytes = recovered.checkpointBytes;
        ctx.metrics.count(name, "channel", "corrupt", recovered.corrupt);
        if (recovered.damaged > 0) {
          log.error(
            { damaged: recovered.damaged, lostEvents: recovered.corrupt },
            `channel ${name}: ${recovered.damaged} damaged stretches in the log were skipped; ${recovered.corrupt} events lost`,
          );
        }
        for (const entry of recovered.entries) {
          segmentLive.set(entry.segment, (segmentLive.get(entry.segment) ?? 0) + 1);
        }
        const q = new TransactionalQueue<FileEntry, PreparedPut<AgentEvent>>(
          {
            name,
            capacity: options.capacity,
            transactionCapacity: options.transaction_capacity,
            whenFull: options.when_full,
            byteFill: () => diskBytes() / options.max_bytes,
          },
          store,
          ctx,
          { nextSeq: recovered.nextSeq, entries: recovered.entries },
        );
        const w = await SegmentLog.open(
          {
            dir,
            channel: name,
            segmentBytes,
            fsync: options.fsync,
            header: (segment) =>
              encodeJson(RecordType.HEADER, { epoch: e, nextSeq: q.nextSeq, segment }),
          },
          recovered.segments,
        );
        queue = q;
        wal = w;
        state = "running";
        await deleteDeadSegments();
        await checkpoint(q, w, q.readyEntries());
        q.updateGauges();
        log.info(
          {
            stream: `${name}@${epoch}`,
            events: recovered.entries.length,
            nextSeq: recovered.nextSeq,
            bytes: diskBytes(),
            ms: Date.now() - began,
          },
          `file channel ${name} opened ${dir}: ${recovered.entries.length} events from before, next seq ${recovered.nextSeq}`,
        );
      } catch (error) {
        state = "stopped";
        await wal?.close();
        await releaseLock?.();
        throw error instanceof HostflowError
          ? error
          : new HostflowError("HF_CHANNEL_IO", `channel ${name}: cannot open ${dir}`, {
              cause: error,
              context: { channel: name, dir },
            });
      }
    },
    stop: async () => {
      if (state !== "running" || !queue || !wal) {
        state = "stopped";
        return;
      }
      const q = queue;
      const w = wal;
      clearTimeout(checkpointTimer);
      clearTimeout(syncTimer);
      state = "stopped";
      const { ready, inFlight } = await q.close();
      try {
        // The closing checkpoint: the next start replays only what was written since.
        await checkpoint(q, w, ready);
      } catch (error) {
        log.error(
          { err: error },
          `channel ${name}: closing checkpoint failed; the next start replays the log`,
        );
      } finally {
        await w.close();
        await releaseLock?.();
      }
      log.info(
        { kept: ready.length + inFlight, inTakes: inFlight },
        `file channel ${name} stopped; ${ready.length + inFlight} events kept for the next start`,
      );
    },
    health: () => {
      const size = queue?.size() ?? 0;
      const fill = queue?.fill() ?? 0;
      const recentError = Date.now() - lastIoErrorAt < IO_ERROR_MEMORY_MS;
      return {
        ok: !recentError,
        detail: `${state}: size ${size}/${options.capacity}, fill ${fill.toFixed(2)}, ${diskBytes()}/${options.max_bytes} bytes${recentError ? `; IO error ${Math.round((Date.now() - lastIoErrorAt) / 1000)}s ago: ${lastIoError}` : ""}`,
      };
    },
    put: async (events: readonly AgentEvent[], signal?: AbortSignal) =>
      running().queue.put(events, signal),
    take: async (max: number, waitMs: number, signal?: AbortSignal) =>
      running().queue.take(max, waitMs, signal),
    waitForEvents: async (count: number, waitMs: number, signal?: AbortSignal) =>
      running().queue.waitForEvents(count, waitMs, signal),
    size: () => queue?.size() ?? 0,
    fill: () => queue?.fill() ?? 0,
  };
}
