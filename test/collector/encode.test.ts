import test from "ava";
import type { PartialRow } from "../../collector/aggregate.js";
import {
  attemptId,
  cellsLine,
  encodeLoad,
  encodeStagedLoad,
  type LoadUnit,
  metricLine,
} from "../../collector/hive/encode.js";
import { tableSpecs } from "../../collector/hive/tables.js";

const specs = tableSpecs({
  metrics: "metrics",
  raw: "raw_samples",
  quarantine: "quarantine",
  gaps: "gaps",
  loads: "loads",
  streams: "streams",
  staging: "load_staging",
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
    t.is(metricLine(r), cellsLine("metrics", r, unit([r])));
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

test("a staged load reads its attempt's staging partition and writes one line per row", async (t) => {
  const load = unit([
    row(Date.parse("2026-12-04T09:00:00Z"), 1),
    row(Date.parse("2026-12-04T09:01:00Z"), 2),
  ]);
  let text = "";
  const staged = await encodeStagedLoad(load, "db", specs, "load_staging", async (chunk) => {
    text += chunk;
  });
  t.is(staged.bytes, Buffer.byteLength(text));
  const lines = text.split("\n");
  t.is(lines.pop(), "", "every line ends with a newline");
  t.deepEqual(
    lines.map((line) => line.split("\u0001")[0]),
    ["m", "m", "o"],
  );
  const sql = staged.statement("g-1234#3");
  t.true(sql.includes("FROM db.load_staging WHERE load_id = 'g-1234#3'"), sql);
});
