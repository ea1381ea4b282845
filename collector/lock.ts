import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { HostflowError } from "../lib/errors.js";

/** A held lock; release() is safe to call twice. */
export interface RunLock {
  release(): void;
}

interface Holder {
  pid: number;
  host: string;
  started: string;
}

/**
 * Keeps two runs on this host apart: the lock file is created exclusively and names its
 * holder's pid. A file whose pid no longer runs a collector (a run killed with -9, a reboot) is
 * stale and taken over at once, with a warning; cron does not wait for a timeout.
 */
export function acquireRunLock(file: string, warn: (message: string) => void): RunLock {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const me: Holder = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o644);
      writeSync(fd, `${JSON.stringify(me)}\n`);
      closeSync(fd);
      return lockOf(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new HostflowError(
          "HF_LOCKED",
          `cannot create the lock ${file}: ${(error as Error).message}`,
          {
            cause: error,
            context: { file },
          },
        );
      }
    }
    const text = readOr(file);
    const holder = parse(text);
    if (holder !== undefined && isRunning(holder)) {
      throw new HostflowError(
        "HF_LOCKED",
        `another collector run (pid ${holder.pid}, started ${holder.started}) holds ${file}; this run does nothing`,
        { context: { file, holder } },
      );
    }
    // Move the stale file aside, then check it is the one judged stale: another run may have
    // taken it over in between, and its lock must not be lost.
    const aside = `${file}.stale-${process.pid}`;
    try {
      renameSync(file, aside);
    } catch {
      continue;
    }
    if (readOr(aside) !== text) {
      renameSync(aside, file);
      continue;
    }
    unlinkSync(aside);
    warn(
      `took over the lock ${file} left by ${holder ? `pid ${holder.pid}, which no longer runs` : "an unreadable holder"}`,
    );
  }
  throw new HostflowError(
    "HF_LOCKED",
    `could not take the lock ${file}: other runs keep taking it`,
    {
      context: { file },
    },
  );
}

function lockOf(file: string): RunLock {
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      if (parse(readOr(file))?.pid === process.pid) unlinkSync(file);
    },
  };
}

function readOr(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function parse(text: string): Holder | undefined {
  try {
    const holder = JSON.parse(text) as Holder;
    return Number.isInteger(holder.pid) ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** The pid lives on this host and is a collector (not a reused pid of something else). */
function isRunning(holder: Holder): boolean {
  if (holder.host !== os.hostname()) return true; // a lock on a shared disk: never guess
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    return readFileSync(`/proc/${holder.pid}/cmdline`, "utf8").includes("collector");
  } catch {
    return true;
  }
}
