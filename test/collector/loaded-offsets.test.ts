/**
 * Where a run starts in each partition comes from one read of `loads`, checked against its
 * files' Parquet footers: a read that comes back short with no error (HiveServer2's Tez in local
 * mode answered compaction's read so in a fleet run) would start the run too early in Kafka (a
 * reload, refused only while offset claims last) or, with start_from: latest, past samples never
 * loaded. Real Parquet files on the local file system, a fake Hive.
 */
import { mkdir, mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { loadCollectorConfig } from "../../collector/config/load.js";
import { HiveStore } from "../../collector/hive/store.js";
import { tableSpecs } from "../../collector/hive/tables.js";
import { LocalWarehouse } from "../../collector/hive/warehouse-fs.js";
import { WarehouseRows } from "../../collector/hive/warehouse-rows.js";
import { isHostflowError } from "../../lib/errors.js";
import { type LoadRow, loadsParquet, runRows } from "../helpers/loads.js";

const root = path.resolve(import.meta.dirname, "../..");
const { config } = loadCollectorConfig(path.join(root, "conf/collector.yaml"), {});
const RUNS = 4;

/**
 * `loads` with RUNS files of group g (partitions 0..2, run i up to offset 100 (i + 1)) and one of
 * group other. `answer` is what Hive's grouped read gives, from every row of `loads`.
 */
async function fixture(
  t: { teardown: (fn: () => Promise<void>) => void },
  answer: (rows: LoadRow[], loadsDir: string) => Promise<LoadRow[]>,
) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "hf-offsets-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const hive = { ...config.hive, warehouse_dir: `file://${dir}` };
  const specs = tableSpecs(hive.tables);
  const loadsDir = path.join(dir, hive.database, specs.loads.name);
  await mkdir(loadsDir, { recursive: true });
  const all: LoadRow[] = [];
  for (let i = 0; i < RUNS; i++) {
    all.push(...runRows(i));
    await writeFile(path.join(loadsDir, `run_${i}`), loadsParquet(runRows(i)));
  }
  const other = runRows(9).map((r) => ({ ...r, group_id: "other", load_id: `o${r.load_id}` }));
  all.push(...other);
  await writeFile(path.join(loadsDir, "other"), loadsParquet(other));
  const queries: string[] = [];
  const store = {
    database: hive.database,
    specs,
    query: async (sql: string) => {
      queries.push(sql);
      const groups = new Map<string, LoadRow & { n: number }>();
      for (const r of await answer(all, loadsDir)) {
        const k = `${r.group_id}/${r.topic}/${r.kafka_partition}`;
        const g = groups.get(k);
        if (g === undefined) groups.set(k, { ...r, n: 1 });
        else {
          g.n++;
          g.next_offset = Math.max(g.next_offset, r.next_offset);
        }
      }
      return {
        rows: [...groups.values()].map((g) => ({
          group_id: g.group_id,
          topic: g.topic,
          kafka_partition: g.kafka_partition,
          next: g.next_offset,
          n: g.n,
        })),
      };
    },
  };
  const checked = new WarehouseRows(new LocalWarehouse(), hive, store).checkedLoadsRead(
    "the run stops",
  );
  const offsets = () =>
    HiveStore.prototype.loadedOffsets.call(store as unknown as HiveStore, "g", checked);
  return { offsets, queries };
}

test("a whole read gives this group's next offset per partition", async (t) => {
  const f = await fixture(t, async (rows) => rows);
  t.deepEqual(
    await f.offsets(),
    new Map([
      ["t:0", 400],
      ["t:1", 400],
      ["t:2", 400],
    ]),
  );
  t.regex(
    f.queries[0] ?? "",
    /COUNT\(\*\) AS n FROM \S+ GROUP BY group_id, topic, kafka_partition$/,
  );
});

test("a read that comes back short stops the run with HF_WAREHOUSE, whatever it would have started from", async (t) => {
  for (const short of [async () => [], async (rows: LoadRow[]) => rows.slice(0, 5)]) {
    const f = await fixture(t, short);
    const error = await t.throwsAsync(f.offsets());
    t.true(isHostflowError(error, "HF_WAREHOUSE"), String(error));
    t.true((error as { retriable?: boolean }).retriable);
    t.regex(
      error?.message ?? "",
      /Hive read \d rows of .*loads \(where each partition was loaded to\), but its 5 files hold 15 by their Parquet footers: a wrong read, so the run stops/,
    );
  }
});

test("a read during which a compaction's rewrite deleted old files of loads is not taken for a wrong one", async (t) => {
  // Its rows are in the rewrite's new file (written before); what matters here is the bounds.
  const f = await fixture(t, async (rows, loadsDir) => {
    await unlink(path.join(loadsDir, "run_0"));
    return rows;
  });
  t.is((await f.offsets()).get("t:1"), 400);
});
