/**
 * kafkajs errors → hostflow errors, by class, protocol `type` and `retriable` (never by message).
 * `retriable` answers the runner's question — may the same batch succeed later? — which is not
 * kafkajs's: kafkajs marks an error non-retriable once its own few retries are spent
 * (KafkaJSNumberOfRetriesExceeded), though a broker that was down may well be back by the
 * runner's next try. So the mapping looks through kafkajs's wrappers at the error underneath.
 */
import kafkajs from "kafkajs";
import { type ErrorCode, HostflowError } from "../../lib/errors.js";

// kafkajs is CommonJS and re-exports its errors with a spread, which Node's ESM named-export
// detection cannot see; the default import is its module.exports.
const {
  KafkaJSBrokerNotFound,
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSLockTimeout,
  KafkaJSMetadataNotLoaded,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  KafkaJSSASLAuthenticationError,
  KafkaJSStaleTopicMetadataAssignment,
  KafkaJSTimeout,
} = kafkajs;

/** Protocol errors about the records themselves: the batch fails the same way every time. */
const RECORD_ERRORS: Record<string, string> = {
  MESSAGE_TOO_LARGE: "a record is larger than the broker or topic allows (message.max.bytes)",
  RECORD_LIST_TOO_LARGE: "the batch is larger than the broker allows (message.max.bytes)",
  INVALID_RECORD: "the broker refused a record as invalid",
  INVALID_TIMESTAMP: "a record's timestamp is outside the topic's allowed range",
  UNSUPPORTED_FOR_MESSAGE_FORMAT: "the topic's message format does not support these records",
  INVALID_TOPIC_EXCEPTION: "the topic name is invalid",
  POLICY_VIOLATION: "the broker's policy refused the request",
  INVALID_REQUIRED_ACKS: "the broker refused the acks setting",
};

/** Protocol errors that mean "not allowed": credentials or ACLs must change first. */
const AUTH_ERRORS: Record<string, string> = {
  SASL_AUTHENTICATION_FAILED: "Kafka rejected the SASL credentials",
  UNSUPPORTED_SASL_MECHANISM: "the broker does not support this SASL mechanism",
  ILLEGAL_SASL_STATE: "the SASL handshake failed",
  TOPIC_AUTHORIZATION_FAILED: "not authorized to write to the topic (ACL)",
  CLUSTER_AUTHORIZATION_FAILED: "not authorized on the cluster (ACL)",
};

/** Node's TLS verification errors (a socket error's `code`): the handshake cannot succeed. */
const TLS_ERRORS = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_SIGNATURE_FAILURE",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
]);

type KafkaJSErrorLike = InstanceType<typeof KafkaJSError>;

/**
 * The error under kafkajs's retry wrappers: KafkaJSNumberOfRetriesExceeded and the plain
 * KafkaJSNonRetriableError the retrier wraps a non-retriable error in (subclasses such as the
 * SASL error are errors of their own, not wrappers).
 */
export function rootKafkaError(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 8; depth++) {
    const isWrapper =
      current instanceof KafkaJSNumberOfRetriesExceeded ||
      (current instanceof KafkaJSError && current.constructor === KafkaJSNonRetriableError);
    const cause = (current as { cause?: unknown } | undefined)?.cause;
    if (!isWrapper || !(cause instanceof Error) || cause === current) break;
    current = cause;
  }
  return current;
}

/**
 * True when the error is about the batch itself (a record too large, an invalid topic): the
 * producer and its connections are fine. Anything else may have left the producer in a bad
 * state, so the sink replaces it (kafka-producer.ts).
 */
export function isBatchError(error: unknown): boolean {
  const root = rootKafkaError(error);
  return root instanceof KafkaJSProtocolError && root.type in RECORD_ERRORS;
}

/**
 * True when the broker refused the batch as too large: smaller batches may go through. Also for
 * the HostflowError that mapKafkaError made of it.
 */
export function isTooLarge(error: unknown): boolean {
  const root = rootKafkaError(error instanceof HostflowError ? error.cause : error);
  return (
    root instanceof KafkaJSProtocolError &&
    (root.type === "MESSAGE_TOO_LARGE" || root.type === "RECORD_LIST_TOO_LARGE")
  );
}

/**
 * True when the error says the connection went away under a producer that was connected: a
 * closed or refused socket, a request that got no answer, a broker gone from the metadata, or
 * kafkajs's "The producer is disconnected" (a plain, retriable KafkaJSError). A new producer
 * with new connections may succeed at once; TLS verification errors are not among these.
 */
export function isConnectionLost(error: unknown): boolean {
  const root = rootKafkaError(error);
  if (root instanceof KafkaJSConnectionError) {
    const code = (root as KafkaJSErrorLike & { code?: string }).code;
    return code === undefined || !TLS_ERRORS.has(code);
  }
  return (
    root instanceof KafkaJSRequestTimeoutError ||
    root instanceof KafkaJSBrokerNotFound ||
    (root instanceof KafkaJSError && root.constructor === KafkaJSError && root.retriable)
  );
}

export interface KafkaErrorContext {
  brokers: readonly string[];
  /** The topics of the batch, for the message. */
  topics?: readonly string[];
}

export function mapKafkaError(error: unknown, where: KafkaErrorContext): HostflowError {
  if (error instanceof HostflowError) return error;
  const root = rootKafkaError(error);
  const brokers = where.brokers.join(",");
  const topics = where.topics?.length ? ` (topics ${where.topics.join(", ")})` : "";
  const make = (code: ErrorCode, message: string, retriable: boolean, extra = {}) =>
    new HostflowError(code, message, {
      cause: error,
      retriable,
      context: {
        brokers: where.brokers,
        ...(where.topics ? { topics: where.topics } : {}),
        kafkajs: root instanceof Error ? root.name : typeof root,
        ...extra,
      },
    });

  if (root instanceof KafkaJSSASLAuthenticationError) {
    return make("HF_KAFKA_AUTH", `SASL authentication with ${brokers} failed`, false);
  }
  if (root instanceof KafkaJSProtocolError) {
    const type = root.type;
    const auth = AUTH_ERRORS[type];
    if (auth) return make("HF_KAFKA_AUTH", `${auth}${topics}: ${type}`, false, { type });
    const record = RECORD_ERRORS[type];
    if (record) return make("HF_KAFKA_PRODUCE", `${record}${topics}: ${type}`, false, { type });
    // Leader elections, offline replicas, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT, an unknown
    // topic (auto-creation off: retried until someone creates it) …: kafkajs's own flag.
    return make(
      "HF_KAFKA_PRODUCE",
      `Kafka did not take the batch${topics}: ${type}`,
      root.retriable,
      { type },
    );
  }
  if (root instanceof KafkaJSConnectionError) {
    const code = (root as KafkaJSErrorLike & { code?: string }).code;
    if (code !== undefined && TLS_ERRORS.has(code)) {
      return make(
        "HF_KAFKA_AUTH",
        `TLS handshake with ${brokers} failed: ${code} (check tls.ca_file and the broker's certificate)`,
        false,
        { errno: code },
      );
    }
    return make(
      "HF_KAFKA_UNREACHABLE",
      `no connection to the Kafka brokers ${brokers}: ${root.message}`,
      true,
      code === undefined ? {} : { errno: code },
    );
  }
  if (root instanceof KafkaJSBrokerNotFound) {
    return make("HF_KAFKA_UNREACHABLE", `no Kafka broker of ${brokers} answers`, true);
  }
  if (
    root instanceof KafkaJSRequestTimeoutError ||
    root instanceof KafkaJSTimeout ||
    root instanceof KafkaJSLockTimeout
  ) {
    return make("HF_KAFKA_PRODUCE", `Kafka did not answer in time${topics}`, true);
  }
  if (
    root instanceof KafkaJSMetadataNotLoaded ||
    root instanceof KafkaJSStaleTopicMetadataAssignment
  ) {
    return make("HF_KAFKA_PRODUCE", `no metadata for the topic yet${topics}`, true);
  }
  if (root instanceof KafkaJSError) {
    // A plain KafkaJSError is how kafkajs says "The producer is disconnected" (retriable); the
    // producer is replaced anyway. Validation errors of sendBatch are non-retriable ones.
    return make(
      "HF_KAFKA_PRODUCE",
      `the Kafka producer failed${topics}: ${root.message}`,
      root.retriable,
    );
  }
  // Not a kafkajs error: a bug, retrying the same batch will not help.
  const message = root instanceof Error ? root.message : String(root);
  return make("HF_KAFKA_PRODUCE", `unexpected error while producing${topics}: ${message}`, false);
}
