import test from "ava";
import { parquetReadObjects } from "hyparquet";
import type { PartialRow } from "../../collector/aggregate.js";
import {
  attemptId,
  cellsLine,
  commitStatement,
  encodeLoad,
  type LoadUnit,
  metricLine,
  tableCells,
} from "../../collector/hive/encode.js";
import { parquetParts } from "../../collector/hive/parquet.js";
import { tableSpecs } from "../../collector/hive/tables.js";

const specs = tableSpecs({
  metrics: "metrics",
  raw: "raw_samples",
  quarantine: "quarantine",
  gaps: "gaps",
  loads: "loads",
  streams: "streams",
});

const row = (windowStart: number, total: number): PartialRow => ({
  host: "web-01",
  measurement: "cpu",
  tags: '{"cpu":"cpu-total"}',
  field: "usage_idle",
  windowSeconds: 60,
  windowStart,
  samples: 6,
  total,
  minimum: -0.5,
  maximum: 1e21,
  firstValue: 0.1 + 0.2,
  firstTs: windowStart + 1,
  lastValue: 3,
  lastTs: windowStart + 59_999,
});

const unit = (metrics: PartialRow[]): LoadUnit => ({
  loadId: "g-1234",
  groupId: "g",
  collector: "host/1",
  loadedAt: Date.parse("2026-12-04T10:00:00Z"),
  metrics,
  raw: [],
  quarantine: [],
  gaps: [],
  streams: [],
  offsets: [{ topic: "t", partition: 0, from: 5, next: 9, records: 4, bad: 0 }],
});

test("the metrics fast path writes exactly the cells of the table's spec", (t) => {
  // Just before and after midnight UTC: two days.
  for (const r of [
    row(Date.parse("2026-12-03T23:59:00Z"), 12.25),
    row(Date.parse("2026-12-04T00:00:00Z"), 7),
  ]) {
    t.is(metricLine(r), cellsLine("metrics", r, unit([r]), specs));
  }
  t.true(metricLine(row(Date.parse("2026-12-03T23:59:00Z"), 1)).endsWith("\u00012026-12-03"));
  t.true(metricLine(row(Date.parse("2026-12-04T00:00:00Z"), 1)).endsWith("\u00012026-12-04"));
});

test("every table of an attempt's statement gets that attempt's load id, not the rows' own", (t) => {
  const load = unit([row(Date.parse("2026-12-04T09:00:00Z"), 1)]);
  const { statement, rows } = encodeLoad(load, "db", specs);
  t.deepEqual(rows, { metrics: 1, raw: 0, quarantine: 0, gaps: 0, streams: 0, loads: 1 });
  const sql = statement(attemptId(load.loadId, 2));
  t.is((sql.match(/INSERT INTO TABLE/g) ?? []).length, 2);
  t.is((sql.match(/'g-1234#2'/g) ?? []).length, 2, "metrics and loads both get the attempt id");
  t.false(sql.includes("g-1234#1"));
  t.true(sql.indexOf("db.metrics_batches") < sql.indexOf("db.loads"), "loads is written last");
});

test("a load's Parquet files: one per table and day, the table's columns in order, the attempt's id in every row", async (t) => {
  const load: LoadUnit = {
    ...unit([
      row(Date.parse("2026-12-03T23:59:00Z"), 1),
      row(Date.parse("2026-12-04T00:00:00Z"), 2),
    ]),
    quarantine: [
      {
        topic: "t",
        partition: 2,
        offset: 7,
        timestamp: undefined,
        key: null,
        value: Buffer.from([0xff, 0x00, 0x41]),
        reason: "not JSON",
      },
    ],
  };
  const parts = parquetParts(load, specs, "g-1234#2");
  t.deepEqual(
    parts.map((p) => [p.kind, p.partitionPath, p.partitionSpec, p.rows]),
    [
      ["metrics", "day=2026-12-03", "day='2026-12-03'", 1],
      ["metrics", "day=2026-12-04", "day='2026-12-04'", 1],
      ["quarantine", "day=2026-12-04", "day='2026-12-04'", 1],
    ],
  );
  const read = async (index: number) => {
    const data = parts[index]?.data as Uint8Array;
    const file = data.buffer.slice(
      data.byteOffset,
      data.byteOffset + data.byteLength,
    ) as ArrayBuffer;
    return parquetReadObjects({ file });
  };
  const [metric] = await read(1);
  t.deepEqual(
    Object.keys(metric ?? {}),
    specs.metrics.columns.map((c) => c.name),
  );
  const expected = row(Date.parse("2026-12-04T00:00:00Z"), 2);
  t.like(metric, {
    host: "web-01",
    tags: '{"cpu":"cpu-total"}',
    window_seconds: 60,
    window_start: BigInt(expected.windowStart),
    samples: 6n,
    total: 2,
    maximum: 1e21,
    first_val: 0.1 + 0.2,
    last_ts: BigInt(expected.lastTs),
    load_id: "g-1234#2",
  });
  // Every column holds what the statement path writes for the row (tableCells), typed.
  const cells = tableCells("metrics", expected, load);
  specs.metrics.columns.forEach((col, i) => {
    const value = (metric as Record<string, unknown>)[col.name];
    const cell = col.name === "load_id" ? "g-1234#2" : cells[i];
    t.is(typeof value === "bigint" ? Number(value) : value, cell, col.name);
  });
  const [bad] = await read(2);
  t.is(bad?.record_key, null, "no key is NULL");
  t.is(bad?.kafka_timestamp, null);
  t.deepEqual([...Buffer.from(String(bad?.raw_value), "latin1")].length > 0, true);
  t.is(bad?.load_id, "g-1234#2");
});

test("the commit: the load's offset ranges into loads with the attempt's id, strings quoted", (t) => {
  const load: LoadUnit = {
    ...unit([]),
    collector: "host's/1",
    offsets: [
      { topic: "m", partition: 0, from: 5, next: 9, records: 4, bad: 1 },
      { topic: "m", partition: 1, from: 0, next: 2, records: 2, bad: 0 },
    ],
  };
  const sql = commitStatement(load, "db", specs, "g-1234#3") ?? "";
  t.is(
    commitStatement({ ...unit([]), offsets: [] }, "db", specs, "g-1234#3"),
    undefined,
    "no offsets: no commit",
  );
  t.true(sql.startsWith("INSERT INTO TABLE db.loads VALUES ('g-1234#3', "), sql);
  t.is((sql.match(/'g-1234#3'/g) ?? []).length, 2);
  t.true(sql.includes("'host\\'s/1'"), sql);
  t.true(sql.includes(", 'm', 0, 5, 9, 4, 1, "), sql);
});
