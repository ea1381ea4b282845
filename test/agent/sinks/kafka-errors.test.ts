import test from "ava";
import kafkajs from "kafkajs";
import {
  isBatchError,
  isConnectionLost,
  mapKafkaError,
  rootKafkaError,
} from "../../../agent/sinks/kafka-errors.js";
import { type ErrorCode, HostflowError } from "../../../lib/errors.js";

// kafkajs's typings leave out some constructors' arguments (and one class): the runtime classes
// take (message, metadata), as kafkajs itself calls them.
type ErrorClass = new (message: string | Error, metadata?: object) => Error;
const errors = kafkajs as unknown as Record<string, ErrorClass>;
const KafkaJSBrokerNotFound = errors.KafkaJSBrokerNotFound as ErrorClass;
const KafkaJSConnectionClosedError = errors.KafkaJSConnectionClosedError as ErrorClass;
const KafkaJSNonRetriableError = errors.KafkaJSNonRetriableError as ErrorClass;
const KafkaJSSASLAuthenticationError = errors.KafkaJSSASLAuthenticationError as ErrorClass;
const {
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  KafkaJSTopicMetadataNotLoaded,
} = kafkajs;

const where = { brokers: ["k1:9092", "k2:9092"], topics: ["metrics.cpu"] };

/** A protocol error as kafkajs builds it from a broker's error code (protocol/error.js). */
function protocolError(type: string, code: number, retriable: boolean) {
  return new KafkaJSProtocolError(
    Object.assign(new Error(`broker says ${type}`), { type, code, retriable }),
  );
}

/** What kafkajs's retrier rejects with once its retries are spent. */
function retriesExceeded(error: Error) {
  return new KafkaJSNumberOfRetriesExceeded(error, { retryCount: 2, retryTime: 1000 });
}

/** What kafkajs's retrier rejects with for a non-retriable error it did not bail on. */
function nonRetriableWrapper(error: Error) {
  return new KafkaJSNonRetriableError(error, { cause: error });
}

const refused = () =>
  new KafkaJSConnectionError("Connection error: connect ECONNREFUSED 127.0.0.1:9092", {
    broker: "127.0.0.1:9092",
    code: "ECONNREFUSED",
  });

const table: [string, () => unknown, ErrorCode, boolean][] = [
  ["connection refused", refused, "HF_KAFKA_UNREACHABLE", true],
  [
    "connection refused after kafkajs's retries",
    () => retriesExceeded(refused()),
    "HF_KAFKA_UNREACHABLE",
    true,
  ],
  [
    "connection closed by the broker",
    () => new KafkaJSConnectionClosedError("Closed connection", { host: "k1", port: 9092 }),
    "HF_KAFKA_UNREACHABLE",
    true,
  ],
  [
    "broker not found",
    () => new KafkaJSBrokerNotFound("Broker 1 not found"),
    "HF_KAFKA_UNREACHABLE",
    true,
  ],
  [
    "request timeout",
    () =>
      retriesExceeded(
        new KafkaJSRequestTimeoutError(
          "Request Produce(key: 0, version: 7) timed out",
          {} as never,
        ),
      ),
    "HF_KAFKA_PRODUCE",
    true,
  ],
  [
    "leader election (NOT_LEADER_FOR_PARTITION) after kafkajs's retries",
    () => retriesExceeded(protocolError("NOT_LEADER_FOR_PARTITION", 6, true)),
    "HF_KAFKA_PRODUCE",
    true,
  ],
  [
    "LEADER_NOT_AVAILABLE",
    () => protocolError("LEADER_NOT_AVAILABLE", 5, true),
    "HF_KAFKA_PRODUCE",
    true,
  ],
  [
    "NOT_ENOUGH_REPLICAS",
    () => protocolError("NOT_ENOUGH_REPLICAS", 19, true),
    "HF_KAFKA_PRODUCE",
    true,
  ],
  [
    "topic metadata not loaded",
    () => retriesExceeded(new KafkaJSTopicMetadataNotLoaded("no metadata", { topic: "t" })),
    "HF_KAFKA_PRODUCE",
    true,
  ],
  [
    "the producer is disconnected",
    () => new KafkaJSError("The producer is disconnected"),
    "HF_KAFKA_PRODUCE",
    true,
  ],
  [
    "SASL authentication failed",
    () => new KafkaJSSASLAuthenticationError("SASL PLAIN authentication failed: x"),
    "HF_KAFKA_AUTH",
    false,
  ],
  [
    "SASL_AUTHENTICATION_FAILED protocol error",
    () => protocolError("SASL_AUTHENTICATION_FAILED", 58, false),
    "HF_KAFKA_AUTH",
    false,
  ],
  [
    "topic ACL refusal",
    () => nonRetriableWrapper(protocolError("TOPIC_AUTHORIZATION_FAILED", 29, false)),
    "HF_KAFKA_AUTH",
    false,
  ],
  [
    "untrusted broker certificate",
    () =>
      retriesExceeded(
        new KafkaJSConnectionError("Connection error: self-signed certificate", {
          broker: "k1:9093",
          code: "DEPTH_ZERO_SELF_SIGNED_CERT",
        }),
      ),
    "HF_KAFKA_AUTH",
    false,
  ],
  [
    "message too large",
    () => protocolError("MESSAGE_TOO_LARGE", 10, false),
    "HF_KAFKA_PRODUCE",
    false,
  ],
  [
    "message too large, wrapped",
    () => nonRetriableWrapper(protocolError("MESSAGE_TOO_LARGE", 10, false)),
    "HF_KAFKA_PRODUCE",
    false,
  ],
  [
    "invalid topic",
    () => protocolError("INVALID_TOPIC_EXCEPTION", 17, false),
    "HF_KAFKA_PRODUCE",
    false,
  ],
  [
    "kafkajs's own 'Invalid topic'",
    () => new KafkaJSNonRetriableError("Invalid topic"),
    "HF_KAFKA_PRODUCE",
    false,
  ],
  ["a bug (TypeError)", () => new TypeError("x is undefined"), "HF_KAFKA_PRODUCE", false],
];

for (const [what, make, code, retriable] of table) {
  test(`error mapping: ${what} → ${code}, retriable=${retriable}`, (t) => {
    const input = make();
    const mapped = mapKafkaError(input, where);
    t.true(mapped instanceof HostflowError);
    t.is(mapped.code, code, mapped.message);
    t.is(mapped.retriable, retriable);
    t.is(mapped.cause, input, "the kafkajs error stays the cause");
    t.deepEqual(mapped.context.brokers, where.brokers);
  });
}

test("messages say what is wrong, with the topics", (t) => {
  t.regex(
    mapKafkaError(protocolError("MESSAGE_TOO_LARGE", 10, false), where).message,
    /larger.*metrics\.cpu.*MESSAGE_TOO_LARGE/,
  );
  t.regex(
    mapKafkaError(protocolError("INVALID_TOPIC_EXCEPTION", 17, false), where).message,
    /topic name is invalid/,
  );
  t.regex(
    mapKafkaError(retriesExceeded(refused()), where).message,
    /k1:9092,k2:9092.*ECONNREFUSED/,
  );
});

test("a HostflowError passes through unchanged", (t) => {
  const error = new HostflowError("HF_KAFKA_UNREACHABLE", "x", { retriable: true });
  t.is(mapKafkaError(error, where), error);
});

test("rootKafkaError looks through the retrier's wrappers but not through real errors", (t) => {
  const inner = protocolError("MESSAGE_TOO_LARGE", 10, false);
  t.is(rootKafkaError(retriesExceeded(nonRetriableWrapper(inner))), inner);
  const sasl = new KafkaJSSASLAuthenticationError("failed");
  t.is(rootKafkaError(sasl), sasl);
});

test("batch errors keep the producer; connection losses get a fresh one at once", (t) => {
  t.true(isBatchError(protocolError("MESSAGE_TOO_LARGE", 10, false)));
  t.true(isBatchError(nonRetriableWrapper(protocolError("RECORD_LIST_TOO_LARGE", 18, false))));
  t.false(isBatchError(retriesExceeded(refused())));
  t.false(isBatchError(new KafkaJSSASLAuthenticationError("failed")));

  t.true(isConnectionLost(retriesExceeded(refused())));
  t.true(isConnectionLost(new KafkaJSError("The producer is disconnected")));
  t.true(isConnectionLost(new KafkaJSRequestTimeoutError("timed out", {} as never)));
  t.false(isConnectionLost(protocolError("MESSAGE_TOO_LARGE", 10, false)));
  t.false(isConnectionLost(new KafkaJSNonRetriableError("Invalid topic")));
  t.false(
    isConnectionLost(
      new KafkaJSConnectionError("cert", { code: "CERT_HAS_EXPIRED", broker: "k1:9093" }),
    ),
  );
});
