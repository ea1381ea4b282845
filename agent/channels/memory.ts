/**
 * The memory channel: Flume's MemoryChannel. Fast and light, and what it holds is lost when the
 * agent stops or dies; pick the file channel for samples that must survive that.
 */
import { randomBytes } from "node:crypto";
import type { MemoryChannelConfig } from "../config/schema.js";
import type { AgentEvent, Channel, ChannelEvent, ComponentContext } from "../core/types.js";
import { type QueueStore, TransactionalQueue } from "./queue.js";

export function createMemoryChannel(
  name: string,
  options: MemoryChannelConfig,
  ctx: ComponentContext,
): Channel {
  // New numbering at every start: the consumer sees a new stream, not a rewind (lib/wire.ts).
  const epoch = randomBytes(6).toString("hex");
  const store: QueueStore<ChannelEvent, readonly AgentEvent[]> = {
    prepare: (events) => ({ batch: events, bytes: 0 }),
    // A copy per event: the same AgentEvent may go to several channels, each with its own seq.
    commitPut: (events, firstSeq) =>
      events.map((e, i) => ({ headers: e.headers, body: e.body, seq: firstSeq + i })),
    materialize: (entries) => entries as ChannelEvent[],
    commitTake: () => undefined,
  };
  const queue = new TransactionalQueue(
    {
      name,
      capacity: options.capacity,
      transactionCapacity: options.transaction_capacity,
      whenFull: options.when_full,
    },
    store,
    ctx,
  );
  const log = ctx.logger.child({ channel: name });

  return {
    name,
    type: "memory",
    stream: `${name}@${epoch}`,
    start: async () => {
      log.debug({ stream: `${name}@${epoch}`, capacity: options.capacity }, "channel started");
    },
    stop: async () => {
      const { ready, inFlight } = await queue.close();
      const lost = ready.length + inFlight;
      ctx.metrics.count(name, "channel", "dropped", lost);
      queue.updateGauges();
      if (lost > 0) {
        log.warn(
          { dropped: lost, inTakes: inFlight },
          `memory channel ${name} stopped with ${lost} events in it; they are lost`,
        );
      }
    },
    health: () => ({
      ok: true,
      detail: `size ${queue.size()}/${options.capacity}, fill ${queue.fill().toFixed(2)}`,
    }),
    put: (events, signal) => queue.put(events, signal),
    take: (max, waitMs, signal) => queue.take(max, waitMs, signal),
    waitForEvents: (count, waitMs, signal) => queue.waitForEvents(count, waitMs, signal),
    size: () => queue.size(),
    fill: () => queue.fill(),
  };
}
