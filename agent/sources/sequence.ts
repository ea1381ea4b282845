/**
 * Flume's seq source: measurement `sequence`, field `value` = 0, 1, 2 …, tag `source` = the
 * source's name. For pipeline tests: a gap or a repeat downstream is a lost or duplicated event.
 */
import type { SequenceSourceConfig } from "../config/schema.js";
import type { AgentEvent, ComponentContext, EventDrivenSource } from "../core/types.js";
import { type BatchPutter, DrivenSource, Pacer, pacedBatchSize } from "./driven.js";

class SequenceSource extends DrivenSource {
  readonly type = "sequence";

  constructor(
    name: string,
    private readonly options: SequenceSourceConfig,
    ctx: ComponentContext,
  ) {
    super(name, ctx);
  }

  protected async run(putter: BatchPutter, signal: AbortSignal): Promise<void> {
    const { rate, total } = this.options;
    const batchSize = pacedBatchSize(this.options.batch_size, rate);
    const pacer = rate === undefined ? undefined : new Pacer(rate, Math.max(batchSize, rate / 20));
    const limit = total ?? Number.POSITIVE_INFINITY;
    let next = 0;
    while (next < limit && !signal.aborted) {
      const n = Math.min(batchSize, limit - next);
      await pacer?.take(n, signal);
      if (signal.aborted) break;
      const timestamp = Date.now();
      const events: AgentEvent[] = new Array(n);
      for (let i = 0; i < n; i++) {
        events[i] = {
          headers: { name: "sequence" },
          body: {
            name: "sequence",
            tags: { source: this.name },
            fields: { value: next + i },
            timestamp,
          },
        };
      }
      if (!(await putter.put(events))) break;
      next += n;
    }
  }
}

export function createSequenceSource(
  name: string,
  options: SequenceSourceConfig,
  ctx: ComponentContext,
): EventDrivenSource {
  return new SequenceSource(name, options, ctx);
}
