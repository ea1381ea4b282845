import { SingleBar } from "cli-progress";
import type { Logger } from "../lib/log.js";
import type { Progress } from "./run.js";

/**
 * Progress of a run: a bar on a terminal, a log line every `intervalMs` otherwise (cron), so that
 * a long run shows it is alive either way.
 */
export function progressReporter(
  logger: Logger,
  intervalMs: number,
  tty = Boolean(process.stderr.isTTY),
): { update: (progress: Progress) => void; stop: () => void } {
  if (tty) {
    const bar = new SingleBar({
      format: "loading |{bar}| {value}/{total} records | {rate} rec/s | bad {bad} | lag left {lag}",
      stream: process.stderr,
      hideCursor: true,
    });
    let started = false;
    return {
      update: ({ done, total, bad, ratePerSecond }) => {
        const payload = { rate: Math.round(ratePerSecond), bad, lag: total - done };
        if (!started) bar.start(total, done, payload);
        else bar.update(done, payload);
        started = true;
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  let last = 0;
  return {
    update: ({ done, total, bad, ratePerSecond }) => {
      if (Date.now() - last < intervalMs) return;
      last = Date.now();
      logger.info(
        { done, total, bad, ratePerSecond: Math.round(ratePerSecond) },
        `progress: ${done} of ${total} records, ${Math.round(ratePerSecond)} records/s, lag left ${total - done}`,
      );
    },
    stop: () => undefined,
  };
}
