import { createHook } from "node:async_hooks";

/**
 * Counts the timer callbacks (setTimeout, setInterval, setImmediate) that run while `quiet` is
 * open, by where each timer was made: an event loop woken for nothing shows up here by name.
 * The hook is on from `watch()` on, so that timers made at start (intervals) are known too.
 */
export function watchTimers(): {
  /** Waits `ms` and returns the timer callbacks that ran meanwhile (its own timer left out). */
  quiet(ms: number): Promise<Map<string, number>>;
  stop(): void;
} {
  const origins = new Map<number, string>();
  let counting: Map<string, number> | undefined;
  let makingOwn = false;
  const hook = createHook({
    init(id, type) {
      if (makingOwn || (type !== "Timeout" && type !== "Immediate")) return;
      const frames = (new Error().stack ?? "").split("\n").slice(1);
      const made = frames.find((f) => !f.includes("node:") && !f.includes("AsyncHook.init"));
      origins.set(id, `${type} ${made?.trim() ?? "?"}`);
    },
    before(id) {
      const origin = origins.get(id);
      if (counting && origin !== undefined) counting.set(origin, (counting.get(origin) ?? 0) + 1);
    },
    destroy(id) {
      origins.delete(id);
    },
  });
  hook.enable();
  return {
    async quiet(ms) {
      const fired = new Map<string, number>();
      counting = fired;
      await new Promise((resolve) => {
        makingOwn = true;
        setTimeout(resolve, ms);
        makingOwn = false;
      });
      counting = undefined;
      return fired;
    },
    stop: () => hook.disable(),
  };
}
