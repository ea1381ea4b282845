/**
 * The write-ahead log: segment files `log-<n>.wal` in the channel folder, appended by one writer
 * with group commit (what arrives while a write is under way goes out in the next single
 * write + fsync), rolled at segment_bytes, deleted by the channel once all their events are gone.
 */
import { constants } from "node:fs";
import { type FileHandle, open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { HostflowError } from "../../../lib/errors.js";

const SEGMENT_PATTERN = /^log-(\d+)\.wal$/;

export function segmentPath(dir: string, segment: number): string {
  return join(dir, `log-${segment}.wal`);
}

/** The segments in the folder, oldest first, with their sizes. */
export async function listSegments(dir: string): Promise<Map<number, number>> {
  const found: number[] = [];
  for (const name of await readdir(dir)) {
    const match = SEGMENT_PATTERN.exec(name);
    if (match) found.push(Number(match[1]));
  }
  found.sort((a, b) => a - b);
  const sizes = new Map<number, number>();
  for (const n of found) sizes.set(n, (await stat(segmentPath(dir, n))).size);
  return sizes;
}

/** Makes a created, renamed or deleted name in `dir` durable (ext4 and xfs need the folder synced). */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface LogPosition {
  segment: number;
  offset: number;
}

export interface SegmentLogOptions {
  dir: string;
  channel: string;
  segmentBytes: number;
  fsync: "every_commit" | "interval" | "never";
  /** The first record of segment `n` (epoch and next seq, so a lone segment says where it stands). */
  header: (segment: number) => Buffer;
}

/** A group written, and what its sync needs. */
interface Written {
  positions: LogPosition[];
  mustSync: boolean;
  handle: FileHandle;
  segment: number;
  start: number;
  end: number;
}

interface Pending {
  buffers: Buffer[];
  bytes: number;
  sync: boolean;
  /** Written, not synced by itself (see append). */
  lazy?: boolean;
  resolve: (position: LogPosition) => void;
  reject: (error: unknown) => void;
}

export class SegmentLog {
  /** Every segment on disk and its size, oldest first (Map keeps insertion order). */
  readonly sizes: Map<number, number>;
  private active!: { segment: number; handle: FileHandle; size: number };
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;
  /** The background fdatasync of the last put's write, while it runs (see flush). */
  private syncing: Promise<void> | undefined;
  private dirty = false;
  /** A failed write could not be undone: the active segment's tail is unknown, write elsewhere. */
  private tainted = false;
  private closed = false;

  private constructor(
    private readonly options: SegmentLogOptions,
    existing: Map<number, number>,
  ) {
    this.sizes = new Map(existing);
  }

  /** Opens the log on a new segment after the existing ones (never appends to a recovered one). */
  static async open(
    options: SegmentLogOptions,
    existing: Map<number, number>,
  ): Promise<SegmentLog> {
    const log = new SegmentLog(options, existing);
    const last = [...existing.keys()].pop() ?? 0;
    log.active = await log.createSegment(last + 1);
    return log;
  }

  get activeSegment(): number {
    return this.active.segment;
  }

  get bytes(): number {
    let sum = 0;
    for (const size of this.sizes.values()) sum += size;
    return sum;
  }

  /**
   * Appends the buffers as one write; resolves with where they start, once written and, with
   * fsync=every_commit, synced. `lazy` records are written but not synced on their own: the next
   * synced write, `sync()` or a roll makes them durable (a TAKE record lost to an OS crash only
   * brings its events back, so it need not wait for the disk).
   */
  append(buffers: Buffer[], lazy = false): Promise<LogPosition> {
    let bytes = 0;
    for (const b of buffers) bytes += b.length;
    return this.enqueue({ buffers, bytes, sync: false, lazy });
  }

  /** Waits for what was appended so far, syncs it, and resolves with the end of the log. */
  sync(): Promise<LogPosition> {
    return this.enqueue({ buffers: [], bytes: 0, sync: true, lazy: false });
  }

  private enqueue(request: Omit<Pending, "resolve" | "reject">): Promise<LogPosition> {
    if (this.closed) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => {
      this.pending.push({ ...request, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  /**
   * Writes are serial; a put's fdatasync runs in the background while lazy (TAKE) records are
   * written behind it, so a take commit never waits for the disk. A put or sync() waits for the
   * sync before it: at most one runs at a time.
   */
  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const group = this.pending;
      this.pending = [];
      if (!group.every((r) => r.lazy)) await this.syncing;
      let written: Written;
      try {
        written = await this.writeGroup(group);
      } catch (error) {
        for (const request of group) request.reject(error);
        continue;
      }
      const settle = () => {
        for (const [i, request] of group.entries()) {
          request.resolve(written.positions[i] as LogPosition);
        }
      };
      if (!written.mustSync) {
        settle();
        continue;
      }
      // Never rejects: the group's requests carry its failure.
      const syncing: Promise<void> = this.syncWritten(written).then(settle, (error: unknown) => {
        for (const request of group) request.reject(error);
      });
      this.syncing = syncing;
      void syncing.then(() => {
        if (this.syncing === syncing) this.syncing = undefined;
      });
    }
    this.flushing = undefined;
  }

  private async writeGroup(group: Pending[]): Promise<Written> {
    const buffers: Buffer[] = [];
    let total = 0;
    for (const request of group) {
      buffers.push(...request.buffers);
      total += request.bytes;
    }
    if (total > 0 && (this.tainted || this.active.size >= this.options.segmentBytes)) {
      await this.syncing;
      await this.roll();
    }
    const { handle, segment } = this.active;
    const start = this.active.size;
    if (total > 0) {
      try {
        const { bytesWritten } = await handle.writev(buffers, start);
        if (bytesWritten !== total) {
          throw Object.assign(new Error(`short write: ${bytesWritten} of ${total} bytes`), {
            code: "ENOSPC",
          });
        }
      } catch (error) {
        // Cut the partial records off so that the segment stays a clean sequence of records;
        // if even that fails, replay will treat the tail as damage, and we write elsewhere.
        const undone = await handle.truncate(start).then(
          () => true,
          () => false,
        );
        if (!undone) this.tainted = true;
        throw this.appendError(error, segment, undone);
      }
      this.active.size += total;
      this.sizes.set(segment, this.active.size);
      this.dirty = true;
    }
    // datasync covers every earlier write of the file: lazy records before a synced one in the
    // same segment are durable with it.
    const eager = this.options.fsync === "every_commit" && total > 0 && group.some((r) => !r.lazy);
    const positions: LogPosition[] = [];
    let offset = start;
    for (const request of group) {
      positions.push({ segment, offset: request.sync ? this.active.size : offset });
      offset += request.bytes;
    }
    return {
      positions,
      mustSync: this.dirty && (eager || group.some((r) => r.sync)),
      handle,
      segment,
      start,
      end: this.active.size,
    };
  }

  /**
   * Syncs what a group wrote (and everything before it). On failure the group's records are cut
   * off again if nothing was written after them; otherwise the segment is left for a new one and
   * the outcome is unknown.
   */
  private async syncWritten(written: Written): Promise<void> {
    this.dirty = false;
    try {
      await written.handle.datasync();
    } catch (error) {
      this.dirty = true;
      if (written.start === written.end) {
        throw new HostflowError("HF_CHANNEL_IO", `channel ${this.options.channel}: fsync failed`, {
          cause: error,
          retriable: true,
          context: { channel: this.options.channel, segment: written.segment },
        });
      }
      const last = this.active.segment === written.segment && this.active.size === written.end;
      const undone =
        last &&
        (await written.handle.truncate(written.start).then(
          () => true,
          () => false,
        ));
      if (undone) {
        this.active.size = written.start;
        this.sizes.set(written.segment, written.start);
      } else {
        this.tainted = true;
      }
      throw this.appendError(error, written.segment, undone);
    }
  }

  private appendError(error: unknown, segment: number, undone: boolean): HostflowError {
    return new HostflowError(
      "HF_CHANNEL_IO",
      `channel ${this.options.channel}: cannot append to ${segmentPath(this.options.dir, segment)}`,
      {
        cause: error,
        retriable: true,
        context: {
          channel: this.options.channel,
          segment,
          outcome: undone ? "undone" : "unknown",
        },
      },
    );
  }

  private async roll(): Promise<void> {
    const old = this.active;
    // The next segment first: if it cannot be created (disk full), the old one stays active.
    const next = await this.createSegment(old.segment + 1);
    if (this.dirty && this.options.fsync !== "never") await old.handle.datasync().catch(() => {});
    await old.handle.close().catch(() => {});
    this.active = next;
    this.tainted = false;
    this.dirty = false;
  }

  private async createSegment(segment: number): Promise<SegmentLog["active"]> {
    const path = segmentPath(this.options.dir, segment);
    try {
      const handle = await open(path, "w");
      try {
        const header = this.options.header(segment);
        await handle.write(header, 0, header.length, 0);
        await handle.datasync();
        await fsyncDir(this.options.dir);
        this.sizes.set(segment, header.length);
        return { segment, handle, size: header.length };
      } catch (error) {
        await handle.close().catch(() => {});
        await unlink(path).catch(() => {});
        throw error;
      }
    } catch (error) {
      throw new HostflowError(
        "HF_CHANNEL_IO",
        `channel ${this.options.channel}: cannot create ${path}`,
        { cause: error, retriable: true, context: { channel: this.options.channel, path } },
      );
    }
  }

  /** Deletes a segment none of whose events is left (never the active one). */
  async delete(segment: number): Promise<void> {
    if (segment === this.active.segment || !this.sizes.has(segment)) return;
    this.sizes.delete(segment);
    await unlink(segmentPath(this.options.dir, segment)).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    });
  }

  /** Writes what is pending, syncs, closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.sync().catch(() => {});
    this.closed = true;
    await this.flushing;
    await this.syncing;
    await this.active.handle.close().catch(() => {});
  }

  private closedError(): HostflowError {
    return new HostflowError("HF_CHANNEL_CLOSED", `channel ${this.options.channel} is stopped`, {
      context: { channel: this.options.channel },
    });
  }
}
