/** Adds fixed tags to every sample and fixed headers to every event (for selectors and topics). */
import type { AgentEvent, ComponentContext, Interceptor } from "../core/types.js";
import type { InterceptorOptions } from "./options.js";

export function createStaticInterceptor(
  options: InterceptorOptions<"static">,
  _ctx: ComponentContext,
): Interceptor {
  const tags = Object.entries(options.tags);
  const headers = Object.entries(options.headers);
  const preserve = options.preserve_existing;
  const add = (target: Record<string, string>, entries: [string, string][]) => {
    for (const [key, value] of entries) {
      if (!preserve || target[key] === undefined) target[key] = value;
    }
  };
  return {
    type: "static",
    intercept(events: AgentEvent[]): AgentEvent[] {
      for (const event of events) {
        add(event.body.tags, tags);
        add(event.headers, headers);
      }
      return events;
    },
  };
}
