/**
 * Failure paths of `loads`' rewrite, with fakes: its old files go only when Hive read rows to
 * keep and wrote a file of them. In a 6-minute fleet run, Hive answered the rewrite's reads of
 * `loads` with no rows (HiveServer2's Tez in local mode), the rewrite wrote nothing, the 12 old
 * files were deleted, and every load stopped counting.
 */
import path from "node:path";
import test from "ava";
import { loadCollectorConfig } from "../../collector/config/load.js";
import { Compactor } from "../../collector/hive/compact.js";
import type { HiveStore } from "../../collector/hive/store.js";
import { tableSpecs } from "../../collector/hive/tables.js";
import type { WarehouseFs } from "../../collector/hive/warehouse-fs.js";
import { isHostflowError } from "../../lib/errors.js";
import { createLogger } from "../../lib/log.js";

const root = path.resolve(import.meta.dirname, "../..");
const { config } = loadCollectorConfig(path.join(root, "conf/collector.yaml"), {});

function fixture(rowsRead: number) {
  const executed: string[] = [];
  const deleted: string[] = [];
  const written = new Map<string, string>();
  const files = Array.from({ length: 12 }, (_, i) => `000000_0_copy_${i}`);
  const store = {
    database: config.hive.database,
    specs: tableSpecs(config.hive.tables),
    query: async () => ({ rows: [{ n: rowsRead }] }),
    execute: async (sql: string) => {
      executed.push(sql);
    },
  } as unknown as HiveStore;
  const fs = {
    list: async () => files.map((name) => ({ name, directory: false, modificationTime: 0 })),
    delete: async (target: string) => {
      deleted.push(target);
      written.delete(target);
      return true;
    },
    write: async (file: string, data: Uint8Array) => {
      written.set(file, Buffer.from(data).toString());
    },
    readIfAny: async (file: string) => written.get(file),
  } as unknown as WarehouseFs;
  const compactor = new Compactor(store, config.hive, fs, createLogger("test", "silent"));
  return { compactor, executed, deleted, written };
}

test("loads is not rewritten when Hive reads no rows to keep from its files: nothing is written or deleted", async (t) => {
  const f = fixture(0);
  t.deepEqual(await f.compactor.rewriteLoads(undefined, false), { before: 0, after: 0 });
  t.deepEqual(f.executed, []);
  t.deepEqual(f.deleted, []);
  t.is(await f.compactor.finishLoadsRewrite(0, Date.now()), false);
  t.deepEqual(f.deleted, [], "no old file is deleted afterwards either");
});

test("a rewrite whose INSERT leaves no new file fails, and its old files are never deleted", async (t) => {
  const f = fixture(5);
  const error = await t.throwsAsync(f.compactor.rewriteLoads(undefined, false));
  t.true(isHostflowError(error, "HF_WAREHOUSE"), String(error));
  t.regex(error?.message ?? "", /wrote no new file .* its 12 files stay/);
  t.is(f.executed.length, 1);
  t.is(await f.compactor.finishLoadsRewrite(0, Date.now()), false);
  t.false(
    f.deleted.some((d) => d.includes("000000_0_copy_")),
    `deleted: ${f.deleted.join(", ")}`,
  );
});
