import test from "ava";
import { loadCollectorConfigText } from "../../collector/config/load.js";
import { initStatements, tableKind } from "../../collector/hive/tables.js";

const hive = (extra = "") =>
  loadCollectorConfigText(
    `kafka:\n  brokers: ["127.0.0.1:9092"]\nhive:\n  database: fleet\n${extra}`,
    "test.yaml",
    {},
  ).config.hive;

test("init's tables are EXTERNAL at <warehouse_dir>/<database>/<table>, their files kept on DROP", (t) => {
  const statements = initStatements(hive("  warehouse_dir: hdfs://nn:8020/data/hostflow/\n"));
  t.is(statements[0], "CREATE DATABASE IF NOT EXISTS fleet", "the database keeps its own folder");
  const loads = statements.find((s) => s.includes("fleet.loads "));
  t.regex(
    loads ?? "",
    /^CREATE EXTERNAL TABLE IF NOT EXISTS fleet\.loads \(.*\) STORED AS PARQUET LOCATION 'hdfs:\/\/nn:8020\/data\/hostflow\/fleet\/loads' TBLPROPERTIES \('external\.table\.purge'='FALSE'\)$/,
  );
  const tables = statements.filter((s) => s.startsWith("CREATE "));
  t.true(
    tables
      .slice(1)
      .every((s) => s.startsWith("CREATE EXTERNAL TABLE") || s.startsWith("CREATE VIEW")),
  );
});

test("hive.warehouse_dir defaults to /warehouse/hostflow and must be absolute, without quotes", (t) => {
  t.is(hive().warehouse_dir, "/warehouse/hostflow");
  for (const bad of ["warehouse", "/a'b"]) {
    t.throws(() => hive(`  warehouse_dir: "${bad}"\n`), { message: /hive\.warehouse_dir/ });
  }
});

test("tableKind reads Hive's DESCRIBE FORMATTED and SHOW TBLPROPERTIES", (t) => {
  const kind = tableKind(
    [
      {
        col_name: "Location:           ",
        data_type: "hdfs://127.0.0.1:8020/w/db/t",
        comment: null,
      },
      { col_name: "Table Type:         ", data_type: "EXTERNAL_TABLE      ", comment: null },
    ],
    [
      { prpt_name: "EXTERNAL", prpt_value: "TRUE" },
      { prpt_name: "external.table.purge", prpt_value: "TRUE" },
    ],
  );
  t.deepEqual(kind, {
    external: true,
    transactional: false,
    purge: "true",
    location: "hdfs://127.0.0.1:8020/w/db/t",
  });
});

test("tableKind reads Spark's DESCRIBE FORMATTED and SHOW TBLPROPERTIES", (t) => {
  const kind = tableKind(
    [
      { col_name: "Type", data_type: "MANAGED", comment: "" },
      { col_name: "Location", data_type: "hdfs://127.0.0.1:8020/w/spark/db.db/t", comment: "" },
    ],
    [{ key: "transient_lastDdlTime", value: "1796405041" }],
  );
  t.deepEqual(kind, {
    external: false,
    transactional: false,
    purge: undefined,
    location: "hdfs://127.0.0.1:8020/w/spark/db.db/t",
  });
  t.true(tableKind([], [{ prpt_name: "transactional", prpt_value: "true" }]).transactional);
});
