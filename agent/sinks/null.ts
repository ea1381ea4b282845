import type { NullSinkConfig } from "../config/schema.js";
import type { ComponentContext, Sink } from "../core/types.js";

/** Flume's null sink: discards every batch (the runner commits it) and counts it as written. */
export function createNullSink(
  name: string,
  _options: NullSinkConfig,
  ctx: ComponentContext,
): Sink {
  return {
    name,
    type: "null",
    async start() {},
    async stop() {},
    health: () => ({ ok: true }),
    async write(events) {
      ctx.metrics.count(name, "sink", "written", events.length);
    },
  };
}
