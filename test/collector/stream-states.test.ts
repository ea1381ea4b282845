/**
 * The streams' states a run starts from come from `streams`' and `loads`' files, read by the
 * collector as Hive's query reads them (HiveStore.streamStates), not from the query: a Tez job
 * that waited up to 260 s at a run's start in a 30-minute fleet run. Real Parquet files on the
 * local file system; no Hive at all (test/warehouse/maintenance.integration.test.ts compares
 * the two on Hive 4 + HDFS, through a compaction).
 */
import { mkdir, mkdtemp, rm, unlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import test from "ava";
import { loadCollectorConfig } from "../../collector/config/load.js";
import type { StreamState } from "../../collector/gaps.js";
import { tableSpecs } from "../../collector/hive/tables.js";
import { LocalWarehouse, type WarehouseFs } from "../../collector/hive/warehouse-fs.js";
import { WarehouseRows } from "../../collector/hive/warehouse-rows.js";
import { isHostflowError } from "../../lib/errors.js";
import {
  hookedWarehouse,
  loadsParquet,
  runRows,
  type StreamRow,
  streamsParquet,
} from "../helpers/loads.js";

const root = path.resolve(import.meta.dirname, "../..");
const { config } = loadCollectorConfig(path.join(root, "conf/collector.yaml"), {});
const NOW = Date.parse("2026-12-07T12:00:00Z");
const TODAY = "day=2026-12-07";

/** A `streams` row of stream s of agent a, written by load `load_id`. */
function row(
  a: string,
  s: string,
  maxSeq: number,
  updatedAt: number,
  loadId: string,
  holes = "[]",
): StreamRow {
  return {
    agent_id: a,
    stream: s,
    host: `${a}-host-${maxSeq}`,
    max_seq: maxSeq,
    holes,
    last_ts: 1_000 * maxSeq,
    updated_at: updatedAt,
    load_id: loadId,
  };
}

const state = (r: StreamRow, rest: Partial<StreamState> = {}): StreamState => ({
  agentId: r.agent_id,
  stream: r.stream,
  host: r.host,
  maxSeq: r.max_seq,
  holes: [],
  lastTs: r.last_ts,
  updatedAt: r.updated_at,
  ...rest,
});

const sorted = (states: StreamState[]) =>
  [...states].sort((a, b) => `${a.agentId}/${a.stream}`.localeCompare(`${b.agentId}/${b.stream}`));

/**
 * Loads l0..l2 committed (attempt #1 each, runRows), l9's attempt never committed. Stream a/x
 * moves on in every load; b/y was last heard of in l0, in a day older than state_days.
 */
async function fixture(
  t: { teardown: (fn: () => Promise<void>) => void },
  hooks: (dirs: { loads: string; streams: string }) => Partial<WarehouseFs> = () => ({}),
) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "hf-states-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const hive = { ...config.hive, warehouse_dir: `file://${dir}` };
  const specs = tableSpecs(hive.tables);
  const loads = path.join(dir, hive.database, specs.loads.name);
  const streams = path.join(dir, hive.database, specs.streams.name);
  await mkdir(loads, { recursive: true });
  await mkdir(path.join(streams, TODAY), { recursive: true });
  await mkdir(path.join(streams, "day=2026-11-01"), { recursive: true });
  for (let i = 0; i < 3; i++) {
    await writeFile(path.join(loads, `run_${i}`), loadsParquet(runRows(i)));
  }
  const files = {
    l0: [row("a", "x", 10, 100, "l0-0#1"), row("c", "z", 5, 100, "l0-0#1")],
    // Two rows of one stream in one load: the later updated_at counts.
    l1: [row("a", "x", 20, 200, "l1-1#1"), row("a", "x", 25, 150, "l1-1#1")],
    // The same updated_at as l1's: the higher max_seq counts.
    l2: [row("a", "x", 21, 200, "l2-2#1", JSON.stringify({ floor: 3, holes: [[14, 15]] }))],
    // Never committed: nothing of it counts, though it is the latest.
    l9: [row("a", "x", 99, 900, "l9-0#1"), row("new", "s", 1, 900, "l9-0#1")],
  };
  for (const [name, rows] of Object.entries(files)) {
    await writeFile(path.join(streams, TODAY, `${name}.parquet`), streamsParquet(rows));
  }
  await writeFile(
    path.join(streams, "day=2026-11-01", "old.parquet"),
    streamsParquet([row("b", "y", 7, 50, "l0-0#1")]),
  );
  // Hidden: a file being written.
  await writeFile(
    path.join(streams, TODAY, "_tmp.l0.parquet"),
    streamsParquet([row("a", "x", 500, 999, "l0-0#1")]),
  );
  const rows = new WarehouseRows(hookedWarehouse(hooks({ loads, streams })), hive, {
    database: hive.database,
    specs,
  });
  return { rows, loads, streams, files };
}

const EXPECTED = (f: Awaited<ReturnType<typeof fixture>>) =>
  sorted([
    state(f.files.l2[0] as StreamRow, { floor: 3, holes: [[14, 15]] }),
    state(f.files.l0[1] as StreamRow),
  ]);

test("each stream's latest committed row: uncommitted loads, days before state_days and hidden files count for nothing", async (t) => {
  const f = await fixture(t);
  t.deepEqual(sorted(await f.rows.streamStates(7, NOW)), EXPECTED(f));
  // With the old day in reach, its stream is there too.
  const long = sorted(await f.rows.streamStates(60, NOW));
  t.deepEqual(
    long.map((s) => `${s.agentId}/${s.stream}`),
    ["a/x", "b/y", "c/z"],
  );
});

/**
 * A compaction of `streams`' day: its copy (`<load>#0c`, in a new file) counts once its rows of
 * `loads` are in, and then the files it copied are deleted.
 */
async function compact(f: { loads: string; streams: string }) {
  const copied = [
    row("a", "x", 20, 200, "l1-1#0c"),
    row("a", "x", 21, 200, "l2-2#0c", JSON.stringify({ floor: 3, holes: [[14, 15]] })),
    row("c", "z", 5, 100, "l0-0#0c"),
  ];
  await writeFile(path.join(f.streams, TODAY, "copy.parquet"), streamsParquet(copied));
  const copies = [0, 1, 2].flatMap((i) =>
    runRows(i).map((r) => ({ ...r, load_id: r.load_id.replace("#1", "#0c") })),
  );
  await writeFile(path.join(f.loads, "copy"), loadsParquet(copies));
  for (const name of ["l0", "l1", "l2"])
    await unlink(path.join(f.streams, TODAY, `${name}.parquet`));
}

test("a compaction between reading streams' files and loads' files: its copy is read, not lost", async (t) => {
  let compacted = false;
  const f = await fixture(t, (dirs) => ({
    list: async (p) => {
      // The first listing of loads comes after streams' files were read: compact now.
      if (!compacted && p === dirs.loads) {
        compacted = true;
        await compact(dirs);
      }
      return new LocalWarehouse().list(p);
    },
  }));
  const expected = EXPECTED(f);
  t.deepEqual(sorted(await f.rows.streamStates(7, NOW)), expected);
  t.true(compacted);
});

test("a file deleted before it is read (a compaction's, its copy counting already) starts the read over", async (t) => {
  let compacted = false;
  const f = await fixture(t, (dirs) => ({
    readRange: async (p, offset, length) => {
      if (!compacted && p.endsWith("/l1.parquet")) {
        compacted = true;
        await compact(dirs);
      }
      return new LocalWarehouse().readRange(p, offset, length);
    },
  }));
  const expected = EXPECTED(f);
  t.deepEqual(sorted(await f.rows.streamStates(7, NOW)), expected);
  t.true(compacted);
});

test("a file of streams that is not Parquet stops the run with an error naming it", async (t) => {
  const f = await fixture(t);
  await writeFile(path.join(f.streams, TODAY, "broken"), "not parquet");
  const error = await t.throwsAsync(f.rows.streamStates(7, NOW));
  t.true(isHostflowError(error), String(error));
  t.regex(error?.message ?? "", /broken/);
});
