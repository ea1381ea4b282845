import hive from "hive-driver";
import type { HiveEndpoint } from "../endpoints.js";
import { HostflowError, isHostflowError } from "../errors.js";
import { sleep, withTimeout } from "../timeout.js";
import {
  type HiveColumn,
  type HiveRow,
  type Int64Mode,
  type ThriftColumn,
  toRows,
} from "./values.js";

const { TCLIService, TCLIService_types: T } = hive.thrift;

export interface HiveClientOptions extends HiveEndpoint {
  /** TCP connect + SASL handshake + OpenSession. */
  connectTimeoutMs?: number;
  /** Default for each statement, from submission to the last fetched row. */
  statementTimeoutMs?: number;
  /** Run `USE database` once the session is open. */
  database?: string;
}

export interface StatementOptions {
  timeoutMs?: number;
  /** BIGINT as number (default; values beyond 2^53 are an error) or as bigint. */
  int64?: Int64Mode;
}

export interface QueryResult<Row extends HiveRow = HiveRow> {
  columns: HiveColumn[];
  rows: Row[];
}

const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
const DEFAULT_STATEMENT_TIMEOUT_MS = 10 * 60_000;
const FETCH_ROWS = 10_000;
const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(T.TTypeId as Record<string, number>).map(([name, id]) => [
    id,
    name.replace(/_TYPE$/, ""),
  ]),
);

/**
 * One HiveServer2 session over the binary Thrift transport with SASL PLAIN (what servers with
 * authentication NONE, LDAP or CUSTOM speak). Every call is bounded by a timeout: a client whose
 * SASL mode does not match the server's waits forever otherwise, as does a call on a dropped
 * connection.
 */
export class HiveClient {
  readonly endpoint: string;
  private closed = false;

  private constructor(
    private readonly client: InstanceType<typeof hive.HiveClient>,
    private readonly session: HiveSession,
    private readonly lost: Promise<never>,
    private readonly statementTimeoutMs: number,
    endpoint: string,
  ) {
    this.endpoint = endpoint;
  }

  static async connect(options: HiveClientOptions): Promise<HiveClient> {
    const endpoint = `${options.host}:${options.port}`;
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const auth = new TrackedPlainAuth({ username: options.user, password: options.password });
    const client = new hive.HiveClient(TCLIService, T);
    // The Thrift connection does not fail calls in flight when the socket drops: race them with this.
    let markLost: (error: HostflowError) => void = () => undefined;
    const lost = new Promise<never>((_, reject) => {
      markLost = reject;
    });
    lost.catch(() => undefined);
    const onLost = (cause?: unknown) =>
      markLost(
        new HostflowError(
          "HF_HIVE_UNREACHABLE",
          `the connection to HiveServer2 at ${endpoint} was lost`,
          {
            cause,
            retriable: true,
            context: { endpoint },
          },
        ),
      );
    client.on("error", onLost);
    client.on("close", () => onLost());

    const open = async () => {
      await client.connect(
        { host: options.host, port: options.port },
        new hive.connections.TcpConnection(),
        auth,
      );
      const session = (await client.openSession({
        client_protocol: T.TProtocolVersion.HIVE_CLI_SERVICE_PROTOCOL_V10,
      })) as HiveSession;
      return session;
    };
    let session: HiveSession;
    try {
      session = await withTimeout(
        open(),
        timeoutMs,
        `connecting to HiveServer2 at ${endpoint}`,
        () => auth.destroy(),
      );
    } catch (error) {
      auth.destroy();
      throw connectError(error, endpoint, timeoutMs);
    }
    const hiveClient = new HiveClient(
      client,
      session,
      lost,
      options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      endpoint,
    );
    if (options.database !== undefined) {
      try {
        await hiveClient.execute(`USE ${options.database}`);
      } catch (error) {
        await hiveClient.close();
        throw error;
      }
    }
    return hiveClient;
  }

  /** Runs a statement whose rows, if any, are not wanted (DDL, INSERT, SET). */
  async execute(sql: string, options: StatementOptions = {}): Promise<void> {
    await this.run(sql, options, false);
  }

  /**
   * The server's product name (GetInfo CLI_DBMS_NAME, what JDBC's getDatabaseProductName gives):
   * `Apache Hive` for HiveServer2, `Spark SQL` for Spark's Thrift Server.
   */
  async serverName(): Promise<string> {
    const info = await withTimeout(
      Promise.race([this.session.getInfo(T.TGetInfoType.CLI_DBMS_NAME), this.lost]),
      this.statementTimeoutMs,
      `GetInfo on ${this.endpoint}`,
    ).catch((error: unknown) => {
      throw statementError(error, "GetInfo(CLI_DBMS_NAME)", this.endpoint);
    });
    return String(info.getValue() ?? "");
  }

  /** Runs a query and returns its rows, typed by column (see `convertColumn`). */
  async query<Row extends HiveRow = HiveRow>(
    sql: string,
    options: StatementOptions = {},
  ): Promise<QueryResult<Row>> {
    return this.run<Row>(sql, options, true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await withTimeout(
        Promise.race([this.session.close(), this.lost]),
        5_000,
        "closing the HiveServer2 session",
      );
    } catch {
      // The server forgets the session when the socket goes; nothing to recover here.
    } finally {
      this.client.close();
    }
  }

  private async run<Row extends HiveRow>(
    sql: string,
    options: StatementOptions,
    wantRows: boolean,
  ): Promise<QueryResult<Row>> {
    if (this.closed) {
      throw new HostflowError(
        "HF_HIVE_CLOSED",
        `statement after close() on ${this.endpoint}: ${preview(sql)}`,
      );
    }
    const timeoutMs = options.timeoutMs ?? this.statementTimeoutMs;
    let operation: HiveOperation | undefined;
    const work = async (): Promise<QueryResult<Row>> => {
      operation = await this.session.executeStatement(sql, { runAsync: true });
      await this.waitUntilFinished(operation, sql);
      const result = wantRows
        ? await this.fetchAll<Row>(operation, options.int64 ?? "number")
        : { columns: [], rows: [] };
      await operation.close();
      operation = undefined;
      return result;
    };
    try {
      return await withTimeout(
        Promise.race([work(), this.lost]),
        timeoutMs,
        `statement on ${this.endpoint}`,
      );
    } catch (error) {
      if (operation !== undefined) {
        const op = operation;
        await withTimeout(
          Promise.race([op.cancel().then(() => op.close()), this.lost]),
          5_000,
          "cancel",
        ).catch(() => undefined);
      }
      throw statementError(error, sql, this.endpoint);
    }
  }

  /** Polls the operation's state with a growing pause (10 ms up to 250 ms). */
  private async waitUntilFinished(operation: HiveOperation, sql: string): Promise<void> {
    for (let pause = 10; ; pause = Math.min(pause * 2, 250)) {
      const status = await operation.status(false);
      switch (status.operationState) {
        case T.TOperationState.FINISHED_STATE:
          return;
        case T.TOperationState.INITIALIZED_STATE:
        case T.TOperationState.PENDING_STATE:
        case T.TOperationState.RUNNING_STATE:
          await sleep(pause);
          break;
        default:
          throw new HostflowError(
            "HF_HIVE_QUERY",
            `HiveServer2 at ${this.endpoint} failed the statement: ${firstLine(status.errorMessage) ?? stateName(status.operationState)}`,
            {
              retriable: transientFailure(status.errorMessage),
              context: {
                endpoint: this.endpoint,
                sql: preview(sql),
                sqlState: status.sqlState ?? null,
                errorCode: status.errorCode ?? null,
              },
            },
          );
      }
    }
  }

  private async fetchAll<Row extends HiveRow>(
    operation: HiveOperation,
    int64: Int64Mode,
  ): Promise<QueryResult<Row>> {
    operation.setMaxRows(FETCH_ROWS);
    let columns: HiveColumn[] = [];
    const rows: Row[] = [];
    do {
      await operation.fetch();
      if (columns.length === 0) columns = schemaColumns(operation.getSchema());
      for (const rowSet of operation.getData()) {
        for (const row of toRows<Row>(columns, rowSet.columns ?? [], int64)) rows.push(row);
      }
      operation.flush();
    } while (operation.hasMoreRows());
    return { columns, rows };
  }
}

/** The subset of hive-driver's session and operation that this client uses. */
interface HiveSession {
  executeStatement(sql: string, options: { runAsync: boolean }): Promise<HiveOperation>;
  getInfo(infoType: number): Promise<{ getValue(): string | number | Buffer | null }>;
  close(): Promise<unknown>;
}
interface HiveOperation {
  status(progress: boolean): Promise<OperationStatus>;
  fetch(): Promise<unknown>;
  getSchema(): { columns: ThriftColumnDesc[] } | null;
  getData(): { columns?: ThriftColumn[] }[];
  flush(): void;
  hasMoreRows(): boolean;
  setMaxRows(rows: number): void;
  cancel(): Promise<unknown>;
  close(): Promise<unknown>;
}
interface OperationStatus {
  operationState: number;
  errorMessage?: string | null;
  sqlState?: string | null;
  errorCode?: number | null;
}
interface ThriftColumnDesc {
  columnName: string;
  position: number;
  typeDesc: { types: { primitiveEntry?: { type: number } | null }[] };
}

function schemaColumns(schema: { columns: ThriftColumnDesc[] } | null): HiveColumn[] {
  return [...(schema?.columns ?? [])]
    .sort((a, b) => a.position - b.position)
    .map((c) => ({
      // Hive prefixes names with the table alias (t.host) unless told otherwise; Spark does not.
      name: c.columnName.slice(c.columnName.lastIndexOf(".") + 1),
      type: typeName(c.typeDesc.types[0]?.primitiveEntry?.type ?? null, c.typeDesc.types[0]),
    }));
}

function typeName(id: number | null, entry: object | undefined): string {
  if (id !== null) return TYPE_NAMES[id] ?? `TYPE_${id}`;
  if (entry !== undefined && "arrayEntry" in entry && entry.arrayEntry) return "ARRAY";
  if (entry !== undefined && "mapEntry" in entry && entry.mapEntry) return "MAP";
  return "STRUCT";
}

/** PLAIN SASL that remembers its socket, so that a timed-out handshake can be torn down. */
class TrackedPlainAuth extends hive.auth.PlainTcpAuthentication {
  private socket: { destroy(): void } | undefined;

  override authenticate(
    transport: Parameters<InstanceType<typeof hive.auth.PlainTcpAuthentication>["authenticate"]>[0],
  ) {
    const result = super.authenticate(transport);
    this.socket = transport.getTransport() as { destroy(): void } | undefined;
    // A socket error carries a system code (ECONNREFUSED …); anything else is the server's SASL answer.
    return result.catch((error: unknown) => {
      throw typeof (error as { code?: unknown } | null)?.code === "string"
        ? error
        : new SaslRejected(error);
    });
  }

  destroy(): void {
    this.socket?.destroy();
  }
}

class SaslRejected extends Error {
  constructor(cause: unknown) {
    super("SASL PLAIN handshake rejected", { cause });
  }
}

function connectError(error: unknown, endpoint: string, timeoutMs: number): HostflowError {
  const context = { endpoint };
  if (isHostflowError(error, "HF_TIMEOUT")) {
    return new HostflowError(
      "HF_TIMEOUT",
      `HiveServer2 at ${endpoint} did not complete the connection within ${timeoutMs} ms; check that it ` +
        "listens with the binary transport and SASL (authentication NONE, LDAP or CUSTOM), not NOSASL or HTTP",
      { cause: error, retriable: true, context },
    );
  }
  if (error instanceof SaslRejected) {
    return new HostflowError(
      "HF_HIVE_AUTH",
      `HiveServer2 at ${endpoint} rejected the user or password`,
      {
        cause: error.cause,
        context,
      },
    );
  }
  // A socket error has a system code (ECONNREFUSED); hive-driver's StatusError (a failed
  // OpenSession) is no Error but carries the server's message.
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const reason =
    typeof code === "string"
      ? code
      : typeof message === "string"
        ? (firstLine(message) ?? "no reason given")
        : String(error);
  return new HostflowError(
    "HF_HIVE_UNREACHABLE",
    `cannot connect to HiveServer2 at ${endpoint}: ${reason}`,
    {
      cause: error,
      retriable: true,
      context,
    },
  );
}

function statementError(error: unknown, sql: string, endpoint: string): HostflowError {
  if (error instanceof HostflowError) {
    return error.code === "HF_TIMEOUT"
      ? new HostflowError("HF_TIMEOUT", `${error.message}: ${preview(sql)}`, {
          cause: error,
          retriable: true,
          context: { endpoint, sql: preview(sql) },
        })
      : error;
  }
  // hive-driver's StatusError is not an Error; it carries the server's message.
  const message = (error as { message?: unknown } | null)?.message;
  return new HostflowError(
    "HF_HIVE_QUERY",
    `HiveServer2 at ${endpoint} rejected the statement: ${firstLine(typeof message === "string" ? message : String(error))}`,
    {
      cause: error,
      retriable: transientFailure(typeof message === "string" ? message : undefined),
      context: { endpoint, sql: preview(sql) },
    },
  );
}

/**
 * A statement that failed because the warehouse's file system was away (the NameNode down or
 * restarting, in safe mode, no DataNode): the same statement succeeds once it is back.
 */
const STORAGE_UNAVAILABLE =
  /java\.net\.ConnectException|Connection refused|SafeModeException|RetriableException|StandbyException|could only be written to 0 of the|There are 0 datanode\(s\) running/;

/**
 * A Tez task that could not set up its map operator: HiveServer2 running Tez in local mode (every
 * session's tasks in its one JVM) fails them when sessions start and end around it (Tez's static
 * object cache: `RejectedExecutionException`, or `Invalid input path`, another query's file); the
 * local stack's fleet bench and CI met it. Run again in a new session, the statement succeeds. On
 * a cluster, a failure of this kind that is not transient is retried `hive.retries` times and
 * then reported as it is.
 */
const TASK_SETUP_FAILED =
  /return code 2 from org\.apache\.hadoop\.hive\.ql\.exec\.tez\.TezTask.*(Map operator initialization failed|Invalid input path)/s;

/** Whether a failed statement is worth running again: the storage was away, or a task setup raced. */
export function transientFailure(message: string | undefined | null): boolean {
  return (
    typeof message === "string" &&
    (STORAGE_UNAVAILABLE.test(message) || TASK_SETUP_FAILED.test(message))
  );
}

function stateName(state: number): string {
  const name = Object.entries(T.TOperationState as Record<string, number>).find(
    ([, id]) => id === state,
  )?.[0];
  return `operation ended in ${name ?? `state ${state}`}`;
}

function firstLine(text: string | null | undefined): string | undefined {
  return text?.split("\n", 1)[0]?.trim() || undefined;
}

function preview(sql: string): string {
  const flat = sql.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
