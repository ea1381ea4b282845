/**
 * Compaction: a day partition that loads every minute fill with small files is rewritten into a
 * few large ones, and the old ones become invisible in the same instant the new ones become
 * visible, exactly once across a crash at any point.
 *
 * How, with nothing but plain (non-transactional) Hive tables: a row counts when its `load_id`
 * is the smallest committed attempt of its load (tables.ts, committedLoads). A compaction gives
 * the rows it copies a new attempt id of their own load, `<load>#0<code>`, which sorts before
 * every load's own attempts (`#1`, `#2`, …) and before every earlier compaction's (the code
 * counts down with time). So:
 * 1. Hive copies the chosen loads' visible rows, in every table and partition they have rows in,
 *    with `INSERT INTO … SELECT`, under the new ids: nothing counts them yet.
 * 2. A marker (`_hostflow/compactions/<code>.json`) lists the new files (Hive names them
 *    itself; they are not renamed: a query planned meanwhile may be reading them), so that a
 *    later compaction knows them.
 * 3. One `INSERT INTO loads VALUES` (one file: atomic for every reader) adds the new attempts'
 *    rows; from that statement on, each of those loads counts its copy, and its old files count
 *    nowhere. A query sees the old rows or the new ones, never both, never neither.
 * 4. Files no longer counted are deleted once `compact_grace` has passed since the commit that
 *    replaced them (a query planned before it may still read them).
 * A crash before 3 leaves copies that never count (removed after ORPHAN_GRACE_MS); after 3, old
 * files that a later compaction deletes. Loads go on meanwhile: rows they commit during a
 * compaction keep their own attempt (only the loads chosen at the start switch).
 * One compaction at a time: a lock file in `_hostflow`, taken over when an hour old.
 *
 * Nothing is deleted on Hive's word alone: with Parquet tables every read of `loads` that
 * decides what counts, every copy and every rewrite of `loads` is checked against the row counts
 * in the files' own footers (parquet-rows.ts), and a mismatch stops the compaction before it
 * changes anything that counts. (HiveServer2 on Tez in local mode once answered compaction's
 * reads of `loads` with no rows and no error, and compaction deleted `loads`' files.)
 */
import os from "node:os";
import { HostflowError } from "../../lib/errors.js";
import type { Logger } from "../../lib/log.js";
import type { ResolvedHiveSettings } from "../config/load.js";
import { CLAIMS } from "./claims.js";
import { ORPHAN_GRACE_MS, registerPartitions } from "./load.js";
import { FILE_TABLES, type FileTable } from "./parquet.js";
import { parquetTextRows } from "./parquet-rows.js";
import { type HiveStore, sqlString } from "./store.js";
import { committedLoads, tableLocation, tablesRoot } from "./tables.js";
import { fsPath, type WarehouseFs } from "./warehouse-fs.js";
import { type LoadsRead, WarehouseRows } from "./warehouse-rows.js";

/** Points where a test kills a compaction (HOSTFLOW_CRASH_AT). */
export type CompactPoint = "after-copy" | "after-marker" | "mid-commit";
export const COMPACT_POINTS: readonly CompactPoint[] = ["after-copy", "after-marker", "mid-commit"];
const MARKERS = "_hostflow/compactions";

const LOCK = "_hostflow/compact.lock";
const CLAIM_KEEP_MS = 24 * 60 * 60_000;
const LOCK_STALE_MS = 60 * 60_000;
/**
 * The copy is map-only (each map task writes one file into each partition it has rows for), so
 * its map tasks decide the files: these make each read at least 512 MiB and at most 1 GiB of the
 * old files, on Tez (split grouping) and on MapReduce (CombineHiveInputFormat). Without them Tez
 * grouped 39 files of a fleet-bench day into 17; a reduce stage instead (DISTRIBUTE BY the
 * partition columns) gave one file but took 2.6 times as long, and more than statement_timeout
 * on the busy fleet bench. Measured in BENCHMARKS.md ("Compaction's copy").
 */
const COPY_SETTINGS = [
  "SET tez.grouping.min-size=536870912",
  "SET tez.grouping.max-size=1073741824",
  "SET mapreduce.input.fileinputformat.split.minsize.per.node=536870912",
  "SET mapreduce.input.fileinputformat.split.minsize.per.rack=536870912",
  "SET mapreduce.input.fileinputformat.split.maxsize=1073741824",
];

/** Codes count down with time: a later compaction's ids sort first. */
const CODE_BASE = 9_999_999_999_999;

export interface CompactOptions {
  maxFiles: number;
  graceMs: number;
  dryRun?: boolean;
  now?: number;
  at?: (point: CompactPoint) => void | Promise<void>;
}

/** One table's day partition (all its hours, for raw samples). */
export interface DayFiles {
  table: string;
  day: string;
  /** Files whose rows count. */
  live: number;
  /** Files no longer (or not yet) counted. */
  dead: number;
}

export interface CompactResult {
  dryRun: boolean;
  before: DayFiles[];
  after: DayFiles[];
  /** Days rewritten, and how many loads switched to the copy. */
  days: string[];
  loads: number;
  copied: number;
  deleted: number;
  /** Whether `loads` was rewritten into one file (its old files go after the grace). */
  loadsRewritten?: boolean;
  /** Offset claims deleted (a day old, below where the loads end). */
  claims?: number;
  /** Set when another compaction held the lock: nothing was done. */
  busy?: string;
}

/** Per table, the age past which a day partition goes (ms); absent: kept. */
export type RetentionLimits = Partial<Record<"metrics" | "raw" | "quarantine" | "gaps", number>>;

export interface RetentionResult {
  dryRun: boolean;
  /** Day partitions dropped (or that would be), with their files. */
  dropped: { table: string; day: string; files: number }[];
  /** Rows of `loads` before and after (undefined: not trimmed, and why). */
  loads: { before: number; after: number } | { kept: string };
  busy?: string;
}

const DAY_MS = 86_400_000;
/** The first instant after day `YYYY-MM-DD` (UTC). */
const dayEnd = (day: string) => Date.parse(`${day}T00:00:00Z`) + DAY_MS;

type Kind = "regular" | "compact" | "other";

interface WFile {
  kind: FileTable;
  day: string;
  /** `day='…'` or `day='…', hour='…'`. */
  spec: string;
  folder: string;
  name: string;
  mtime: number;
  /** Bytes. */
  length: number;
  class: Kind;
  /** The attempt of a load's own file; the code of a compaction's. */
  attempt?: string;
  code?: string;
}

/** A row of `loads` as text, in the table's column order (null for NULL). */
type Row = (string | null)[];

export interface LoadsPlan {
  /** Rows to keep (one per partition's latest, where Hive may keep one more of a tie). */
  count: number;
  /** Why these rows are not the ones to keep, or undefined when they are. */
  check(got: Row[]): string | undefined;
}

/**
 * Which of `loads`' distinct rows a rewrite keeps: every one without `before`; with it, those
 * loaded at or after `before` and, per Kafka partition, one with the highest next_offset (where
 * the next run starts). Hive's ROW_NUMBER keeps any one of a tie, and a compaction's copy of a
 * load's row has the same offsets, so the check takes any of them.
 */
export function loadsToKeep(cols: string[], rows: Row[], before?: number): LoadsPlan {
  const at = (name: string) => {
    const i = cols.indexOf(name);
    if (i < 0) throw new Error(`loads has no column ${name}`);
    return i;
  };
  const [id, group, topic, partition, next, loaded] = [
    "load_id",
    "group_id",
    "topic",
    "kafka_partition",
    "next_offset",
    "loaded_at",
  ].map(at) as [number, number, number, number, number, number];
  const key = (r: Row) => r.map((v) => v ?? "\\N").join("\u0001");
  const partOf = (r: Row) => `${r[group]}/${r[topic]}/${r[partition]}`;
  const latest = new Map<string, number>();
  for (const r of rows) {
    const n = Number(r[next]);
    if (!((latest.get(partOf(r)) ?? Number.NEGATIVE_INFINITY) >= n)) latest.set(partOf(r), n);
  }
  const isLatest = (r: Row) => Number(r[next]) === latest.get(partOf(r));
  const young = (r: Row) => before === undefined || Number(r[loaded]) >= before;
  const known = new Set(rows.map(key));
  const must = rows.filter(young);
  const covered = new Set(must.filter(isLatest).map(partOf));
  return {
    count: must.length + [...latest.keys()].filter((p) => !covered.has(p)).length,
    check(got) {
      const seen = new Set<string>();
      const latestIn = new Set<string>();
      for (const r of got) {
        const k = key(r);
        if (!known.has(k)) return `load ${r[id]}'s row is not one of loads' rows`;
        if (seen.has(k)) return `load ${r[id]}'s row is there twice`;
        if (!young(r) && !isLatest(r))
          return `load ${r[id]} is older than the limit and not its partition's latest`;
        seen.add(k);
        if (isLatest(r)) latestIn.add(partOf(r));
      }
      const lost = must.find((r) => !seen.has(key(r)));
      if (lost !== undefined) return `load ${lost[id]}'s row is missing`;
      const bare = [...latest.keys()].find((p) => !latestIn.has(p));
      if (bare !== undefined) return `partition ${bare} has no row at its latest offset`;
      return undefined;
    },
  };
}

const loadOf = (id: string) => id.split("#")[0] ?? id;
const codeOf = (id: string): string | undefined => {
  const suffix = id.split("#")[1];
  return suffix?.startsWith("0") ? suffix.slice(1) : undefined;
};

export class Compactor {
  private readonly root: string;
  private readonly rows: WarehouseRows;
  private readonly checkedLoadsRead: LoadsRead;

  constructor(
    private readonly store: HiveStore,
    private readonly settings: ResolvedHiveSettings,
    private readonly fs: WarehouseFs,
    private readonly logger: Logger,
  ) {
    this.root = fsPath(tablesRoot(settings));
    this.rows = new WarehouseRows(fs, settings, store);
    this.checkedLoadsRead = this.rows.checkedLoadsRead("compaction stops and changes nothing");
  }

  async compact(options: CompactOptions): Promise<CompactResult> {
    const now = options.now ?? Date.now();
    const lock = options.dryRun ? undefined : await this.lock(now);
    if (typeof lock === "string") {
      return {
        dryRun: false,
        before: [],
        after: [],
        days: [],
        loads: 0,
        copied: 0,
        deleted: 0,
        busy: lock,
      };
    }
    try {
      return await this.compactLocked(options, now);
    } finally {
      if (lock) await this.fs.delete(`${this.root}/${LOCK}`).catch(() => undefined);
    }
  }

  private async compactLocked(options: CompactOptions, now: number): Promise<CompactResult> {
    let files = await this.listFiles();
    let state = await this.visibility();
    const before = this.count(files, state);
    // Days where a table has too many counted files.
    const crowded = new Set(before.filter((d) => d.live > options.maxFiles).map((d) => d.day));
    const result: CompactResult = {
      dryRun: options.dryRun === true,
      before,
      after: before,
      days: [...crowded].sort(),
      loads: 0,
      copied: 0,
      deleted: 0,
    };
    if (crowded.size > 0) {
      // The loads' own files in those days; earlier compactions' too once they pile up.
      const attempts = new Set<string>();
      const codes = new Set<string>();
      const compacts = new Map<string, number>();
      for (const f of files) {
        if (!crowded.has(f.day) || !this.isLive(f, state)) continue;
        if (f.class === "regular") attempts.add(f.attempt as string);
        else compacts.set(`${f.kind}/${f.day}`, (compacts.get(`${f.kind}/${f.day}`) ?? 0) + 1);
      }
      const merge = [...compacts.values()].some((n) => n >= Math.max(2, options.maxFiles / 2));
      if (merge) {
        for (const f of files) {
          if (crowded.has(f.day) && f.class === "compact" && this.isLive(f, state))
            codes.add(f.code as string);
        }
      }
      if (!options.dryRun && (attempts.size > 0 || codes.size > 0)) {
        const { loads, copied } = await this.rewrite(files, state, attempts, codes, now, options);
        result.loads = loads;
        result.copied = copied;
        files = await this.listFiles();
        state = await this.visibility();
      } else {
        result.loads = attempts.size + codes.size;
      }
    }
    if (!options.dryRun) {
      result.deleted = await this.collect(files, state, now, options.graceMs);
      // `loads` gets a file per commit: rewritten into one, as the day partitions are.
      if (!(await this.finishLoadsRewrite(options.graceMs, now))) {
        if ((await this.loadsFiles()).length > options.maxFiles) {
          await this.rewriteLoads(undefined, false);
          result.loadsRewritten = true;
          if (options.graceMs === 0) await this.finishLoadsRewrite(0, Date.now());
        }
      }
      result.claims = await this.pruneClaims(now);
      if (result.deleted > 0) {
        files = await this.listFiles();
        await this.dropMarkers(files);
        await this.refresh(files);
      }
      result.after = this.count(files, state);
    }
    return result;
  }

  /**
   * Drops each table's day partitions that are wholly older than its limit (never a younger
   * one), deletes their folders (the tables are external: DROP PARTITION keeps the files), drops
   * `streams` days older than the state the runs read (`state_days`), and rewrites `loads`
   * without the rows of loads whose data is gone (when every table has a limit), keeping each
   * Kafka partition's latest row, which is where the next run starts.
   */
  async retain(
    limits: RetentionLimits,
    stateDays: number,
    options: { dryRun?: boolean; now?: number; graceMs?: number },
  ): Promise<RetentionResult> {
    const now = options.now ?? Date.now();
    const graceMs = options.graceMs ?? 10 * 60_000;
    const lock = options.dryRun ? undefined : await this.lock(now);
    if (typeof lock === "string")
      return { dryRun: false, dropped: [], loads: { kept: lock }, busy: lock };
    try {
      const result: RetentionResult = {
        dryRun: options.dryRun === true,
        dropped: [],
        loads: { kept: "" },
      };
      const files = await this.listFiles();
      const db = this.store.database;
      const ages: [FileTable, number | undefined][] = [
        ["metrics", limits.metrics],
        ["raw", limits.raw],
        ["quarantine", limits.quarantine],
        ["gaps", limits.gaps],
        ["streams", (stateDays + 1) * DAY_MS],
      ];
      for (const [kind, limit] of ages) {
        if (limit === undefined) continue;
        const spec = this.store.specs[kind];
        const location = fsPath(tableLocation(this.settings, spec));
        const { rows } = await this.store.query<Record<string, string>>(
          `SHOW PARTITIONS ${db}.${spec.name}`,
        );
        const days = new Set<string>();
        for (const row of rows) {
          const m = /day=(\d{4}-\d{2}-\d{2})/.exec(String(Object.values(row)[0] ?? ""));
          if (m) days.add(m[1] as string);
        }
        for (const e of (await this.fs.list(location)) ?? []) {
          if (e.directory && /^day=\d{4}-\d{2}-\d{2}$/.test(e.name)) days.add(e.name.slice(4));
        }
        for (const day of [...days].sort()) {
          if (dayEnd(day) > now - limit) continue;
          const count = files.filter((f) => f.kind === kind && f.day === day).length;
          result.dropped.push({ table: spec.name, day, files: count });
          if (options.dryRun) continue;
          await this.store.execute(
            `ALTER TABLE ${db}.${spec.name} DROP IF EXISTS PARTITION (day='${day}')`,
          );
          await this.fs.delete(`${location}/day=${day}`);
        }
      }
      const used = ["metrics", "quarantine", "gaps", ...(this.keepsRaw ? ["raw"] : [])] as const;
      const unlimited = used.filter((k) => limits[k as keyof RetentionLimits] === undefined);
      if (unlimited.length > 0) {
        result.loads = { kept: `kept whole: ${unlimited.join(", ")} has no retention limit` };
      } else {
        const longest = Math.max(...used.map((k) => limits[k as keyof RetentionLimits] as number));
        const waiting = !options.dryRun && (await this.finishLoadsRewrite(graceMs, now));
        result.loads = waiting
          ? { kept: "an earlier rewrite's files are still waiting for their grace" }
          : await this.rewriteLoads(now - longest - DAY_MS, options.dryRun === true);
        if (!options.dryRun && graceMs === 0) await this.finishLoadsRewrite(0, Date.now());
      }
      if (result.dropped.length > 0) {
        this.logger.info(
          { partitions: result.dropped.length },
          `retention: ${options.dryRun ? "would drop" : "dropped"} ${result.dropped.length} day partitions`,
        );
      }
      return result;
    } finally {
      if (lock) await this.fs.delete(`${this.root}/${LOCK}`).catch(() => undefined);
    }
  }

  /** Whether raw samples are kept (their table then needs a limit before `loads` is trimmed). */
  keepsRaw = false;

  private get loadsMarker(): string {
    return `${this.root}/_hostflow/loads-rewrite.json`;
  }

  private loadsLocation(): string {
    return this.rows.loadsLocation;
  }

  private async loadsFiles(): Promise<string[]> {
    return (await this.rows.loadsEntries()).map((e) => e.name);
  }

  /** Whether files can be counted (Parquet footers); ORC tables go unchecked. */
  private get checksFiles(): boolean {
    return this.rows.checks;
  }

  /**
   * Deletes the files an earlier `rewriteLoads` replaced, once `graceMs` has passed since (a
   * query planned before may still read them). True while they still wait.
   */
  async finishLoadsRewrite(graceMs: number, now: number): Promise<boolean> {
    const text = await this.fs.readIfAny(this.loadsMarker);
    if (text === undefined) return false;
    let m: { old?: string[]; done?: boolean; at?: number } = {};
    try {
      m = JSON.parse(text);
    } catch {
      // cut short by a kill before its rewrite ran: nothing to delete
    }
    if (m.done === true && now - (m.at ?? 0) < graceMs) return true;
    if (m.done === true) {
      for (const name of m.old ?? []) await this.fs.delete(`${this.loadsLocation()}/${name}`);
    }
    await this.fs.delete(this.loadsMarker);
    return false;
  }

  /**
   * Rewrites `loads` into one file: without duplicates, and (with `before`) without the rows of
   * loads committed before it, except each Kafka partition's latest. The new file is written
   * before the old ones go (a reader sees rows twice for a while, which every query of `loads`
   * counts once); rows committed meanwhile are in files that stay. The old files are listed in
   * a marker, marked done once the new file is in place, and deleted by finishLoadsRewrite.
   *
   * What to keep is worked out here from one read of `loads`' distinct rows (checked against the
   * files' footers), and the new file is read back and checked against it: Hive's own answer to
   * "which rows" is not taken on its word.
   */
  async rewriteLoads(
    before: number | undefined,
    dryRun: boolean,
  ): Promise<{ before: number; after: number }> {
    const db = this.store.database;
    const loads = this.store.specs.loads;
    const old = await this.loadsFiles();
    const cols = loads.columns.map((c) => c.name);
    const { rows, total } = await this.checkedLoadsRead(
      "before rewriting it",
      async () => {
        const { rows } = await this.store.query<Record<string, unknown>>(
          `SELECT ${cols.join(", ")}, COUNT(*) AS n FROM ${db}.${loads.name} GROUP BY ${cols.join(", ")}`,
        );
        const distinct = rows.map((r) => cols.map((c) => (r[c] == null ? null : String(r[c]))));
        return { rows: distinct, total: rows.reduce((sum, r) => sum + Number(r.n), 0) };
      },
      (read) => read.total,
    );
    const limit = before === undefined ? undefined : Math.floor(before);
    const plan = loadsToKeep(cols, rows, limit);
    const keep =
      `SELECT DISTINCT ${cols.join(", ")} FROM (SELECT l.*, ROW_NUMBER() OVER (PARTITION BY l.group_id, l.topic, l.kafka_partition ORDER BY l.next_offset DESC) AS rn FROM ${db}.${loads.name} l) t` +
      (limit === undefined ? "" : ` WHERE t.loaded_at >= ${limit} OR t.rn = 1`);
    if (dryRun) return { before: total, after: plan.count };
    // `loads` is what makes every row count: its old files go only when Hive has read rows to
    // keep and written a file of them. (A 6-minute fleet run's compaction read no rows from 12
    // files of `loads`, rewrote nothing, deleted the 12 files, and every load stopped counting.)
    if (plan.count === 0 && old.length > 0) {
      this.logger.warn(
        { files: old.length, rows: total },
        `loads not rewritten: Hive read no rows to keep from its ${old.length} files`,
      );
      return { before: total, after: total };
    }
    await this.fs.delete(this.loadsMarker);
    await this.fs.write(this.loadsMarker, Buffer.from(JSON.stringify({ old, done: false })));
    await this.store.execute(`INSERT INTO TABLE ${db}.${loads.name} ${keep}`);
    const written = (await this.rows.loadsEntries()).filter((e) => !old.includes(e.name));
    if (written.length === 0) {
      throw new HostflowError(
        "HF_WAREHOUSE",
        `rewriting ${db}.${loads.name} wrote no new file into ${this.loadsLocation()}: its ${old.length} files stay`,
        { context: { table: loads.name } },
      );
    }
    let after = plan.count;
    if (this.checksFiles) {
      const paths = written.map((e) => ({ path: `${this.loadsLocation()}/${e.name}`, ...e }));
      const dropNew = async () => {
        for (const { path } of paths) await this.fs.delete(path);
      };
      const got: Row[] = [];
      try {
        for (const { path, length } of paths)
          got.push(...(await parquetTextRows(this.fs, path, length, cols)));
      } catch (error) {
        // A new file that cannot be read back is not one to rely on either.
        await dropNew();
        throw error;
      }
      const wrong = plan.check(got);
      if (wrong !== undefined) {
        await dropNew();
        throw new HostflowError(
          "HF_WAREHOUSE",
          `rewriting ${db}.${loads.name} wrote ${got.length} rows that are not the ${plan.count} to keep (${wrong}): its new files are deleted and its ${old.length} files stay`,
          { context: { table: loads.name, wrote: got.length, kept: plan.count } },
        );
      }
      after = got.length;
    }
    // Only now may the old files go: a marker cut short, or without `done`, keeps them.
    await this.fs.delete(this.loadsMarker);
    await this.fs.write(
      this.loadsMarker,
      Buffer.from(JSON.stringify({ old, done: true, at: Date.now() })),
    );
    return { before: total, after };
  }

  /** Copies the chosen loads' rows under new ids, names the new files, and commits. */
  private async rewrite(
    files: WFile[],
    state: Visibility,
    attempts: Set<string>,
    codes: Set<string>,
    now: number,
    options: CompactOptions,
  ): Promise<{ loads: number; copied: number }> {
    const code =
      String(CODE_BASE - now).padStart(13, "0") + String(Math.floor(Math.random() * 90) + 10);
    const db = this.store.database;
    const specs = this.store.specs;
    const committed = committedLoads(db, specs.loads.name);
    const chosen = (col: string) =>
      [
        attempts.size > 0
          ? `${col} IN (${[...attempts].map((a) => `'${sqlString(a)}'`).join(", ")})`
          : "",
        codes.size > 0
          ? `split(${col}, '#')[1] IN (${[...codes].map((c) => `'0${c}'`).join(", ")})`
          : "",
      ]
        .filter((x) => x !== "")
        .join(" OR ");
    const mine = (f: WFile) =>
      (f.class === "regular" && attempts.has(f.attempt as string)) ||
      (f.class === "compact" && codes.has(f.code as string));
    const touched = new Map<FileTable, Set<string>>();
    // What the copy must hold: every row of the files it copies (each is wholly one live
    // attempt's, or one live compaction's), per table.
    const expected = new Map<FileTable, number>();
    for (const f of files) {
      if (!mine(f)) continue;
      if (this.checksFiles) {
        const rows = await this.rows.rowsIn([{ path: `${f.folder}/${f.name}`, length: f.length }]);
        expected.set(f.kind, (expected.get(f.kind) ?? 0) + rows);
      }
      const days = touched.get(f.kind) ?? new Set<string>();
      days.add(f.day);
      touched.set(f.kind, days);
    }
    const newId = `concat(split(b.load_id, '#')[0], '#0${code}')`;
    await this.store.withSession(COPY_SETTINGS, async (session) => {
      for (const [kind, days] of touched) {
        const spec = specs[kind];
        const cols = spec.columns.map((c) =>
          c.name === "load_id" ? `${newId} AS load_id` : `b.${c.name}`,
        );
        const parts = spec.partitions.map((p) => p.name);
        await session.execute(
          `INSERT INTO TABLE ${db}.${spec.name} PARTITION (${parts.join(", ")}) ` +
            `SELECT ${[...cols, ...parts.map((p) => `b.${p}`)].join(", ")} FROM ${db}.${spec.name} b ` +
            `LEFT SEMI JOIN ${committed} c ON (b.load_id = c.load_id) ` +
            `WHERE b.day IN (${[...days].map((d) => `'${d}'`).join(", ")}) AND (${chosen("b.load_id")})`,
        );
      }
    });
    await options.at?.("after-copy");
    // Hive names its files itself (000000_0, …): each new one in those folders is this copy's
    // (loads name theirs `<attempt>.parquet`; one compaction runs at a time).
    // (Not the copies of a compaction killed before its marker, there before this one began.)
    const before = new Set(files.map((f) => `${f.folder}/${f.name}`));
    const madeFiles = (await this.listFiles()).filter(
      (f) =>
        f.class === "other" &&
        touched.get(f.kind)?.has(f.day) &&
        !before.has(`${f.folder}/${f.name}`),
    );
    const made = madeFiles.map((f) => `${f.folder}/${f.name}`);
    const copied = made.length;
    const undo = async (why: string) => {
      for (const file of made) await this.fs.delete(file);
      await this.fs.delete(`${this.root}/${MARKERS}/${code}.json`);
      return new HostflowError(
        "HF_WAREHOUSE",
        `compaction stopped before its commit: ${why}; its ${made.length} new files are deleted, the old ones still count`,
        { retriable: true, context: { code } },
      );
    };
    if (this.checksFiles) {
      for (const [kind, rows] of expected) {
        const mineMade = madeFiles.filter((f) => f.kind === kind);
        const wrote = await this.rows.rowsIn(
          mineMade.map((f) => ({ path: `${f.folder}/${f.name}`, length: f.length })),
        );
        if (wrote !== rows) {
          throw await undo(
            `Hive's copy of ${db}.${specs[kind].name} wrote ${wrote} rows in ${mineMade.length} files, but the files it copies hold ${rows}`,
          );
        }
      }
    }
    await this.fs.mkdirs(`${this.root}/${MARKERS}`);
    await this.fs.write(
      `${this.root}/${MARKERS}/${code}.json`,
      Buffer.from(JSON.stringify({ code, files: made })),
    );
    await options.at?.("after-marker");
    const loads = specs.loads;
    const { rows } = await this.store.query<Record<string, unknown>>(
      `SELECT ${loads.columns.map((c) => `l.${c.name}`).join(", ")} FROM ${db}.${loads.name} l ` +
        `LEFT SEMI JOIN ${committed} c ON (l.load_id = c.load_id) WHERE ${chosen("l.load_id")}`,
    );
    // As many rows as the checked read of `loads` (visibility) gave those attempts.
    let owed = 0;
    for (const v of state.visible.values()) {
      if (attempts.has(v.id) || codes.has(codeOf(v.id) ?? "")) owed += state.rows.get(v.id) ?? 0;
    }
    if (this.checksFiles && rows.length !== owed) {
      throw await undo(
        `Hive read ${rows.length} rows of ${db}.${loads.name} for the loads copied, where ${owed} count`,
      );
    }
    const collector = `compact ${os.hostname()}/${process.pid}`;
    const values = rows.map((row) => {
      const cells = loads.columns.map((c) => {
        if (c.name === "load_id")
          return `'${sqlString(`${loadOf(String(row.load_id))}#0${code}`)}'`;
        if (c.name === "loaded_at") return String(now);
        if (c.name === "collector") return `'${sqlString(collector)}'`;
        const v = row[c.name];
        if (v === null || v === undefined) return "NULL";
        return c.type === "STRING" ? `'${sqlString(String(v))}'` : String(Number(v));
      });
      return `(${cells.join(", ")})`;
    });
    if (values.length === 0) return { loads: 0, copied };
    const commit = this.store.execute(
      `INSERT INTO TABLE ${db}.${loads.name} VALUES ${values.join(", ")}`,
    );
    if (options.at) setTimeout(() => options.at?.("mid-commit"), 300);
    await commit;
    const switched = new Set(rows.map((r) => loadOf(String(r.load_id)))).size;
    this.logger.info(
      { code, loads: switched, files: copied },
      `compacted ${switched} loads into ${copied} files`,
    );
    await this.refresh(await this.listFiles());
    return { loads: switched, copied };
  }

  /**
   * Deletes offset claims (claims.ts) of positions below where each partition's loads end, once
   * a day old: no run can still be about to claim them (a run that stood still for a day would
   * find its slot free again, so a day is the bound hostflow assumes; ORPHAN_GRACE_MS is an hour).
   */
  async pruneClaims(now: number): Promise<number> {
    const db = this.store.database;
    const { rows } = await this.store.query<{ g: string; t: string; p: number; n: number }>(
      `SELECT group_id AS g, topic AS t, kafka_partition AS p, MAX(next_offset) AS n FROM ${db}.${this.store.specs.loads.name} ` +
        "WHERE kafka_partition >= 0 GROUP BY group_id, topic, kafka_partition",
    );
    let deleted = 0;
    for (const r of rows) {
      const dir = `${this.root}/${CLAIMS}/${encodeURIComponent(r.g)}/${encodeURIComponent(r.t)}/${r.p}`;
      for (const e of (await this.fs.list(dir)) ?? []) {
        const offset = Number(/^(\d+)~\d+\.json$/.exec(e.name)?.[1] ?? Number.NaN);
        const stale = e.name.startsWith("_tmp.") || offset < Number(r.n);
        if (
          stale &&
          now - e.modificationTime >= CLAIM_KEEP_MS &&
          (await this.fs.delete(`${dir}/${e.name}`))
        )
          deleted += 1;
      }
    }
    return deleted;
  }

  /** Deletes files that count nowhere: replaced ones after the grace, orphans after an hour. */
  private async collect(
    files: WFile[],
    state: Visibility,
    now: number,
    graceMs: number,
  ): Promise<number> {
    let deleted = 0;
    for (const f of files) {
      if (this.isLive(f, state)) continue;
      let garbage = false;
      if (f.class === "regular") {
        // Only a compaction's copy (which sorts first for good) makes a load's file garbage.
        const v = state.visible.get(loadOf(f.attempt as string));
        garbage = v !== undefined && codeOf(v.id) !== undefined && now - v.at >= graceMs;
      } else if (f.class === "compact" && state.codeLoads.has(f.code as string)) {
        const loads = state.codeLoads.get(f.code as string) as string[];
        garbage = loads.every((l) => {
          const v = state.visible.get(l);
          return v === undefined || now - v.at >= graceMs;
        });
      } else {
        garbage = now - f.mtime >= ORPHAN_GRACE_MS;
      }
      if (garbage && (await this.fs.delete(`${f.folder}/${f.name}`))) deleted += 1;
    }
    if (deleted > 0)
      this.logger.info({ files: deleted }, `deleted ${deleted} files that no longer count`);
    return deleted;
  }

  private isLive(f: WFile, state: Visibility): boolean {
    if (f.class === "regular")
      return state.visible.get(loadOf(f.attempt as string))?.id === f.attempt;
    if (f.class === "compact") return state.liveCodes.has(f.code as string);
    return false;
  }

  private count(files: WFile[], state: Visibility): DayFiles[] {
    const by = new Map<string, DayFiles>();
    for (const f of files) {
      const table = this.store.specs[f.kind].name;
      const key = `${table}/${f.day}`;
      const entry = by.get(key) ?? { table, day: f.day, live: 0, dead: 0 };
      if (this.isLive(f, state)) entry.live += 1;
      else entry.dead += 1;
      by.set(key, entry);
    }
    return [...by.values()].sort((a, b) =>
      a.table === b.table ? (a.day < b.day ? -1 : 1) : a.table < b.table ? -1 : 1,
    );
  }

  /**
   * Which attempt of each load counts, since when; and which loads each compaction copied. One
   * read of all of `loads` (checked against its files), the committed attempt of each load
   * worked out here as the view does (tables.ts, committedLoads: the smallest id, compared as
   * Hive compares strings, by their bytes).
   */
  private async visibility(): Promise<Visibility> {
    const db = this.store.database;
    const loads = this.store.specs.loads.name;
    const { rows } = await this.checkedLoadsRead(
      "which loads count",
      () =>
        this.store.query<{ load_id: string | null; at: number; n: number }>(
          `SELECT load_id, MAX(loaded_at) AS at, COUNT(*) AS n FROM ${db}.${loads} GROUP BY load_id`,
        ),
      (r) => r.rows.reduce((sum, row) => sum + Number(row.n), 0),
    );
    const counts = new Map<string, number>();
    const at = new Map<string, number>();
    const committed = new Map<string, string>();
    const codeLoads = new Map<string, string[]>();
    for (const r of rows) {
      if (r.load_id === null || r.load_id === undefined) continue;
      const id = String(r.load_id);
      counts.set(id, Number(r.n));
      at.set(id, Number(r.at));
      const load = loadOf(id);
      const current = committed.get(load);
      if (current === undefined || Buffer.compare(Buffer.from(id), Buffer.from(current)) < 0)
        committed.set(load, id);
      const code = codeOf(id);
      if (code !== undefined) {
        const copied = codeLoads.get(code) ?? [];
        copied.push(load);
        codeLoads.set(code, copied);
      }
    }
    const visible = new Map<string, { id: string; at: number }>();
    const liveCodes = new Set<string>();
    for (const [load, id] of committed) {
      visible.set(load, { id, at: at.get(id) ?? 0 });
      const code = codeOf(id);
      if (code !== undefined) liveCodes.add(code);
    }
    return { visible, liveCodes, codeLoads, rows: counts };
  }

  /** The files each compaction made (its marker), by path. */
  private async compactionFiles(): Promise<Map<string, string>> {
    const dir = `${this.root}/${MARKERS}`;
    const byPath = new Map<string, string>();
    for (const e of (await this.fs.list(dir)) ?? []) {
      if (e.directory || !e.name.endsWith(".json")) continue;
      try {
        const m = JSON.parse((await this.fs.readIfAny(`${dir}/${e.name}`)) ?? "{}") as {
          code?: string;
          files?: string[];
        };
        for (const file of m.files ?? []) if (m.code) byPath.set(file, m.code);
      } catch {
        // a marker cut short by a kill: its files are orphans, never committed
      }
    }
    return byPath;
  }

  /** Markers whose files are all gone. */
  private async dropMarkers(files: WFile[]): Promise<void> {
    const live = new Set(files.filter((f) => f.class === "compact").map((f) => f.code));
    const dir = `${this.root}/${MARKERS}`;
    for (const e of (await this.fs.list(dir)) ?? []) {
      const code = e.name.replace(/\.json$/, "");
      if (!e.directory && !live.has(code)) await this.fs.delete(`${dir}/${e.name}`);
    }
  }

  /** Every file of the tables' partition folders (hidden names left out). */
  private async listFiles(): Promise<WFile[]> {
    const out: WFile[] = [];
    const made = await this.compactionFiles();
    for (const kind of FILE_TABLES) {
      const spec = this.store.specs[kind];
      const location = fsPath(tableLocation(this.settings, spec));
      const days = ((await this.fs.list(location)) ?? []).filter(
        (e) => e.directory && e.name.startsWith("day="),
      );
      for (const dayDir of days) {
        const day = dayDir.name.slice(4);
        const folders: { folder: string; spec: string }[] = [];
        if (spec.partitions.length > 1) {
          for (const hour of (await this.fs.list(`${location}/${dayDir.name}`)) ?? []) {
            if (hour.directory && hour.name.startsWith("hour=")) {
              folders.push({
                folder: `${location}/${dayDir.name}/${hour.name}`,
                spec: `day='${day}', hour='${hour.name.slice(5)}'`,
              });
            }
          }
        } else folders.push({ folder: `${location}/${dayDir.name}`, spec: `day='${day}'` });
        for (const { folder, spec: partSpec } of folders) {
          for (const e of (await this.fs.list(folder)) ?? []) {
            if (e.directory || e.name.startsWith("_") || e.name.startsWith(".")) continue;
            const code = made.get(`${folder}/${e.name}`);
            const compact = code === undefined ? undefined : [e.name, code];
            const regular = !compact && e.name.endsWith(".parquet") && e.name.includes("#");
            out.push({
              kind,
              day,
              spec: partSpec,
              folder,
              name: e.name,
              mtime: e.modificationTime,
              length: e.length,
              class: compact ? "compact" : regular ? "regular" : "other",
              ...(compact ? { code: compact[1] as string } : {}),
              ...(regular ? { attempt: e.name.slice(0, -".parquet".length) } : {}),
            });
          }
        }
      }
    }
    return out;
  }

  /** Partitions named again: Spark's Thrift Server lists their files anew (Hive reads them per query). */
  private refresh(files: WFile[]): Promise<void> {
    return registerPartitions(this.store, files);
  }

  /** Takes the lock; a string says who holds it. */
  private async lock(now: number): Promise<true | string> {
    const path = `${this.root}/${LOCK}`;
    const me = JSON.stringify({ host: os.hostname(), pid: process.pid, at: now });
    await this.fs.mkdirs(`${this.root}/_hostflow`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.fs.write(path, Buffer.from(me));
        return true;
      } catch (error) {
        const text = await this.fs.readIfAny(path).catch(() => undefined);
        if (text === undefined) {
          if (attempt === 0) continue;
          throw error;
        }
        let holder: { host?: string; pid?: number; at?: number } = {};
        try {
          holder = JSON.parse(text);
        } catch {
          // cut short by a kill: stale
        }
        const since = holder.at ?? 0;
        if (now - since < LOCK_STALE_MS) {
          return `another compaction (${holder.host}/${holder.pid}, since ${new Date(since).toISOString()}) holds ${path}`;
        }
        this.logger.warn({ holder }, `taking over a compaction lock older than an hour: ${path}`);
        await this.fs.delete(path);
      }
    }
    throw new HostflowError("HF_WAREHOUSE", `could not take the compaction lock ${path}`);
  }
}

interface Visibility {
  /** Load → the attempt that counts, and when it was committed. */
  visible: Map<string, { id: string; at: number }>;
  /** Compaction codes some load counts. */
  liveCodes: Set<string>;
  /** Compaction code → the loads it copied (committed). */
  codeLoads: Map<string, string[]>;
  /** Rows of `loads` per attempt id. */
  rows: Map<string, number>;
}
