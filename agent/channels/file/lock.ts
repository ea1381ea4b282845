/**
 * One agent per channel folder: two processes appending to one log would interleave records and
 * hand out the same seqs. The lock file is created with O_EXCL and holds the owner's pid; a lock
 * whose pid no longer runs (the agent was killed) is taken over.
 */
import { open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { HostflowError } from "../../../lib/errors.js";
import type { Logger } from "../../../lib/log.js";

export const LOCK_FILE = "lock";

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the folder's lock; resolves with the function that releases it. */
export async function acquireLock(
  dir: string,
  channel: string,
  /** Bound to the channel already (`channel` is not repeated in the lines). */
  logger: Logger,
): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx");
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      return async () => {
        await unlink(path).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new HostflowError("HF_CHANNEL_IO", `cannot create the lock file ${path}`, {
          cause: error,
          context: { channel, path },
        });
      }
    }
    const text = await readFile(path, "utf8").catch(() => "");
    const pid = Number.parseInt(text.trim(), 10);
    if (Number.isInteger(pid) && pid > 0 && running(pid)) {
      throw new HostflowError(
        "HF_CHANNEL_IO",
        `channel ${channel}: ${dir} is in use by process ${pid}${pid === process.pid ? " (this process)" : ""}; two agents cannot share a channel folder`,
        { context: { channel, path, pid } },
      );
    }
    logger.warn(
      { path, stalePid: Number.isNaN(pid) ? text.trim() : pid },
      "taking over the lock of a process that no longer runs",
    );
    await unlink(path).catch(() => undefined);
  }
  throw new HostflowError("HF_CHANNEL_IO", `cannot take the lock ${path}`, {
    context: { channel, path },
  });
}
