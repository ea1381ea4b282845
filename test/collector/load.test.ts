import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import { pino } from "pino";
import { loadCollectorConfigText } from "../../collector/config/load.js";
import type { LoadUnit } from "../../collector/hive/encode.js";
import { openLoader } from "../../collector/hive/load.js";
import { parquetTextRows } from "../../collector/hive/parquet-rows.js";
import type { HiveStore } from "../../collector/hive/store.js";
import { tableSpecs } from "../../collector/hive/tables.js";
import { LocalWarehouse, type WarehouseFs } from "../../collector/hive/warehouse-fs.js";
import { HostflowError, isHostflowError } from "../../lib/errors.js";
import { hookedWarehouse } from "../helpers/loads.js";

const settings = (hive: string) =>
  loadCollectorConfigText(
    `kafka: { brokers: ["k:9092"], topics: [m], group_id: g }\nhive: { database: db, ${hive} }\n`,
    "collector.yaml",
    {},
  ).config.hive;
// openLoader only decides: it never touches the store.
const store = {} as HiveStore;

function logged() {
  const lines: string[] = [];
  const logger = pino(
    { level: "info" },
    {
      write: (line: string) => {
        lines.push(line);
      },
    },
  );
  return { logger, lines };
}

/** A file system whose every call fails with `error`. */
function failing(error: HostflowError): WarehouseFs {
  const fail = async () => {
    throw error;
  };
  return {
    description: "WebHDFS http://nn:9870 as user etl",
    user: "etl",
    list: fail,
    mkdirs: fail,
    read: fail,
    write: fail,
    rename: fail,
    claim: fail,
    readIfAny: fail,
    readRange: fail,
    delete: fail,
    touch: fail,
  };
}

test("auto without webhdfs_url (warehouse on HDFS) loads via statements and says why", async (t) => {
  const { logger, lines } = logged();
  const loader = await openLoader(store, settings("load_via: auto"), logger);
  t.is(loader.via, "statement");
  t.regex(
    lines.join(""),
    /loading via statements: warehouse_dir \/warehouse\/hostflow is on HDFS and hive.webhdfs_url is not set/,
  );
});

test("files without a writable warehouse is a config error that says what to set", async (t) => {
  const error = await t.throwsAsync(
    openLoader(store, settings("load_via: files"), logged().logger),
  );
  t.true(isHostflowError(error, "HF_CONFIG_INVALID"));
  t.regex(String(error?.message), /set hive\.webhdfs_url .* or set load_via: statement/);
});

test("a warehouse that refuses the write: HF_WAREHOUSE_DENIED naming the path, the user and the fix (auto too)", async (t) => {
  const denied = new HostflowError(
    "HF_WAREHOUSE_DENIED",
    "WebHDFS at http://nn:9870 answered MKDIRS … with HTTP 403: AccessControlException: Permission denied: user=etl, access=WRITE",
  );
  for (const via of ["auto", "files"]) {
    const error = await t.throwsAsync(
      openLoader(
        store,
        settings(`load_via: ${via}, webhdfs_url: "http://nn:9870"`),
        logged().logger,
        failing(denied),
      ),
    );
    t.true(isHostflowError(error, "HF_WAREHOUSE_DENIED"), via);
    t.regex(
      String(error?.message),
      /^user etl may not write the warehouse folder \/warehouse\/hostflow\/db \(WebHDFS http:\/\/nn:9870 as user etl\): .*Permission denied.*Fix: .*hdfs dfs -chown -R etl \/warehouse\/hostflow\/db.*hive\.webhdfs_user.*load_via: statement/,
    );
  }
});

test("auto with WebHDFS not answering falls back to statements with a warning; files fails", async (t) => {
  const down = new HostflowError(
    "HF_HDFS",
    "WebHDFS at http://nn:9870 did not answer MKDIRS: ECONNREFUSED",
    {
      retriable: true,
    },
  );
  const { logger, lines } = logged();
  const loader = await openLoader(
    store,
    settings(`webhdfs_url: "http://nn:9870"`),
    logger,
    failing(down),
  );
  t.is(loader.via, "statement");
  t.regex(lines.join(""), /"level":40.*the warehouse's file system does not answer/);
  const error = await t.throwsAsync(
    openLoader(
      store,
      settings(`load_via: files, webhdfs_url: "http://nn:9870"`),
      logger,
      failing(down),
    ),
  );
  t.true(isHostflowError(error, "HF_HDFS"));
});

test("a file:// warehouse this process can write: files, and the test write leaves nothing behind", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "hf-warehouse-"));
  const hive = settings(`warehouse_dir: "file://${dir}"`);
  const loader = await openLoader(store, hive, logged().logger);
  t.is(loader.via, "files");
  t.deepEqual(readdirSync(path.join(dir, "db", "_hostflow", "inflight")), []);
  t.true(new LocalWarehouse().description.length > 0);
});

/** A store that records the statements a loader runs (no HiveServer2): enough for FileLoader. */
function recordingStore(database: string, server = "Spark SQL") {
  const statements: string[] = [];
  const fake = {
    database,
    serverName: async () => server,
    specs: tableSpecs(settings("").tables),
    statements,
    execute: async (sql: string) => {
      statements.push(sql);
    },
    retrying: async <T>(_what: string, work: (attempt: number) => Promise<T>) => work(1),
    committed: async () => false,
    committedAttempts: async () => new Set<string>(),
  };
  return fake;
}

const unitOf = (loadId: string): LoadUnit => ({
  loadId,
  groupId: "g",
  collector: "test",
  loadedAt: Date.parse("2026-12-06T10:00:00Z"),
  metrics: [
    {
      host: "web-01",
      measurement: "cpu",
      tags: "{}",
      field: "usage_user",
      windowSeconds: 60,
      windowStart: Date.parse("2026-12-06T09:59:00Z"),
      samples: 6,
      total: 3,
      minimum: 0.1,
      maximum: 1,
      firstValue: 0.1,
      firstTs: Date.parse("2026-12-06T09:59:00Z"),
      lastValue: 1,
      lastTs: Date.parse("2026-12-06T09:59:50Z"),
    },
  ],
  raw: [],
  quarantine: [],
  gaps: [],
  streams: [],
  offsets: [{ topic: "m", partition: 0, from: 0, next: 6, records: 6, bad: 0 }],
});

/** The local warehouse, with file writes held until `release()`. */
function heldWarehouse() {
  const local = new LocalWarehouse();
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let writes = 0;
  const fs = hookedWarehouse({
    write: async (p, data) => {
      writes += 1;
      // The probe at the start passes; a load's writes wait.
      if (!p.includes("probe-")) await gate;
      return local.write(p, data);
    },
  });
  return { fs, release, writes: () => writes };
}

/** A files loader on a fresh file:// warehouse whose load writes wait, and a recording store. */
async function heldLoader(t: import("ava").ExecutionContext, server?: string, at?: string) {
  const dir = at ?? mkdtempSync(path.join(tmpdir(), "hf-warehouse-"));
  const fake = recordingStore("db", server);
  const held = heldWarehouse();
  const hive = settings(`warehouse_dir: "file://${dir}"`);
  const loader = await openLoader(fake as unknown as HiveStore, hive, logged().logger, held.fs);
  t.teardown(() => loader.close());
  return { dir, fake, held, loader };
}

test("files: begin returns while the files are written; the commit waits for them, then registers and commits", async (t) => {
  const { dir, fake, held, loader } = await heldLoader(t);
  const pending = loader.begin(unitOf("g-1"));
  t.false(pending.ready, "the files are not written yet");
  const committing = pending.commit();
  // Nothing reaches Hive before the files are in place.
  await waitFor(() => held.writes() > 1, "the load's first write never started");
  t.deepEqual(fake.statements, []);
  held.release();
  const result = await committing;
  t.true(pending.ready);
  t.is(result.attempts, 1);
  t.is(result.rows.metrics, 1);
  t.regex(
    fake.statements[0] ?? "",
    /^ALTER TABLE db\.metrics_batches ADD IF NOT EXISTS PARTITION \(day='2026-12-06'\)/,
  );
  t.regex(
    fake.statements.at(-1) ?? "",
    /^INSERT INTO TABLE db\.loads VALUES \('g-1#1', 'g', 'm', 0, 0, 6, 6, 0,/,
  );
  const files = readdirSync(path.join(dir, "db", "metrics_batches", "day=2026-12-06"));
  t.deepEqual(files, ["g-1#1.parquet"]);
  t.deepEqual(readdirSync(path.join(dir, "db", "_hostflow", "inflight")), [], "the marker is gone");
});

test("files on Apache Hive: the commit is a file of loads renamed into place, no statement; the same attempt again adds nothing", async (t) => {
  const { dir, fake, held, loader } = await heldLoader(t, "Apache Hive");
  held.release();
  await loader.begin(unitOf("g-1")).commit();
  t.true(fake.statements.length > 0);
  t.true(
    fake.statements.every((s) => s.startsWith("ALTER TABLE ")),
    fake.statements.join("\n"),
  );
  const loadsDir = path.join(dir, "db", "loads");
  t.deepEqual(readdirSync(loadsDir), ["g-1#1.parquet"]);
  const file = path.join(loadsDir, "g-1#1.parquet");
  const cols = fake.specs.loads.columns.map((c) => c.name);
  const rows = await parquetTextRows(new LocalWarehouse(), file, statSync(file).size, cols);
  t.deepEqual(rows, [
    [
      "g-1#1",
      "g",
      "m",
      "0",
      "0",
      "6",
      "6",
      "0",
      String(Date.parse("2026-12-06T10:00:00Z")),
      "test",
    ],
  ]);
  // The same attempt committed again (a retry whose first answer was lost, or a run finishing
  // it after a crash): its claims are its own, the file is there, nothing is added.
  const again = await heldLoader(t, "Apache Hive", dir);
  again.held.release();
  await again.loader.begin(unitOf("g-1")).commit();
  t.deepEqual(readdirSync(loadsDir), ["g-1#1.parquet"]);
  t.deepEqual(
    again.fake.statements.filter((s) => !s.startsWith("ALTER TABLE ")),
    [],
  );
});

test("files: Apache Hive is told of a partition once per run, Spark's Thrift Server at every load (it lists the files then)", async (t) => {
  for (const [server, alters] of [
    ["Apache Hive", 1],
    ["Spark SQL", 3],
  ] as const) {
    const { fake, held, loader } = await heldLoader(t, server);
    held.release();
    for (const i of [0, 1, 2]) {
      // One chain of loads: each starts where the one before ended.
      const unit = unitOf(`g-${i}`);
      const offsets = unit.offsets.map((o) => ({ ...o, from: 6 * i, next: 6 * (i + 1) }));
      await loader.begin({ ...unit, offsets }).commit();
    }
    const registered = fake.statements.filter((s) => s.startsWith("ALTER TABLE "));
    t.is(registered.length, alters, `${server}: ${registered.join("\n")}`);
    t.regex(
      registered[0] ?? "",
      /metrics_batches ADD IF NOT EXISTS PARTITION \(day='2026-12-06'\)/,
    );
  }
});

test("files: an abandoned load (a rebalance) never commits; its marker stays for a later run", async (t) => {
  const { dir, fake, held, loader } = await heldLoader(t);
  const pending = loader.begin(unitOf("g-2"));
  const abandoned = pending.abandon();
  held.release();
  await abandoned;
  t.deepEqual(fake.statements, [], "no statement: nothing registered, nothing committed");
  t.deepEqual(readdirSync(path.join(dir, "db", "_hostflow", "inflight")), ["g-2%231.json"]);
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(what);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
