import { HostflowError } from "../errors.js";

/** A value of a HiveServer2 result row, by column type (see `convertColumn`). */
export type HiveValue =
  | string
  | number
  | bigint
  | boolean
  | Buffer
  | null
  | unknown[]
  | { [key: string]: unknown };
export type HiveRow = Record<string, HiveValue>;

export interface HiveColumn {
  name: string;
  /** The Thrift type name without `_TYPE`: `BIGINT`, `STRING`, `DECIMAL` … */
  type: string;
}

/** How BIGINT columns come back: JavaScript numbers (the default) or bigint. */
export type Int64Mode = "number" | "bigint";

/** The part of a Thrift `TColumn` we read: one of its typed value lists. */
interface TypedColumn {
  values: unknown[];
  nulls: Buffer;
}
export type ThriftColumn = Partial<
  Record<
    | "boolVal"
    | "byteVal"
    | "i16Val"
    | "i32Val"
    | "i64Val"
    | "doubleVal"
    | "stringVal"
    | "binaryVal",
    TypedColumn | null
  >
>;

/** node-int64's Int64: the 8 big-endian bytes of the value at `offset`. */
interface Int64Like {
  buffer: Buffer;
  offset: number;
}

const VALUE_FIELDS = [
  "boolVal",
  "byteVal",
  "i16Val",
  "i32Val",
  "i64Val",
  "doubleVal",
  "stringVal",
  "binaryVal",
] as const;

/**
 * Converts one column of a fetched row set to JavaScript values:
 * BOOLEAN → boolean; TINYINT…INT, FLOAT, DOUBLE → number; BIGINT → number (or bigint, see
 * `Int64Mode`; a value beyond 2^53 in number mode is an error, never a rounded number);
 * STRING, VARCHAR, CHAR, DECIMAL, DATE, TIMESTAMP and intervals → string (exact, as the server
 * printed them); BINARY → Buffer; ARRAY, MAP, STRUCT → parsed JSON.
 */
export function convertColumn(
  column: HiveColumn,
  thrift: ThriftColumn,
  int64: Int64Mode,
): HiveValue[] {
  const typed = VALUE_FIELDS.map((field) => thrift[field]).find((c) => c != null);
  if (typed == null) return [];
  const { values, nulls } = typed;
  const out = new Array<HiveValue>(values.length);
  for (let i = 0; i < values.length; i++) {
    out[i] = isNull(nulls, i) ? null : convertValue(column, values[i], int64);
  }
  return out;
}

function convertValue(column: HiveColumn, value: unknown, int64: Int64Mode): HiveValue {
  switch (column.type) {
    case "BIGINT":
      return convertInt64(column, value as Int64Like, int64);
    case "ARRAY":
    case "MAP":
    case "STRUCT":
      return parseJson(column, value);
    case "DECIMAL":
    case "TIMESTAMP":
    case "TIMESTAMPLOCALTZ":
    case "DATE":
    case "INTERVAL_YEAR_MONTH":
    case "INTERVAL_DAY_TIME":
      return String(value);
    default:
      return value as HiveValue;
  }
}

function convertInt64(column: HiveColumn, value: Int64Like, int64: Int64Mode): number | bigint {
  const big = value.buffer.readBigInt64BE(value.offset);
  if (int64 === "bigint") return big;
  const n = Number(big);
  if (!Number.isSafeInteger(n)) {
    throw new HostflowError(
      "HF_HIVE_RESULT",
      `column ${column.name} holds ${big}, beyond JavaScript's safe integers; query it with { int64: "bigint" }`,
      { context: { column: column.name } },
    );
  }
  return n;
}

function parseJson(column: HiveColumn, value: unknown): HiveValue {
  try {
    return JSON.parse(String(value)) as HiveValue;
  } catch (cause) {
    throw new HostflowError(
      "HF_HIVE_RESULT",
      `column ${column.name} (${column.type}) is not valid JSON`,
      {
        cause,
        context: { column: column.name },
      },
    );
  }
}

/** Bit i of the null bitmap, least significant bit first, as HiveServer2 writes it. */
function isNull(nulls: Buffer, i: number): boolean {
  const byte = nulls[i >> 3];
  return byte !== undefined && (byte & (1 << (i & 7))) !== 0;
}

/** Turns column-major row sets into row objects keyed by column name. */
export function toRows<Row extends HiveRow>(
  columns: readonly HiveColumn[],
  thriftColumns: readonly ThriftColumn[],
  int64: Int64Mode,
): Row[] {
  const converted = columns.map((column, i) =>
    convertColumn(column, thriftColumns[i] ?? {}, int64),
  );
  const count = Math.max(0, ...converted.map((values) => values.length));
  const rows = new Array<Row>(count);
  for (let r = 0; r < count; r++) {
    const row: HiveRow = {};
    for (let c = 0; c < columns.length; c++) {
      row[(columns[c] as HiveColumn).name] = converted[c]?.[r] ?? null;
    }
    rows[r] = row as Row;
  }
  return rows;
}
