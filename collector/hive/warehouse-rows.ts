/**
 * Rows of the warehouse's files, counted by the collector from their Parquet footers, and reads
 * of all of `loads` checked against them. `loads` is what makes every row count: compaction's
 * reads of it and a run's read of where each partition was loaded to are not taken on Hive's
 * word alone (HiveServer2's Tez in local mode answered such a read with no rows and no error in
 * a fleet run). ORC tables go unchecked.
 */
import { HostflowError } from "../../lib/errors.js";
import type { ResolvedHiveSettings } from "../config/load.js";
import { parquetRows } from "./parquet-rows.js";
import type { HiveStore } from "./store.js";
import { tableLocation } from "./tables.js";
import { fsPath, type WarehouseFs } from "./warehouse-fs.js";

export type LoadsRead = <T>(
  what: string,
  read: () => Promise<T>,
  seen: (result: T) => number,
) => Promise<T>;

export class WarehouseRows {
  /** Rows of each file read so far, by path and length (a file is never rewritten in place). */
  private readonly footers = new Map<string, number>();
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
