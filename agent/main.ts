import type { Server } from "node:http";
import { formatIssue } from "../lib/config/issues.js";
import { createLogger, type Logger } from "../lib/log.js";
import { sleep } from "../lib/timeout.js";
import { defaultRegistry } from "./components.js";
import {
  type LoadedAgentConfig,
  loadAgentConfig,
  type ResolvedAgentConfig,
} from "./config/load.js";
import { AgentMetrics } from "./core/metrics.js";
import type { ComponentContext } from "./core/types.js";
import { build, buildInterceptor, type ComponentRegistry } from "./registry.js";
import { Agent } from "./runtime/agent.js";
import { serveMonitoring } from "./runtime/http.js";
import { createLoggerSink } from "./sinks/logger.js";
import { createRecordBuilder, DEFAULT_ROUTING, recordLine } from "./sinks/record.js";

export interface RunOptions {
  config: string;
  /** Overrides agent.id. */
  name?: string | undefined;
  dryRun?: boolean;
  once?: boolean;
}

/** Loads the config and prints its warnings on stderr (they do not stop the agent). */
export function loadForRun(file: string, name?: string): LoadedAgentConfig {
  const loaded = loadAgentConfig(file);
  for (const warning of loaded.warnings) console.error(formatIssue(warning));
  if (name === undefined) return loaded;
  return { ...loaded, config: { ...loaded.config, agent: { ...loaded.config.agent, id: name } } };
}

/**
 * `run --dry-run`: the same sources, interceptors and selectors, but memory channels and
 * logger sinks — nothing is written to disk or Kafka, and the lines show the records (topic,
 * key, headers, value) each Kafka sink would have produced.
 */
export function dryRun(config: ResolvedAgentConfig): {
  config: ResolvedAgentConfig;
  registry: ComponentRegistry;
} {
  const registry = defaultRegistry();
  const routing = new Map<string, { topic: string; key_header: string }>();
  const sinks: ResolvedAgentConfig["sinks"] = {};
  for (const [name, sink] of Object.entries(config.sinks)) {
    if (sink.type === "kafka")
      routing.set(name, { topic: sink.topic, key_header: sink.key_header });
    sinks[name] = {
      type: "logger",
      channel: sink.channel,
      batch_size: sink.batch_size,
      linger: sink.linger,
      retry: sink.retry,
    };
  }
  const channels: ResolvedAgentConfig["channels"] = {};
  for (const [name, channel] of Object.entries(config.channels)) {
    channels[name] =
      channel.type === "memory"
        ? channel
        : {
            type: "memory",
            capacity: 10_000,
            transaction_capacity: channel.transaction_capacity,
            when_full: channel.when_full,
          };
  }
  registry.sinks.logger = (name, options, ctx) => {
    const route = routing.get(name);
    return createLoggerSink(name, options, ctx, route === undefined ? {} : { routing: route });
  };
  return { config: { ...config, channels, sinks }, registry };
}

/**
 * `run --once`: one cycle of each polled source (sysinfo) through its interceptors, printed as
 * the JSON lines the logger sink writes; no channel, no sink. Sources that push by themselves
 * (synthetic, sequence) are left out.
 */
export async function runOnce(config: ResolvedAgentConfig, logger: Logger): Promise<number> {
  const registry = defaultRegistry();
  const metrics = new AgentMetrics();
  const ctx = (component: string): ComponentContext => ({
    agentId: config.agent.id,
    logger: logger.child({ component }),
    metrics,
  });
  // The records the first kafka sink would produce (its topic pattern and key), else the defaults.
  const kafka = Object.values(config.sinks).find((s) => s.type === "kafka");
  const toRecords = createRecordBuilder("once", kafka ?? DEFAULT_ROUTING, ctx("once"));
  let printed = 0;
  for (const [name, options] of Object.entries(config.sources)) {
    const source = build(registry.sources, name, options, ctx(name));
    if (source.kind !== "pollable") {
      console.error(`--once: source ${name} (${options.type}) pushes events by itself; left out`);
      continue;
    }
    await source.start();
    try {
      // cpu usage is a difference of two readings: give it a second, as `vmstat 1` does.
      await sleep(1_000);
      let events = await source.poll();
      for (const [n, interceptor] of options.interceptors.entries()) {
        events = buildInterceptor(
          registry,
          interceptor,
          ctx(`${name}.interceptors.${n}`),
        ).intercept(events);
      }
      const records = toRecords(
        events.map((event, seq) => ({ ...event, seq })),
        { stream: `${name}@once` },
      );
      process.stdout.write(records.map(recordLine).join(""));
      printed += events.length;
    } finally {
      await source.stop();
    }
  }
  return printed;
}

/** `run`: starts the agent and serves /metrics and /health; SIGTERM or SIGINT stops it cleanly. */
export async function runAgent(options: RunOptions): Promise<void> {
  const loaded = loadForRun(options.config, options.name);
  const logger = createLogger("hostflow-agent", loaded.config.agent.log_level);
  if (options.once) {
    await runOnce(loaded.config, logger);
    return;
  }
  const { config, registry } = options.dryRun
    ? dryRun(loaded.config)
    : { config: loaded.config, registry: defaultRegistry() };
  const agent = new Agent(config, registry, logger);
  let server: Server | undefined;
  const stopped = new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  await agent.start();
  if (config.agent.http) {
    server = await serveMonitoring(agent, config.agent.http.listen);
    logger.info({ listen: config.agent.http.listen }, "serving /metrics and /health");
  }
  const signal = await stopped;
  logger.info({ signal }, "stopping (a second signal exits at once)");
  const force = () => process.exit(1);
  process.once("SIGTERM", force);
  process.once("SIGINT", force);
  server?.close();
  await agent.stop();
}
