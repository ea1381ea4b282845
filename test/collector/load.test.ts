import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import { pino } from "pino";
import { loadCollectorConfigText } from "../../collector/config/load.js";
import { openLoader } from "../../collector/hive/load.js";
import type { HiveStore } from "../../collector/hive/store.js";
import { LocalWarehouse, type WarehouseFs } from "../../collector/hive/warehouse-fs.js";
import { HostflowError, isHostflowError } from "../../lib/errors.js";

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
