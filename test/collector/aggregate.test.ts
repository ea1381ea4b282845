import test from "ava";
import {
  canonicalTags,
  mergePartials,
  type PartialRow,
  partialKey,
  WindowAggregator,
} from "../../collector/aggregate.js";
import type { Sample } from "../../lib/wire.js";

const minute = 60_000;
const hour = 3_600_000;
const t0 = Date.parse("2024-11-21T12:00:00Z");

const cpu = (timestamp: number, usage: number): Sample => ({
  name: "cpu",
  tags: { host: "web-01", cpu: "cpu-total" },
  fields: { usage },
  timestamp,
});

const byKey = (rows: readonly PartialRow[]) =>
  new Map(rows.map((row) => [partialKey(row), row] as const));

test("canonical tags leave out host and sort keys, integer-like ones included", (t) => {
  t.is(canonicalTags({ host: "a", z: "1", b: "2", "10": "x" }), '{"10":"x","b":"2","z":"1"}');
  t.is(canonicalTags({ host: "a" }), "{}");
  t.is(canonicalTags({ 'q"': "\\" }), '{"q\\"":"\\\\"}');
});

test("windows are aligned on UTC and every sample goes into one window of each size", (t) => {
  const aggregator = new WindowAggregator([minute, hour]);
  aggregator.add("web-01", cpu(t0 + 59_999, 1));
  aggregator.add("web-01", cpu(t0 + 60_000, 2));
  aggregator.add("web-01", cpu(t0 + 61 * minute, 4));
  const rows = aggregator.rows().map((row) => [row.windowSeconds, row.windowStart, row.samples]);
  t.deepEqual(
    rows.sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number)),
    [
      [60, t0, 1],
      [60, t0 + minute, 1],
      [60, t0 + 61 * minute, 1],
      [3600, t0, 2],
      [3600, t0 + hour, 1],
    ],
  );
  t.is(aggregator.rowCount, 5);
  const [row] = aggregator.rows();
  t.like(row, { host: "web-01", measurement: "cpu", tags: '{"cpu":"cpu-total"}', field: "usage" });
  aggregator.clear();
  t.is(aggregator.rowCount, 0);
});

test("a row keeps count, sum, extremes and first/last by timestamp, whatever the order", (t) => {
  const aggregator = new WindowAggregator([hour]);
  for (const [offset, usage] of [
    [30, 5],
    [10, 7],
    [50, -2],
    [20, 9],
  ] as const) {
    aggregator.add("web-01", cpu(t0 + offset * minute, usage));
  }
  t.like(aggregator.rows()[0], {
    samples: 4,
    total: 19,
    minimum: -2,
    maximum: 9,
    firstValue: 7,
    firstTs: t0 + 10 * minute,
    lastValue: -2,
    lastTs: t0 + 50 * minute,
  });
});

test("equal timestamps: first keeps the earlier-added value, last takes the later-added", (t) => {
  const aggregator = new WindowAggregator([hour]);
  aggregator.add("web-01", cpu(t0, 1));
  aggregator.add("web-01", cpu(t0, 2));
  aggregator.add("web-01", cpu(t0, 3));
  t.like(aggregator.rows()[0], { firstValue: 1, lastValue: 3 });

  const [a] = aggregator.rows() as [PartialRow];
  const b = { ...a, firstValue: 10, lastValue: 30 };
  t.like(mergePartials(a, b), { firstValue: 1, lastValue: 30, samples: 6, total: 12 });
});

test("merging partials of different keys is refused", (t) => {
  const aggregator = new WindowAggregator([minute]);
  aggregator.add("web-01", cpu(t0, 1));
  aggregator.add("web-01", cpu(t0 + minute, 1));
  const [a, b] = aggregator.rows() as [PartialRow, PartialRow];
  t.throws(() => mergePartials(a, b), { instanceOf: RangeError });
});

test("merging the partials of two halves equals aggregating everything at once", (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const random = mulberry32(seed);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
    const samples: Array<[string, Sample]> = Array.from({ length: 2000 }, () => [
      pick(["web-01", "web-02", "db-01"]),
      {
        name: pick(["cpu", "mem"]),
        tags: pick([{}, { cpu: "cpu0" }, { cpu: "cpu1", core: "0" }]),
        // Few distinct timestamps, so that ties are frequent; integer values, so that sums are exact.
        timestamp: t0 + Math.floor(random() * 40) * 7_000,
        fields: Object.fromEntries(
          ["a", "b", "c"]
            .filter(() => random() < 0.7)
            .map((field) => [field, Math.floor(random() * 200) - 100]),
        ),
      },
    ]);
    const split = Math.floor(random() * samples.length);
    const windows = [minute, 5 * minute, hour];
    const aggregate = (part: Array<[string, Sample]>) => {
      const aggregator = new WindowAggregator(windows);
      for (const [host, sample] of part) aggregator.add(host, sample);
      return byKey(aggregator.rows());
    };
    const whole = aggregate(samples);
    const merged = aggregate(samples.slice(0, split));
    for (const [key, row] of aggregate(samples.slice(split))) {
      const earlier = merged.get(key);
      merged.set(key, earlier === undefined ? row : mergePartials(earlier, row));
    }
    const sorted = (rows: Map<string, PartialRow>) =>
      [...rows].sort(([a], [b]) => (a < b ? -1 : 1));
    t.deepEqual(sorted(merged), sorted(whole), `seed ${seed}`);
  }
});

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}
