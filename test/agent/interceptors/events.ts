import type { AgentEvent } from "../../../agent/core/types.js";

export function sample(
  name: string,
  tags: Record<string, string> = {},
  headers: Record<string, string> = { name },
  timestamp = 1_700_000_000_000,
): AgentEvent {
  return { headers, body: { name, tags, fields: { value: 1 }, timestamp } };
}
