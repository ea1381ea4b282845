/**
 * How a load reaches Hive and commits: the protocol, apart from consuming (run.ts).
 *
 * Files (load_via files; Kafka Connect HDFS's and Gobblin's way): an attempt at a load
 * (`<load>#<attempt>`) writes its rows as Parquet files straight into the tables' partition
 * folders, under a hidden name first (`_tmp.…`: Hive and Spark skip names starting with `_` or
 * `.`) renamed when whole, so that no reader meets a partial file. Missing partitions are then
 * registered (ALTER TABLE … ADD IF NOT EXISTS PARTITION), and the attempt commits by adding its
 * rows to `loads`: a file of them renamed into `loads`' folder on Apache Hive, one small INSERT
 * on Spark's Thrift Server (runCommit). The files of an attempt that never commits are in the folders but count nowhere:
 * the views join every row on a committed load_id (tables.ts, committedLoads).
 *
 * Before its first file, an attempt writes a marker (`<root>/_hostflow/inflight/<attempt>.json`)
 * listing its files; after its commit it deletes it. A later run reads the markers left by
 * attempts that were killed or failed: one that committed loses its marker only; one that did
 * not, once its marker is older than ORPHAN_GRACE_MS (its commit cannot still be running on the
 * server), loses its files, then its marker. A committed attempt's files are never deleted.
 *
 * Statements (load_via statement): the rows travel inside the INSERT (encode.ts); the statement
 * is the commit.
 *
 * Both retry a failed attempt as a new one, after asking whether an earlier attempt committed
 * (a connection can drop after the server finished): two attempts that both commit are counted
 * once (committedLoads keeps the first).
 */
import { randomUUID } from "node:crypto";
import { HostflowError, isHostflowError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { ResolvedHiveSettings } from "../config/load.js";
import { type Claim, LoadLostError, OffsetClaims, type Position } from "./claims.js";
import { attemptId, commitStatement, emptyCounts, encodeLoad, type LoadUnit } from "./encode.js";
import { type FileTable, loadsFile, loadsRows, type PartPlace } from "./parquet.js";
import { ParquetThread } from "./parquet-thread.js";
import type { HiveStore } from "./store.js";
import { type TableKind, tableLocation, tablesRoot } from "./tables.js";
import { fsPath, type WarehouseFs, warehouseFs } from "./warehouse-fs.js";

/** Points of a load where a test kills the process (HOSTFLOW_CRASH_AT). */
export type LoadPoint =
  | "before-files"
  | "mid-files"
  | "after-files"
  | "mid-claims"
  | "mid-commit"
  | "after-commit";

export interface LoadResult {
  /** From begin to the commit's end. */
  ms: number;
  /** From begin until the committed attempt's files were in place (0: statements). */
  filesMs: number;
  attempts: number;
  rows: Record<TableKind, number>;
  /** Bytes sent: the statement's, or the files'. */
  bytes: number;
  files: number;
}

/** A test hook called at each LoadPoint (kill or hold the process there). */
export type At = (point: LoadPoint) => void | Promise<void>;

/**
 * A load begun: what can go ahead of its commit (the files: encoded in a worker thread, written,
 * renamed; invisible until the commit) runs in the background while the caller goes on.
 */
export interface PendingLoad {
  /** Whether the background part is over (done or failed): commit() will not wait for it. */
  readonly ready: boolean;
  /**
   * Commits, retrying transient failures (of the background part too) as new attempts. Called
   * once, while the caller still owns the load's partitions.
   */
  commit(): Promise<LoadResult>;
  /** Never commits it: waits for the background part to stop. Its files stay invisible. */
  abandon(): Promise<void>;
}

export interface Loader {
  readonly via: "files" | "statement";
  /**
   * Whether each commit claims the offsets it starts from (claims.ts): then two loads of the
   * same offsets never both commit, whoever owns the partition when they commit.
   */
  readonly claimsOffsets: boolean;
  /** At the start of a run: what killed or failed runs left. */
  recover(): Promise<void>;
  /**
   * Begins a load; `at` is called at each LoadPoint (mid-commit is not awaited, the statement
   * being sent).
   */
  begin(unit: LoadUnit, at?: At): PendingLoad;
  /** Rows per statement bound the statement path's loads; undefined: only the batch limits. */
  readonly maxStatementBytes: number | undefined;
  /** Stops the writer thread, if one was started. */
  close(): Promise<void>;
}

/** Begins and commits a load at once. */
export function loadNow(loader: Loader, unit: LoadUnit, at?: At): Promise<LoadResult> {
  return loader.begin(unit, at).commit();
}

/** A marker older than this belongs to an attempt that can no longer commit. */
export const ORPHAN_GRACE_MS = 60 * 60_000;
const INFLIGHT = "_hostflow/inflight";
const TMP_PREFIX = "_tmp.";

/**
 * Picks how this run loads (`auto`: files when the warehouse answers a test write, statements
 * otherwise; a warehouse that refuses the write is an error, not a fallback) and logs it.
 */
export async function openLoader(
  store: HiveStore,
  settings: ResolvedHiveSettings,
  logger: Logger,
  fs: WarehouseFs | undefined = warehouseFs(settings),
): Promise<Loader> {
  if (settings.load_via === "statement") {
    logger.info({ via: "statement" }, "loading via statements (hive.load_via: statement)");
    return new StatementLoader(store, settings);
  }
  const root = fsPath(tablesRoot(settings));
  if (fs === undefined) {
    const why = `warehouse_dir ${settings.warehouse_dir} is on HDFS and hive.webhdfs_url is not set`;
    if (settings.load_via === "files") {
      throw new HostflowError(
        "HF_CONFIG_INVALID",
        `hive.load_via is files but ${why}: set hive.webhdfs_url (the NameNode's http://host:9870, or HttpFS), use a file:// warehouse_dir the collector can write, or set load_via: statement`,
        { context: { warehouse_dir: settings.warehouse_dir } },
      );
    }
    logger.info({ via: "statement", why }, `loading via statements: ${why}`);
    return new StatementLoader(store, settings);
  }
  try {
    await probe(fs, root);
  } catch (error) {
    if (isHostflowError(error, "HF_WAREHOUSE_DENIED")) {
      throw new HostflowError(
        "HF_WAREHOUSE_DENIED",
        `user ${fs.user} may not write the warehouse folder ${root} (${fs.description}): ${(error as Error).message}. ` +
          `Fix: let ${fs.user} write it (as the HDFS superuser: hdfs dfs -mkdir -p ${root} && hdfs dfs -chown -R ${fs.user} ${root}), ` +
          "or set hive.webhdfs_user to a user who may, or set hive.load_via: statement",
        { cause: error, context: { path: root, user: fs.user } },
      );
    }
    if (settings.load_via === "files" || !isHostflowError(error) || !error.retriable) throw error;
    logger.warn(
      { via: "statement", error: (error as Error).message },
      `loading via statements: the warehouse's file system does not answer (${fs.description})`,
    );
    return new StatementLoader(store, settings);
  }
  logger.info(
    { via: "files", root, fs: fs.description },
    `loading via Parquet files into ${root} (${fs.description})`,
  );
  return new FileLoader(store, settings, fs, root, logger);
}

/** A write and a delete where the markers go: what a load needs, asked once at start. */
async function probe(fs: WarehouseFs, root: string): Promise<void> {
  const dir = `${root}/${INFLIGHT}`;
  await fs.mkdirs(dir);
  const file = `${dir}/${TMP_PREFIX}probe-${process.pid}-${Date.now()}`;
  await fs.write(file, new Uint8Array(0));
  await fs.delete(file);
}

class StatementLoader implements Loader {
  readonly via = "statement";
  readonly claimsOffsets = false;
  readonly maxStatementBytes: number;
  constructor(
    private readonly store: HiveStore,
    settings: ResolvedHiveSettings,
  ) {
    this.maxStatementBytes = settings.max_statement_bytes;
  }

  async recover(): Promise<void> {}

  async close(): Promise<void> {}

  /** Nothing goes ahead: the statement is the load. */
  begin(unit: LoadUnit, at?: At): PendingLoad {
    return {
      ready: true,
      commit: async () => {
        const { statement, rows } = encodeLoad(unit, this.store.database, this.store.specs);
        const bytes = statement(attemptId(unit.loadId, 1)).length;
        const started = Date.now();
        const attempts = await retryLoad(this.store, unit.loadId, async (id) => {
          const running = this.store.execute(statement(id));
          at?.("mid-commit");
          await running;
        });
        await at?.("after-commit");
        return { ms: Date.now() - started, filesMs: 0, attempts, rows, bytes, files: 0 };
      },
      abandon: async () => {},
    };
  }
}

/** An attempt's files, written and renamed, waiting for its commit. */
interface Written {
  parts: PartPlace[];
  /** When they were all in place (epoch ms). */
  at: number;
  marker: string;
  rows: Record<TableKind, number>;
  bytes: number;
}

class FileLoader implements Loader {
  readonly via = "files";
  readonly claimsOffsets = true;
  readonly maxStatementBytes = undefined;
  private readonly parquet = new ParquetThread();
  private readonly claims: OffsetClaims;
  private loadsDirMade = false;
  /** `<kind> <partition spec>` registered by this loader, on Apache Hive (register). */
  private readonly registered = new Set<string>();

  constructor(
    private readonly store: HiveStore,
    private readonly settings: ResolvedHiveSettings,
    private readonly fs: WarehouseFs,
    private readonly root: string,
    private readonly logger: Logger,
  ) {
    this.claims = new OffsetClaims(fs, root);
  }

  async recover(now = Date.now()): Promise<void> {
    const dir = `${this.root}/${INFLIGHT}`;
    const entries = (await this.fs.list(dir)) ?? [];
    const markers = entries.filter((e) => !e.directory && e.name.endsWith(".json"));
    if (markers.length === 0) return;
    const old = markers.filter((m) => now - m.modificationTime >= ORPHAN_GRACE_MS);
    const attempts = markers.map((m) => decodeURIComponent(m.name.slice(0, -".json".length)));
    const committed = await this.store.committedAttempts(attempts);
    let removed = 0;
    let waiting = 0;
    for (const marker of markers) {
      const attempt = decodeURIComponent(marker.name.slice(0, -".json".length));
      const path = `${dir}/${marker.name}`;
      if (committed.has(attempt)) {
        await this.fs.delete(path);
        continue;
      }
      const { files, claim } = await this.readMarker(path);
      if (claim !== undefined) {
        // Complete: it owns its offsets for good, only its commit is missing (the run died
        // between the two): finish it. Dead: it never commits. An old pending one is made dead.
        const state = await this.claims.state(
          claim,
          `recover-${process.pid}`,
          old.includes(marker),
        );
        if (state === "complete") {
          await this.finishClaimed(claim);
          await this.fs.delete(path);
          this.logger.warn(
            { attempt },
            "committed a load attempt that had claimed its offsets but died before its commit",
          );
          continue;
        }
        if (state === "pending") {
          waiting += 1;
          continue;
        }
      } else if (!old.includes(marker)) {
        waiting += 1;
        continue;
      }
      for (const file of files) await this.fs.delete(file);
      await this.fs.delete(path);
      removed += files.length;
      this.logger.warn(
        { attempt, files: files.length },
        "removed the files of a load attempt that never committed",
      );
    }
    if (waiting > 0) {
      this.logger.info(
        { attempts: waiting },
        `${waiting} uncommitted load attempt(s) younger than ${ORPHAN_GRACE_MS / 60_000} min: their files stay (invisible) until a later run`,
      );
    }
    if (removed > 0) this.logger.info({ files: removed }, "orphaned load files removed");
  }

  async close(): Promise<void> {
    await this.parquet.close();
  }

  /** The first attempt's files are written in the background; commit() waits for them. */
  begin(unit: LoadUnit, at?: At): PendingLoad {
    const started = Date.now();
    const first = this.writeFiles(unit, attemptId(unit.loadId, 1), at);
    const pending = {
      ready: false,
      commit: async (): Promise<LoadResult> => {
        let written: Written | undefined;
        const attempts = await retryLoad(this.store, unit.loadId, async (id, n) => {
          written = n === 1 ? await first : await this.writeFiles(unit, id, at);
          await this.commitFiles(unit, id, written, at);
        });
        await at?.("after-commit");
        const { rows, bytes, parts, at: placed } = written as Written;
        const ms = Date.now() - started;
        return { ms, filesMs: placed - started, attempts, rows, bytes, files: parts.length };
      },
      abandon: async () => {
        await first.catch(() => undefined);
      },
    };
    first.then(
      () => {
        pending.ready = true;
      },
      () => {
        pending.ready = true;
      },
    );
    return pending;
  }

  /** One attempt's files: encoded, then written hidden and renamed, with a marker first. */
  private async writeFiles(unit: LoadUnit, id: string, at: At | undefined): Promise<Written> {
    const parts = await this.parquet.parts(unit, this.store.specs, id);
    const name = `${id}.parquet`;
    const placed = parts.map((part) => ({
      part,
      dir: `${fsPath(tableLocation(this.settings, this.store.specs[part.kind]))}/${part.partitionPath}`,
    }));
    const finals = placed.map(({ dir }) => `${dir}/${name}`);
    const marker = `${this.root}/${INFLIGHT}/${encodeURIComponent(id)}.json`;
    const claim = this.claimOf(unit, id);
    await at?.("before-files");
    await this.fs.write(
      marker,
      Buffer.from(
        JSON.stringify({
          attempt: id,
          files: [...finals, ...placed.map(({ dir }) => `${dir}/${TMP_PREFIX}${name}`)],
          ...(claim === undefined ? {} : { claim }),
        }),
      ),
    );
    let bytes = 0;
    for (const [index, { part, dir }] of placed.entries()) {
      const tmp = `${dir}/${TMP_PREFIX}${name}`;
      await this.fs.mkdirs(dir);
      await this.fs.write(tmp, part.data);
      if (!(await this.fs.rename(tmp, `${dir}/${name}`))) {
        throw new HostflowError(
          "HF_WAREHOUSE",
          `${this.fs.description} lost ${tmp} before it was renamed`,
          {
            retriable: true,
          },
        );
      }
      bytes += part.data.byteLength;
      if (index === 0) await at?.("mid-files");
    }
    await at?.("after-files");
    const rows = emptyCounts();
    for (const part of parts) rows[part.kind] += part.rows;
    rows.loads = unit.offsets.length;
    // The file bytes are on the warehouse: only the places are kept.
    return {
      parts: parts.map(({ data: _, ...place }) => place),
      at: Date.now(),
      marker,
      rows,
      bytes,
    };
  }

  /** Registers the attempt's partitions, commits it, and removes its marker. */
  private async commitFiles(
    unit: LoadUnit,
    id: string,
    written: Written,
    at: At | undefined,
  ): Promise<void> {
    await this.register(written.parts);
    const claim = this.claimOf(unit, id);
    if (claim === undefined) return;
    if (!(await this.claim(claim, at))) return;
    const committing = this.runCommit(claim);
    at?.("mid-commit");
    await committing;
    await this.fs.delete(written.marker).catch((error: unknown) => {
      this.logger.warn(
        { marker: written.marker, error: (error as Error).message },
        "could not remove a committed load's marker (a later run does)",
      );
    });
  }

  /** The claim of an attempt: the positions it starts from, and its commit statement. */
  private claimOf(unit: LoadUnit, id: string): Claim | undefined {
    const commit = commitStatement(unit, this.store.database, this.store.specs, id);
    if (commit === undefined) return undefined;
    // A load that carries state only (partition -1) starts nowhere in Kafka.
    const positions: Position[] = unit.offsets
      .filter((o) => o.partition >= 0)
      .map((o) => ({ topic: o.topic, partition: o.partition, offset: o.from }));
    return { attempt: id, group: unit.groupId, positions, commit, rows: loadsRows(unit) };
  }

  /**
   * Commits a complete attempt. On Apache Hive: a file of `loads` holding its rows, written under
   * a hidden name and renamed to `<attempt>.parquet` by a rename that never replaces a file; the
   * views count the attempt from that rename on, as Hive lists an external table's folder at
   * every query. No statement: an INSERT is a Tez job, which waited behind other queries for
   * 20–40 s at a time in the fleet bench. On Spark's Thrift Server, which keeps its own list of a
   * table's files, the INSERT, which it sees.
   */
  private async runCommit(claim: Claim): Promise<void> {
    if (claim.rows === undefined || !(await this.commitsByFile())) {
      await this.store.execute(claim.commit);
      return;
    }
    const dir = fsPath(tableLocation(this.settings, this.store.specs.loads));
    const name = `${claim.attempt}.parquet`;
    // Its own hidden name: a run that finishes this attempt after a crash may write beside it.
    const tmp = `${dir}/${TMP_PREFIX}${process.pid}.${randomUUID()}.${name}`;
    if (!this.loadsDirMade) {
      await this.fs.mkdirs(dir);
      this.loadsDirMade = true;
    }
    await this.fs.write(tmp, loadsFile(claim.rows, this.store.specs, claim.attempt));
    // False: the name exists, the same attempt's commit by this run before a retry (its answer
    // lost) or by a run that finished it after a crash. Both files hold the same rows.
    if (!(await this.fs.claim(tmp, `${dir}/${name}`))) await this.fs.delete(tmp);
  }

  /** Asked once per store (HiveStore.serverName keeps the answer). */
  private async commitsByFile(): Promise<boolean> {
    return (await this.store.serverName()) === "Apache Hive";
  }

  /**
   * Registers the partitions an attempt wrote to. On Apache Hive, once per partition per run
   * (this loader): Hive lists a known partition's folder at every query, and each ALTER TABLE
   * waited ~1 s for HiveServer2 in the fleet bench, most of a commit. On Spark's Thrift Server,
   * every time: it is also what makes Spark list the files again.
   */
  private async register(parts: PartPlace[]): Promise<void> {
    const byFile = await this.commitsByFile();
    const places = parts
      .map((p) => ({ kind: p.kind, spec: p.partitionSpec }))
      .filter((p) => !byFile || !this.registered.has(`${p.kind} ${p.spec}`));
    if (places.length === 0) return;
    await registerPartitions(this.store, places);
    if (byFile) for (const p of places) this.registered.add(`${p.kind} ${p.spec}`);
  }

  private async readMarker(path: string): Promise<{ files: string[]; claim?: Claim }> {
    try {
      const text = await this.fs.read(path);
      const { files, claim } = JSON.parse(text) as { files?: unknown; claim?: Claim };
      return {
        files: Array.isArray(files) ? files.filter((f): f is string => typeof f === "string") : [],
        ...(claim?.positions?.length ? { claim } : {}),
      };
    } catch (error) {
      if (isHostflowError(error) && error.retriable) throw error;
      // A marker cut short by a kill: its attempt had written no file yet.
      return { files: [] };
    }
  }

  /**
   * Claims the positions the attempt starts from (claims.ts). Returns false when another attempt
   * of the same load owns them (a retry after a commit whose answer was lost): that one is the
   * load's commit. Throws LoadLostError when another load owns them, having finished that one.
   */
  private async claim(claim: Claim, at: At | undefined): Promise<boolean> {
    if (claim.positions.length === 0) return true;
    try {
      await this.claims.claim(claim, at);
      return true;
    } catch (error) {
      if (!(error instanceof LoadLostError) || error.winner === undefined) throw error;
      await this.finishClaimed(error.winner);
      if (loadOf(error.winner.attempt) === loadOf(claim.attempt)) return false;
      throw error;
    }
  }

  /** Runs a complete attempt's commit unless it is in `loads` already. */
  private async finishClaimed(claim: Claim): Promise<void> {
    const done = await this.store.committedAttempts([claim.attempt]);
    if (!done.has(claim.attempt)) await this.runCommit(claim);
  }
}

/**
 * One ALTER TABLE per table, naming every partition given, known or not: on Spark's Thrift
 * Server it is also what makes the server list the table's files again (it caches them), so
 * it runs for every load (and after a compaction changed a partition's files).
 */
export async function registerPartitions(
  store: HiveStore,
  places: readonly { kind: FileTable; spec: string }[],
): Promise<void> {
  const byTable = new Map<FileTable, Set<string>>();
  for (const { kind, spec } of places) {
    const specs = byTable.get(kind) ?? new Set<string>();
    specs.add(spec);
    byTable.set(kind, specs);
  }
  for (const [kind, specs] of byTable) {
    await store.execute(
      `ALTER TABLE ${store.database}.${store.specs[kind].name} ADD IF NOT EXISTS ${[...specs]
        .map((s) => `PARTITION (${s})`)
        .join(" ")}`,
    );
  }
}

/** The load of an attempt id (`<load id>#<attempt>`). */
function loadOf(attempt: string): string {
  return attempt.split("#")[0] ?? attempt;
}

/**
 * Runs attempts at a load until one commits: before a retry, asks whether an earlier attempt
 * committed after all. Returns the number of attempts.
 */
async function retryLoad(
  store: HiveStore,
  loadId: string,
  attempt: (id: string, n: number) => Promise<void>,
): Promise<number> {
  return store.retrying(`load ${loadId}`, async (n) => {
    if (n > 1 && (await store.committed(loadId))) return n;
    await attempt(attemptId(loadId, n), n);
    return n;
  });
}
