/** Exponential backoff with jitter, as the sink runner and the collector's retries use it. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  multiplier: number;
  /** Share of each pause that is random, 0 … 1 (spreads a fleet's reconnects). */
  jitter: number;
}

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** The pause before the next try; each call grows it up to maxMs. */
  next(): number {
    const { initialMs, maxMs, multiplier, jitter } = this.policy;
    const base = Math.min(maxMs, initialMs * multiplier ** this.attempt);
    this.attempt++;
    return Math.round(base * (1 - jitter) + base * jitter * this.random());
  }

  reset(): void {
    this.attempt = 0;
  }

  get failures(): number {
    return this.attempt;
  }
}

/** Resolves after `ms`, or early (without error) when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
