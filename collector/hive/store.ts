import { readFile } from "node:fs/promises";
import { Backoff, pause } from "../../lib/backoff.js";
import { HostflowError, isHostflowError } from "../../lib/errors.js";
import { HiveClient } from "../../lib/hive/client.js";
import type { Logger } from "../../lib/log.js";
import type { ResolvedHiveSettings } from "../config/load.js";
import type { StreamState } from "../gaps.js";
import { decodeHoles, sqlString } from "./encode.js";
import {
  committedLoads,
  createDatabaseStatement,
  createTableStatement,
  KEEP_FILES,
  schemaDifferences,
  type TableKindInfo,
  type TableSpecs,
  tableKind,
  tableSpecs,
  tablesRoot,
  viewStatements,
} from "./tables.js";
import { fsPath } from "./warehouse-fs.js";

export { sqlString };

const SESSION_SETTINGS = [
  "SET hive.exec.dynamic.partition=true",
  "SET hive.exec.dynamic.partition.mode=nonstrict",
  // Hive answers COUNT(*), MIN and MAX from the metastore's statistics when it holds them; files
  // that reach a table other than by INSERT (ADD PARTITION, a file written there) leave those
  // stale. Every answer comes from the files. Spark takes the key and ignores it.
  "SET hive.compute.query.using.stats=false",
  // Hive 3 and 4 compute column statistics on every INSERT by default: a second pass that made
  // a load's commit (one row into `loads`) take ~0.87 s instead of ~0.46 s here. Nothing of the
  // collector's reads them (above), and ANALYZE TABLE … COMPUTE STATISTICS FOR COLUMNS still
  // makes them for whoever wants them.
  "SET hive.stats.column.autogather=false",
];

/** The collector's view of Hive: its tables, the offsets they hold, and loads into them. */
/** A row of `streams` as the runs read it (its load_id aside). */
export type StreamsRow = {
  agent_id: string;
  stream: string;
  host: string;
  max_seq: number;
  holes: string;
  last_ts: number;
  updated_at: number;
};

export class HiveStore {
  readonly specs: TableSpecs;
  private client: HiveClient | undefined;
  private reconnectError: unknown;
  /** Set by close(): no statement runs after it, and nothing reconnects. */
  private closed = false;

  private constructor(
    private readonly settings: ResolvedHiveSettings,
    private readonly password: string,
    private readonly logger: Logger,
  ) {
    this.specs = tableSpecs(settings.tables);
  }

  static async open(settings: ResolvedHiveSettings, logger: Logger): Promise<HiveStore> {
    const store = new HiveStore(settings, await hivePassword(settings), logger);
    await store.connect();
    return store;
  }

  get database(): string {
    return this.settings.database;
  }

  /**
   * The DDL of `init`: database, tables, views; safe to run again. Returns the statements run.
   * A table made by an older version (managed, or external with purge on) becomes external with
   * its files kept, where its files are; a transactional one (Hive 3) cannot, and init refuses
   * with what to do.
   */
  async init(): Promise<string[]> {
    const run: string[] = [];
    const execute = async (sql: string) => {
      await this.session().execute(sql);
      run.push(sql);
    };
    await execute(createDatabaseStatement(this.settings));
    const refused: string[] = [];
    for (const spec of Object.values(this.specs)) {
      const table = `${this.database}.${spec.name}`;
      const kind = await this.tableKind(table);
      // Rename, init, copy: what makes any table of an older version one of these.
      const recreate =
        `rename it (ALTER TABLE ${table} RENAME TO ${table}_old), run init again, then copy its rows ` +
        `(INSERT INTO ${table}${spec.partitions.length > 0 ? ` PARTITION (${spec.partitions.map((p) => p.name).join(", ")})` : ""} ` +
        `SELECT * FROM ${table}_old) before the next run`;
      if (kind === undefined) await execute(createTableStatement(this.settings, spec));
      else if (kind.transactional) {
        refused.push(
          `${table} is a transactional (ACID) table, which cannot be made external: ${recreate}`,
        );
      } else if (!kind.external) {
        try {
          await execute(
            `ALTER TABLE ${table} SET TBLPROPERTIES ('EXTERNAL'='TRUE', ${KEEP_FILES})`,
          );
        } catch (error) {
          // Spark's Thrift Server refuses to change EXTERNAL ("preserved property key").
          if (!isHostflowError(error, "HF_HIVE_QUERY")) throw error;
          refused.push(
            `${table} is a managed table and this server cannot make it external (${(error as Error).message}): ${recreate}`,
          );
        }
      } else if (kind.purge !== "false") {
        await execute(`ALTER TABLE ${table} SET TBLPROPERTIES (${KEEP_FILES})`);
      }
    }
    if (refused.length > 0) {
      throw new HostflowError(
        "HF_HIVE_SCHEMA",
        `init cannot take over tables made by an older version: ${refused.join("; ")}`,
        { context: { database: this.database, problems: refused } },
      );
    }
    for (const sql of viewStatements(this.settings)) await execute(sql);
    await this.checkTables();
    return run;
  }

  /**
   * Drops the database and, with a WebHDFS client, its tables' files: DROP DATABASE … CASCADE
   * keeps them (the tables are external), and a database made again with the same name would
   * count them again. For the demo, the benchmark and the tests, never a collector run.
   */
  async dropDatabase(files?: { delete(path: string): Promise<boolean> }): Promise<void> {
    await this.query(`DROP DATABASE IF EXISTS ${this.database} CASCADE`);
    if (files !== undefined) await files.delete(fsPath(tablesRoot(this.settings)));
  }

  /** A table's kind (external, purged, transactional), or undefined when it does not exist. */
  async tableKind(table: string): Promise<TableKindInfo | undefined> {
    let described: Array<Record<string, unknown>>;
    try {
      described = (await this.session().query(`DESCRIBE FORMATTED ${table}`)).rows;
    } catch (error) {
      if (!isHostflowError(error, "HF_HIVE_QUERY")) throw error;
      return undefined;
    }
    const properties = (await this.session().query(`SHOW TBLPROPERTIES ${table}`)).rows;
    return tableKind(described, properties);
  }

  /** Fails with HF_HIVE_SCHEMA, naming every difference, when a table is not what we write. */
  async checkTables(): Promise<void> {
    const problems: string[] = [];
    for (const spec of Object.values(this.specs)) {
      const table = `${this.database}.${spec.name}`;
      let described: Array<{ col_name: string; data_type: string }>;
      try {
        described = (await this.session().query(`DESCRIBE ${table}`)).rows as typeof described;
      } catch (error) {
        if (!isHostflowError(error, "HF_HIVE_QUERY")) throw error;
        problems.push(`${table} does not exist`);
        continue;
      }
      for (const difference of schemaDifferences(spec, described)) {
        problems.push(`${table}: ${difference}`);
      }
    }
    if (problems.length > 0) {
      throw new HostflowError(
        "HF_HIVE_SCHEMA",
        `the tables in Hive are not what the collector writes: ${problems.join("; ")} ` +
          `(run hostflow-collector init; a table made by another version must be renamed or dropped first)`,
        { context: { database: this.database, problems } },
      );
    }
  }

  /**
   * The next offset to load per `topic:partition`, from the committed loads of this group, asked
   * of Hive: for runs that cannot read `loads`' files (statements without a warehouse file
   * system, ORC). Others read the files (WarehouseRows.loadedOffsets).
   */
  async loadedOffsets(groupId: string): Promise<Map<string, number>> {
    const { rows } = await this.query<{ topic: string; kafka_partition: number; next: number }>(
      `SELECT topic, kafka_partition, MAX(next_offset) AS next FROM ${this.database}.${this.specs.loads.name} ` +
        `WHERE group_id = '${sqlString(groupId)}' AND kafka_partition >= 0 GROUP BY topic, kafka_partition`,
    );
    return new Map(rows.map((r) => [`${r.topic}:${r.kafka_partition}`, Number(r.next)]));
  }

  /** The latest committed state of every stream heard from in the last `days` days. */
  async streamStates(days: number, now: number): Promise<StreamState[]> {
    const since = new Date(now - days * 86_400_000).toISOString().slice(0, 10);
    const s = this.specs.streams.name;
    const { rows } = await this.query<StreamsRow>(
      `SELECT agent_id, stream, host, max_seq, holes, last_ts, updated_at FROM (` +
        `SELECT b.*, ROW_NUMBER() OVER (PARTITION BY b.agent_id, b.stream ORDER BY b.updated_at DESC, b.max_seq DESC) AS rn ` +
        `FROM ${this.database}.${s} b LEFT SEMI JOIN ${committedLoads(this.database, this.specs.loads.name)} l ON (b.load_id = l.load_id) ` +
        `WHERE b.day >= '${since}') t WHERE rn = 1`,
    );
    return rows.map((r) => ({
      agentId: r.agent_id,
      stream: r.stream,
      host: r.host,
      maxSeq: Number(r.max_seq),
      ...decodeHoles(r.holes),
      lastTs: Number(r.last_ts),
      updatedAt: Number(r.updated_at),
    }));
  }

  /** A read, retried like a load (reads have no side effect to guard). */
  async query<Row extends Record<string, unknown>>(sql: string): Promise<{ rows: Row[] }> {
    return this.retrying(
      "query",
      async () => (await this.session().query(sql)) as unknown as { rows: Row[] },
    );
  }

  /** Runs a statement once in the session (a load's commit; retries are the caller's). */
  async execute(sql: string): Promise<void> {
    await this.session().execute(sql);
  }

  /** Of these attempt ids, the ones in `loads` (committed). */
  async committedAttempts(attempts: readonly string[]): Promise<Set<string>> {
    if (attempts.length === 0) return new Set();
    const { rows } = await this.query<{ load_id: string }>(
      `SELECT load_id FROM ${this.database}.${this.specs.loads.name} WHERE load_id IN (` +
        `${attempts.map((a) => `'${sqlString(a)}'`).join(", ")})`,
    );
    return new Set(rows.map((r) => r.load_id));
  }

  /** Whether any attempt of the load committed. */
  async committed(loadId: string): Promise<boolean> {
    const { rows } = await this.session().query(
      `SELECT COUNT(*) AS n FROM ${this.database}.${this.specs.loads.name} ` +
        `WHERE split(load_id, '#')[0] = '${sqlString(loadId)}'`,
    );
    return Number(rows[0]?.n ?? 0) > 0;
  }

  /**
   * Runs `work` until it succeeds, a failure is not transient, or `hive.retries` retries are
   * spent; between tries: backoff with jitter, then a new session.
   */
  async retrying<T>(what: string, work: (attempt: number) => Promise<T>): Promise<T> {
    const backoff = new Backoff({
      initialMs: this.settings.retry_backoff,
      maxMs: 60_000,
      multiplier: 2,
      jitter: 0.2,
    });
    for (let attempt = 1; ; attempt++) {
      try {
        return await work(attempt);
      } catch (error) {
        if (!isTransient(error) || attempt > this.settings.retries) throw error;
        const wait = backoff.next();
        this.logger.warn(
          { attempt, retryInMs: wait, error: (error as Error).message },
          `${what} failed; retrying`,
        );
        await pause(wait);
        this.reconnectError = undefined;
        await this.reconnect().catch((failure: unknown) => {
          this.reconnectError = failure;
        });
      }
    }
  }

  /** The server's product name (`Apache Hive`, `Spark SQL`), asked once. */
  serverName(): Promise<string> {
    this.#serverName ??= this.retrying("asking the server's name", () =>
      this.session().serverName(),
    );
    this.#serverName.catch(() => {
      this.#serverName = undefined;
    });
    return this.#serverName;
  }
  #serverName: Promise<string> | undefined;

  async close(): Promise<void> {
    this.closed = true;
    await this.client?.close();
    this.client = undefined;
  }

  private session(): HiveClient {
    if (this.closed) {
      // Not retriable: a retry would reconnect, and the open session would keep the process up.
      throw new HostflowError(
        "HF_HIVE_CLOSED",
        "the collector's Hive session was used after close()",
      );
    }
    if (this.client === undefined) {
      // The reconnect's own error says what and where (host:port, refused, auth, timeout).
      if (this.reconnectError instanceof HostflowError) throw this.reconnectError;
      throw new HostflowError(
        "HF_HIVE_UNREACHABLE",
        `no session with HiveServer2 at ${this.settings.host}:${this.settings.port}: reconnecting failed`,
        { retriable: true, cause: this.reconnectError },
      );
    }
    return this.client;
  }

  /**
   * Runs `work` in a session of its own (SESSION_SETTINGS, then `settings`), closed afterwards:
   * what `settings` change never reaches the session loads use. A SET the server refuses (one
   * outside `hive.security.authorization.sqlstd.confwhitelist`, say) is logged and skipped.
   */
  async withSession<T>(
    settings: readonly string[],
    work: (session: HiveClient) => Promise<T>,
  ): Promise<T> {
    const client = await this.open();
    try {
      for (const sql of settings) {
        try {
          await client.execute(sql);
        } catch (error) {
          if (!isHostflowError(error) || error.code !== "HF_HIVE_QUERY") throw error;
          this.logger.warn(
            { error: error.message },
            `HiveServer2 refused \`${sql}\`; going on without it`,
          );
        }
      }
      return await work(client);
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  private async connect(): Promise<void> {
    this.client = await this.open();
  }

  private async open(): Promise<HiveClient> {
    const client = await HiveClient.connect({
      host: this.settings.host,
      port: this.settings.port,
      user: this.settings.user,
      password: this.password,
      connectTimeoutMs: this.settings.connect_timeout,
      statementTimeoutMs: this.settings.statement_timeout,
    });
    try {
      for (const sql of SESSION_SETTINGS) await client.execute(sql);
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  private async reconnect(): Promise<void> {
    if (this.closed) return;
    await this.client?.close().catch(() => undefined);
    this.client = undefined;
    await this.connect();
  }
}

function isTransient(error: unknown): boolean {
  return error instanceof HostflowError && error.retriable;
}

async function hivePassword(settings: ResolvedHiveSettings): Promise<string> {
  if (settings.password_file === undefined) return settings.password ?? "anonymous";
  try {
    return (await readFile(settings.password_file, "utf8")).trim();
  } catch (cause) {
    throw new HostflowError(
      "HF_CONFIG_INVALID",
      `hive.password_file: cannot read ${settings.password_file}`,
      { cause, context: { file: settings.password_file } },
    );
  }
}
