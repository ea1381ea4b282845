/**
 * Rows of the warehouse's files, counted by the collector from their Parquet footers, and reads
 * of all of `loads` checked against them. `loads` is what makes every row count: compaction's
 * reads of it are not taken on Hive's word alone (HiveServer2's Tez in local mode answered such
 * a read with no rows and no error in a fleet run), and a run reads where each partition was
 * loaded to from its files directly. ORC tables go unchecked (a run asks Hive).
 */
import { HostflowError } from "../../lib/errors.js";
import type { ResolvedHiveSettings } from "../config/load.js";
import { parquetRows, parquetTextRows } from "./parquet-rows.js";
import type { HiveStore } from "./store.js";
import { tableLocation } from "./tables.js";
import { fsPath, type WarehouseFs } from "./warehouse-fs.js";

const OFFSET_COLUMNS = ["group_id", "topic", "kafka_partition", "next_offset"];

export type LoadsRead = <T>(
  what: string,
  read: () => Promise<T>,
  seen: (result: T) => number,
) => Promise<T>;

export class WarehouseRows {
  /** Rows of each file read so far, by path and length (a file is never rewritten in place). */
  private readonly footers = new Map<string, number>();
  /** The same for the columns loadedOffsets reads. */
  private readonly offsetRows = new Map<string, (string | null)[][]>();
  readonly loadsLocation: string;

  constructor(
    private readonly fs: WarehouseFs,
    private readonly settings: ResolvedHiveSettings,
    private readonly store: Pick<HiveStore, "database" | "specs">,
  ) {
    this.loadsLocation = fsPath(tableLocation(settings, store.specs.loads));
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
   * whose answer had to be checked against these files anyway). Each file is read once per run
   * (this object): a file is never rewritten in place. A file deleted meanwhile (a compaction's rewrite of `loads`,
   * whose new file holds its rows and was written first) starts the read over.
   */
  async loadedOffsets(groupId: string): Promise<Map<string, number>> {
    for (let round = 1; ; round++) {
      const before = await this.loadsEntries();
      const out = new Map<string, number>();
      let vanished = false;
      for (const e of before) {
        const rows = await this.offsetRowsOf(e);
        if (rows === undefined) {
          vanished = true;
          break;
        }
        for (const [group, topic, partition, next] of rows) {
          if (group !== groupId || Number(partition) < 0) continue;
          const key = `${topic}:${partition}`;
          out.set(key, Math.max(out.get(key) ?? 0, Number(next)));
        }
      }
      if (!vanished) {
        const after = new Set((await this.loadsEntries()).map((e) => e.name));
        vanished = before.some((e) => !after.has(e.name));
      }
      if (!vanished) return out;
      if (round >= 5) {
        throw new HostflowError(
          "HF_WAREHOUSE",
          `the files of ${this.store.database}.${this.store.specs.loads.name} (${this.loadsLocation}) kept changing while the run read where each partition was loaded to; the next run reads them again`,
          { retriable: true },
        );
      }
    }
  }

  /** group_id, topic, kafka_partition, next_offset of a file's rows; undefined: it is gone. */
  private async offsetRowsOf(entry: {
    name: string;
    length: number;
  }): Promise<(string | null)[][] | undefined> {
    const path = `${this.loadsLocation}/${entry.name}`;
    const key = `${path}@${entry.length}`;
    let rows = this.offsetRows.get(key);
    if (rows === undefined) {
      try {
        rows = await parquetTextRows(this.fs, path, entry.length, OFFSET_COLUMNS);
      } catch (error) {
        if ((await this.fs.list(path)) === undefined) return undefined;
        throw error;
      }
      this.offsetRows.set(key, rows);
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
