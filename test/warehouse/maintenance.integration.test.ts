/**
 * Compaction and retention on Apache Hive 4 + HDFS, for real: the views answer the same before,
 * during and after a compaction (also one killed at each of its steps), the day partitions end
 * with few files, and retention drops only partitions wholly older than their limit.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import test, { type ExecutionContext } from "ava";
import type { StreamState } from "../../collector/gaps.js";
import { tableLocation } from "../../collector/hive/tables.js";
import { fsPath, warehouseFs } from "../../collector/hive/warehouse-fs.js";
import { WarehouseRows } from "../../collector/hive/warehouse-rows.js";
import {
  assertSame,
  type CollectorFixture,
  collectorFixture,
  dataset,
  expectedAggregates,
  hiveAggregates,
  produce,
  type TestRecord,
  webHdfs,
} from "../helpers/collector.js";

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, ["--import", "tsx", "collector/cli.ts", ...args], {
    encoding: "utf8",
    env: { ...process.env, HOSTFLOW_LOG_LEVEL: "warn", ...env },
    timeout: 600_000,
  });
}

/** A fixture whose runs load every 40 records: many small files per day partition. */
async function manyLoads(t: ExecutionContext, extra = ""): Promise<CollectorFixture> {
  const f = await collectorFixture(t, { partitions: 2, hive: { load_via: "files" }, extra });
  writeFileSync(
    f.file,
    readFileSync(f.file, "utf8").replace(/^run:\n/m, "run:\n  batch_records: 40\n"),
  );
  return f;
}

/** The same samples from other hosts. */
function renamed(records: TestRecord[], prefix: string): TestRecord[] {
  return records.map((r) => {
    const host = `${prefix}${r.host}`;
    return r.sample ? { ...r, host, sample: { ...r.sample, tags: { ...r.sample.tags, host } } } : r;
  });
}

async function load(t: ExecutionContext, f: CollectorFixture, records: TestRecord[]) {
  await produce(f.topic, records);
  const run = cli(["run", "-c", f.file]);
  t.is(run.status, 0, run.stderr);
  return run.stdout;
}

/**
 * The streams' states a run starts from, read from the files, are Hive's answer to its query
 * (HiveStore.streamStates): one per agent stream of the dataset.
 */
async function statesAsHive(
  t: ExecutionContext,
  f: CollectorFixture,
  streams: number,
  when: string,
) {
  const fs = warehouseFs(f.config.hive);
  if (fs === undefined) return t.fail("no WebHDFS for the warehouse");
  const now = Date.now();
  const sorted = (states: StreamState[]) =>
    [...states].sort((a, b) =>
      `${a.agentId}/${a.stream}`.localeCompare(`${b.agentId}/${b.stream}`),
    );
  const hive = sorted(await f.store.streamStates(f.config.gaps.state_days, now));
  const files = sorted(
    await new WarehouseRows(fs, f.config.hive, f.store).streamStates(f.config.gaps.state_days, now),
  );
  t.is(hive.length, streams, `${when}: Hive's stream states`);
  t.deepEqual(files, hive, `${when}: the stream states from the files are Hive's`);
}

/** Files per day folder of metrics_batches, hidden names left out. */
async function metricFiles(f: CollectorFixture): Promise<Map<string, number>> {
  const dir = fsPath(tableLocation(f.config.hive, f.store.specs.metrics));
  const out = new Map<string, number>();
  for (const day of (await webHdfs?.list(dir)) ?? []) {
    if (day.type !== "DIRECTORY") continue;
    const files = (await webHdfs?.list(`${dir}/${day.pathSuffix}`)) ?? [];
    out.set(
      day.pathSuffix,
      files.filter((e) => e.type === "FILE" && !/^[_.]/.test(e.pathSuffix)).length,
    );
  }
  return out;
}

async function total(f: CollectorFixture): Promise<number> {
  const { rows } = await f.store.query<{ s: number }>(
    `SELECT SUM(samples) AS s FROM ${f.database}.metrics WHERE window_seconds = 60`,
  );
  return Number(rows[0]?.s);
}

test.serial(
  "compaction: a query during it sees every sample once; afterwards the same answers from ≤ 2 files a day",
  async (t) => {
    const f = await manyLoads(t);
    const records = dataset(6, 10);
    await load(t, f, records);
    await statesAsHive(t, f, 6, "before compaction");
    const before = await metricFiles(f);
    t.true(
      [...before.values()].some((n) => n > 2),
      `many files before: ${JSON.stringify([...before])}`,
    );
    const expected = expectedAggregates(records);
    assertSame(t, await hiveAggregates(f), expected);
    // Compact in a child while this process queries the view over and over.
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "collector/cli.ts", "compact", "-c", f.file, "--max-files", "2"],
      { env: { ...process.env, HOSTFLOW_LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const exit = new Promise<number | null>((resolve) => child.on("exit", resolve));
    let done = false;
    void exit.then(() => {
      done = true;
    });
    const answers: number[] = [];
    while (!done) answers.push(await total(f));
    t.is(await exit, 0, out);
    t.true(answers.length > 0);
    t.deepEqual(
      answers.filter((a) => a !== records.length * 2),
      [],
      `every answer during the compaction counted each sample once (${answers.length} queries)`,
    );
    t.regex(out, /compact: rewrote/);
    assertSame(t, await hiveAggregates(f), expected);
    await statesAsHive(t, f, 6, "compacted, the replaced files still there");
    // The replaced files stay for the grace (10 min by default: a query may still read them);
    // with none running, a compaction without grace deletes them.
    const gc = cli(["compact", "-c", f.file, "--max-files", "2", "--grace", "0s"]);
    t.is(gc.status, 0, gc.stderr);
    t.regex(gc.stdout, /[1-9]\d* replaced files deleted/);
    assertSame(t, await hiveAggregates(f), expected);
    await statesAsHive(t, f, 6, "the replaced files deleted");
    const after = await metricFiles(f);
    for (const [day, n] of after) t.true(n <= 2, `${day}: ${n} files after: ${out}`);
    // New loads after a compaction count too, and a second compaction merges them.
    const more = renamed(dataset(6, 4, Date.now() - 60_000), "b-");
    await load(t, f, more);
    const again = cli(["compact", "-c", f.file, "--max-files", "2", "--grace", "0s"]);
    t.is(again.status, 0, again.stderr);
    assertSame(t, await hiveAggregates(f), expectedAggregates([...records, ...more]));
  },
);

for (const point of ["after-copy", "after-marker", "mid-commit"]) {
  test.serial(
    `compaction killed ${point}: the views are unchanged; the next one finishes`,
    async (t) => {
      const f = await manyLoads(t);
      const records = dataset(4, 8);
      await load(t, f, records);
      const expected = expectedAggregates(records);
      const crashed = cli(["compact", "-c", f.file, "--max-files", "2", "--grace", "0s"], {
        HOSTFLOW_CRASH_AT: point,
      });
      t.is(crashed.signal, "SIGKILL", crashed.stdout + crashed.stderr);
      assertSame(t, await hiveAggregates(f), expected);
      // The killed one left its lock: a fresh one says so, rather than racing it.
      const locked = cli(["compact", "-c", f.file, "--max-files", "2", "--grace", "0s"]);
      t.regex(locked.stdout, /another compaction .* holds/);
      const lock = `${fsPath(f.config.hive.warehouse_dir)}/${f.database}/_hostflow/compact.lock`;
      await webHdfs?.delete(lock);
      const next = cli(["compact", "-c", f.file, "--max-files", "2", "--grace", "0s"]);
      t.is(next.status, 0, next.stderr);
      assertSame(t, await hiveAggregates(f), expected);
      t.is(await total(f), records.length * 2);
    },
  );
}

test.serial(
  "retention: drops only day partitions wholly older than the limit, deletes their files, trims loads; --dry-run changes nothing",
  async (t) => {
    const f = await collectorFixture(t, { partitions: 2, hive: { load_via: "files" } });
    const old = renamed(dataset(3, 3, Date.now() - 4 * 86_400_000), "old-");
    const recent = dataset(3, 3);
    const out = await load(t, f, [...old, ...recent]);
    const days = [...(await metricFiles(f)).keys()].sort();
    const oldDay = `day=${new Date(Date.now() - 4 * 86_400_000).toISOString().slice(0, 10)}`;
    t.true(days.includes(oldDay), `${JSON.stringify(days)}: ${out}`);
    // Limits set now (a run applies them too, after its load).
    writeFileSync(
      f.file,
      `${readFileSync(f.file, "utf8")}maintenance:\n  retention:\n    metrics: 2d\n    quarantine: 2d\n    gaps: 2d\n`,
    );
    const dry = cli(["retention", "-c", f.file, "--dry-run"]);
    t.is(dry.status, 0, dry.stderr);
    t.regex(
      dry.stdout,
      new RegExp(`would drop 1 day partitions[\\s\\S]*metrics_batches ${oldDay}`),
    );
    t.deepEqual([...(await metricFiles(f)).keys()].sort(), days, "the dry run changed nothing");
    const real = cli(["retention", "-c", f.file]);
    t.is(real.status, 0, real.stderr);
    t.regex(real.stdout, /dropped 1 day partitions/);
    t.regex(real.stdout, /loads: \d+ rows → \d+/);
    const left = [...(await metricFiles(f)).keys()];
    t.false(left.includes(oldDay), "the old day's folder is deleted");
    t.is(left.length, days.length - 1, "every younger day stays");
    const { rows } = await f.store.query<Record<string, string>>(
      `SHOW PARTITIONS ${f.database}.${f.store.specs.metrics.name}`,
    );
    t.false(rows.some((r) => String(Object.values(r)[0]).includes(oldDay.slice(4))));
    assertSame(t, await hiveAggregates(f), expectedAggregates(recent));
    // The next run starts where the last load ended: nothing is loaded again.
    const again = cli(["run", "-c", f.file]);
    t.is(again.status, 0, again.stderr);
    t.regex(again.stdout, /run done: 0 records/);
  },
);
