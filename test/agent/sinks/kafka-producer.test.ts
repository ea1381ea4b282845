import test from "ava";
import kafkajs, { type ProducerBatch, type RecordMetadata } from "kafkajs";
import { recordingPartitioner } from "../../../agent/sinks/kafka-client.js";
import { type ProducerLike, ReplacingProducer } from "../../../agent/sinks/kafka-producer.js";
import { isHostflowError } from "../../../lib/errors.js";
import { testContext } from "./_context.js";

const {
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
} = kafkajs;
// kafkajs's typings declare these constructors without the message they take.
type ErrorClass = new (message: string) => Error;
const errors = kafkajs as unknown as Record<string, ErrorClass>;
const KafkaJSNonRetriableError = errors.KafkaJSNonRetriableError as ErrorClass;
const KafkaJSSASLAuthenticationError = errors.KafkaJSSASLAuthenticationError as ErrorClass;

/** A fake kafkajs producer: each call takes the next scripted outcome (default: success). */
class FakeProducer implements ProducerLike {
  connects = 0;
  disconnects = 0;
  sent: ProducerBatch[] = [];
  constructor(
    readonly onConnect: () => Promise<void> = async () => undefined,
    readonly onSend: (batch: ProducerBatch) => Promise<RecordMetadata[]> = async () => [],
    readonly onDisconnect: () => Promise<void> = async () => undefined,
  ) {}
  async connect() {
    this.connects++;
    await this.onConnect();
  }
  async disconnect() {
    this.disconnects++;
    await this.onDisconnect();
  }
  async sendBatch(batch: ProducerBatch) {
    this.sent.push(batch);
    return this.onSend(batch);
  }
}

const batch: ProducerBatch = {
  acks: -1,
  topicMessages: [{ topic: "t", messages: [{ value: "v" }] }],
};
const never = () => new Promise<never>(() => undefined);
const refusedAfterRetries = () =>
  new KafkaJSNumberOfRetriesExceeded(
    new KafkaJSConnectionError("Connection error: ECONNREFUSED", { code: "ECONNREFUSED" }),
    { retryCount: 2, retryTime: 300 },
  );

/** A ReplacingProducer whose producers come from `script`, one per creation, in order. */
function replacing(script: FakeProducer[], timeouts: Partial<Record<string, number>> = {}) {
  const made: FakeProducer[] = [];
  const producer = new ReplacingProducer({
    create: () => {
      const next = script[made.length] ?? new FakeProducer();
      made.push(next);
      return next;
    },
    connectTimeoutMs: timeouts.connect ?? 5_000,
    sendTimeoutMs: timeouts.send ?? 5_000,
    disconnectTimeoutMs: timeouts.disconnect ?? 5_000,
    errorContext: { brokers: ["k1:9092"] },
    logger: testContext().logger,
  });
  return { producer, made };
}

/** Lets the background disconnects of retired producers run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

test("regression: a producer left disconnected after a broker restart is replaced, not reused forever", async (t) => {
  // kafkajs after a broker restart: first its retries run out on dead connections, then every
  // send on that producer says "The producer is disconnected".
  let brokerDown = false;
  const stale = new FakeProducer(undefined, async () => {
    if (brokerDown) throw refusedAfterRetries();
    return [];
  });
  const { producer, made } = replacing([
    stale,
    new FakeProducer(async () => {
      throw refusedAfterRetries(); // still down when the fresh producer tries
    }),
  ]);
  await producer.send(batch);
  t.true(producer.connected);

  brokerDown = true;
  const error = await t.throwsAsync(producer.send(batch));
  t.true(isHostflowError(error, "HF_KAFKA_UNREACHABLE"), String(error));
  t.true(isHostflowError(error) && error.retriable);
  t.is(made.length, 2, "one immediate try on a fresh producer, no more");
  await settle();
  t.is(stale.disconnects, 1, "the broken producer is disconnected");
  t.false(producer.connected);

  // The cluster is back: the next write connects a third producer and goes through.
  await producer.send(batch);
  t.is(made.length, 3);
  t.is(made[2]?.sent.length, 1);
  t.is(stale.sent.length, 2, "the broken producer is not used again");
  t.true(producer.connected);
});

test("the first write after an outage succeeds at once on a fresh producer", async (t) => {
  let disconnected = false;
  const stale = new FakeProducer(undefined, async () => {
    if (disconnected) throw new KafkaJSError("The producer is disconnected");
    return [];
  });
  const { producer, made } = replacing([stale]);
  await producer.send(batch);
  disconnected = true;
  await producer.send(batch);
  t.is(made.length, 2);
  t.deepEqual(made[1]?.sent, [batch]);
  await settle();
  t.is(stale.disconnects, 1);
});

test("a fresh producer that fails is not retried within the same write", async (t) => {
  const { producer, made } = replacing([
    new FakeProducer(async () => {
      throw refusedAfterRetries();
    }),
  ]);
  const error = await t.throwsAsync(producer.send(batch));
  t.true(isHostflowError(error, "HF_KAFKA_UNREACHABLE"));
  t.is(made.length, 1);
  await producer.send(batch);
  t.is(made.length, 2, "the next write makes a new one");
});

test("a batch error (MESSAGE_TOO_LARGE) keeps the producer and is not retriable", async (t) => {
  const tooLarge = new KafkaJSProtocolError(
    Object.assign(new Error("too large"), {
      type: "MESSAGE_TOO_LARGE",
      code: 10,
      retriable: false,
    }),
  );
  const fake = new FakeProducer(undefined, async () => {
    throw tooLarge;
  });
  const { producer, made } = replacing([fake]);
  const error = await t.throwsAsync(producer.send(batch));
  t.true(isHostflowError(error, "HF_KAFKA_PRODUCE"));
  t.false(isHostflowError(error) && error.retriable);
  t.is(made.length, 1);
  t.true(producer.connected);
  t.is(fake.disconnects, 0);
});

test("an authentication failure is HF_KAFKA_AUTH, not retriable, and the producer is replaced", async (t) => {
  const { producer, made } = replacing([
    new FakeProducer(async () => {
      throw new KafkaJSSASLAuthenticationError("SASL PLAIN authentication failed");
    }),
  ]);
  const error = await t.throwsAsync(producer.connect());
  t.true(isHostflowError(error, "HF_KAFKA_AUTH"));
  t.false(isHostflowError(error) && error.retriable);
  await producer.connect();
  t.is(made.length, 2);
});

test("writes that share a failed connect all get its error, non-retriable stays non-retriable", async (t) => {
  const { producer, made } = replacing([
    new FakeProducer(async () => {
      await settle();
      throw new KafkaJSSASLAuthenticationError("SASL PLAIN authentication failed");
    }),
  ]);
  const errors = await Promise.all(
    [producer.connect(), producer.send(batch), producer.send(batch)].map((p) =>
      p.then(
        () => undefined,
        (error: unknown) => error,
      ),
    ),
  );
  for (const error of errors) {
    t.true(isHostflowError(error, "HF_KAFKA_AUTH"), String(error));
    t.false(isHostflowError(error) && error.retriable);
  }
  t.is(made.length, 1);
});

test("a connect that hangs is cut off: HF_KAFKA_UNREACHABLE, retriable, producer retired", async (t) => {
  const hanging = new FakeProducer(never);
  const { producer, made } = replacing([hanging], { connect: 50 });
  const started = Date.now();
  const error = await t.throwsAsync(producer.send(batch));
  t.true(Date.now() - started < 2_000);
  t.true(isHostflowError(error, "HF_KAFKA_UNREACHABLE"), String(error));
  t.true(isHostflowError(error) && error.retriable);
  await settle();
  t.is(hanging.disconnects, 1);
  await producer.send(batch);
  t.is(made.length, 2);
});

test("a send that hangs is cut off: HF_KAFKA_PRODUCE, retriable, producer retired", async (t) => {
  const hanging = new FakeProducer(undefined, never);
  const { producer, made } = replacing([hanging], { send: 50 });
  const error = await t.throwsAsync(producer.send(batch));
  t.true(isHostflowError(error, "HF_KAFKA_PRODUCE"), String(error));
  t.true(isHostflowError(error) && error.retriable);
  await settle();
  t.is(hanging.disconnects, 1);
  t.is(made.length, 1, "a timeout is not retried at once (it already took the whole bound)");
});

test("a write in flight when another write retired the producer fails retriably", async (t) => {
  let calls = 0;
  let release: (error: Error) => void = () => undefined;
  const fake = new FakeProducer(
    undefined,
    () => {
      calls++;
      if (calls === 1) {
        return new Promise((_, reject) => {
          release = reject;
        });
      }
      return Promise.reject(refusedAfterRetries());
    },
    // As kafkajs does: a send in flight fails once its producer disconnects.
    async () => release(new KafkaJSNonRetriableError("The producer is disconnecting")),
  );
  const { producer, made } = replacing([fake]);
  await producer.connect();
  const first = producer.send(batch);
  await producer.send(batch); // fails on `fake`, retires it, goes through on a fresh producer
  const error = await t.throwsAsync(first);
  t.true(isHostflowError(error, "HF_KAFKA_PRODUCE"), String(error));
  t.true(isHostflowError(error) && error.retriable, "nothing is wrong with that batch");
  t.is(made.length, 2);
});

test("a write in flight during close() fails retriably", async (t) => {
  let release: (error: Error) => void = () => undefined;
  const fake = new FakeProducer(
    undefined,
    () =>
      new Promise((_, reject) => {
        release = reject;
      }),
    async () => release(new KafkaJSNonRetriableError("The producer is disconnecting")),
  );
  const { producer } = replacing([fake]);
  await producer.connect();
  const inFlight = producer.send(batch);
  await producer.close();
  const error = await t.throwsAsync(inFlight);
  t.true(isHostflowError(error, "HF_SINK_WRITE"), String(error));
  t.true(isHostflowError(error) && error.retriable, "not acked, so the runner may retry it");
});

test("close() returns within its bound even when disconnect hangs, and later writes are refused", async (t) => {
  const fake = new FakeProducer(undefined, undefined, never);
  const { producer } = replacing([fake], { disconnect: 50 });
  await producer.connect();
  const started = Date.now();
  await producer.close();
  t.true(Date.now() - started < 2_000);
  t.is(fake.disconnects, 1);
  const error = await t.throwsAsync(producer.send(batch));
  t.true(isHostflowError(error, "HF_SINK_WRITE"));
});

/** What kafkajs's sendBatch does with the sink's partitioner: each message gets its partition. */
function partitioned(batchOf: ProducerBatch, partitions: number): ProducerBatch {
  for (const { messages } of batchOf.topicMessages ?? []) {
    messages.forEach((message, i) => {
      message.partition = i % partitions;
    });
  }
  return batchOf;
}

const answer = (topicName: string, partition: number): RecordMetadata => ({
  topicName,
  partition,
  errorCode: 0,
});

test("regression (kafkajs#1303): a send acknowledged without some of its partitions fails retriably and is sent again", async (t) => {
  const sixRecords = (): ProducerBatch => ({
    acks: -1,
    topicMessages: [
      { topic: "t", messages: Array.from({ length: 6 }, (_, i) => ({ value: `v${i}` })) },
    ],
  });
  // As kafkajs answers after a broker died mid-send: the partition that moved to a broker that
  // had already answered is left out, and the send resolves.
  const lossy = new FakeProducer(undefined, async (b) => {
    partitioned(b, 3);
    return [answer("t", 0), answer("t", 1)];
  });
  const whole = new FakeProducer(undefined, async (b) => {
    partitioned(b, 3);
    return [answer("t", 0), answer("t", 1), answer("t", 2)];
  });
  const { producer, made } = replacing([lossy, whole]);

  const error = await t.throwsAsync(producer.send(sixRecords()));
  t.true(isHostflowError(error));
  if (!isHostflowError(error)) return;
  t.is(error.code, "HF_KAFKA_PRODUCE");
  t.true(error.retriable);
  t.regex(error.message, /without its records for t:2/);
  t.deepEqual(error.context.missing, ["t:2"]);
  await settle();
  t.is(lossy.disconnects, 1, "the producer that lost records is retired");

  const acknowledged = await producer.send(sixRecords());
  t.is(acknowledged.length, 3);
  t.is(made.length, 2);
});

test("acks=0 has no answer to check; a full answer passes", async (t) => {
  const silent = new FakeProducer(undefined, async (b) => {
    partitioned(b, 3);
    return [];
  });
  const { producer } = replacing([silent]);
  const fireAndForget: ProducerBatch = {
    acks: 0,
    topicMessages: [{ topic: "t", messages: [{ value: "a" }, { value: "b" }] }],
  };
  t.deepEqual(await producer.send(fireAndForget), []);
});

test("the sink's partitioner is Java's murmur2 and writes its choice into the message", (t) => {
  const choose = recordingPartitioner();
  const reference = kafkajs.Partitioners.DefaultPartitioner();
  const partitionMetadata = [0, 1, 2, 3, 4, 5].map((partitionId) => ({
    partitionId,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }));
  for (const key of ["web-01", "db-7", "host-42.example.net"]) {
    const message: kafkajs.Message = { key, value: "v" };
    const partition = choose({ topic: "t", partitionMetadata, message });
    t.is(partition, reference({ topic: "t", partitionMetadata, message: { key, value: "v" } }));
    t.is(message.partition, partition);
  }
  // A message without a key: round robin, and the choice is kept for a batch sent again.
  const loose: kafkajs.Message = { key: null, value: "v" };
  const first = choose({ topic: "t", partitionMetadata, message: loose });
  t.is(loose.partition, first);
  t.is(choose({ topic: "t", partitionMetadata, message: loose }), first);
});
