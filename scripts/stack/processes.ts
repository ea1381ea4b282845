import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { sleep } from "../../lib/timeout.js";
import type { StackLayout } from "./layout.js";

/**
 * A JVM of the stack carries `-Dhostflow.stack=<stack root>#<service>` on its command line, so
 * that `down` stops the process it started and never one that reused its PID.
 */
export function stackMarker(layout: StackLayout, service: string): string {
  return `-Dhostflow.stack=${layout.root}#${service}`;
}

/** The PID of the service's running JVM, or undefined (a stale pid file is removed). */
export async function runningPid(
  layout: StackLayout,
  service: string,
): Promise<number | undefined> {
  const pid = ourPid(layout, service);
  if (pid === undefined) await rm(layout.pid(service), { force: true });
  return pid;
}

/** The recorded PID when that process still carries the service's marker; synchronous. */
function ourPid(layout: StackLayout, service: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(layout.pid(service), "utf8").trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 && commandLine(pid).includes(stackMarker(layout, service))
    ? pid
    : undefined;
}

/**
 * Sends `signal` to the service's JVM, if it runs, without waiting: synchronous, for the last
 * moment of a process that exits at once (a second Ctrl-C).
 */
export function signalService(layout: StackLayout, service: string, signal: NodeJS.Signals): void {
  const pid = ourPid(layout, service);
  if (pid !== undefined) process.kill(pid, signal);
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0); /proc says whether it is only that.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

/**
 * Starts `java args…` in its own session, detached from this process, with stdout and stderr
 * in the service's log (truncated: the log holds this run only), and records its PID.
 */
export async function startJava(
  layout: StackLayout,
  service: string,
  java: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<number> {
  const log = layout.log(service);
  await mkdir(path.dirname(log), { recursive: true });
  await mkdir(path.dirname(layout.pid(service)), { recursive: true });
  const fd = openSync(log, "w");
  try {
    const child = spawn(java, [stackMarker(layout, service), ...args], {
      detached: true,
      stdio: ["ignore", fd, fd],
      cwd,
      env: { ...process.env, ...env },
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("spawn", () => resolve(child.pid as number));
    });
    child.unref();
    await writeFile(layout.pid(service), `${pid}\n`);
    return pid;
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopService(
  layout: StackLayout,
  service: string,
  graceMs = 30_000,
): Promise<"stopped" | "killed" | "not running"> {
  const pid = await runningPid(layout, service);
  if (pid === undefined) return "not running";
  process.kill(pid, "SIGTERM");
  let outcome: "stopped" | "killed" = "stopped";
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline && outcome === "stopped") {
      process.kill(pid, "SIGKILL");
      outcome = "killed";
    }
    await sleep(100);
  }
  await rm(layout.pid(service), { force: true });
  return outcome;
}
