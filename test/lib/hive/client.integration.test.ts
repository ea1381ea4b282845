import test from "ava";
import { endpointsFromEnv } from "../../../lib/endpoints.js";
import { isHostflowError } from "../../../lib/errors.js";
import { HiveClient } from "../../../lib/hive/client.js";
import { uniqueName } from "../../helpers/names.js";

const hive = endpointsFromEnv().hive;

/** HiveQL (Hive and Spark alike) for the integers 1..n as column `id`. */
const integers = (n: number) =>
  `SELECT pos + 1 AS id FROM (SELECT 1 AS one) o LATERAL VIEW posexplode(split(space(${n - 1}), ' ')) p AS pos, val`;

test("round trip through a partitioned Parquet table: CREATE, INSERT two partitions, SELECT, DROP", async (t) => {
  const table = uniqueName("hf_roundtrip");
  const client = await HiveClient.connect(hive);
  t.teardown(async () => {
    await client.execute(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await client.close();
  });
  await client.execute(
    `CREATE TABLE ${table} (host STRING, usage DOUBLE, samples BIGINT, seen TIMESTAMP, ok BOOLEAN)
     PARTITIONED BY (day STRING) STORED AS PARQUET`,
  );
  await client.execute(
    `INSERT INTO ${table} PARTITION (day='2026-11-20') VALUES
       ('web-01', 12.5, 3, CAST('2026-11-20 10:00:00' AS TIMESTAMP), true),
       ('web-02', NULL, 9007199254740993, NULL, false)`,
  );
  await client.execute(
    `INSERT INTO ${table} PARTITION (day='2026-11-21') VALUES ('db-01', 99.25, 1, CAST('2026-11-21 00:00:01' AS TIMESTAMP), true)`,
  );

  const result = await client.query(
    `SELECT host, usage, samples, seen, ok, day FROM ${table} ORDER BY host`,
    {
      int64: "bigint",
    },
  );
  t.deepEqual(
    result.columns.map((c) => `${c.name}:${c.type}`),
    ["host:STRING", "usage:DOUBLE", "samples:BIGINT", "seen:TIMESTAMP", "ok:BOOLEAN", "day:STRING"],
  );
  t.deepEqual(result.rows, [
    {
      host: "db-01",
      usage: 99.25,
      samples: 1n,
      seen: "2026-11-21 00:00:01",
      ok: true,
      day: "2026-11-21",
    },
    {
      host: "web-01",
      usage: 12.5,
      samples: 3n,
      seen: "2026-11-20 10:00:00",
      ok: true,
      day: "2026-11-20",
    },
    {
      host: "web-02",
      usage: null,
      samples: 9007199254740993n,
      seen: null,
      ok: false,
      day: "2026-11-20",
    },
  ]);

  const partitions = await client.query<{ partition: string }>(`SHOW PARTITIONS ${table}`);
  t.deepEqual(
    partitions.rows.map((r) => Object.values(r)[0]),
    ["day=2026-11-20", "day=2026-11-21"],
  );
  // A Hive serde table, which a production Hive reads, not a Spark datasource table.
  const described = await client.query(`DESCRIBE FORMATTED ${table}`);
  // Spark names the row "Serde Library", Hive "SerDe Library:".
  const serde = described.rows.find((r) => /^serde library:?$/i.test(String(r.col_name).trim()));
  t.is(serde?.data_type, "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe");

  await client.execute(`DROP TABLE ${table}`);
  const left = await client.query(`SHOW TABLES LIKE '${table}'`);
  t.is(left.rows.length, 0);
});

test("a query over more rows than one fetch returns them all", async (t) => {
  const client = await HiveClient.connect(hive);
  t.teardown(() => client.close());
  const result = await client.query<{ id: number }>(integers(25_000));
  t.is(result.rows.length, 25_000);
  t.is(
    result.rows.reduce((sum, r) => sum + r.id, 0),
    (25_000 * 25_001) / 2,
  );
});

test("a statement the server rejects is HF_HIVE_QUERY with the server's reason", async (t) => {
  const client = await HiveClient.connect(hive);
  t.teardown(() => client.close());
  const missing = uniqueName("hf_missing");
  const error = await t.throwsAsync(client.query(`SELECT * FROM ${missing}`));
  t.true(isHostflowError(error, "HF_HIVE_QUERY"), String(error));
  t.regex(error?.message ?? "", new RegExp(`${missing}`, "i"));
  // The session stays usable after a failed statement.
  t.deepEqual((await client.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
});

test("a statement over its time limit is cancelled with HF_TIMEOUT", async (t) => {
  const client = await HiveClient.connect(hive);
  t.teardown(() => client.close());
  const error = await t.throwsAsync(
    client.query(
      `SELECT count(*) FROM (${integers(30_000)}) a CROSS JOIN (${integers(30_000)}) b WHERE (a.id * b.id) % 7 = 3`,
      {
        timeoutMs: 500,
      },
    ),
  );
  t.true(isHostflowError(error, "HF_TIMEOUT"), String(error));
  t.regex(error?.message ?? "", /did not finish within 500 ms/);
  t.deepEqual((await client.query("SELECT 2 AS two")).rows, [{ two: 2 }]);
});

test("a statement after close() is HF_HIVE_CLOSED", async (t) => {
  const client = await HiveClient.connect(hive);
  await client.close();
  const error = await t.throwsAsync(client.query("SELECT 1"));
  t.true(isHostflowError(error, "HF_HIVE_CLOSED"), String(error));
});
