/** What the sink tests share: a component context with its own metrics, and sample events. */
import { pino } from "pino";
import type {
  FileRollSinkConfig,
  KafkaSinkConfig,
  LoggerSinkConfig,
  NullSinkConfig,
} from "../../../agent/config/schema.js";
import { AgentMetrics } from "../../../agent/core/metrics.js";
import type { Channel, ChannelEvent, ComponentContext } from "../../../agent/core/types.js";
import type { Sample } from "../../../lib/wire.js";

export function testContext(agentId = "agent-test"): ComponentContext {
  return { agentId, logger: pino({ level: "silent" }), metrics: new AgentMetrics() };
}

/** The value of hostflow_events_total for one component and outcome (0 when never counted). */
export async function eventCount(
  ctx: ComponentContext,
  component: string,
  outcome: string,
): Promise<number> {
  const { values } = await ctx.metrics.events.get();
  return (
    values.find((v) => v.labels.component === component && v.labels.outcome === outcome)?.value ?? 0
  );
}

export async function sinkErrorCount(
  ctx: ComponentContext,
  sink: string,
  code: string,
): Promise<number> {
  const { values } = await ctx.metrics.sinkErrors.get();
  return values.find((v) => v.labels.sink === sink && v.labels.code === code)?.value ?? 0;
}

/** Only `stream` is what sinks read of a channel. */
export function fakeChannel(stream = "main@1700000000000"): Channel {
  return { stream } as Channel;
}

export function sample(host: string, name = "cpu", timestamp = 1_700_000_000_000): Sample {
  return {
    name,
    tags: { host, cpu: "cpu-total" },
    fields: { usage_user: 12.5, usage_idle: 80 },
    timestamp,
  };
}

export function event(seq: number, host: string, name = "cpu"): ChannelEvent {
  return { seq, headers: { host, name }, body: sample(host, name, 1_700_000_000_000 + seq) };
}

const common = {
  channel: "main",
  batch_size: 500,
  linger: 50,
  retry: { initial: 100, max: 30_000, multiplier: 2, jitter: 0.2 },
};

export function kafkaOptions(overrides: Partial<KafkaSinkConfig> = {}): KafkaSinkConfig {
  return {
    type: "kafka",
    ...common,
    brokers: ["127.0.0.1:9092"],
    topic: "hostflow.metrics",
    key_header: "host",
    acks: "all",
    compression: "none",
    client_id: "hostflow-test",
    request_timeout: 30_000,
    connection_timeout: 10_000,
    ...overrides,
  };
}

export const loggerOptions: LoggerSinkConfig = { type: "logger", ...common };
export const nullOptions: NullSinkConfig = { type: "null", ...common };

export function fileRollOptions(
  dir: string,
  overrides: Partial<FileRollSinkConfig> = {},
): FileRollSinkConfig {
  return {
    type: "file_roll",
    ...common,
    dir,
    roll_interval: 3_600_000,
    roll_size: 64 * 1024 * 1024,
    ...overrides,
  };
}
