/**
 * The kafka sink's producer, replaced whenever it may be broken. kafkajs's producer does not
 * always come back by itself after a broker restart or a long outage: once its retries are spent
 * it can be left disconnected ("The producer is disconnected") or hold connections that are
 * dead, and every later send fails until the process restarts. Instead of telling those states
 * apart, any failure that is not about the batch itself retires the producer (disconnect in the
 * background, bounded) and the next write connects a fresh one; a write whose producer had
 * worked before and lost its connection gets one immediate try on a fresh producer, so the first
 * write after an outage usually succeeds instead of costing the runner a backoff.
 */
import type { ProducerBatch, RecordMetadata } from "kafkajs";
import { HostflowError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import { withTimeout } from "../../lib/timeout.js";
import {
  isBatchError,
  isConnectionLost,
  type KafkaErrorContext,
  mapKafkaError,
} from "./kafka-errors.js";

/** What the sink uses of a kafkajs producer (a fake in the failure-path tests). */
export interface ProducerLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
}

export interface ReplacingProducerOptions {
  /** Makes a new, unconnected producer. */
  create: () => ProducerLike;
  /** Longest connect(), kafkajs's own retries included. */
  connectTimeoutMs: number;
  /** Longest sendBatch(), kafkajs's own retries included. */
  sendTimeoutMs: number;
  /** Longest disconnect() of a retired producer (and so of close()). */
  disconnectTimeoutMs: number;
  errorContext: KafkaErrorContext;
  logger: Logger;
}

interface Slot {
  readonly producer: ProducerLike;
  /** 1, 2, 3 …: which producer this is, for logs and tests. */
  readonly generation: number;
  ready: Promise<void>;
  connected: boolean;
  retired: boolean;
}

/** A failed attempt: the error for the runner, and whether a fresh producer may do better. */
class AttemptFailed {
  constructor(
    readonly error: HostflowError,
    readonly connectionLost: boolean,
  ) {}
}

export class ReplacingProducer {
  readonly #options: ReplacingProducerOptions;
  #slot: Slot | undefined;
  #created = 0;
  #closed = false;
  readonly #retiring = new Set<Promise<void>>();

  constructor(options: ReplacingProducerOptions) {
    this.#options = options;
  }

  /** Producers created so far. */
  get created(): number {
    return this.#created;
  }

  /** Whether the current producer is connected (and not retired). */
  get connected(): boolean {
    return this.#slot?.connected === true;
  }

  /** Connects the current producer, or a new one; rejects with a HostflowError. */
  async connect(): Promise<void> {
    const slot = this.#ensure();
    try {
      await slot.ready;
    } catch (error) {
      throw this.#failed(slot, error, "connect").error;
    }
  }

  /** Sends one batch; resolves once Kafka acknowledged it; rejects with a HostflowError. */
  async send(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const slot = this.#ensure();
    const reused = slot.connected;
    try {
      return await this.#attempt(slot, batch);
    } catch (failure) {
      if (!(failure instanceof AttemptFailed)) throw failure;
      if (!reused || !failure.connectionLost || this.#closed) throw failure.error;
      this.#options.logger.info(
        { generation: slot.generation, code: failure.error.code },
        "kafka: the producer lost its connection; trying the batch once on a new producer",
      );
    }
    try {
      return await this.#attempt(this.#ensure(), batch);
    } catch (failure) {
      throw failure instanceof AttemptFailed ? failure.error : failure;
    }
  }

  /** Retires the producer and waits (bounded) for its disconnect. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#slot) this.#retire(this.#slot);
    await Promise.all([...this.#retiring]);
  }

  async #attempt(slot: Slot, batch: ProducerBatch): Promise<RecordMetadata[]> {
    try {
      await slot.ready;
    } catch (error) {
      throw this.#failed(slot, error, "connect");
    }
    try {
      const acknowledged = await withTimeout(
        slot.producer.sendBatch(batch),
        this.#options.sendTimeoutMs,
        "a produce request",
      );
      const missing = unacknowledged(batch, acknowledged);
      if (missing.length > 0) {
        throw new HostflowError(
          "HF_KAFKA_PRODUCE",
          `Kafka acknowledged the batch without its records for ${missing.join(", ")}: the client's retry after a broker failure left them out (kafkajs#1303); the whole batch is sent again`,
          { retriable: true, context: { ...this.#context(), missing } },
        );
      }
      return acknowledged;
    } catch (error) {
      throw this.#failed(slot, error, "send");
    }
  }

  #ensure(): Slot {
    if (this.#closed) {
      throw new HostflowError("HF_SINK_WRITE", "the kafka sink is stopped", {
        context: this.#context(),
      });
    }
    if (this.#slot) return this.#slot;
    const producer = this.#options.create();
    this.#created++;
    const slot: Slot = {
      producer,
      generation: this.#created,
      ready: Promise.resolve(),
      connected: false,
      retired: false,
    };
    slot.ready = withTimeout(
      Promise.resolve().then(() => producer.connect()),
      this.#options.connectTimeoutMs,
      "connecting to Kafka",
    ).then(() => {
      slot.connected = !slot.retired;
      if (slot.generation > 1) {
        this.#options.logger.info({ generation: slot.generation }, "kafka: connected again");
      }
    });
    // Whoever awaits `ready` handles its rejection; this keeps an unawaited one from crashing.
    slot.ready.catch(() => undefined);
    this.#slot = slot;
    return slot;
  }

  #failed(slot: Slot, error: unknown, phase: "connect" | "send"): AttemptFailed {
    const replaced = slot.retired;
    let mapped = this.#map(error, phase);
    if (this.#closed) {
      mapped = new HostflowError("HF_SINK_WRITE", "the kafka sink was stopped during the write", {
        cause: mapped,
        retriable: true,
        context: this.#context(),
      });
    } else if (phase === "send" && replaced && !mapped.retriable && !isBatchError(error)) {
      // Another write retired this producer under this one ("The producer is disconnecting"):
      // nothing is wrong with this batch. (Awaiters of one failed connect share its error.)
      mapped = new HostflowError(
        "HF_KAFKA_PRODUCE",
        "the producer was replaced while the batch was in flight",
        { cause: mapped, retriable: true, context: this.#context() },
      );
    }
    if (!isBatchError(error)) {
      const worked = slot.connected;
      this.#retire(slot);
      if (!replaced && !this.#closed) {
        // At warn when a producer that worked is retired; during an outage each new producer
        // that cannot connect is retired too, and the runner already reports that every 5 s.
        this.#options.logger[worked ? "warn" : "debug"](
          { generation: slot.generation, code: mapped.code, phase },
          "kafka: retired the producer after a failure; the next write connects a new one",
        );
      }
    }
    return new AttemptFailed(mapped, phase === "send" && isConnectionLost(error));
  }

  #map(error: unknown, phase: "connect" | "send"): HostflowError {
    if (!isTimeout(error)) return mapKafkaError(error, this.#options.errorContext);
    const brokers = this.#options.errorContext.brokers.join(",");
    return phase === "connect"
      ? new HostflowError(
          "HF_KAFKA_UNREACHABLE",
          `connecting to the Kafka brokers ${brokers} took longer than ${this.#options.connectTimeoutMs} ms`,
          { cause: error, retriable: true, context: this.#context() },
        )
      : new HostflowError(
          "HF_KAFKA_PRODUCE",
          `Kafka did not acknowledge the batch within ${this.#options.sendTimeoutMs} ms`,
          { cause: error, retriable: true, context: this.#context() },
        );
  }

  #retire(slot: Slot): void {
    if (this.#slot === slot) this.#slot = undefined;
    if (slot.retired) return;
    slot.retired = true;
    slot.connected = false;
    const done: Promise<void> = withTimeout(
      Promise.resolve().then(() => slot.producer.disconnect()),
      this.#options.disconnectTimeoutMs,
      "disconnecting the producer",
    )
      .catch((error: unknown) => {
        this.#options.logger.debug(
          { err: error },
          "kafka: disconnecting a retired producer failed",
        );
      })
      .finally(() => this.#retiring.delete(done));
    this.#retiring.add(done);
  }

  #context(): Record<string, unknown> {
    return { brokers: this.#options.errorContext.brokers };
  }
}

function isTimeout(error: unknown): boolean {
  return error instanceof HostflowError && error.code === "HF_TIMEOUT";
}

/**
 * The topic-partitions a batch's messages went to (the partitioner writes each message's
 * partition into it) that Kafka's answer does not acknowledge. kafkajs 2.2.4 resolves a send
 * without them when a broker dies during it: its retry skips every broker that answered the
 * first attempt, also when the dead broker's partitions have moved to one of those
 * (tulios/kafkajs#1303, open). Such records were never written; with acks=0 there is no answer
 * to check.
 */
export function unacknowledged(
  batch: ProducerBatch,
  acknowledged: readonly RecordMetadata[],
): string[] {
  if (batch.acks === 0) return [];
  const missing: string[] = [];
  for (const { topic, messages } of batch.topicMessages ?? []) {
    const sentTo = new Set<number>();
    for (const message of messages) {
      if (message.partition !== undefined) sentTo.add(message.partition);
    }
    for (const answer of acknowledged) {
      if (answer.topicName === topic) sentTo.delete(answer.partition);
    }
    for (const partition of sentTo) missing.push(`${topic}:${partition}`);
  }
  return missing;
}
