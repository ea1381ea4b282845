import { Backoff, pause } from "../../lib/backoff.js";
import { describeError, isHostflowError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { AgentMetrics } from "../core/metrics.js";
import {
  type Channel,
  type ChannelEvent,
  type Health,
  SIMULATED_LOSS_HEADER,
} from "../core/types.js";
import type { SinkProcessor } from "./processor.js";

export interface SinkRunnerOptions {
  batchSize: number;
  lingerMs: number;
  retry: { initial: number; max: number; multiplier: number; jitter: number };
}

/**
 * Drains one channel into a sink or sink group: take a batch, write it, commit the take only
 * once the write succeeded, roll it back otherwise and retry after a growing pause. A batch is
 * never dropped here — not even after a non-retriable error, which is logged as such and keeps
 * being retried at the slowest pace (a config fix and restart then delivers it).
 */
export class SinkRunner {
  private readonly stopping = new AbortController();
  private readonly draining = new AbortController();
  private loop: Promise<void> | undefined;
  private lastError: string | undefined;
  private lastLog = 0;

  constructor(
    private readonly channel: Channel,
    private readonly processor: SinkProcessor,
    private readonly options: SinkRunnerOptions,
    private readonly logger: Logger,
    private readonly metrics: AgentMetrics,
  ) {}

  get name(): string {
    return this.processor.name;
  }

  start(): void {
    this.loop ??= this.run();
  }

  health(): Health {
    return this.lastError === undefined ? { ok: true } : { ok: false, detail: this.lastError };
  }

  /**
   * Stops taking new batches once the channel is empty or `deadlineMs` from now has passed
   * (what is left stays in a file channel; a memory channel's rest is lost and logged).
   */
  async stop(deadlineMs: number): Promise<void> {
    this.draining.abort();
    const timer = setTimeout(() => this.stopping.abort(), deadlineMs);
    try {
      await this.loop;
    } finally {
      clearTimeout(timer);
    }
  }

  private async run(): Promise<void> {
    const { retry } = this.options;
    const backoff = new Backoff({
      initialMs: retry.initial,
      maxMs: retry.max,
      multiplier: retry.multiplier,
      jitter: retry.jitter,
    });
    const signal = this.stopping.signal;
    const { batchSize, lingerMs } = this.options;
    // Waiting for events ends on stop() too, so that a drain starts at once.
    const idle = AbortSignal.any([signal, this.draining.signal]);
    while (!signal.aborted) {
      if (this.draining.signal.aborted && this.channel.size() === 0) break;
      let take: Awaited<ReturnType<Channel["take"]>>;
      try {
        // Nothing is due while the channel is empty: wait for an event without any timer, then
        // give the batch up to `linger` to fill (one timer per batch, none when it is full).
        await this.channel.waitForEvents(1, Number.POSITIVE_INFINITY, idle);
        if (lingerMs > 0) await this.channel.waitForEvents(batchSize, lingerMs, idle);
        take = await this.channel.take(batchSize, 0, signal);
      } catch (error) {
        if (signal.aborted) break;
        this.report(error);
        await pause(backoff.next(), signal);
        continue;
      }
      if (take.events.length === 0) {
        if (!(await this.commit(take, backoff, signal))) break;
        // Draining while every event left is in another runner's take: look again shortly.
        if (this.draining.signal.aborted) await pause(Math.max(lingerMs, 10), signal);
        continue;
      }
      const started = performance.now();
      const events = withoutSimulatedLoss(take.events);
      try {
        if (events.length > 0) await this.processor.write(events, this.channel);
      } catch (error) {
        await take.rollback();
        this.metrics.sinkErrors.inc({
          sink: this.name,
          code: isHostflowError(error) ? error.code : "unknown",
        });
        this.report(error);
        const retriable = isHostflowError(error) && error.retriable;
        await pause(retriable ? backoff.next() : retry.max, signal);
        continue;
      }
      if (!(await this.commit(take, backoff, signal))) break;
      this.metrics.sinkBatchSeconds.observe(
        { sink: this.name },
        (performance.now() - started) / 1000,
      );
      this.metrics.count(this.name, "sink", "committed", events.length);
      if (events.length < take.events.length) {
        this.metrics.count(this.name, "sink", "dropped", take.events.length - events.length);
      }
      if (backoff.failures > 0) {
        this.logger.info(
          { sink: this.name, failures: backoff.failures },
          "sink recovered; writing again",
        );
      }
      backoff.reset();
      this.lastError = undefined;
    }
  }

  /**
   * Commits a take whose batch the sink has: a commit that fails (a file channel that cannot
   * write its TAKE record: a full disk) is tried again, since a rollback would send the batch
   * twice. Only a stop gives up: the take rolls back and its events stay in the channel (sent
   * again after a restart: at least once). False then.
   */
  private async commit(
    take: Awaited<ReturnType<Channel["take"]>>,
    backoff: Backoff,
    signal: AbortSignal,
  ): Promise<boolean> {
    for (;;) {
      try {
        await take.commit();
        return true;
      } catch (error) {
        this.report(error, "committing the take failed, batch delivered and kept in the channel");
        await pause(backoff.next(), signal);
        if (signal.aborted) {
          await take.rollback().catch(() => undefined);
          return false;
        }
      }
    }
  }

  /** At most one log line per 5 s while failing; the metrics count every failure. */
  private report(error: unknown, what = "sink write failed, batch kept in the channel"): void {
    this.lastError = describeError(error);
    const now = Date.now();
    if (now - this.lastLog < 5_000) return;
    this.lastLog = now;
    const retriable = isHostflowError(error) && error.retriable;
    this.logger[retriable ? "warn" : "error"](
      { sink: this.name, channel: this.channel.name, retriable, backlog: this.channel.size() },
      `${what}: ${this.lastError}`,
    );
  }
}

/** The events a simulated network would deliver (see SIMULATED_LOSS_HEADER). */
function withoutSimulatedLoss(events: readonly ChannelEvent[]): readonly ChannelEvent[] {
  if (!events.some((e) => e.headers[SIMULATED_LOSS_HEADER] === "1")) return events;
  return events.filter((e) => e.headers[SIMULATED_LOSS_HEADER] !== "1");
}
