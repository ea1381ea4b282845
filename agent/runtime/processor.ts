import { HostflowError, isHostflowError } from "../../lib/errors.js";
import type { SinkGroupConfig } from "../config/schema.js";
import type { Channel, ChannelEvent, Sink } from "../core/types.js";

/**
 * Hands a batch to a sink, or to one of a sink group's sinks (Flume's sink processors). Throws
 * when no sink took the batch; the error is retriable when any sink's error was.
 */
export interface SinkProcessor {
  readonly name: string;
  readonly sinks: readonly Sink[];
  write(events: readonly ChannelEvent[], channel: Channel): Promise<void>;
}

export function singleSink(sink: Sink): SinkProcessor {
  return {
    name: sink.name,
    sinks: [sink],
    write: (events, channel) => sink.write(events, channel),
  };
}

/** A sink that failed is set aside for 1 s, 2 s, 4 s … up to max_penalty. */
class Penalties {
  private readonly state = new Map<string, { until: number; failures: number }>();

  constructor(
    private readonly maxPenaltyMs: number,
    private readonly now: () => number,
  ) {}

  available(sink: Sink): boolean {
    return (this.state.get(sink.name)?.until ?? 0) <= this.now();
  }

  until(sink: Sink): number {
    return this.state.get(sink.name)?.until ?? 0;
  }

  fail(sink: Sink): void {
    const failures = (this.state.get(sink.name)?.failures ?? 0) + 1;
    const penalty = Math.min(this.maxPenaltyMs, 1000 * 2 ** (failures - 1));
    this.state.set(sink.name, { until: this.now() + penalty, failures });
  }

  succeed(sink: Sink): void {
    this.state.delete(sink.name);
  }
}

export function groupProcessor(
  name: string,
  sinks: readonly Sink[],
  config: SinkGroupConfig["processor"],
  random: () => number = Math.random,
  now: () => number = Date.now,
): SinkProcessor {
  const penalties = new Penalties(config.max_penalty, now);
  let next = 0;

  const order = (): Sink[] => {
    if (config.type === "failover") {
      const priority = (s: Sink) => config.priorities[s.name] ?? -sinks.indexOf(s);
      return [...sinks].sort((a, b) => priority(b) - priority(a));
    }
    if (config.selector === "random") {
      return [...sinks]
        .map((s) => ({ s, k: random() }))
        .sort((a, b) => a.k - b.k)
        .map(({ s }) => s);
    }
    const start = next++ % sinks.length;
    return [...sinks.slice(start), ...sinks.slice(0, start)];
  };
  const useBackoff = config.type === "failover" || config.backoff;

  return {
    name,
    sinks,
    async write(events, channel) {
      const ordered = order();
      // Sinks set aside are skipped while others are available; when all are, the one whose
      // penalty ends first is tried anyway, so that the group never stops trying.
      let candidates = useBackoff ? ordered.filter((s) => penalties.available(s)) : ordered;
      if (candidates.length === 0) {
        candidates = [ordered.reduce((a, b) => (penalties.until(a) <= penalties.until(b) ? a : b))];
      }
      const errors: unknown[] = [];
      for (const sink of candidates) {
        try {
          await sink.write(events, channel);
          penalties.succeed(sink);
          return;
        } catch (error) {
          errors.push(error);
          penalties.fail(sink);
        }
      }
      const retriable = errors.some((e) => isHostflowError(e) && e.retriable);
      const reasons = errors.map((e) => (e instanceof Error ? e.message : String(e))).join("; ");
      throw new HostflowError(
        "HF_SINK_WRITE",
        `no sink of group ${name} took the batch: ${reasons}`,
        {
          cause: errors[errors.length - 1],
          retriable,
          context: { group: name },
        },
      );
    },
  };
}
