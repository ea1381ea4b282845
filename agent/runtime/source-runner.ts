import type { ScheduledTask } from "node-cron";
import { describeError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { AgentMetrics } from "../core/metrics.js";
import type {
  AgentEvent,
  Channel,
  Emit,
  Health,
  Interceptor,
  PollableSource,
  Source,
} from "../core/types.js";
import type { Select } from "./selector.js";

/**
 * A source's way into its channels: interceptors in order, then the selector, then one put
 * transaction per channel. A put that waits on a full channel (when_full: block) holds the
 * source back: that is the back-pressure.
 */
export function createEmit(
  source: string,
  interceptors: readonly Interceptor[],
  select: Select,
  channels: ReadonlyMap<string, Channel>,
  metrics: AgentMetrics,
): Emit {
  return async (events: AgentEvent[], signal?: AbortSignal) => {
    let kept = events;
    for (const interceptor of interceptors) kept = interceptor.intercept(kept);
    const { routed, unrouted } = select(kept);
    metrics.count(source, "source", "unrouted", unrouted);
    await Promise.all(
      [...routed].map(([name, batch]) => (channels.get(name) as Channel).put(batch, signal)),
    );
    metrics.count(source, "source", "emitted", kept.length);
  };
}

export interface ScheduleOptions {
  intervalMs: number;
  jitterMs: number;
  cron?: string | undefined;
}

/**
 * Polls a pollable source on its schedule. A cycle still running when the next is due (a slow
 * poll, or a put blocked on a full channel) makes that next one skip, counted as `skipped`.
 */
export class PollingRunner {
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private task: ScheduledTask | undefined;
  private running: Promise<void> | undefined;
  private lastError: string | undefined;
  private lastLog = 0;

  constructor(
    private readonly source: PollableSource,
    private readonly emit: Emit,
    private readonly schedule: ScheduleOptions,
    private readonly logger: Logger,
    private readonly metrics: AgentMetrics,
  ) {}

  async start(): Promise<void> {
    if (this.schedule.cron !== undefined) {
      // Loaded only for a cron schedule: node-cron (and the child_process it imports) is ~10 ms
      // of every start otherwise.
      const { schedule: cronSchedule } = await import("node-cron");
      this.task = cronSchedule(this.schedule.cron, () => this.tick(), {
        name: this.source.name,
        noOverlap: false,
      });
      return;
    }
    // Drift-free: cycles are due at start + k × interval, each after the first delayed by its
    // own jitter. The first runs at once: a restarted agent reports without waiting, and a
    // fleet's later cycles are still spread.
    let due = Date.now();
    let first = true;
    const plan = () => {
      const jitter = first ? 0 : Math.random() * this.schedule.jitterMs;
      first = false;
      const delay = Math.max(0, due - Date.now()) + jitter;
      this.timer = setTimeout(() => {
        due += this.schedule.intervalMs;
        this.tick();
        if (!this.stopping.signal.aborted) plan();
      }, delay);
    };
    plan();
  }

  health(): Health {
    return this.lastError === undefined ? { ok: true } : { ok: false, detail: this.lastError };
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.task?.destroy();
    await this.running;
  }

  private tick(): void {
    if (this.running !== undefined) {
      this.metrics.count(this.source.name, "source", "skipped");
      return;
    }
    this.running = this.cycle().finally(() => {
      this.running = undefined;
    });
  }

  private async cycle(): Promise<void> {
    const started = performance.now();
    try {
      const events = await this.source.poll();
      await this.emit(events, this.stopping.signal);
      this.lastError = undefined;
    } catch (error) {
      if (this.stopping.signal.aborted) return;
      this.lastError = describeError(error);
      this.metrics.count(this.source.name, "source", "failed");
      if (Date.now() - this.lastLog > 5_000) {
        this.lastLog = Date.now();
        this.logger.warn({ source: this.source.name }, `sample cycle failed: ${this.lastError}`);
      }
    } finally {
      this.metrics.sourceCycleSeconds.observe(
        { source: this.source.name },
        (performance.now() - started) / 1000,
      );
    }
  }
}

/** The same `stop()` for both kinds of source runner. */
export interface SourceRunner {
  readonly source: Source;
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): Health;
}

export function sourceRunner(
  source: Source,
  emit: Emit,
  schedule: ScheduleOptions | undefined,
  logger: Logger,
  metrics: AgentMetrics,
): SourceRunner {
  if (source.kind === "event-driven") {
    source.attach(emit);
    return {
      source,
      start: () => source.start(),
      stop: () => source.stop(),
      health: () => source.health(),
    };
  }
  const runner = new PollingRunner(
    source,
    emit,
    schedule ?? { intervalMs: 10_000, jitterMs: 0 },
    logger,
    metrics,
  );
  return {
    source,
    start: async () => {
      await source.start();
      await runner.start();
    },
    stop: async () => {
      await runner.stop();
      await source.stop();
    },
    health: () => {
      const own = source.health();
      return own.ok ? runner.health() : own;
    },
  };
}
