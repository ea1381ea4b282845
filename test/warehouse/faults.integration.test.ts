/**
 * Loads through WebHDFS when HDFS fails under them, for real: a private HDFS (NameNode and
 * DataNode of this file's own) holds the tables, the shared HiveServer2 reads them by URI. Each
 * test stops a load at a point (HOSTFLOW_HOLD_AT), does the fault, lets the load go on, heals
 * it once the run has said it retries, and compares every aggregate with a plain computation.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import test, { type ExecutionContext } from "ava";
import { tablesRoot } from "../../collector/hive/tables.js";
import { runCollector } from "../../collector/run.js";
import { isHostflowError } from "../../lib/errors.js";
import { waitFor } from "../helpers/agent.js";
import {
  assertExactlyOnce,
  type CollectorFixture,
  collectorFixture,
  dataset,
  produce,
  quiet,
} from "../helpers/collector.js";
import { type PrivateHdfs, privateHdfs } from "../helpers/private-hdfs.js";

let hdfs: PrivateHdfs;

test.before(async () => {
  hdfs = await privateHdfs();
});

test.after.always(async () => {
  await hdfs?.dispose();
});

/** Tables on the private HDFS, written by the OS user (its superuser) unless `hive` says. */
async function fixture(
  t: ExecutionContext,
  hive: Record<string, string | number> = {},
): Promise<CollectorFixture> {
  return collectorFixture(t, {
    hive: {
      ...hive,
      warehouse_dir: `${hdfs.uri}/warehouse/hostflow`,
      webhdfs_url: hdfs.webHdfsUrl,
      load_via: "files",
      retries: 8,
      retry_backoff: "1s",
      ...hive,
    },
  });
}

interface Running {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
}

function startRun(f: CollectorFixture, env: NodeJS.ProcessEnv): Running {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "collector/cli.ts", "run", "-c", f.file],
    {
      env: { ...process.env, HOSTFLOW_LOG_LEVEL: "warn", HOSTFLOW_LOG_FORMAT: "json", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  child.stdout?.resume();
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stderr: () => stderr, exit };
}

/**
 * A run held at `point` of its first load; `fault` runs there, the run goes on, and once it has
 * logged a retry `heal` runs. Returns the run's exit code and log.
 */
async function faultDuringLoad(
  t: ExecutionContext,
  f: CollectorFixture,
  point: string,
  fault: () => Promise<void>,
  heal: () => Promise<void>,
): Promise<{ code: number | null; log: string }> {
  const hold = mkdtempSync(path.join(tmpdir(), "hf-hold-"));
  const run = startRun(f, { HOSTFLOW_HOLD_AT: point, HOSTFLOW_HOLD_DIR: hold });
  t.teardown(() => {
    run.child.kill("SIGKILL");
  });
  const withLog = (error: Error) => {
    throw new Error(`${error.message}; the run's log ends: ${run.stderr().slice(-800)}`);
  };
  await waitFor(
    `the run to reach ${point}`,
    () => existsSync(path.join(hold, "reached")),
    240_000,
  ).catch(withLog);
  await fault();
  writeFileSync(path.join(hold, "release"), "");
  await waitFor(
    "the run to log a retry after the fault",
    () => /failed; retrying/.test(run.stderr()),
    240_000,
  ).catch(withLog);
  await heal();
  const code = await run.exit;
  return { code, log: run.stderr() };
}

test.serial(
  "the DataNode stopped between two files of a load: retried, every record once",
  async (t) => {
    const f = await fixture(t);
    const records = dataset(3, 4);
    await produce(f.topic, records);
    const { code, log } = await faultDuringLoad(
      t,
      f,
      "mid-files",
      () => hdfs.stop("datanode"),
      () => hdfs.start(),
    );
    t.is(code, 0, log);
    await assertExactlyOnce(t, f, records);
  },
);

test.serial("the NameNode restarted during a load: retried, every record once", async (t) => {
  const f = await fixture(t);
  const records = dataset(3, 4);
  await produce(f.topic, records);
  const { code, log } = await faultDuringLoad(
    t,
    f,
    "mid-files",
    () => hdfs.stop("namenode"),
    () => hdfs.start(),
  );
  t.is(code, 0, log);
  await assertExactlyOnce(t, f, records);
});

test.serial(
  "HDFS in safe mode during a load: retried until it leaves, every record once",
  async (t) => {
    const f = await fixture(t);
    const records = dataset(3, 4);
    await produce(f.topic, records);
    const { code, log } = await faultDuringLoad(
      t,
      f,
      "before-files",
      async () => {
        hdfs.dfsadmin("-safemode", "enter");
      },
      async () => {
        hdfs.dfsadmin("-safemode", "leave");
      },
    );
    t.is(code, 0, log);
    t.regex(log, /SafeModeException|safe mode/i);
    await assertExactlyOnce(t, f, records);
  },
);

test.serial(
  "a space quota on the tables' root: HF_WAREHOUSE_FULL naming the path, nothing committed; quota lifted, the next run loads all once",
  async (t) => {
    const f = await fixture(t);
    const records = dataset(2, 3);
    await produce(f.topic, records);
    const root = new URL(tablesRoot(f.config.hive)).pathname;
    hdfs.dfsadmin("-setSpaceQuota", "1k", root);
    const error = await t.throwsAsync(runCollector(f.config, { logger: quiet }));
    t.true(isHostflowError(error, "HF_WAREHOUSE_FULL"), String(error));
    t.regex(String(error?.message), new RegExp(`${root}.*QuotaExceededException`));
    const { rows } = await f.store.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${f.database}.loads`,
    );
    t.is(Number(rows[0]?.n), 0);
    hdfs.dfsadmin("-clrSpaceQuota", root);
    const summary = await runCollector(f.config, { logger: quiet });
    t.is(summary.records, records.length);
    await assertExactlyOnce(t, f, records);
  },
);

test.serial(
  "files of an attempt that never committed: invisible, kept while young, removed by a later run once old; committed files stay",
  async (t) => {
    const f = await fixture(t);
    const records = dataset(2, 3);
    await produce(f.topic, records);
    const root = new URL(tablesRoot(f.config.hive)).pathname;
    const killed = startRun(f, { HOSTFLOW_CRASH_AT: "after-files" });
    t.is(await killed.exit, null, killed.stderr());
    const markers = async () =>
      ((await hdfs.client.list(`${root}/_hostflow/inflight`)) ?? []).map((m) => m.pathSuffix);
    const left = await markers();
    t.is(left.length, 1, "the killed attempt's marker");
    const attempt = decodeURIComponent((left[0] as string).replace(/\.json$/, ""));
    const files = async () => {
      const found: string[] = [];
      const walk = async (dir: string): Promise<void> => {
        for (const e of (await hdfs.client.list(dir)) ?? []) {
          if (e.type === "DIRECTORY") await walk(`${dir}/${e.pathSuffix}`);
          else found.push(`${dir}/${e.pathSuffix}`);
        }
      };
      await walk(`${root}/${f.config.hive.tables.metrics}_batches`);
      return found;
    };
    const orphans = (await files()).filter((p) => p.includes(attempt));
    t.true(orphans.length > 0, "the killed attempt's files are in the partition folders");

    // The next run: the marker is young, its files stay; every record counts once.
    const second = await runCollector(f.config, { logger: quiet });
    t.is(second.records, records.length);
    await assertExactlyOnce(t, f, records);
    t.deepEqual(await markers(), left);
    t.deepEqual(
      (await files()).filter((p) => p.includes(attempt)),
      orphans,
    );
    const committed = (await files()).filter((p) => !p.includes(attempt));
    t.true(committed.length > 0);

    // An hour later (the marker made old), a run removes them, and only them.
    await hdfs.client.setModificationTime(
      `${root}/_hostflow/inflight/${left[0]}`,
      Date.now() - 2 * 3_600_000,
    );
    const third = await runCollector(f.config, { logger: quiet });
    t.is(third.records, 0);
    t.deepEqual(await markers(), []);
    t.deepEqual((await files()).sort(), committed.sort());
    await assertExactlyOnce(t, f, records);
  },
);

test.serial(
  "a user who may not write the warehouse: exit 1, one line naming the path, the user and the fix; nothing loaded",
  async (t) => {
    const f = await fixture(t, { webhdfs_user: "etl" });
    await produce(f.topic, dataset(1, 2));
    const root = new URL(tablesRoot(f.config.hive)).pathname;
    const run = startRun(f, {});
    t.is(await run.exit, 1);
    const line = run.stderr().trim().split("\n").pop() ?? "";
    t.regex(
      line,
      new RegExp(
        `HF_WAREHOUSE_DENIED: user etl may not write the warehouse folder ${root} \\(WebHDFS ${hdfs.webHdfsUrl} as user etl\\): .*Permission denied.* Fix: .*hdfs dfs -chown -R etl ${root}.*hive\\.webhdfs_user.*load_via: statement`,
      ),
    );
    const { rows } = await f.store.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${f.database}.loads`,
    );
    t.is(Number(rows[0]?.n), 0);
  },
);
