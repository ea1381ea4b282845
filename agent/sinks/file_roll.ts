import { type FileHandle, mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import { HostflowError } from "../../lib/errors.js";
import type { FileRollSinkConfig } from "../config/schema.js";
import type { ComponentContext, Sink } from "../core/types.js";
import { sinkWriteError } from "./io.js";
import { createRecordBuilder, DEFAULT_ROUTING, type Routing, recordLine } from "./record.js";

export interface FileRollSinkDeps {
  /** The topic pattern and key header the lines show; default: the kafka sink's defaults. */
  routing?: Routing;
  /** The clock, for file names and roll_interval (tests). */
  now?: () => number;
}

interface OpenFile {
  path: string;
  handle: FileHandle;
  openedAt: number;
  size: number;
}

/**
 * Flume's file_roll sink: JSON lines (the logger sink's shape) appended to
 * `<dir>/<sink>-<UTC time>.jsonl`. A batch is one append and one fsync, so it is on disk before
 * the runner commits the take. A new file starts when the current one is roll_interval old or
 * the batch would take it past roll_size (a batch larger than roll_size gets a file of its own);
 * 0 turns either off. Files roll at the next write, so an idle sink leaves no empty files.
 */
export function createFileRollSink(
  name: string,
  options: FileRollSinkConfig,
  ctx: ComponentContext,
  deps: FileRollSinkDeps = {},
): Sink {
  const now = deps.now ?? Date.now;
  const build = createRecordBuilder(name, deps.routing ?? DEFAULT_ROUTING, ctx);
  const dir = options.dir;
  let current: OpenFile | undefined;
  let lastError: HostflowError | undefined;
  let stopped = false;
  // Writes run one after the other, so that two batches never interleave in a file.
  let queue: Promise<unknown> = Promise.resolve();

  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  async function openNew(at: number): Promise<OpenFile> {
    await mkdir(dir, { recursive: true });
    const stamp = fileStamp(at);
    // "wx": never append to a file another run left behind, even within the same millisecond.
    for (let n = 0; ; n++) {
      const path = join(dir, `${name}-${stamp}${n === 0 ? "" : `-${n}`}.jsonl`);
      try {
        const handle = await open(path, "wx");
        await syncDir(dir);
        ctx.logger.info({ sink: name, file: path }, "file_roll: started a new file");
        return { path, handle, openedAt: at, size: 0 };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
    }
  }

  async function close(file: OpenFile): Promise<void> {
    if (current === file) current = undefined;
    await file.handle.close().catch(() => undefined);
  }

  async function append(text: string): Promise<void> {
    const bytes = Buffer.from(text, "utf8");
    const at = now();
    if (
      current &&
      current.size > 0 &&
      ((options.roll_interval > 0 && at - current.openedAt >= options.roll_interval) ||
        (options.roll_size > 0 && current.size + bytes.length > options.roll_size))
    ) {
      await close(current);
    }
    current ??= await openNew(at);
    const file = current;
    try {
      await file.handle.appendFile(bytes);
      await file.handle.sync();
      file.size += bytes.length;
    } catch (error) {
      // Cut a partial batch off, so the retry does not follow half a line; then leave the file
      // (the handle may be unusable after EIO) and start a new one at the next write.
      await file.handle.truncate(file.size).catch(() => undefined);
      await close(file);
      throw error;
    }
  }

  return {
    name,
    type: "file_roll",
    async start() {
      try {
        await mkdir(dir, { recursive: true });
      } catch (cause) {
        throw sinkWriteError(cause, `cannot create the folder ${dir}`, { sink: name, dir });
      }
    },
    async stop() {
      stopped = true;
      await serial(async () => {
        if (current) await close(current);
      });
    },
    health: () => (lastError ? { ok: false, detail: lastError.message } : { ok: true }),
    write(events, channel) {
      return serial(async () => {
        if (events.length === 0) return;
        if (stopped) {
          throw new HostflowError("HF_SINK_WRITE", `file_roll sink ${name} used after stop()`, {
            context: { sink: name },
          });
        }
        const text = build(events, channel).map(recordLine).join("");
        try {
          await append(text);
        } catch (cause) {
          lastError = sinkWriteError(cause, `cannot append to a file in ${dir}`, {
            sink: name,
            dir,
          });
          ctx.metrics.sinkErrors.inc({ sink: name, code: lastError.code });
          throw lastError;
        }
        lastError = undefined;
        ctx.metrics.count(name, "sink", "written", events.length);
      });
    },
  };
}

/** `20250102T030405.678Z`: sorts by time, no ':' (awkward in file names). */
export function fileStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "");
}

/** A new file's directory entry must be durable too, or a crash can lose the whole file. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
