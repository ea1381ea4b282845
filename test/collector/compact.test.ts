/**
 * Failure paths of compaction with a fake Hive: nothing is deleted on Hive's word alone. In a
 * 6-minute fleet run, Hive answered compaction's reads of `loads` with no rows and no error
 * (HiveServer2's Tez in local mode), the rewrite wrote nothing, the 12 old files of `loads` were
 * deleted, and every load stopped counting. Here the files are real Parquet files on the local
 * file system, so that their footers say how many rows Hive should have read and written.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { parquetWriteBuffer } from "hyparquet-writer";
import { loadCollectorConfig } from "../../collector/config/load.js";
import { Compactor } from "../../collector/hive/compact.js";
import type { HiveStore } from "../../collector/hive/store.js";
import { tableSpecs } from "../../collector/hive/tables.js";
import { LocalWarehouse } from "../../collector/hive/warehouse-fs.js";
import { isHostflowError } from "../../lib/errors.js";
import { createLogger } from "../../lib/log.js";
import { type LoadRow, loadsParquet, ROWS_PER_RUN, runRows } from "../helpers/loads.js";

const root = path.resolve(import.meta.dirname, "../..");
const { config } = loadCollectorConfig(path.join(root, "conf/collector.yaml"), {});

const quiet = createLogger("test", "silent");
const FILES = 12;

/** A Parquet file of `rows` rows of `loads`' load_id column (the footer is what counts). */
function parquet(rows: number, prefix: string): Uint8Array {
  const ids = Array.from({ length: rows }, (_, i) => `${prefix}-${i}#1`);
  return new Uint8Array(
    parquetWriteBuffer({ columnData: [{ name: "load_id", data: ids, type: "STRING" }] }),
  );
}

interface Answers {
  /** Rows per load_id that Hive's grouped reads of which loads count give (compaction). */
  grouped: number[];
  /** How many of `loads`' rows Hive's read of its distinct rows gives (default: all). */
  distinct?: number;
  /** The rows the rewrite's INSERT writes, from the rows it should keep; undefined: no file. */
  inserts?: (keep: LoadRow[]) => LoadRow[];
  /** Bytes the INSERT writes in place of a Parquet file of `inserts`. */
  insertBytes?: Uint8Array;
  /** The rows Hive's INSERT should keep (default: all of them). */
  keep?: (all: LoadRow[]) => LoadRow[];
  storage_format?: "parquet" | "orc";
}

async function fixture(t: { teardown: (fn: () => Promise<void>) => void }, answers: Answers) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "hf-compact-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const hive = {
    ...config.hive,
    warehouse_dir: `file://${dir}`,
    storage_format: answers.storage_format ?? config.hive.storage_format,
  };
  const specs = tableSpecs(hive.tables);
  const loadsDir = path.join(dir, hive.database, specs.loads.name);
  await mkdir(loadsDir, { recursive: true });
  await mkdir(path.join(dir, hive.database, "_hostflow"));
  const all: LoadRow[] = [];
  for (let i = 0; i < FILES; i++) {
    all.push(...runRows(i));
    await writeFile(path.join(loadsDir, `000000_0_copy_${i}`), loadsParquet(runRows(i)));
  }
  const executed: string[] = [];
  const store = {
    database: hive.database,
    specs,
    query: async (sql: string) => {
      if (/GROUP BY load_id$/.test(sql)) {
        return {
          rows: answers.grouped.map((n, i) => ({ load_id: `l${i}#1`, at: 1, n })),
        };
      }
      if (/COUNT\(\*\) AS n FROM \S+ GROUP BY load_id, group_id/.test(sql)) {
        return { rows: all.slice(0, answers.distinct ?? all.length).map((r) => ({ ...r, n: 1 })) };
      }
      throw new Error(`the fake Hive has no answer to ${sql}`);
    },
    execute: async (sql: string) => {
      executed.push(sql);
      if (/^INSERT INTO TABLE .*loads/.test(sql) && answers.inserts !== undefined) {
        const keep = (answers.keep ?? ((rows) => rows))(all);
        await writeFile(
          path.join(loadsDir, "000000_0"),
          answers.insertBytes ?? loadsParquet(answers.inserts(keep)),
        );
      }
    },
  } as unknown as HiveStore;
  const compactor = new Compactor(store, hive, new LocalWarehouse(), quiet);
  const old = Array.from({ length: FILES }, (_, i) => `000000_0_copy_${i}`);
  const left = async () => (await readdir(loadsDir)).filter((n) => !n.startsWith("_")).sort();
  return { compactor, executed, left, old: old.sort() };
}

const allRows = Array.from({ length: FILES }, () => ROWS_PER_RUN);

test("a read of loads that comes back short stops the rewrite before it writes or deletes anything", async (t) => {
  const f = await fixture(t, { grouped: [], distinct: 0 });
  const error = await t.throwsAsync(f.compactor.rewriteLoads(undefined, false));
  t.true(isHostflowError(error, "HF_WAREHOUSE"), String(error));
  t.regex(
    error?.message ?? "",
    /Hive read 0 rows of .*loads .* its 12 files hold 36 .*a wrong read/,
  );
  t.deepEqual(f.executed, []);
  t.is(await f.compactor.finishLoadsRewrite(0, Date.now()), false);
  t.deepEqual(await f.left(), f.old, "every old file stays");
});

test("compaction stops when its read of which loads count disagrees with the files of loads", async (t) => {
  const f = await fixture(t, { grouped: allRows.slice(0, 5) });
  const error = await t.throwsAsync(f.compactor.compact({ maxFiles: 10, graceMs: 0 }));
  t.true(isHostflowError(error, "HF_WAREHOUSE"), String(error));
  t.regex(error?.message ?? "", /Hive read 15 rows .*which loads count.* hold 36/);
  t.deepEqual(f.executed, []);
  t.deepEqual(await f.left(), f.old);
});

test("unchecked (ORC), loads is not rewritten when Hive reads no rows to keep from its files: nothing is written or deleted", async (t) => {
  const f = await fixture(t, { grouped: allRows, distinct: 0, storage_format: "orc" });
  t.deepEqual(await f.compactor.rewriteLoads(undefined, false), { before: 0, after: 0 });
  t.deepEqual(f.executed, []);
  t.is(await f.compactor.finishLoadsRewrite(0, Date.now()), false);
  t.deepEqual(await f.left(), f.old);
});

test("a rewrite whose INSERT leaves no new file fails, and its old files are never deleted", async (t) => {
  const f = await fixture(t, { grouped: allRows });
  const error = await t.throwsAsync(f.compactor.rewriteLoads(undefined, false));
  t.true(isHostflowError(error, "HF_WAREHOUSE"), String(error));
  t.regex(error?.message ?? "", /wrote no new file .* its 12 files stay/);
  t.is(f.executed.length, 1);
  t.is(await f.compactor.finishLoadsRewrite(0, Date.now()), false);
  t.deepEqual(await f.left(), f.old);
});

/** Rewrites whose new file is not what was to be kept: the new file goes, the old ones stay. */
const wrongRewrites: [string, Partial<Answers>, RegExp][] = [
  [
    "fewer rows than to keep",
    { inserts: (keep) => keep.slice(0, 7) },
    /wrote 7 rows that are not the 36 to keep \(load l2-1#1's row is missing\)/,
  ],
  [
    "a row twice",
    { inserts: (keep) => [...keep, keep[4] as LoadRow] },
    /wrote 37 rows .*\(load l1-1#1's row is there twice\)/,
  ],
  [
    "a row that is not in loads",
    { inserts: (keep) => [...keep.slice(1), { ...(keep[0] as LoadRow), next_offset: 7 }] },
    /\(load l0-0#1's row is not one of loads' rows\)/,
  ],
  [
    "as many rows as to keep, one of them the wrong one (the count alone passed this)",
    { inserts: (keep) => [...keep.slice(0, -1), keep[0] as LoadRow] },
    /wrote 36 rows .*\(load l0-0#1's row is there twice\)/,
  ],
];
for (const [what, answers, message] of wrongRewrites) {
  test(`a rewrite whose new file holds ${what}: the new file goes, the old ones stay`, async (t) => {
    const f = await fixture(t, { grouped: allRows, ...answers });
    const error = await t.throwsAsync(f.compactor.rewriteLoads(undefined, false));
    t.true(isHostflowError(error, "HF_WAREHOUSE"), String(error));
    t.regex(error?.message ?? "", message);
    t.is(await f.compactor.finishLoadsRewrite(0, Date.now()), false);
    t.deepEqual(await f.left(), f.old);
  });
}

test("a rewrite whose new file cannot be read back: the new file goes, the old ones stay", async (t) => {
  const f = await fixture(t, {
    grouped: allRows,
    inserts: (keep) => keep,
    insertBytes: new TextEncoder().encode("not parquet at all"),
  });
  const error = await t.throwsAsync(f.compactor.rewriteLoads(undefined, false));
  t.true(isHostflowError(error, "HF_WAREHOUSE"), String(error));
  t.regex(
    error?.message ?? "",
    /000000_0 \(18 bytes\) is not a Parquet file whose rows can be read/,
  );
  t.is(await f.compactor.finishLoadsRewrite(0, Date.now()), false);
  t.deepEqual(await f.left(), f.old);
});

test("a rewrite that wrote every row it kept replaces the old files", async (t) => {
  const f = await fixture(t, { grouped: allRows, inserts: (keep) => [...keep].reverse() });
  t.deepEqual(await f.compactor.rewriteLoads(undefined, false), { before: 36, after: 36 });
  t.is(await f.compactor.finishLoadsRewrite(0, Date.now()), false);
  t.deepEqual(await f.left(), ["000000_0"]);
});

test("retention's rewrite keeps the loads after its limit and each partition's latest, and checks that", async (t) => {
  // Loads of runs 0..11 loaded at 1000 i; the limit 20,000 keeps none by age.
  const latest = (rows: LoadRow[]) => rows.filter((r) => r.next_offset === 1200);
  const ok = await fixture(t, { grouped: allRows, keep: latest, inserts: (keep) => keep });
  t.deepEqual(await ok.compactor.rewriteLoads(20_000, true), { before: 36, after: 3 });
  t.deepEqual(await ok.compactor.rewriteLoads(20_000, false), { before: 36, after: 3 });
  t.deepEqual(await ok.left(), [...ok.old, "000000_0"].sort(), "the old files wait for the grace");
  t.is(await ok.compactor.finishLoadsRewrite(0, Date.now()), false);
  t.deepEqual(await ok.left(), ["000000_0"]);

  // Hive's answer kept the second-latest of partition 2 instead of its latest.
  const wrong = await fixture(t, {
    grouped: allRows,
    keep: (rows) => [
      ...latest(rows).slice(0, 2),
      rows.find((r) => r.kafka_partition === 2 && r.next_offset === 1100) as LoadRow,
    ],
    inserts: (keep) => keep,
  });
  const error = await t.throwsAsync(wrong.compactor.rewriteLoads(20_000, false));
  t.regex(
    error?.message ?? "",
    /\(load l10-2#1 is older than the limit and not its partition's latest\)/,
  );
  t.deepEqual(await wrong.left(), wrong.old);
});

/**
 * A crowded day of `metrics` (11 loads' files of 5 rows, one `loads` row each) whose copy Hive
 * writes with `copyRows` rows, and whose `loads` rows for the commit Hive reads as `commitRows`.
 */
async function crowded(
  t: { teardown: (fn: () => Promise<void>) => void },
  copyRows: number,
  commitRows: number,
) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "hf-compact-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const hive = { ...config.hive, warehouse_dir: `file://${dir}` };
  const specs = tableSpecs(hive.tables);
  const dayDir = path.join(dir, hive.database, specs.metrics.name, "day=2026-12-01");
  const loadsDir = path.join(dir, hive.database, specs.loads.name);
  await mkdir(dayDir, { recursive: true });
  await mkdir(loadsDir, { recursive: true });
  await mkdir(path.join(dir, hive.database, "_hostflow"));
  const loads = Array.from({ length: 11 }, (_, i) => `load${i}`);
  for (const l of loads) await writeFile(path.join(dayDir, `${l}#1.parquet`), parquet(5, l));
  await writeFile(path.join(loadsDir, "commits"), parquet(11, "c"));
  const executed: string[] = [];
  const store = {
    database: hive.database,
    specs,
    query: async (sql: string) => {
      if (/GROUP BY load_id$/.test(sql))
        return { rows: loads.map((l) => ({ load_id: `${l}#1`, at: 1, n: 1 })) };
      if (/^SELECT l\.load_id/.test(sql)) {
        return {
          rows: loads.slice(0, commitRows).map((l) => ({
            load_id: `${l}#1`,
            group_id: "g",
            topic: "t",
            kafka_partition: 0,
            from_offset: 0,
            next_offset: 1,
            records: 5,
            bad: 0,
            loaded_at: 1,
            collector: "c",
          })),
        };
      }
      return { rows: [] };
    },
    execute: async (sql: string) => {
      executed.push(sql);
    },
    withSession: async (_settings: string[], work: (s: unknown) => Promise<unknown>) =>
      work({
        execute: async (sql: string) => {
          executed.push(sql);
          await writeFile(path.join(dayDir, "000000_0"), parquet(copyRows, "copy"));
        },
      }),
  } as unknown as HiveStore;
  const compactor = new Compactor(store, hive, new LocalWarehouse(), quiet);
  const names = async () => (await readdir(dayDir)).sort();
  const markers = async () =>
    readdir(path.join(dir, hive.database, "_hostflow", "compactions")).catch(() => []);
  return { compactor, executed, names, markers, before: await names() };
}

test("a copy that wrote fewer rows than the files it copies hold: its file goes, nothing is committed", async (t) => {
  const f = await crowded(t, 30, 11);
  const error = await t.throwsAsync(f.compactor.compact({ maxFiles: 10, graceMs: 0 }));
  t.true(isHostflowError(error, "HF_WAREHOUSE"), String(error));
  t.regex(
    error?.message ?? "",
    /copy of .*metrics_batches wrote 30 rows in 1 files, but the files it copies hold 55/,
  );
  t.deepEqual(await f.names(), f.before, "the copy's file is deleted, every load's file stays");
  t.false(
    f.executed.some((sql) => /INSERT INTO TABLE \S+\.loads/.test(sql)),
    f.executed.join("\n"),
  );
});

test("a commit whose read of the copied loads' rows comes back short: the copy's file goes, nothing is committed", async (t) => {
  const f = await crowded(t, 55, 4);
  const error = await t.throwsAsync(f.compactor.compact({ maxFiles: 10, graceMs: 0 }));
  t.true(isHostflowError(error, "HF_WAREHOUSE"), String(error));
  t.regex(error?.message ?? "", /Hive read 4 rows of .*loads for the loads copied, where 11 count/);
  t.deepEqual(await f.names(), f.before);
  t.deepEqual(await f.markers(), [], "nor does its marker stay");
  t.false(
    f.executed.some((sql) => /INSERT INTO TABLE \S+\.loads/.test(sql)),
    f.executed.join("\n"),
  );
});

test("a copy with every row commits: the loads switch to it", async (t) => {
  const f = await crowded(t, 55, 11);
  const r = await f.compactor.compact({ maxFiles: 10, graceMs: 0 });
  t.is(r.loads, 11);
  t.is(r.copied, 1);
  t.true(
    f.executed.some((sql) => /INSERT INTO TABLE \S+\.loads VALUES/.test(sql)),
    f.executed.join("\n"),
  );
});
