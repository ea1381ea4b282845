/**
 * The closed list of hostflow error codes. Code tells errors apart (never the message text);
 * `retriable` is what retry loops read.
 */
export const ErrorCodes = {
  HF_CONFIG_INVALID: "a configuration value is invalid",
  HF_CONFIG_READ: "a configuration file cannot be read",
  HF_CONFIG_PARSE: "a configuration file is not valid YAML",
  HF_CHANNEL_FULL: "a channel stayed full until the put was abandoned",
  HF_CHANNEL_TRANSACTION: "a batch exceeds a channel's transaction capacity",
  HF_CHANNEL_CLOSED: "a channel was used after stop()",
  HF_CHANNEL_IO: "a file channel could not read or write its files",
  HF_SOURCE_SAMPLE: "a source could not take a sample",
  HF_SINK_WRITE: "a sink could not write a batch",
  HF_KAFKA_PRODUCE: "Kafka did not acknowledge a batch",
  HF_KAFKA_AUTH: "Kafka rejected the credentials or TLS handshake",
  HF_TIMEOUT: "an operation did not finish in time",
  HF_KAFKA_UNREACHABLE: "no Kafka broker answered",
  HF_HIVE_UNREACHABLE: "the HiveServer2 endpoint refused or dropped the connection",
  HF_HIVE_AUTH: "HiveServer2 rejected the credentials",
  HF_HIVE_QUERY: "HiveServer2 reported an error for a statement",
  HF_HIVE_RESULT: "a HiveServer2 result could not be converted",
  HF_HIVE_CLOSED: "the Hive client was used after close()",
  HF_HDFS: "a WebHDFS call failed",
  HF_WAREHOUSE_DENIED: "the warehouse's file system refused an operation for lack of permission",
  HF_WAREHOUSE_FULL: "the warehouse's file system is full, or a quota was reached",
  HF_LOAD_LOST:
    "another collector of the group loaded the same offsets first (a rebalance); this load never commits",
  HF_HIVE_SCHEMA: "a Hive table is missing or its columns differ from what the collector expects",
  HF_KAFKA_TOPIC: "a topic to consume does not exist",
  HF_KAFKA_CONSUME: "consuming from Kafka failed",
  HF_OFFSETS: "the offsets recorded in Hive do not fit the topic",
  HF_LOCKED: "another collector run on this host holds the lock",
  HF_BAD_RATIO: "too large a share of the records was bad",
  HF_STACK_PREREQUISITE: "a program the local stack needs is missing",
  HF_STACK_PORT_TAKEN: "a port the local stack needs is used by another process",
  HF_STACK_RESOLVE: "the jars of the local stack could not be resolved",
  HF_STACK_START: "a local stack server did not start",
  HF_DEMO: "a step of `npm run demo` failed",
  HF_INTERRUPTED: "Ctrl-C (SIGINT) or SIGTERM stopped the command before it finished",
  HF_DASHBOARD_REQUEST: "a dashboard request asked for something that does not exist",
  HF_WAREHOUSE:
    "a load's files could not be written into the warehouse (not reachable, not writable, full)",
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export interface HostflowErrorOptions {
  cause?: unknown;
  retriable?: boolean;
  /** Where it happened: endpoint, file, statement … shown by the CLIs. */
  context?: Record<string, unknown>;
}

export class HostflowError extends Error {
  override readonly name = "HostflowError";
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: HostflowErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = options.context ?? {};
  }
}

export function isHostflowError(error: unknown, code?: ErrorCode): error is HostflowError {
  return error instanceof HostflowError && (code === undefined || error.code === code);
}

/** One line for a terminal or a cron mail: `HF_CODE: message (cause: …)`. */
export function describeError(error: unknown): string {
  if (error instanceof HostflowError) {
    const cause = error.cause instanceof Error ? ` (cause: ${error.cause.message})` : "";
    return `${error.code}: ${error.message}${cause}`;
  }
  return error instanceof Error ? error.message : String(error);
}
