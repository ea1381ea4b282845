/**
 * The agent's component model, after Flume: sources put events through interceptors and a
 * selector into channels, in put transactions; sink runners take batches from a channel in take
 * transactions, hand them to a sink, and commit only once the sink's write succeeded.
 */
import type { Logger } from "../../lib/log.js";
import type { Sample } from "../../lib/wire.js";
import type { AgentMetrics } from "./metrics.js";

/** Flume's event: string headers (for routing: selector, topic patterns, key) and a body. */
export interface AgentEvent {
  headers: Record<string, string>;
  body: Sample;
}

/** An event as a channel hands it out: with its number in the channel's stream. */
/**
 * Set to "1" by the synthetic source on the events of its `lossy` hosts. The sink runner discards
 * such events after the channel gave them their sequence numbers, as a network that loses
 * records would: the consumer sees a sequence gap. Only simulated events carry it.
 */
export const SIMULATED_LOSS_HEADER = "hf-simulated-loss";

export interface ChannelEvent extends AgentEvent {
  /** 0, 1, 2 … per channel, assigned at put commit, never reused (see lib/wire.ts, hf-seq). */
  seq: number;
  /**
   * The UTF-8 bytes of JSON.stringify(body), when the channel holds them already (the file
   * channel's log record): sinks send them as they are instead of serializing the body again.
   */
  encodedBody?: Buffer;
}

export interface Health {
  ok: boolean;
  detail?: string;
}

/** What every source, channel and sink has, so that the agent starts and stops them uniformly. */
export interface Component {
  readonly name: string;
  /** The registered type name: `memory`, `file`, `kafka` … */
  readonly type: string;
  start(): Promise<void>;
  /** Releases resources; after stop() the component is not used again. */
  stop(): Promise<void>;
  health(): Health;
}

export interface ComponentContext {
  agentId: string;
  logger: Logger;
  metrics: AgentMetrics;
}

export interface Channel extends Component {
  /** `<channel>@<epoch>`: the scope of this channel's sequence numbers (hf-stream). */
  readonly stream: string;
  /**
   * One put transaction: all events are committed or none. Resolves once committed (for the file
   * channel: written and, per its fsync policy, synced). When the channel is full, `block` waits
   * for room until `signal` aborts (then rejects with HF_CHANNEL_FULL, nothing put);
   * `drop_oldest` evicts the oldest events not in a take transaction, counted and logged. A batch
   * larger than the transaction capacity rejects with HF_CHANNEL_TRANSACTION.
   */
  put(events: readonly AgentEvent[], signal?: AbortSignal): Promise<void>;
  /**
   * Opens a take transaction of up to `max` events, oldest first. Waits up to `waitMs` for at
   * least one event; may resolve with none. Taken events are not handed to anyone else until
   * the transaction rolls back.
   */
  take(max: number, waitMs: number, signal?: AbortSignal): Promise<Take>;
  /**
   * Resolves once at least `count` events are ready to take, after `waitMs` (Infinity: no
   * timer at all), when `signal` aborts or the channel stops, whichever comes first.
   */
  waitForEvents(count: number, waitMs: number, signal?: AbortSignal): Promise<void>;
  /** Events committed by puts and not yet committed by takes (in-flight takes included). */
  size(): number;
  /** size relative to the capacity (events or bytes, whichever is fuller), 0 … 1. */
  fill(): number;
}

export interface Take {
  readonly events: readonly ChannelEvent[];
  /** The events are gone for good (the file channel records this durably). */
  commit(): Promise<void>;
  /** The events go back to the head of the channel, in order, to be taken again. */
  rollback(): Promise<void>;
}

/** Puts a source's events through its interceptors and selector into its channels. */
export type Emit = (events: AgentEvent[], signal?: AbortSignal) => Promise<void>;

/** A source the agent polls on its schedule (interval with jitter, or cron): sysinfo. */
export interface PollableSource extends Component {
  readonly kind: "pollable";
  /** One sample cycle. */
  poll(): Promise<AgentEvent[]>;
}

/** A source that pushes events by itself once started: synthetic, sequence. */
export interface EventDrivenSource extends Component {
  readonly kind: "event-driven";
  /** Called by the agent before start(). */
  attach(emit: Emit): void;
}

export type Source = PollableSource | EventDrivenSource;

export interface Sink extends Component {
  /**
   * Writes a batch taken from `channel`; resolves only when the destination has it (Kafka: acked
   * per the sink's acks). Rejects with a HostflowError whose `retriable` says whether the same
   * batch may succeed later; the runner then rolls the take back and retries with backoff.
   */
  write(events: readonly ChannelEvent[], channel: Channel): Promise<void>;
}

/** Rewrites or filters events on their way from a source to its channels. */
export interface Interceptor {
  readonly type: string;
  /** Returns the events to keep (possibly changed in place). */
  intercept(events: AgentEvent[]): AgentEvent[];
}
