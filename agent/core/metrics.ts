import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The agent's self-monitoring, one registry per agent instance (no global state), served as
 * Prometheus text on /metrics.
 */
export class AgentMetrics {
  readonly registry = new Registry();

  /** Events per component and outcome: put, taken, dropped, failed, filtered, emitted, written. */
  readonly events = new Counter({
    name: "hostflow_events_total",
    help: "Events per component and outcome",
    labelNames: ["component", "kind", "outcome"] as const,
    registers: [this.registry],
  });

  readonly channelSize = new Gauge({
    name: "hostflow_channel_size",
    help: "Events in the channel (committed, not yet taken and committed)",
    labelNames: ["channel"] as const,
    registers: [this.registry],
  });

  readonly channelFill = new Gauge({
    name: "hostflow_channel_fill_ratio",
    help: "Channel size relative to its capacity, 0 to 1",
    labelNames: ["channel"] as const,
    registers: [this.registry],
  });

  readonly channelBytes = new Gauge({
    name: "hostflow_channel_bytes",
    help: "Bytes the channel uses on disk (file channel)",
    labelNames: ["channel"] as const,
    registers: [this.registry],
  });

  readonly sinkBatchSeconds = new Histogram({
    name: "hostflow_sink_batch_seconds",
    help: "Time from take to commit of a sink batch",
    labelNames: ["sink"] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });

  readonly sinkErrors = new Counter({
    name: "hostflow_sink_errors_total",
    help: "Failed sink writes by error code",
    labelNames: ["sink", "code"] as const,
    registers: [this.registry],
  });

  readonly sourceCycleSeconds = new Histogram({
    name: "hostflow_source_cycle_seconds",
    help: "Wall time of one pollable source cycle",
    labelNames: ["source"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registers: [this.registry],
  });

  /** hostflow_events_total summed over one component and outcome (all kinds). */
  async total(component: string, outcome: string): Promise<number> {
    const { values } = await this.events.get();
    return values
      .filter((v) => v.labels.component === component && v.labels.outcome === outcome)
      .reduce((sum, v) => sum + v.value, 0);
  }

  count(
    component: string,
    kind: "source" | "channel" | "sink" | "interceptor",
    outcome: string,
    n = 1,
  ): void {
    if (n > 0) this.events.inc({ component, kind, outcome }, n);
  }
}
