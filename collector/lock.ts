import { mkdirSync } from "node:fs";
import path from "node:path";
import lockfile from "proper-lockfile";
import { HostflowError } from "../lib/errors.js";

/** A held lock; release() is safe to call twice. */
export interface RunLock {
  release(): Promise<void>;
}

/**
 * Keeps two runs on this host apart. proper-lockfile holds `<file>.lock` (a directory, created
 * atomically) and refreshes its mtime while the run lives; a lock left by a killed run stops
 * being refreshed and is taken over once it is `staleMs` old.
 */
export async function acquireRunLock(
  file: string,
  onCompromised: (error: Error) => void,
  staleMs = 20_000,
): Promise<RunLock> {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  try {
    const release = await lockfile.lock(file, {
      realpath: false,
      stale: staleMs,
      update: staleMs / 4,
      onCompromised,
    });
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        await release().catch(() => undefined);
      },
    };
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ELOCKED") {
      throw new HostflowError(
        "HF_LOCKED",
        `another collector run holds ${file}.lock; this run does nothing (a lock left by a killed run is taken over after ${staleMs / 1000} s)`,
        { context: { file } },
      );
    }
    throw new HostflowError(
      "HF_LOCKED",
      `cannot take the lock ${file}.lock: ${(cause as Error).message}`,
      {
        cause,
        context: { file },
      },
    );
  }
}
