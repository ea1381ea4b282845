/**
 * The processes the fleet bench starts (agents, collectors, the dashboard, kcat): each with its
 * output in a log file, its stderr lines handed to a listener (the JSON log lines of hostflow's
 * programs), and stopped with SIGTERM, then SIGKILL after a grace period. Every process started
 * here is in `running` until it exits, so that the end of the bench (or Ctrl-C) stops them all.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createInterface } from "node:readline";

export interface Managed {
  name: string;
  child: ChildProcess;
  pid: number;
  startedAt: number;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs: number): Promise<void>;
}

export const running = new Set<Managed>();

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr are appended here. */
  log: string;
  /** Called with each line of stderr (and stdout unless `stdout` takes it). */
  onLine?: (line: string, at: number) => void;
  /** stdout as a stream for the caller (kcat's records); not logged. */
  stdout?: "pipe";
}

export async function startProcess(
  name: string,
  argv: string[],
  options: StartOptions,
): Promise<Managed> {
  const [bin, ...rest] = argv as [string, ...string[]];
  const log: WriteStream = createWriteStream(options.log, { flags: "a" });
  const child = spawn(bin, rest, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  const follow = (stream: NodeJS.ReadableStream) => {
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on("line", (line) => {
      log.write(`${line}\n`);
      options.onLine?.(line, Date.now());
    });
  };
  if (child.stderr) follow(child.stderr);
  if (child.stdout && options.stdout !== "pipe") follow(child.stdout);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(managed);
      // The streams may still hold lines: close the log once they ended.
      setTimeout(() => log.end(), 200);
      resolve({ code, signal });
    });
  });
  const managed: Managed = {
    name,
    child,
    pid: child.pid as number,
    startedAt: Date.now(),
    exited,
    async stop(graceMs) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(managed);
  return managed;
}

/** For the last moment of a process that exits at once (a second Ctrl-C). */
export function killAllNow(): void {
  for (const m of running) m.child.kill("SIGKILL");
}

/** A pino JSON log line, or undefined for anything else. */
export function logLine(
  line: string,
): { level: number; msg: string; [key: string]: unknown } | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const parsed = JSON.parse(line) as { level?: unknown; msg?: unknown };
    if (typeof parsed.level !== "number") return undefined;
    return { ...parsed, level: parsed.level, msg: String(parsed.msg ?? "") };
  } catch {
    return undefined;
  }
}
