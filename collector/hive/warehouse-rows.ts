/**
 * Rows of the warehouse's files, counted by the collector from their Parquet footers, and reads
 * of all of `loads` checked against them. `loads` is what makes every row count: compaction's
 * reads of it are not taken on Hive's word alone (HiveServer2's Tez in local mode answered such
 * a read with no rows and no error in a fleet run), and a run reads where each partition was
 * loaded to, and the streams' states, from the files directly. ORC tables go unchecked (a run
 * asks Hive).
 */
import { HostflowError } from "../../lib/errors.js";
import type { ResolvedHiveSettings } from "../config/load.js";
import type { StreamState } from "../gaps.js";
import { decodeHoles } from "./encode.js";
import { parquetRows, parquetTextRows } from "./parquet-rows.js";
import type { HiveStore } from "./store.js";
import { tableLocation } from "./tables.js";
import { fsPath, type WarehouseFs, warehouseFs } from "./warehouse-fs.js";

/** What is read of `loads`: where each partition was loaded to, which loads count, and when. */
const LOADS_COLUMNS = [
  "group_id",
  "topic",
  "kafka_partition",
  "next_offset",
  "load_id",
  "loaded_at",
];
const STREAMS_COLUMNS = [
  "agent_id",
  "stream",
  "host",
  "max_seq",
  "holes",
  "last_ts",
  "updated_at",
  "load_id",
];
const DAY_MS = 86_400_000;

type TextRows = (string | null)[][];
type StreamsFile = { dir: string; name: string; length: number };

export type LoadsRead = <T>(
  what: string,
  read: () => Promise<T>,
  seen: (result: T) => number,
) => Promise<T>;

/**
 * A reader of the warehouse's files, when this process can read them (a `file://` warehouse or
 * WebHDFS) and they are Parquet; otherwise undefined, and Hive is asked.
 */
export function filesReader(
  settings: ResolvedHiveSettings,
  store: Pick<HiveStore, "database" | "specs">,
): WarehouseRows | undefined {
  const fs = warehouseFs(settings);
  const rows = fs === undefined ? undefined : new WarehouseRows(fs, settings, store);
  return rows?.checks ? rows : undefined;
}

export class WarehouseRows {
  /** Rows of each file read so far, by path and length (a file is never rewritten in place). */
  private readonly footers = new Map<string, number>();
  /** The columns of `loads` and `streams` the run reads, by path and length. */
  private readonly textRows = new Map<string, TextRows>();
  readonly loadsLocation: string;
  readonly streamsLocation: string;

  constructor(
    private readonly fs: WarehouseFs,
    private readonly settings: ResolvedHiveSettings,
    private readonly store: Pick<HiveStore, "database" | "specs">,
  ) {
    this.loadsLocation = fsPath(tableLocation(settings, store.specs.loads));
    this.streamsLocation = fsPath(tableLocation(settings, store.specs.streams));
  }

  /** Whether files can be counted (Parquet footers). */
  get checks(): boolean {
    return this.settings.storage_format === "parquet";
  }

  /** `loads`' data files now (not Hive's hidden `_`/`.` ones). */
  async loadsEntries(): Promise<{ name: string; length: number }[]> {
    const list = (await this.fs.list(this.loadsLocation)) ?? [];
    return list.filter((e) => !e.directory && !/^[_.]/.test(e.name));
  }

  /** Rows in these files, from their footers. */
  async rowsIn(files: { path: string; length: number }[]): Promise<number> {
    let rows = 0;
    for (const { path, length } of files) {
      const key = `${path}@${length}`;
      let n = this.footers.get(key);
      if (n === undefined) {
        n = await parquetRows(this.fs, path, length);
        this.footers.set(key, n);
      }
      rows += n;
    }
    return rows;
  }

  /**
   * The next offset to load per `topic:partition` of `groupId`: the largest next_offset of its
   * rows in `loads`' files, read here, as Hive would read them, without asking Hive (a Tez job
   * that waited behind other queries for up to 50 s at a run's start in the fleet bench, and
   * whose answer had to be checked against these files anyway).
   */
  async loadedOffsets(groupId: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [group, topic, partition, next] of await this.loadsSnapshot()) {
      if (group !== groupId || Number(partition) < 0) continue;
      const key = `${topic}:${partition}`;
      out.set(key, Math.max(out.get(key) ?? 0, Number(next)));
    }
    return out;
  }

  /**
   * Per `topic:partition` of `groupId` in `topics`: the next offset to load and when the last
   * load of it committed, a compaction's copies left out (collector/status.ts asks Hive the
   * same).
   */
  async loadedPartitions(
    groupId: string,
    topics: readonly string[],
  ): Promise<Map<string, { next: number; at: number }>> {
    const out = new Map<string, { next: number; at: number }>();
    for (const [group, topic, partition, next, loadId, at] of await this.loadsSnapshot()) {
      if (group !== groupId || Number(partition) < 0 || !topics.includes(topic ?? "")) continue;
      if (isCopy(loadId)) continue;
      const key = `${topic}:${partition}`;
      const seen = out.get(key);
      out.set(key, {
        next: Math.max(seen?.next ?? 0, Number(next)),
        at: Math.max(seen?.at ?? 0, Number(at)),
      });
    }
    return out;
  }

  /** When the last load (of any group) committed, a compaction's copies left out. */
  async lastLoadAt(): Promise<number | undefined> {
    let last: number | undefined;
    for (const row of await this.loadsSnapshot()) {
      if (!isCopy(row[4])) last = Math.max(last ?? 0, Number(row[5]));
    }
    return last;
  }

  /**
   * Every row of `loads`' files now (LOADS_COLUMNS). Each file is read once by this object: a
   * file is never rewritten in place; what it kept of files gone since is forgotten. A file
   * deleted meanwhile (a compaction's rewrite of `loads`, whose new file holds its rows and was
   * written first) starts the read over.
   */
  private async loadsSnapshot(): Promise<TextRows> {
    for (let round = 1; ; round++) {
      const before = await this.loadsEntries();
      const out: TextRows = [];
      let vanished = false;
      for (const e of before) {
        const rows = await this.rowsOf(this.loadsLocation, e, LOADS_COLUMNS);
        if (rows === undefined) {
          vanished = true;
          break;
        }
        // Not push(...rows): a compacted file's rows would overflow the call's arguments.
        for (const row of rows) out.push(row);
      }
      if (!vanished) {
        const after = await this.loadsEntries();
        const names = new Set(after.map((e) => e.name));
        vanished = before.some((e) => !names.has(e.name));
        this.forget(this.loadsLocation, after);
      }
      if (!vanished) return out;
      if (round >= 5) {
        throw new HostflowError(
          "HF_WAREHOUSE",
          `the files of ${this.store.database}.${this.store.specs.loads.name} (${this.loadsLocation}) kept changing while they were read; the next run reads them again`,
          { retriable: true },
        );
      }
    }
  }

  /** Forgets what was read of files in `dir` that are no longer among `entries`. */
  private forget(dir: string, entries: readonly { name: string; length: number }[]): void {
    const kept = new Set(entries.map((e) => `${dir}/${e.name}@${e.length}`));
    for (const key of this.textRows.keys()) {
      if (key.startsWith(`${dir}/`) && !key.slice(dir.length + 1).includes("/") && !kept.has(key))
        this.textRows.delete(key);
    }
  }

  /**
   * The latest committed state of every stream heard from in the last `days` days, read from
   * `streams`' and `loads`' files as HiveStore.streamStates asks Hive (a window function, a Tez
   * job: in a 30-minute fleet run it waited up to 260 s at a run's start behind other queries).
   * A row counts if its load_id is its load's first in `loads` (committedLoads: a compaction's
   * copy, `<load>#0…`, sorts first and takes over from the rows it copied); of a stream's rows,
   * the latest updated_at, then the highest max_seq.
   *
   * `streams` is listed before and after `loads` is read: a file that counts by that read was
   * written before it, so the second listing has it unless it is already gone, and a file gone
   * before it is read starts the read over (a compaction deletes what it copied after its copy
   * counts).
   */
  async streamStates(days: number, now: number): Promise<StreamState[]> {
    const since = new Date(now - days * DAY_MS).toISOString().slice(0, 10);
    for (let round = 1; ; round++) {
      const states = await this.readStreamStates(since);
      if (states !== undefined) return states;
      if (round >= 5) {
        throw new HostflowError(
          "HF_WAREHOUSE",
          `the files of ${this.store.database}.${this.store.specs.streams.name} (${this.streamsLocation}) kept changing while the run read the streams' states; the next run reads them again`,
          { retriable: true },
        );
      }
    }
  }

  /** One try of streamStates; undefined: a file went away meanwhile. */
  private async readStreamStates(since: string): Promise<StreamState[] | undefined> {
    const read = new Map<string, TextRows>();
    const readAll = async (files: StreamsFile[]) => {
      for (const f of files) {
        const path = `${f.dir}/${f.name}`;
        if (read.has(path)) continue;
        const rows = await this.rowsOf(f.dir, f, STREAMS_COLUMNS);
        if (rows === undefined) return false;
        read.set(path, rows);
      }
      return true;
    };
    if (!(await readAll(await this.streamsFiles(since)))) return undefined;
    const first = new Map<string, string>();
    for (const row of await this.loadsSnapshot()) {
      const id = row[4] ?? "";
      const load = id.split("#")[0] as string;
      const seen = first.get(load);
      if (seen === undefined || id < seen) first.set(load, id);
    }
    if (!(await readAll(await this.streamsFiles(since)))) return undefined;
    const counted = new Set(first.values());
    const latest = new Map<string, (string | null)[]>();
    for (const rows of read.values()) {
      for (const row of rows) {
        if (!counted.has(row[7] ?? "")) continue;
        const stream = `${row[0]}\u0000${row[1]}`;
        const seen = latest.get(stream);
        if (seen === undefined || later(row, seen)) latest.set(stream, row);
      }
    }
    return [...latest.values()].map((r) => ({
      agentId: r[0] ?? "",
      stream: r[1] ?? "",
      host: r[2] ?? "",
      maxSeq: Number(r[3]),
      ...decodeHoles(r[4] ?? "[]"),
      lastTs: Number(r[5]),
      updatedAt: Number(r[6]),
    }));
  }

  /** `streams`' data files in the day partitions from `since` on. */
  private async streamsFiles(since: string): Promise<StreamsFile[]> {
    const out: StreamsFile[] = [];
    for (const day of (await this.fs.list(this.streamsLocation)) ?? []) {
      const date = /^day=(\d{4}-\d{2}-\d{2})$/.exec(day.name)?.[1];
      if (!day.directory || date === undefined || date < since) continue;
      const dir = `${this.streamsLocation}/${day.name}`;
      for (const e of (await this.fs.list(dir)) ?? []) {
        if (!e.directory && !/^[_.]/.test(e.name)) out.push({ dir, ...e });
      }
    }
    return out;
  }

  /** `columns` of a file's rows, read once; undefined: it is gone. */
  private async rowsOf(
    dir: string,
    entry: { name: string; length: number },
    columns: string[],
  ): Promise<TextRows | undefined> {
    const path = `${dir}/${entry.name}`;
    const key = `${path}@${entry.length}`;
    let rows = this.textRows.get(key);
    if (rows === undefined) {
      try {
        rows = await parquetTextRows(this.fs, path, entry.length, columns);
      } catch (error) {
        if ((await this.fs.list(path)) === undefined) return undefined;
        throw error;
      }
      this.textRows.set(key, rows);
    }
    return rows;
  }

  private async loadsRows(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const e of await this.loadsEntries()) {
      out.set(e.name, await this.rowsIn([{ path: `${this.loadsLocation}/${e.name}`, ...e }]));
    }
    return out;
  }

  /**
   * Runs a read of all of `loads` and checks how many rows it saw (`seen`) against the files'
   * footers: at least the rows of the files there before and after it, at most those of every
   * file there before or after it (loads add files; a compaction's rewrite deletes old ones whose
   * rows are in its new file). Otherwise HF_WAREHOUSE (retriable), and `then` says what stops.
   */
  checkedLoadsRead(then: string): LoadsRead {
    return async (what, read, seen) => {
      if (!this.checks) return read();
      const before = await this.loadsRows();
      const result = await read();
      const after = await this.loadsRows();
      let low = 0;
      let high = 0;
      for (const [name, rows] of after) {
        high += rows;
        if (before.has(name)) low += rows;
      }
      for (const [name, rows] of before) if (!after.has(name)) high += rows;
      const n = seen(result);
      if (n < low || n > high) {
        const loads = `${this.store.database}.${this.store.specs.loads.name}`;
        throw new HostflowError(
          "HF_WAREHOUSE",
          `Hive read ${n} rows of ${loads} (${what}), but its ${after.size} files hold ${low === high ? low : `${low} to ${high}`} by their Parquet footers: a wrong read, so ${then}`,
          { retriable: true, context: { table: this.store.specs.loads.name, read: n, low, high } },
        );
      }
      return result;
    };
  }
}

/** Whether a row of `loads` is a compaction's copy (`<load>#0…`; tables.ts, NOT_A_COPY). */
function isCopy(loadId: string | null | undefined): boolean {
  return (loadId?.split("#")[1] ?? "").startsWith("0");
}

/** Whether a `streams` row is later than another: updated_at, then max_seq. */
function later(row: (string | null)[], than: (string | null)[]): boolean {
  const [a, b] = [Number(row[6]), Number(than[6])];
  return a !== b ? a > b : Number(row[3]) > Number(than[3]);
}
