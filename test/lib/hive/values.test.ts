import test from "ava";
import { isHostflowError } from "../../../lib/errors.js";
import { convertColumn, type HiveColumn, toRows } from "../../../lib/hive/values.js";

/** A null bitmap as HiveServer2 sends it: bit i (least significant first) set for row i. */
function nulls(...rows: number[]): Buffer {
  const bitmap = Buffer.alloc(Math.max(1, Math.ceil((Math.max(-1, ...rows) + 1) / 8)));
  for (const r of rows) bitmap[r >> 3] = (bitmap[r >> 3] ?? 0) | (1 << (r & 7));
  return bitmap;
}

/** The shape of node-int64's Int64, which hive-driver hands over for i64 values. */
function int64(text: string): { buffer: Buffer; offset: number } {
  const buffer = Buffer.alloc(12);
  buffer.writeBigInt64BE(BigInt(text), 4);
  return { buffer, offset: 4 };
}
const bigint: HiveColumn = { name: "n", type: "BIGINT" };

test("BIGINT converts to number exactly, negatives included", (t) => {
  const values = convertColumn(
    bigint,
    { i64Val: { values: [int64("3"), int64("-42"), int64("9007199254740991")], nulls: nulls() } },
    "number",
  );
  t.deepEqual(values, [3, -42, 9007199254740991]);
});

test("BIGINT beyond 2^53 is an error in number mode, exact in bigint mode", (t) => {
  const column = { i64Val: { values: [int64("9007199254740993")], nulls: nulls() } };
  const error = t.throws(() => convertColumn(bigint, column, "number"));
  t.true(isHostflowError(error, "HF_HIVE_RESULT"));
  t.regex(error?.message ?? "", /column n holds 9007199254740993/);
  t.deepEqual(convertColumn(bigint, column, "bigint"), [9007199254740993n]);
});

test("the null bitmap is read per row, across byte boundaries", (t) => {
  const strings = Array.from({ length: 10 }, (_, i) => `v${i}`);
  const values = convertColumn(
    { name: "s", type: "STRING" },
    { stringVal: { values: strings, nulls: nulls(0, 7, 9) } },
    "number",
  );
  t.deepEqual(values, [null, "v1", "v2", "v3", "v4", "v5", "v6", null, "v8", null]);
});

test("complex types parse as JSON; a malformed one names its column", (t) => {
  const column: HiveColumn = { name: "tags", type: "MAP" };
  t.deepEqual(
    convertColumn(column, { stringVal: { values: ['{"a":"1"}'], nulls: nulls() } }, "number"),
    [{ a: "1" }],
  );
  const error = t.throws(() =>
    convertColumn(column, { stringVal: { values: ["{"], nulls: nulls() } }, "number"),
  );
  t.regex(error?.message ?? "", /column tags \(MAP\) is not valid JSON/);
});

test("toRows pivots columns into row objects", (t) => {
  const columns: HiveColumn[] = [
    { name: "host", type: "STRING" },
    { name: "v", type: "DOUBLE" },
    { name: "ok", type: "BOOLEAN" },
  ];
  const rows = toRows(
    columns,
    [
      { stringVal: { values: ["a", "b"], nulls: nulls() } },
      { doubleVal: { values: [1.5, 0], nulls: nulls(1) } },
      { boolVal: { values: [true, false], nulls: nulls() } },
    ],
    "number",
  );
  t.deepEqual(rows, [
    { host: "a", v: 1.5, ok: true },
    { host: "b", v: null, ok: false },
  ]);
});
