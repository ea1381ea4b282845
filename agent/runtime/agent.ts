import { describeError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { AgentConfig } from "../config/schema.js";
import { AgentMetrics } from "../core/metrics.js";
import type { Channel, ComponentContext, Health, Sink } from "../core/types.js";
import { build, buildInterceptor, type ComponentRegistry } from "../registry.js";
import { groupProcessor, type SinkProcessor, singleSink } from "./processor.js";
import { createSelector } from "./selector.js";
import { SinkRunner } from "./sink-runner.js";
import { createEmit, type SourceRunner, sourceRunner } from "./source-runner.js";

export interface AgentHealth {
  ok: boolean;
  components: Record<string, Health>;
}

/**
 * One agent: its channels, sinks (each drained by a runner, alone or in a group) and sources,
 * built from a validated config. Starts channels first and sources last; stops in reverse, so
 * that nothing is put into a channel that is already closed.
 */
export class Agent {
  readonly metrics: AgentMetrics;
  private readonly channels = new Map<string, Channel>();
  private readonly sinks = new Map<string, Sink>();
  private readonly runners: SinkRunner[] = [];
  private readonly sources: SourceRunner[] = [];
  private started = false;

  constructor(
    readonly config: AgentConfig,
    registry: ComponentRegistry,
    private readonly logger: Logger,
    metrics = new AgentMetrics(),
  ) {
    this.metrics = metrics;
    const agentId = config.agent.id ?? "unknown";
    const ctx = (component: string): ComponentContext => ({
      agentId,
      logger: logger.child({ component }),
      metrics,
    });

    for (const [name, channel] of Object.entries(config.channels)) {
      this.channels.set(name, build(registry.channels, name, channel, ctx(name)));
    }
    for (const [name, sink] of Object.entries(config.sinks)) {
      this.sinks.set(name, build(registry.sinks, name, sink, ctx(name)));
    }
    const grouped = new Set<string>();
    for (const [name, group] of Object.entries(config.sink_groups)) {
      const members = group.sinks.map((s) => this.sinks.get(s) as Sink);
      for (const s of group.sinks) grouped.add(s);
      const first = config.sinks[group.sinks[0] as string];
      if (first !== undefined)
        this.addRunner(groupProcessor(name, members, group.processor), first);
    }
    for (const [name, sink] of Object.entries(config.sinks)) {
      if (!grouped.has(name)) this.addRunner(singleSink(this.sinks.get(name) as Sink), sink);
    }
    for (const [name, source] of Object.entries(config.sources)) {
      const interceptors = source.interceptors.map((i, n) =>
        buildInterceptor(registry, i, ctx(`${name}.interceptors.${n}`)),
      );
      const emit = createEmit(
        name,
        interceptors,
        createSelector(source.channels, source.selector),
        this.channels,
        metrics,
      );
      const schedule =
        source.type === "sysinfo"
          ? { intervalMs: source.interval, jitterMs: source.jitter, cron: source.cron }
          : undefined;
      this.sources.push(
        sourceRunner(
          build(registry.sources, name, source, ctx(name)),
          emit,
          schedule,
          logger,
          metrics,
        ),
      );
    }
  }

  private addRunner(processor: SinkProcessor, sink: AgentConfig["sinks"][string]): void {
    const channel = this.channels.get(sink.channel) as Channel;
    this.runners.push(
      new SinkRunner(
        channel,
        processor,
        { batchSize: sink.batch_size, lingerMs: sink.linger, retry: sink.retry },
        this.logger.child({ component: processor.name }),
        this.metrics,
      ),
    );
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const channel of this.channels.values()) await channel.start();
    for (const sink of this.sinks.values()) await sink.start();
    for (const runner of this.runners) runner.start();
    for (const source of this.sources) await source.start();
    this.logger.info(
      {
        agent: this.config.agent.id,
        sources: this.sources.length,
        channels: this.channels.size,
        sinks: this.sinks.size,
      },
      "agent started",
    );
  }

  /**
   * Sources stop first; sinks then get until `shutdown_timeout` to write what the channels
   * hold; channels close last (a file channel keeps what was not written, for the next start).
   */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const step = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        this.logger.error(`stopping ${what} failed: ${describeError(error)}`);
      }
    };
    for (const source of this.sources) await step(source.source.name, () => source.stop());
    await Promise.all(
      this.runners.map((r) => step(r.name, () => r.stop(this.config.agent.shutdown_timeout))),
    );
    for (const sink of this.sinks.values()) await step(sink.name, () => sink.stop());
    for (const channel of this.channels.values()) {
      const left = channel.size();
      await step(channel.name, () => channel.stop());
      if (left > 0)
        this.logger.info({ channel: channel.name, events: left }, "events left in channel at stop");
    }
    this.logger.info("agent stopped");
  }

  health(): AgentHealth {
    const components: Record<string, Health> = {};
    for (const s of this.sources) components[`source.${s.source.name}`] = s.health();
    for (const c of this.channels.values()) components[`channel.${c.name}`] = c.health();
    for (const s of this.sinks.values()) components[`sink.${s.name}`] = s.health();
    for (const r of this.runners) components[`runner.${r.name}`] = r.health();
    return { ok: Object.values(components).every((h) => h.ok), components };
  }

  /** Channel sizes and fill into the metrics gauges (called before each /metrics scrape). */
  refreshGauges(): void {
    for (const channel of this.channels.values()) {
      this.metrics.channelSize.set({ channel: channel.name }, channel.size());
      this.metrics.channelFill.set({ channel: channel.name }, channel.fill());
    }
  }
}
