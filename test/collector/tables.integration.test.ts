import test, { type ExecutionContext } from "ava";
import { pino } from "pino";
import { loadCollectorConfigText, type ResolvedHiveSettings } from "../../collector/config/load.js";
import { HiveStore } from "../../collector/hive/store.js";
import { tableLocation } from "../../collector/hive/tables.js";
import { isHostflowError } from "../../lib/errors.js";
import { endpoints, quiet, webHdfs } from "../helpers/collector.js";
import { uniqueName } from "../helpers/names.js";

/** The local stack's collector config, with more `hive:` options (indented as they are). */
function configWith(hive: string) {
  const yaml = `kafka:
  brokers: [${endpoints.kafkaBrokers.map((b) => JSON.stringify(b)).join(", ")}]
hive:
  host: ${endpoints.hive.host}
  port: ${endpoints.hive.port}
  user: ${endpoints.hive.user}
  password: ${JSON.stringify(endpoints.hive.password)}
  ${hive}
`;
  return loadCollectorConfigText(yaml, "test.yaml", {}).config;
}

/** A store on a database of the test's own (not yet made), dropped with its files at the end. */
async function freshStore(
  t: ExecutionContext,
): Promise<{ store: HiveStore; hive: ResolvedHiveSettings }> {
  const database = uniqueName("hf_tables").replace(/[^A-Za-z0-9_]/g, "_");
  const config = configWith(`database: ${database}\n  connect_timeout: 2m`);
  const store = await HiveStore.open(config.hive, quiet);
  t.teardown(async () => {
    await store.dropDatabase(webHdfs).catch(() => undefined);
    await store.close();
  });
  return { store, hive: config.hive };
}

const path = (location: string) =>
  /^\w+:\/\//.test(location) ? new URL(location).pathname : location;

const count = async (store: HiveStore, from: string) =>
  Number((await store.query<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${from}`)).rows[0]?.n);

const LOAD_ROW = "('l1#1', 'g', 't', 0, 0, 1, 1, 0, 0, 'c')";
const QUARANTINE_ROW = "('t', 0, 0, 0, 'k', 'v', 'bad', 0, 'l1#1')";

test("init makes every table EXTERNAL under hive.warehouse_dir with external.table.purge FALSE: DROP PARTITION and DROP DATABASE … CASCADE keep the files the views count", async (t) => {
  const { store, hive } = await freshStore(t);
  await store.init();
  const db = store.database;
  for (const spec of Object.values(store.specs)) {
    const kind = await store.tableKind(`${db}.${spec.name}`);
    t.like(kind, { external: true, transactional: false, purge: "false" }, spec.name);
    t.is(path(kind?.location ?? ""), `/warehouse/hostflow/${db}/${spec.name}`, spec.name);
  }
  await store.query(`INSERT INTO ${db}.loads VALUES ${LOAD_ROW}`);
  await store.query(
    `INSERT INTO ${db}.quarantine_batches PARTITION (day = '2026-12-01') VALUES ${QUARANTINE_ROW}`,
  );
  t.is(await count(store, `${db}.quarantine`), 1);

  const partition = `${tableLocation(hive, store.specs.quarantine)}/day=2026-12-01`;
  await store.query(`ALTER TABLE ${db}.quarantine_batches DROP PARTITION (day = '2026-12-01')`);
  if (webHdfs !== undefined) {
    const files = (await webHdfs.list(path(partition))) ?? [];
    t.true(
      files.some((f) => f.type === "FILE" && !f.pathSuffix.startsWith(".")),
      "the dropped partition's file is still there",
    );
  }
  await store.query(`DROP DATABASE ${db} CASCADE`);

  // The same database made again: the kept files are the tables' rows again.
  await store.init();
  t.is(await count(store, `${db}.loads`), 1, "the loads table's file survived DROP DATABASE");
  await store.query(
    `ALTER TABLE ${db}.quarantine_batches ADD PARTITION (day = '2026-12-01') LOCATION '${partition}'`,
  );
  t.is(await count(store, `${db}.quarantine`), 1, "the dropped partition's file survived");
});

test("init takes over a table an older version made with a plain CREATE TABLE: external, files kept, rows still counted (Spark: refused with the statements that move it)", async (t) => {
  const { store } = await freshStore(t);
  const db = store.database;
  const loads = store.specs.loads;
  await store.query(`CREATE DATABASE ${db}`);
  await store.query(
    `CREATE TABLE ${db}.loads (${loads.columns.map((c) => `${c.name} ${c.type}`).join(", ")}) STORED AS PARQUET`,
  );
  await store.query(`INSERT INTO ${db}.loads VALUES ${LOAD_ROW}`);
  const before = await store.tableKind(`${db}.loads`);
  let statements: string[];
  try {
    statements = await store.init();
    t.true(
      statements.some((s) => s.startsWith(`ALTER TABLE ${db}.loads SET TBLPROPERTIES`)),
      statements.join("\n"),
    );
  } catch (error) {
    // Spark's Thrift Server keeps a managed table managed: init says how to move the rows.
    t.false(before?.external, "only a managed table is refused");
    t.true(isHostflowError(error, "HF_HIVE_SCHEMA"), String(error));
    t.regex((error as Error).message, /cannot make it external.*RENAME TO/);
    await store.query(`ALTER TABLE ${db}.loads RENAME TO ${db}.loads_old`);
    await store.init();
    await store.query(`INSERT INTO ${db}.loads SELECT * FROM ${db}.loads_old`);
  }
  t.like(await store.tableKind(`${db}.loads`), { external: true, purge: "false" });
  t.is(await count(store, `${db}.loads`), 1);
  t.deepEqual(
    (await store.init()).filter((s) => s.startsWith("ALTER")),
    [],
    "a second init changes nothing",
  );
});

(webHdfs ? test : test.skip)(
  "COUNT(*) counts a file written into a table behind Hive's back: no answer from stale statistics",
  async (t) => {
    const { store, hive } = await freshStore(t);
    await store.init();
    const db = store.database;
    const loads = store.specs.loads;
    await store.query(`INSERT INTO ${db}.loads VALUES ${LOAD_ROW}, ${LOAD_ROW}`);
    t.is(await count(store, `${db}.loads`), 2);
    // Three rows written elsewhere by Hive, then moved into the table's folder as a file.
    const side = `${path(tableLocation(hive, loads))}_side`;
    await store.query(
      `CREATE EXTERNAL TABLE ${db}.side (${loads.columns.map((c) => `${c.name} ${c.type}`).join(", ")}) STORED AS PARQUET LOCATION '${side}'`,
    );
    await store.query(`INSERT INTO ${db}.side VALUES ${LOAD_ROW}, ${LOAD_ROW}, ${LOAD_ROW}`);
    // Spark may write the three rows as several files: all of them move.
    const files = ((await webHdfs?.list(side)) ?? []).filter(
      (f) => f.type === "FILE" && !f.pathSuffix.startsWith(".") && !f.pathSuffix.startsWith("_"),
    );
    t.true(files.length > 0);
    for (const file of files) {
      const target = `${path(tableLocation(hive, loads))}/side_${file.pathSuffix}`;
      t.true(await webHdfs?.rename(`${side}/${file.pathSuffix}`, target));
    }
    t.teardown(() => webHdfs?.delete(side).then(() => undefined));
    t.is(await count(store, `${db}.loads`), 5);
  },
);

test("withSession: its settings stay in its own session, and a setting the server refuses is logged and skipped", async (t) => {
  const { hive } = await freshStore(t);
  const lines: string[] = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
  const store = await HiveStore.open(hive, logger);
  t.teardown(() => store.close());
  const probe = async (run: (sql: string) => Promise<{ rows: Record<string, unknown>[] }>) =>
    JSON.stringify((await run("SET hostflow.probe")).rows);
  // Refused by Apache Hive (validated values) and by Spark (a static setting) respectively.
  const refused = ["SET hive.exec.dynamic.partition.mode=bogus", "SET spark.sql.warehouse.dir=/x"];
  const inside = await store.withSession(
    [...refused, "SET hostflow.probe=seven"],
    async (session) => {
      await session.execute("SET hostflow.seen=1");
      return probe((sql) => session.query(sql));
    },
  );
  t.regex(inside, /seven/, "the session's own setting");
  t.notRegex(await probe((sql) => store.query(sql)), /seven/, "the store's session has none of it");
  const warned = lines.filter((l) => l.includes("refused"));
  t.true(warned.length >= 1, lines.join("\n"));
  t.true(
    warned.some((l) => refused.some((r) => l.includes(r))),
    warned.join("\n"),
  );
  // A failure that is not a refusal (the work's own) still ends withSession.
  const error = await t.throwsAsync(
    store.withSession([], (session) => session.execute("SELECT * FROM no_such_db_hf.t")),
  );
  t.true(isHostflowError(error, "HF_HIVE_QUERY"), String(error));
});

test("a store used after close() fails at once with HF_HIVE_CLOSED and opens no new session", async (t) => {
  // A group join that completed as a run ended read Hive after the store's close: the retry
  // reconnected, and the new session kept the collector's process alive.
  const store = await HiveStore.open(configWith("retries: 5").hive, quiet);
  await store.close();
  const error = await t.throwsAsync(store.query("SELECT 1"));
  t.true(isHostflowError(error, "HF_HIVE_CLOSED"), String(error));
  t.false((error as { retriable?: boolean }).retriable === true);
  // Had it reconnected, this would answer instead of failing.
  t.true(isHostflowError(await store.execute("SELECT 1").catch((e) => e), "HF_HIVE_CLOSED"));
});
