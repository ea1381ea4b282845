/**
 * What the event-driven sources (synthetic, sequence) share: the start/stop lifecycle around one
 * loop, a token bucket for `rate`, and puts that retry the same batch on retriable errors.
 */
import { setImmediate as immediate } from "node:timers/promises";
import { describeError, HostflowError, isHostflowError } from "../../lib/errors.js";
import type {
  AgentEvent,
  ComponentContext,
  Emit,
  EventDrivenSource,
  Health,
} from "../core/types.js";

/** Resolves after `ms`, or at once when `signal` aborts (never rejects: callers check the signal). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * A token bucket: `take(n)` waits until n events may go at `rate` per second. The bucket holds at
 * most `burst` tokens, so a source held back by a full channel does not catch up in one rush.
 */
export class Pacer {
  private tokens: number;
  private last = performance.now();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  async take(n: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
      if (this.tokens >= n || signal.aborted) break;
      await pause(Math.max(1, ((n - this.tokens) * 1000) / this.rate), signal);
    }
    this.tokens -= n;
  }
}

/**
 * The largest batch to put when paced: 100 ms worth of events, so that a low rate gives a steady
 * trickle rather than one big batch every few seconds.
 */
export function pacedBatchSize(batchSize: number, rate: number | undefined): number {
  return rate === undefined ? batchSize : Math.max(1, Math.min(batchSize, Math.ceil(rate / 10)));
}

const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 1_000;
const WARN_EVERY_MS = 10_000;
/** A loop whose puts resolve without real waiting must still let timers and I/O run. */
const YIELD_EVERY_MS = 20;

function isRetriable(error: unknown): boolean {
  return isHostflowError(error) && (error.retriable || error.code === "HF_CHANNEL_FULL");
}

/** Puts batches through the source's emit, in order, never losing one to a retriable error. */
export class BatchPutter {
  private lastYield = performance.now();
  private lastWarn = 0;

  constructor(
    private readonly name: string,
    private readonly ctx: ComponentContext,
    private readonly emit: Emit,
    private readonly signal: AbortSignal,
  ) {}

  /**
   * Resolves true once the batch is in; false when the source is stopping (the batch may or may
   * not have been put). Rejects with a non-retriable error, which ends the source.
   */
  async put(events: AgentEvent[]): Promise<boolean> {
    let wait = RETRY_FIRST_MS;
    for (;;) {
      if (this.signal.aborted) return false;
      try {
        await this.emit(events, this.signal);
        break;
      } catch (error) {
        if (this.signal.aborted) return false;
        if (!isRetriable(error)) throw error;
        this.ctx.metrics.count(this.name, "source", "retried");
        if (Date.now() - this.lastWarn > WARN_EVERY_MS) {
          this.lastWarn = Date.now();
          this.ctx.logger.warn(
            { source: this.name, batch: events.length },
            `put failed, retrying the same batch: ${describeError(error)}`,
          );
        }
        await pause(wait, this.signal);
        wait = Math.min(wait * 2, RETRY_MAX_MS);
      }
    }
    // The runtime's emit counts `emitted` (after interceptors); this is what the source made.
    this.ctx.metrics.count(this.name, "source", "generated", events.length);
    if (performance.now() - this.lastYield > YIELD_EVERY_MS) {
      await immediate();
      this.lastYield = performance.now();
    }
    return !this.signal.aborted;
  }
}

/** start() runs `run` until it returns, fails or stop() aborts it. */
export abstract class DrivenSource implements EventDrivenSource {
  readonly kind = "event-driven";
  abstract readonly type: string;
  private emit: Emit | undefined;
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private failure: string | undefined;
  private finished = false;

  constructor(
    readonly name: string,
    protected readonly ctx: ComponentContext,
  ) {}

  attach(emit: Emit): void {
    this.emit = emit;
  }

  async start(): Promise<void> {
    if (this.emit === undefined) {
      throw new HostflowError("HF_SOURCE_SAMPLE", `source ${this.name}: start() before attach()`);
    }
    if (this.loop !== undefined) return;
    const controller = new AbortController();
    this.controller = controller;
    const putter = new BatchPutter(this.name, this.ctx, this.emit, controller.signal);
    this.loop = this.run(putter, controller.signal).then(
      () => {
        this.finished = true;
      },
      (error: unknown) => {
        this.failure = describeError(error);
        this.ctx.logger.error({ source: this.name }, `source stopped: ${this.failure}`);
      },
    );
  }

  /** Ends the loop promptly: a pause ends at once, an in-flight put gets the aborted signal. */
  async stop(): Promise<void> {
    this.controller?.abort();
    await this.loop;
  }

  health(): Health {
    if (this.failure !== undefined) return { ok: false, detail: this.failure };
    return this.finished ? { ok: true, detail: "finished" } : { ok: true };
  }

  protected abstract run(putter: BatchPutter, signal: AbortSignal): Promise<void>;
}
