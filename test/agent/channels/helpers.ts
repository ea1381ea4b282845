import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { FileChannelConfig, MemoryChannelConfig } from "../../../agent/config/schema.js";
import { AgentMetrics } from "../../../agent/core/metrics.js";
import type { AgentEvent, ComponentContext } from "../../../agent/core/types.js";
import { createLogger } from "../../../lib/log.js";

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/**
 * A context whose logger keeps its lines (warn and up) for the test to look at; `repeated`
 * holds the raw lines that name a key twice in one object (JSON.parse would keep the last).
 */
export function testContext(
  capture = false,
): ComponentContext & { lines: LogLine[]; repeated: string[] } {
  const lines: LogLine[] = [];
  const repeated: string[] = [];
  const logger = capture
    ? pino(
        { level: "warn" },
        {
          write: (line: string) => {
            if (repeatsAKey(line)) repeated.push(line);
            lines.push(JSON.parse(line) as LogLine);
          },
        },
      )
    : createLogger("test", "silent");
  return { agentId: "test", logger, metrics: new AgentMetrics(), lines, repeated };
}

/** JSON is YAML, and the YAML parser refuses a key twice in one map (at any depth). */
function repeatsAKey(line: string): boolean {
  try {
    parseYaml(line);
    return false;
  } catch (error) {
    if (error instanceof YAMLParseError && error.code === "DUPLICATE_KEY") return true;
    throw error;
  }
}

export const WARN = 40;
export const ERROR = 50;

/** hostflow_events_total for one channel and outcome. */
export function counted(ctx: ComponentContext, channel: string, outcome: string): Promise<number> {
  return ctx.metrics.total(channel, outcome);
}

export function sample(i: number): AgentEvent {
  return {
    headers: { host: "web-1", name: "cpu" },
    body: {
      name: "cpu",
      tags: { host: "web-1", cpu: "cpu-total" },
      fields: { usage_user: 12.5, usage_system: 3.25, usage_idle: 84.25, i },
      timestamp: 1_700_000_000_000 + i,
    },
  };
}

export function samples(from: number, n: number): AgentEvent[] {
  return Array.from({ length: n }, (_, k) => sample(from + k));
}

export function memoryOptions(over: Partial<MemoryChannelConfig> = {}): MemoryChannelConfig {
  return { type: "memory", capacity: 100, transaction_capacity: 50, when_full: "block", ...over };
}

export function fileOptions(dir: string, over: Partial<FileChannelConfig> = {}): FileChannelConfig {
  return {
    type: "file",
    dir,
    max_bytes: 64 * 1024 * 1024,
    capacity: 100_000,
    transaction_capacity: 1000,
    when_full: "block",
    segment_bytes: 1024 * 1024,
    fsync: "every_commit",
    fsync_interval: 1000,
    checkpoint_interval: 30_000,
    ...over,
  };
}

export async function tempDir(
  prefix: string,
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `hostflow-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Bytes of the channel's files that max_bytes counts: segments and checkpoint. */
export async function diskUse(dir: string): Promise<number> {
  let sum = 0;
  for (const name of await readdir(dir)) {
    if (/^log-\d+\.wal$/.test(name) || name === "checkpoint")
      sum += (await stat(join(dir, name))).size;
  }
  return sum;
}

export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((n) => /^log-\d+\.wal$/.test(n))
    .sort((a, b) => Number(a.slice(4, -4)) - Number(b.slice(4, -4)));
}
