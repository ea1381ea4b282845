/**
 * Micro-benchmark of the channels: put a batch of 500, take 500, commit, in a loop, through the
 * memory channel and the file channel (fsync every_commit); the median of 5 runs. Then the heap
 * an event costs while it waits in each channel.
 *
 *   npx tsx scripts/bench/channels.ts
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createFileChannel } from "../../agent/channels/file/index.js";
import { createMemoryChannel } from "../../agent/channels/memory.js";
import type { FileChannelConfig } from "../../agent/config/schema.js";
import { AgentMetrics } from "../../agent/core/metrics.js";
import type { AgentEvent, Channel } from "../../agent/core/types.js";
import { createLogger } from "../../lib/log.js";

const BATCH = 500;
const RUNS = 5;

// A Telegraf-shaped cpu sample, values varying like real ones.
function sample(i: number): AgentEvent {
  const f = () => Math.round(Math.random() * 10_000) / 100;
  return {
    headers: { host: "web-042.example.net", name: "cpu" },
    body: {
      name: "cpu",
      tags: { host: "web-042.example.net", cpu: "cpu-total" },
      fields: {
        usage_user: f(),
        usage_system: f(),
        usage_idle: f(),
        usage_iowait: f(),
        usage_irq: 0,
        usage_softirq: f(),
        usage_steal: 0,
        usage_nice: 0,
        usage_guest: 0,
        usage_guest_nice: 0,
      },
      timestamp: 1_700_000_000_000 + i * 10_000,
    },
  };
}

const context = () => ({
  agentId: "bench",
  logger: createLogger("bench", "warn"),
  metrics: new AgentMetrics(),
});

function fileOptions(dir: string): FileChannelConfig {
  return {
    type: "file",
    dir,
    max_bytes: 1024 * 1024 * 1024,
    capacity: 1_000_000,
    transaction_capacity: 1000,
    when_full: "block",
    segment_bytes: 16 * 1024 * 1024,
    fsync: "every_commit",
    fsync_interval: 1000,
    checkpoint_interval: 30_000,
  };
}

async function withChannel<T>(
  kind: "memory" | "file",
  fn: (channel: Channel) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "hostflow-bench-"));
  const channel =
    kind === "memory"
      ? createMemoryChannel(
          "bench",
          { type: "memory", capacity: 1_000_000, transaction_capacity: 1000, when_full: "block" },
          context(),
        )
      : createFileChannel("bench", fileOptions(dir), context());
  await channel.start();
  try {
    return await fn(channel);
  } finally {
    await channel.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Events per second through put(500) + take(500) + commit. */
async function throughput(kind: "memory" | "file", events: number): Promise<number> {
  const batches = Array.from({ length: 8 }, (_, b) =>
    Array.from({ length: BATCH }, (_, i) => sample(b * BATCH + i)),
  );
  return withChannel(kind, async (channel) => {
    const started = process.hrtime.bigint();
    for (let done = 0; done < events; done += BATCH) {
      await channel.put(batches[(done / BATCH) % batches.length] as AgentEvent[]);
      const take = await channel.take(BATCH, 0);
      await take.commit();
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return events / seconds;
  });
}

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
/** The heap and the Buffers outside it (the file channel keeps its events' bytes there). */
function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Memory an event holds while waiting in the channel (the event objects included). */
async function bytesPerEvent(kind: "memory" | "file", events: number): Promise<number> {
  return withChannel(kind, async (channel) => {
    const before = heapUsed();
    for (let done = 0; done < events; done += BATCH) {
      await channel.put(Array.from({ length: BATCH }, (_, i) => sample(done + i)));
    }
    const after = heapUsed();
    return (after - before) / events;
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const rows: string[][] = [];
for (const [kind, events] of [
  ["memory", 500_000],
  ["file", 200_000],
] as const) {
  await throughput(kind, events / 10); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) runs.push(await throughput(kind, events));
  const bytes = await bytesPerEvent(kind, 200_000);
  rows.push([
    kind === "file" ? "file (fsync every_commit)" : "memory",
    Math.round(median(runs)).toLocaleString("en-US"),
    `${Math.round(Math.min(...runs)).toLocaleString("en-US")} … ${Math.round(Math.max(...runs)).toLocaleString("en-US")}`,
    Math.round(bytes).toString(),
  ]);
}

const header = ["channel", "events/s (median of 5)", "min … max", "heap + buffer bytes/event"];
const widths = header.map((h, i) =>
  Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
);
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join("  ");
console.log(`put(${BATCH}) + take(${BATCH}) + commit, Node ${process.version}`);
console.log(line(header));
console.log(line(widths.map((w) => "-".repeat(w))));
for (const row of rows) console.log(line(row));
