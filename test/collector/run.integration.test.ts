import test from "ava";
import { runCollector } from "../../collector/run.js";
import {
  collectorFixture,
  dataset,
  expectedAggregates,
  hiveAggregates,
  produce,
  quiet,
  type TestRecord,
} from "../helpers/collector.js";

/** Sums in Hive come back as doubles: compare with a tolerance, the rest exactly. */
function assertSame(
  t: import("ava").ExecutionContext,
  actual: Map<string, unknown>,
  expected: Map<string, unknown>,
) {
  t.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [k, e] of expected) {
    const a = actual.get(k) as Record<string, number>;
    for (const [stat, v] of Object.entries(e as Record<string, number>)) {
      t.true(Math.abs((a[stat] ?? Number.NaN) - v) < 1e-6, `${k} ${stat}: ${a[stat]} != ${v}`);
    }
  }
}

test("a known dataset with bad records: aggregates equal a plain computation, the quarantine holds exactly the bad ones", async (t) => {
  const f = await collectorFixture(t);
  const good = dataset(4, 5);
  const now = Date.now();
  const bad: TestRecord[] = [
    { host: "web-00", raw: "not json at all" },
    {
      host: "web-01",
      raw: JSON.stringify({
        name: "cpu",
        tags: {},
        fields: { usage_idle: "high" },
        timestamp: now,
      }),
    },
    {
      host: "web-02",
      raw: JSON.stringify({
        name: "cpu",
        tags: { host: "web-02" },
        fields: { x: 1 },
        timestamp: 1_000,
      }),
    },
  ];
  const records = [
    ...good.slice(0, 40),
    bad[0] as TestRecord,
    ...good.slice(40, 80),
    ...bad.slice(1),
    ...good.slice(80),
  ];
  await produce(f.topic, records);

  const summary = await runCollector(f.config, { logger: quiet });
  t.is(summary.records, records.length);
  t.is(summary.bad, 3);
  t.is(summary.lagLeft, 0);
  t.is(summary.stoppedBy, "end");

  assertSame(t, await hiveAggregates(f), expectedAggregates(good));
  const { rows } = await f.store.query<{ raw_value: string; reason: string }>(
    `SELECT raw_value, reason FROM ${f.database}.quarantine ORDER BY raw_value`,
  );
  t.deepEqual(rows.map((r) => r.raw_value).sort(), bad.map((b) => b.raw ?? "").sort());
  t.true(rows.every((r) => r.reason.length > 0));

  const again = await runCollector(f.config, { logger: quiet });
  t.is(again.records, 0, "a second run finds nothing new");
  assertSame(t, await hiveAggregates(f), expectedAggregates(good));
});
