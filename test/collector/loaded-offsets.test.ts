/**
 * Where a run starts in each partition comes from `loads`' files, read by the collector as Hive
 * reads them, not from a Hive query: a query is a Tez job that waited behind other queries for
 * up to 50 s at a run's start in the fleet bench, and HiveServer2's Tez in local mode once
 * answered such a read short with no error (a run starting too early in Kafka: a reload, refused
 * only while offset claims last; with start_from: latest, past samples never loaded). Real
 * Parquet files on the local file system; no Hive at all.
 */
import { mkdir, mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { loadCollectorConfig } from "../../collector/config/load.js";
import { tableSpecs } from "../../collector/hive/tables.js";
import { LocalWarehouse, type WarehouseFs } from "../../collector/hive/warehouse-fs.js";
import { WarehouseRows } from "../../collector/hive/warehouse-rows.js";
import { isHostflowError } from "../../lib/errors.js";
import { hookedWarehouse, type LoadRow, loadsParquet, runRows } from "../helpers/loads.js";

const root = path.resolve(import.meta.dirname, "../..");
const { config } = loadCollectorConfig(path.join(root, "conf/collector.yaml"), {});
const RUNS = 4;

/**
 * `loads` with RUNS files of group g (partitions 0..2, run i up to offset 100 (i + 1)), one of
 * group other, and a state-only row (partition -1). `fs` wraps the local file system.
 */
async function fixture(
  t: { teardown: (fn: () => Promise<void>) => void },
  hooks: (loadsDir: string) => Partial<WarehouseFs> = () => ({}),
) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "hf-offsets-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const hive = { ...config.hive, warehouse_dir: `file://${dir}` };
  const specs = tableSpecs(hive.tables);
  const loadsDir = path.join(dir, hive.database, specs.loads.name);
  await mkdir(loadsDir, { recursive: true });
  for (let i = 0; i < RUNS; i++) {
    await writeFile(path.join(loadsDir, `run_${i}`), loadsParquet(runRows(i)));
  }
  const other = runRows(9).map((r) => ({ ...r, group_id: "other", load_id: `o${r.load_id}` }));
  await writeFile(path.join(loadsDir, "other"), loadsParquet(other));
  const stateOnly: LoadRow = { ...(runRows(0)[0] as LoadRow), kafka_partition: -1, topic: "" };
  await writeFile(path.join(loadsDir, "state"), loadsParquet([stateOnly]));
  // Hidden: a file being written, or an INSERT's staging.
  await writeFile(path.join(loadsDir, "_tmp.run_9"), loadsParquet(runRows(50)));
  const rows = new WarehouseRows(hookedWarehouse(hooks(loadsDir)), hive, {
    database: hive.database,
    specs,
  });
  return { rows, loadsDir };
}

const WHOLE = new Map([
  ["t:0", 100 * RUNS],
  ["t:1", 100 * RUNS],
  ["t:2", 100 * RUNS],
]);

test("each partition of the group starts where its files of loads end; other groups, state-only rows and hidden files count for nothing", async (t) => {
  const f = await fixture(t);
  t.deepEqual(await f.rows.loadedOffsets("g"), WHOLE);
  t.deepEqual(await f.rows.loadedOffsets("nobody"), new Map());
});

test("a file deleted during the read (a compaction's rewrite, its new file written first) starts the read over", async (t) => {
  let deleted = false;
  const f = await fixture(t, (loadsDir) => ({
    readRange: async (p, offset, length) => {
      if (!deleted && p.endsWith("/run_3")) {
        // The rewrite: every run's rows in one new file, then the old files go.
        deleted = true;
        const all = [0, 1, 2, 3].flatMap((i) => runRows(i));
        await writeFile(path.join(loadsDir, "000000_0"), loadsParquet(all));
        for (let i = 0; i < RUNS; i++) await unlink(path.join(loadsDir, `run_${i}`));
      }
      return new LocalWarehouse().readRange(p, offset, length);
    },
  }));
  t.deepEqual(await f.rows.loadedOffsets("g"), WHOLE);
  t.true(deleted);
});

test("a file that is there but not Parquet stops the run with an error naming it", async (t) => {
  const f = await fixture(t);
  await writeFile(path.join(f.loadsDir, "broken"), "not parquet");
  const error = await t.throwsAsync(f.rows.loadedOffsets("g"));
  t.true(isHostflowError(error), String(error));
  t.regex(error?.message ?? "", /broken/);
});

test("status and report from the same files: per partition the next offset and the last load, and the last load of all; a compaction's copies left out", async (t) => {
  const f = await fixture(t);
  // A compaction's copy of run 0's rows: committed later, but not a load.
  const copy = runRows(0).map((r) => ({
    ...r,
    load_id: r.load_id.replace("#1", "#0c"),
    loaded_at: 99_999,
  }));
  await writeFile(path.join(f.loadsDir, "copy"), loadsParquet(copy));
  const last = { next: 100 * RUNS, at: 1000 * (RUNS - 1) };
  t.deepEqual(
    await f.rows.loadedPartitions("g", ["t"]),
    new Map([
      ["t:0", last],
      ["t:1", last],
      ["t:2", last],
    ]),
  );
  t.deepEqual(await f.rows.loadedPartitions("g", ["another topic"]), new Map());
  // Group "other" loaded last (run 9): the report's last load is of any group.
  t.is(await f.rows.lastLoadAt(), 9_000);
});
