import test from "ava";
import { createMemoryChannel } from "../../../agent/channels/memory.js";
import { type ChannelEvent, SIMULATED_LOSS_HEADER } from "../../../agent/core/types.js";
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
