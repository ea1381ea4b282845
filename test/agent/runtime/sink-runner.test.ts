import test from "ava";
import { createMemoryChannel } from "../../../agent/channels/memory.js";
import {
  type Channel,
  type ChannelEvent,
  SIMULATED_LOSS_HEADER,
} from "../../../agent/core/types.js";
import { SinkRunner } from "../../../agent/runtime/sink-runner.js";
import { sample, testContext } from "../channels/helpers.js";

test("events marked as simulated loss are taken with their sequence numbers but never written, and counted as dropped", async (t) => {
  const ctx = testContext();
  const channel = createMemoryChannel(
    "events",
    { type: "memory", capacity: 100, transaction_capacity: 100, when_full: "block" },
    ctx,
  );
  await channel.start();
  const events = Array.from({ length: 10 }, (_, i) => sample(i));
  for (const i of [3, 4, 8]) {
    const e = events[i];
    if (e) e.headers = { ...e.headers, [SIMULATED_LOSS_HEADER]: "1" };
  }
  await channel.put(events);
  const written: ChannelEvent[] = [];
  const runner = new SinkRunner(
    channel,
    { name: "out", sinks: [], write: async (batch) => void written.push(...batch) },
    { batchSize: 100, lingerMs: 10, retry: { initial: 10, max: 100, multiplier: 2, jitter: 0 } },
    ctx.logger,
    ctx.metrics,
  );
  runner.start();
  await runner.stop(2_000);
  t.deepEqual(
    written.map((e) => e.seq),
    [0, 1, 2, 5, 6, 7, 9],
  );
  t.is(channel.size(), 0, "the dropped events left the channel too");
  t.is(await ctx.metrics.total("out", "dropped"), 3);
  t.is(await ctx.metrics.total("out", "committed"), 7);
});

/** The channel, with its takes' commits failing `failures` times (a full disk under a file channel). */
function failingCommits(channel: Channel, failures: number): Channel {
  let left = failures;
  return Object.assign(Object.create(channel) as Channel, {
    take: async (...args: Parameters<Channel["take"]>) => {
      const take = await channel.take(...args);
      return {
        ...take,
        commit: async () => {
          if (take.events.length > 0 && left > 0) {
            left -= 1;
            throw new Error("ENOSPC: no space left on device, write");
          }
          return take.commit();
        },
      };
    },
  });
}

async function runnerOn(channel: Channel, written: ChannelEvent[]) {
  const ctx = testContext();
  return new SinkRunner(
    channel,
    { name: "out", sinks: [], write: async (batch) => void written.push(...batch) },
    { batchSize: 100, lingerMs: 0, retry: { initial: 5, max: 20, multiplier: 2, jitter: 0 } },
    ctx.logger,
    ctx.metrics,
  );
}

async function memoryChannelWith(n: number) {
  const channel = createMemoryChannel(
    "events",
    { type: "memory", capacity: 100, transaction_capacity: 100, when_full: "block" },
    testContext(),
  );
  await channel.start();
  await channel.put(Array.from({ length: n }, (_, i) => sample(i)));
  return channel;
}

test("a take whose commit fails is committed again, not rolled back: the batch is written once", async (t) => {
  const channel = await memoryChannelWith(5);
  const written: ChannelEvent[] = [];
  const runner = await runnerOn(failingCommits(channel, 3), written);
  runner.start();
  await runner.stop(5_000);
  t.deepEqual(
    written.map((e) => e.seq),
    [0, 1, 2, 3, 4],
  );
  t.is(channel.size(), 0);
  t.true(runner.health().ok, "healthy again once the commit went through");
});

test("a commit that keeps failing until stop: the take rolls back and its events stay in the channel", async (t) => {
  const channel = await memoryChannelWith(5);
  const written: ChannelEvent[] = [];
  const runner = await runnerOn(failingCommits(channel, Number.POSITIVE_INFINITY), written);
  runner.start();
  await until(() => written.length === 5, "the batch was never written");
  await runner.stop(200);
  t.is(channel.size(), 5, "every event is still in the channel");
  t.regex(runner.health().ok ? "" : (runner.health() as { detail: string }).detail, /ENOSPC/);
});

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(what);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
