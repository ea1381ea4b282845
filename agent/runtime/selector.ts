import type { SelectorConfig } from "../config/schema.js";
import type { AgentEvent } from "../core/types.js";

/** Splits a source's events over its channels, as its selector says (Flume's channel selectors). */
export type Select = (events: AgentEvent[]) => {
  routed: Map<string, AgentEvent[]>;
  unrouted: number;
};

export function createSelector(
  channels: readonly string[],
  config: SelectorConfig | undefined,
): Select {
  if (config === undefined || config.type === "replicating") {
    return (events) => ({ routed: new Map(channels.map((c) => [c, events])), unrouted: 0 });
  }
  const { header, mapping } = config;
  const fallback = config.default ?? [];
  return (events) => {
    const routed = new Map<string, AgentEvent[]>();
    let unrouted = 0;
    for (const event of events) {
      const value = event.headers[header];
      const targets = (value !== undefined ? mapping[value] : undefined) ?? fallback;
      if (targets.length === 0) unrouted++;
      for (const channel of targets) {
        const list = routed.get(channel);
        if (list === undefined) routed.set(channel, [event]);
        else list.push(event);
      }
    }
    return { routed, unrouted };
  };
}
