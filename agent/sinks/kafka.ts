import type { KafkaConfig } from "kafkajs";
import { CLIENT_TIMEOUT_MARGIN_MS } from "../../lib/config/kafka.js";
import { describeError, HostflowError } from "../../lib/errors.js";
import type { KafkaSinkConfig } from "../config/schema.js";
import type { Channel, ChannelEvent, ComponentContext, Health, Sink } from "../core/types.js";
import type { ProducerLike, ReplacingProducer } from "./kafka-producer.js";
import { createRecordBuilder } from "./record.js";

/**
 * kafkajs's own retries stay short: the runner retries the whole batch with its backoff (up to
 * retry.max), which survives an outage of minutes; long kafkajs retries would only hold a write
 * (and the agent's shutdown) for longer, on a producer that may be broken.
 */
export const KAFKAJS_RETRY = { retries: 2, initialRetryTime: 300, maxRetryTime: 3_000 } as const;

/** How long stop() waits for the producer to disconnect. */
const DISCONNECT_TIMEOUT_MS = 3_000;

export interface KafkaSinkDeps {
  /**
   * Makes the producers instead of kafkajs (tests of the failure paths); receives the client
   * config the sink built.
   */
  createProducer?: (client: KafkaConfig) => ProducerLike;
}

/**
 * Produces each event as one record of lib/wire.ts. start() reads the TLS and SASL files (a
 * missing file fails it) but does not wait for Kafka: the agent keeps sampling into the channel
 * while the cluster is down, the connection is made in the background and by the next write,
 * and health() says why the sink is not ok meanwhile.
 *
 * Not idempotent (kafkajs idempotent=false): delivery is at-least-once by design — a batch the
 * runner retries may be written twice — and the collector drops duplicates by (hf-agent-id,
 * hf-stream, hf-seq). kafkajs's idempotence would need endless retries inside kafkajs (the
 * opposite of the short retries above) and would not cover our retries anyway, since a retried
 * batch may go out on a new producer with a new producer id.
 */
export function createKafkaSink(
  name: string,
  options: KafkaSinkConfig,
  ctx: ComponentContext,
  deps: KafkaSinkDeps = {},
): Sink {
  const logger = ctx.logger.child({ sink: name });
  // Checked here, so that a bad pattern fails the agent's start, not its first write.
  const build = createRecordBuilder(name, options, ctx);
  const brokers = options.brokers;
  const createProducer = deps.createProducer;
  const connectTimeoutMs =
    (KAFKAJS_RETRY.retries + 1) * (options.connection_timeout + KAFKAJS_RETRY.maxRetryTime) +
    CLIENT_TIMEOUT_MARGIN_MS;
  const sendTimeoutMs =
    (KAFKAJS_RETRY.retries + 1) *
      (options.request_timeout +
        CLIENT_TIMEOUT_MARGIN_MS +
        options.connection_timeout +
        KAFKAJS_RETRY.maxRetryTime) +
    CLIENT_TIMEOUT_MARGIN_MS;

  let producer: ReplacingProducer | undefined;
  /** The kafkajs side of the sink, loaded by start(). */
  let kafka: typeof import("./kafka-client.js") | undefined;
  /** The last failure of a write or a connect, cleared by a connect or a write that works. */
  let lastError: HostflowError | undefined;
  let failuresInARow = 0;

  const succeeded = () => {
    if (failuresInARow > 0) {
      logger.info({ failures: failuresInARow }, "kafka: working again");
    }
    failuresInARow = 0;
    lastError = undefined;
  };

  const failed = (error: unknown, what: "write" | "connect"): HostflowError => {
    const mapped =
      error instanceof HostflowError
        ? error
        : new HostflowError("HF_KAFKA_PRODUCE", String(error), { cause: error });
    lastError = mapped;
    failuresInARow++;
    if (what === "write") ctx.metrics.sinkErrors.inc({ sink: name, code: mapped.code });
    // The first failure in a row at warn level, then debug: an outage of minutes would
    // otherwise log a line per retry (kafkajs logs its own errors too).
    logger[failuresInARow === 1 ? "warn" : "debug"](
      { code: mapped.code, retriable: mapped.retriable, failures: failuresInARow },
      `kafka: ${describeError(mapped)}`,
    );
    return mapped;
  };

  return {
    name,
    type: "kafka",

    async start() {
      // kafkajs is loaded here, by the first kafka sink that starts: a config without one never
      // loads it.
      kafka = await import("./kafka-client.js");
      const client = await kafka.kafkaClientConfig(options, KAFKAJS_RETRY);
      producer = new kafka.ReplacingProducer({
        create: createProducer
          ? () => createProducer(client)
          : kafka.kafkajsProducers(
              client,
              logger,
              KAFKAJS_RETRY,
              () => failuresInARow > 0 || producer?.connected !== true,
            ),
        connectTimeoutMs,
        sendTimeoutMs,
        disconnectTimeoutMs: DISCONNECT_TIMEOUT_MS,
        errorContext: { brokers },
        logger,
      });
      // Not awaited: Kafka may be down now, and the agent must start and sample anyway.
      producer.connect().then(
        () => {
          logger.info({ brokers }, "kafka: connected");
          succeeded();
        },
        (error: unknown) => failed(error, "connect"),
      );
    },

    async stop() {
      await producer?.close();
    },

    health(): Health {
      if (lastError) return { ok: false, detail: describeError(lastError) };
      if (!producer?.connected) {
        return { ok: false, detail: `not connected to the Kafka brokers ${brokers.join(",")} yet` };
      }
      return { ok: true };
    },

    async write(events: readonly ChannelEvent[], channel: Channel) {
      if (events.length === 0) return;
      if (!producer || !kafka) {
        throw new HostflowError("HF_SINK_WRITE", `kafka sink ${name} was not started`, {
          context: { sink: name },
        });
      }
      const sender = producer;
      const { isTooLarge, toProducerBatch } = kafka;
      // A batch the broker refuses as too large (message.max.bytes: one partition's records
      // of a batch travel as one record batch) goes again in halves, in order, down to single
      // records; only a record too large by itself stays refused. Were it kept whole, it would
      // block the channel behind it for good.
      const send = async (part: readonly ChannelEvent[]): Promise<void> => {
        try {
          await sender.send(toProducerBatch(build(part, channel), options));
        } catch (error) {
          if (part.length < 2 || !isTooLarge(error)) throw error;
          logger.warn(
            { events: part.length },
            "kafka: the broker refused the batch as too large; sending it in halves (lower batch_size)",
          );
          const half = Math.ceil(part.length / 2);
          await send(part.slice(0, half));
          await send(part.slice(half));
        }
      };
      try {
        await send(events);
      } catch (error) {
        throw failed(error, "write");
      }
      succeeded();
      ctx.metrics.count(name, "sink", "written", events.length);
    },
  };
}
