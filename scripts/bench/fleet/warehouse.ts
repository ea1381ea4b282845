/**
 * What the fleet bench asks Hive and HDFS, on a session of its own (not the collector's code
 * path: plain HiveQL on the views and the `loads` table, through lib/hive's client):
 *
 * - commits: the rows of `loads`, polled every few seconds, from its files through WebHDFS (as
 *   Hive reads them at each query) or through HiveServer2. A load becomes visible in the views
 *   the moment its row is in `loads` (the views keep a `*_batches` row only when its load_id
 *   is there; collector/hive/tables.ts), so the first poll that returns a load's row bounds when
 *   its Kafka offsets became visible in `metrics`, for every record of the run.
 * - the `metrics` view itself for a few sampled hosts: the cpu samples it counts per host, to
 *   check the commit-based figure against what a user's query sees.
 * - the final comparison: per (measurement, field) over the whole run and per (host, minute)
 *   for two fields, from the view.
 * - files per partition, through WebHDFS LISTSTATUS.
 */

import type { WebHdfs } from "../../../lib/hdfs/webhdfs.js";
import { HiveClient } from "../../../lib/hive/client.js";

export interface HiveAccess {
  host: string;
  port: number;
  user: string;
  password: string;
}

export async function hiveSession(access: HiveAccess): Promise<HiveClient> {
  const client = await HiveClient.connect({
    ...access,
    connectTimeoutMs: 60_000,
    statementTimeoutMs: 15 * 60_000,
  });
  // As the collector's sessions: counts from the files, never from the metastore's statistics.
  await client.execute("SET hive.compute.query.using.stats=false");
  return client;
}

export const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/** One committed load's range of one partition, and when the bench first saw it. */
export interface Commit {
  loadId: string;
  partition: number;
  from: number;
  next: number;
  records: number;
  loadedAt: number;
  collector: string;
  /** End of the first poll whose answer held the row. */
  seenAt: number;
  /** Start of that poll: the commit happened after the previous poll's start, at the earliest. */
  pollStartedAt: number;
}

/** A row of `loads`, as the watcher needs it. */
interface LoadsRow {
  load_id: string;
  topic: string;
  kafka_partition: number;
  from_offset: number;
  next_offset: number;
  records: number;
  loaded_at: number;
  collector: string;
}

const LOADS_COLUMNS = [
  "load_id",
  "topic",
  "kafka_partition",
  "from_offset",
  "next_offset",
  "records",
  "loaded_at",
  "collector",
] as const;

/** The rows of `loads` through HiveServer2 (a fetch task: no Tez job, but HiveServer2's CPU). */
export function loadsThroughHive(client: HiveClient, database: string) {
  return async (): Promise<LoadsRow[]> =>
    (
      await client.query(
        `SELECT ${LOADS_COLUMNS.join(", ")} FROM ${database}.loads WHERE kafka_partition >= 0`,
      )
    ).rows as unknown as LoadsRow[];
}

/**
 * The rows of `loads` read from its folder through WebHDFS, as Hive reads them at each query: the
 * data files there now (hidden `_`/`.` names left out), each read once (a file is never
 * rewritten: a load's commit and a compaction's rewrite add new names). A load is visible in the
 * views from the moment its file is in the folder, so this sees it when Hive would, without
 * taking HiveServer2's time away from the collectors.
 */
export function loadsThroughFiles(hdfs: WebHdfs, loadsDir: string) {
  const read = new Map<string, LoadsRow[]>();
  return async (): Promise<LoadsRow[]> => {
    const { parquetReadObjects } = await import("hyparquet");
    const out: LoadsRow[] = [];
    for (const entry of (await hdfs.list(loadsDir)) ?? []) {
      const name = entry.pathSuffix;
      if (entry.type !== "FILE" || name.startsWith("_") || name.startsWith(".")) continue;
      const id = `${name}\0${entry.length}`;
      let rows = read.get(id);
      if (rows === undefined) {
        const bytes = await hdfs.readRange(`${loadsDir}/${name}`, 0, entry.length);
        const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        rows = (await parquetReadObjects({
          file: file as ArrayBuffer,
          columns: [...LOADS_COLUMNS],
        })) as unknown as LoadsRow[];
        read.set(id, rows);
      }
      out.push(...rows);
    }
    return out;
  };
}

/** Polls `loads` (through `rows`); keeps every commit with the time it was first seen. */
export function commitWatcher(rows: () => Promise<LoadsRow[]>, topic: string) {
  const commits = new Map<string, Commit>();
  let polls = 0;
  let pollMs = 0;
  let lastError: string | undefined;
  return {
    commits,
    async poll(): Promise<void> {
      const started = Date.now();
      try {
        const answer = await rows();
        const seenAt = Date.now();
        for (const r of answer) {
          if (r.topic !== topic || Number(r.kafka_partition) < 0) continue;
          const key = `${r.load_id}\0${r.kafka_partition}`;
          if (commits.has(key)) continue;
          commits.set(key, {
            loadId: r.load_id,
            partition: Number(r.kafka_partition),
            from: Number(r.from_offset),
            next: Number(r.next_offset),
            records: Number(r.records),
            loadedAt: Number(r.loaded_at),
            collector: String(r.collector),
            seenAt,
            pollStartedAt: started,
          });
        }
        polls += 1;
        pollMs += seenAt - started;
        lastError = undefined;
      } catch (error) {
        lastError = (error as Error).message;
      }
    },
    /** Per partition, the offset below which every record is committed (what `status` calls loaded). */
    loaded(): Map<number, number> {
      const byPartition = new Map<number, Commit[]>();
      for (const c of commits.values()) {
        const list = byPartition.get(c.partition) ?? [];
        list.push(c);
        byPartition.set(c.partition, list);
      }
      const out = new Map<number, number>();
      for (const [p, list] of byPartition) {
        list.sort((a, b) => a.from - b.from);
        let covered = 0;
        for (const c of list) if (c.from <= covered) covered = Math.max(covered, c.next);
        out.set(p, covered);
      }
      return out;
    },
    stats: () => ({ polls, averageMs: polls > 0 ? pollMs / polls : Number.NaN, lastError }),
  };
}

export type CommitWatcher = ReturnType<typeof commitWatcher>;

/**
 * When each record became visible: per partition, the ranges of the committed loads cut into
 * disjoint pieces, each with the earliest time one of its loads was seen. Records in no
 * committed range were never visible (lost, as far as the views go).
 */
export function visibilityIndex(commits: Iterable<Commit>) {
  const byPartition = new Map<number, Commit[]>();
  for (const c of commits) {
    const list = byPartition.get(c.partition) ?? [];
    list.push(c);
    byPartition.set(c.partition, list);
  }
  const pieces = new Map<number, { starts: number[]; ends: number[]; seenAt: number[] }>();
  for (const [p, list] of byPartition) {
    const cuts = [...new Set(list.flatMap((c) => [c.from, c.next]))].sort((a, b) => a - b);
    const starts: number[] = [];
    const ends: number[] = [];
    const seenAt: number[] = [];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const from = cuts[i] as number;
      const to = cuts[i + 1] as number;
      let earliest = Number.POSITIVE_INFINITY;
      for (const c of list)
        if (c.from <= from && c.next >= to) earliest = Math.min(earliest, c.seenAt);
      if (earliest === Number.POSITIVE_INFINITY) continue;
      starts.push(from);
      ends.push(to);
      seenAt.push(earliest);
    }
    pieces.set(p, { starts, ends, seenAt });
  }
  return (partition: number, offset: number): number | undefined => {
    const piece = pieces.get(partition);
    if (piece === undefined) return undefined;
    let lo = 0;
    let hi = piece.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((piece.starts[mid] as number) > offset) hi = mid - 1;
      else if ((piece.ends[mid] as number) <= offset) lo = mid + 1;
      else return piece.seenAt[mid];
    }
    return undefined;
  };
}

/** A poll of the `metrics` view: cpu samples per sampled host, over the run's windows. */
export interface ViewPoll {
  startedAt: number;
  endedAt: number;
  counts: Map<string, number>;
}

export function viewWatcher(
  client: HiveClient,
  database: string,
  hosts: string[],
  fromWindow: number,
) {
  const polls: ViewPoll[] = [];
  let lastError: string | undefined;
  const sql =
    `SELECT host, SUM(samples) AS n FROM ${database}.metrics ` +
    `WHERE window_seconds = 60 AND measurement = 'cpu' AND field = 'usage_idle' ` +
    `AND window_start >= ${fromWindow} AND host IN (${hosts.map(quote).join(", ")}) GROUP BY host`;
  return {
    polls,
    async poll(): Promise<void> {
      const startedAt = Date.now();
      try {
        const { rows } = await client.query<{ host: string; n: number }>(sql);
        polls.push({
          startedAt,
          endedAt: Date.now(),
          counts: new Map(rows.map((r) => [String(r.host), Number(r.n)])),
        });
        lastError = undefined;
      } catch (error) {
        lastError = (error as Error).message;
      }
    },
    lastError: () => lastError,
  };
}

export type ViewWatcher = ReturnType<typeof viewWatcher>;

export interface FieldTotal {
  samples: number;
  total: number;
}

/**
 * A session for the final comparison's big reads of the view. The view groups every partial
 * row by host, measurement, tags, field and window: millions of groups at 10,000 hosts. Local
 * Tez runs inside HiveServer2's heap, and its map-side hash aggregation ran it out of memory
 * (Java heap space, 2 GB) on the whole view; without it the groups are sorted and streamed.
 */
export async function checkSession(access: HiveAccess): Promise<HiveClient> {
  const client = await hiveSession(access);
  await client.execute("SET hive.map.aggr=false");
  return client;
}

/**
 * Per window size, measurement and field: samples and sum over the whole view, one
 * measurement per statement (fewer groups at a time).
 */
export async function viewFieldTotals(
  client: HiveClient,
  database: string,
  measurements: string[],
): Promise<Map<string, FieldTotal>> {
  const out = new Map<string, FieldTotal>();
  for (const measurement of measurements) {
    const { rows } = await client.query<{
      window_seconds: number;
      measurement: string;
      field: string;
      samples: number;
      total: number;
    }>(
      `SELECT window_seconds, measurement, field, SUM(samples) AS samples, SUM(total) AS total ` +
        `FROM ${database}.metrics WHERE measurement = ${quote(measurement)} ` +
        "GROUP BY window_seconds, measurement, field",
    );
    for (const r of rows) {
      out.set(`${r.window_seconds}\0${r.measurement}\0${r.field}`, {
        samples: Number(r.samples),
        total: Number(r.total),
      });
    }
  }
  return out;
}

/** The fields compared per host and minute. */
export const CHECKED_FIELDS = [
  ["cpu", "usage_idle"],
  ["mem", "used_percent"],
] as const;

/** Per host, minute window and checked field: samples and sum, from the view. */
export async function viewHostWindows(
  client: HiveClient,
  database: string,
): Promise<Map<string, FieldTotal>> {
  const which = CHECKED_FIELDS.map(
    ([m, f]) => `(measurement = ${quote(m)} AND field = ${quote(f)})`,
  ).join(" OR ");
  const { rows } = await client.query<{
    host: string;
    window_start: number;
    measurement: string;
    field: string;
    samples: number;
    total: number;
  }>(
    `SELECT host, window_start, measurement, field, samples, total FROM ${database}.metrics ` +
      `WHERE window_seconds = 60 AND (${which})`,
  );
  const out = new Map<string, FieldTotal>();
  for (const r of rows) {
    const key = `${r.host}\0${r.window_start}\0${r.measurement}\0${r.field}`;
    // The view has one row per key; two would be a bug of the view, and count as such.
    const had = out.get(key);
    out.set(key, {
      samples: Number(r.samples) + (had?.samples ?? 0),
      total: Number(r.total) + (had?.total ?? 0),
    });
  }
  return out;
}

/** Data files per table and day partition (names starting with _ or . are not data). */
export async function filesPerPartition(
  hdfs: WebHdfs,
  tablesRoot: string,
): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  const isData = (name: string) => !name.startsWith("_") && !name.startsWith(".");
  const countFiles = async (dir: string): Promise<number> => {
    let n = 0;
    for (const entry of (await hdfs.list(dir)) ?? []) {
      if (!isData(entry.pathSuffix)) continue;
      if (entry.type === "FILE") n += 1;
      // raw_samples_batches: day=…/hour=…: a day's files are those of its hours.
      else if (entry.type === "DIRECTORY") n += await countFiles(`${dir}/${entry.pathSuffix}`);
    }
    return n;
  };
  for (const table of (await hdfs.list(tablesRoot)) ?? []) {
    if (table.type !== "DIRECTORY" || !isData(table.pathSuffix)) continue;
    const dir = `${tablesRoot}/${table.pathSuffix}`;
    const partitions = new Map<string, number>();
    let unpartitioned = 0;
    for (const entry of (await hdfs.list(dir)) ?? []) {
      if (!isData(entry.pathSuffix)) continue;
      if (entry.type === "DIRECTORY" && entry.pathSuffix.includes("=")) {
        partitions.set(entry.pathSuffix, await countFiles(`${dir}/${entry.pathSuffix}`));
      } else if (entry.type === "FILE") unpartitioned += 1;
    }
    if (unpartitioned > 0 || partitions.size === 0) partitions.set("(table)", unpartitioned);
    out.set(table.pathSuffix, partitions);
  }
  return out;
}
