/**
 * Ctrl-C for the commands that run a while in a terminal (`npm run demo`, `npm start`,
 * `npm test`). A terminal sends SIGINT to its whole foreground process group, and npm forwards
 * the same signal to its child again, so one press reaches a process two or three times within
 * milliseconds: signals within SAME_PRESS_MS of the first count as that press. The first press
 * asks the command to stop in order (its `signal` aborts); a later one runs the exit-now hooks
 * (each signals what the command started, without waiting) and exits with 130.
 */
const SAME_PRESS_MS = 1_000;

export interface Interrupts {
  /** Aborted at the first Ctrl-C or SIGTERM. */
  readonly signal: AbortSignal;
  /** Runs `hook` (synchronously, last added first) if a second Ctrl-C makes the process exit. */
  onExitNow(hook: () => void): void;
  /** Back to Node's own handling of SIGINT and SIGTERM. */
  dispose(): void;
}

export function catchInterrupts(
  say: (line: string) => void,
  samePressMs = SAME_PRESS_MS,
): Interrupts {
  const controller = new AbortController();
  const hooks: Array<() => void> = [];
  let firstAt: number | undefined;
  const handle = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (firstAt === undefined) {
      firstAt = now;
      say(`${signal}: stopping what was started (Ctrl-C again to exit at once)`);
      controller.abort();
      return;
    }
    if (now - firstAt < samePressMs) return;
    say("exiting at once; what was started has been told to stop (SIGTERM)");
    for (const hook of hooks.reverse()) {
      try {
        hook();
      } catch {
        // the next hook still runs: each stops something else
      }
    }
    process.exit(130);
  };
  process.on("SIGINT", handle);
  process.on("SIGTERM", handle);
  return {
    signal: controller.signal,
    onExitNow: (hook) => {
      hooks.push(hook);
    },
    dispose: () => {
      process.off("SIGINT", handle);
      process.off("SIGTERM", handle);
    },
  };
}

/** Resolves when `signal` aborts (at once if it has). */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true }),
  );
}
