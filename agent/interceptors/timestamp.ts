/**
 * Sets the sample timestamp to the time of interception, for samples whose source time is not
 * wanted (or, with preserve_existing, missing).
 */
import type { AgentEvent, ComponentContext, Interceptor } from "../core/types.js";
import type { InterceptorOptions } from "./options.js";

export function createTimestampInterceptor(
  options: InterceptorOptions<"timestamp">,
  _ctx: ComponentContext,
): Interceptor {
  const preserve = options.preserve_existing;
  return {
    type: "timestamp",
    intercept(events: AgentEvent[]): AgentEvent[] {
      // One reading for the batch: its events were intercepted together.
      const now = Date.now();
      for (const event of events) {
        const current = event.body.timestamp;
        if (!preserve || !(Number.isFinite(current) && current > 0)) event.body.timestamp = now;
      }
      return events;
    },
  };
}
