/** Keeps or drops events by measurement name (globs); the dropped are counted as `filtered`. */
import { compileIncludeExclude } from "../../lib/glob.js";
import type { AgentEvent, ComponentContext, Interceptor } from "../core/types.js";
import type { InterceptorOptions } from "./options.js";

const MAX_VERDICTS = 1024;

/**
 * `label` names the interceptor in metrics. The factory contract passes no name, so by default
 * it is the `component` the runtime binds into the context's logger (`<source>.interceptors.<n>`).
 */
export function createFilterInterceptor(
  options: InterceptorOptions<"filter">,
  ctx: ComponentContext,
  label: string = componentLabel(ctx),
): Interceptor {
  const matches = compileIncludeExclude(options);
  // Few distinct measurement names go through a filter: remember each verdict (bounded, in
  // case a source makes up names).
  const verdicts = new Map<string, boolean>();
  const keep = (name: string) => {
    let verdict = verdicts.get(name);
    if (verdict === undefined) {
      verdict = matches(name);
      if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
      verdicts.set(name, verdict);
    }
    return verdict;
  };
  return {
    type: "filter",
    intercept(events: AgentEvent[]): AgentEvent[] {
      const kept = events.filter((event) => keep(event.body.name));
      ctx.metrics.count(label, "interceptor", "filtered", events.length - kept.length);
      return kept;
    },
  };
}

function componentLabel(ctx: ComponentContext): string {
  const component: unknown = ctx.logger.bindings().component;
  return typeof component === "string" ? component : "filter";
}
