import { AgentMetrics } from "../../../agent/core/metrics.js";
import type { AgentEvent, ComponentContext, Emit } from "../../../agent/core/types.js";
import { createLogger } from "../../../lib/log.js";

/** A component context with a silent logger and its own metrics registry. */
export function testContext(component = "test"): ComponentContext {
  return {
    agentId: "test-agent",
    logger: createLogger("test", "silent").child({ component }),
    metrics: new AgentMetrics(),
  };
}

/** hostflow_events_total for one component and outcome. */
export function counted(
  ctx: ComponentContext,
  component: string,
  outcome: string,
): Promise<number> {
  return ctx.metrics.total(component, outcome);
}

/** An emit that keeps every batch; `done` resolves once `expected` events arrived. */
export function collector(expected = Number.POSITIVE_INFINITY) {
  const batches: AgentEvent[][] = [];
  const events: AgentEvent[] = [];
  let resolve: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  const emit: Emit = async (batch) => {
    batches.push(batch);
    events.push(...batch);
    if (events.length >= expected) resolve();
  };
  return { emit, batches, events, done };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
