/**
 * Sets the `host` tag and the `host` header: the header is the default Kafka key, which keeps a
 * host's samples in one partition, in order.
 */
import { hostname } from "node:os";
import type { AgentEvent, ComponentContext, Interceptor } from "../core/types.js";
import type { InterceptorOptions } from "./options.js";

export function createHostInterceptor(
  options: InterceptorOptions<"host">,
  _ctx: ComponentContext,
): Interceptor {
  const host = options.hostname ?? hostname();
  const preserve = options.preserve_existing;
  return {
    type: "host",
    intercept(events: AgentEvent[]): AgentEvent[] {
      for (const event of events) {
        const tags = event.body.tags;
        // The header follows the tag, so key and tag never disagree.
        if (!preserve || tags.host === undefined) tags.host = host;
        event.headers.host = tags.host as string;
      }
      return events;
    },
  };
}
