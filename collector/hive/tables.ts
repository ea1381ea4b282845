/**
 * The collector's tables and views in Hive. HiveQL that Apache Hive 3/4 and Spark's Thrift
 * Server both accept: Hive serde tables, no Spark-only syntax.
 *
 * Every table is EXTERNAL at a LOCATION under `hive.warehouse_dir`, with its files kept when a
 * table or partition is dropped (KEEP_FILES), so that Hive 3, Hive 4 and Spark treat it alike.
 *
 * Every load writes its rows into the `*_batches` tables and one row per Kafka partition into
 * `loads`, all in one statement. A row counts only when its load_id is in `loads`: the views
 * join on it, so that rows of a statement the server left half done (files moved into one table,
 * not yet into another) stay invisible, and the run that follows loads those offsets again.
 */
import type { HiveSettingsConfig, HiveTablesConfig } from "../config/schema.js";

export interface Column {
  name: string;
  type: "STRING" | "BIGINT" | "INT" | "DOUBLE";
}

export interface TableSpec {
  /** Unqualified name. */
  name: string;
  columns: Column[];
  partitions: Column[];
}

const c = (name: string, type: Column["type"]): Column => ({ name, type });
const DAY = [c("day", "STRING")];

/** The columns every collector table has, in order; `encode.ts` writes them in this order. */
export function tableSpecs(tables: HiveTablesConfig) {
  return {
    metrics: {
      name: `${tables.metrics}_batches`,
      columns: [
        c("host", "STRING"),
        c("measurement", "STRING"),
        c("tags", "STRING"),
        c("field", "STRING"),
        c("window_seconds", "INT"),
        c("window_start", "BIGINT"),
        c("samples", "BIGINT"),
        c("total", "DOUBLE"),
        c("minimum", "DOUBLE"),
        c("maximum", "DOUBLE"),
        c("first_val", "DOUBLE"),
        c("first_ts", "BIGINT"),
        c("last_val", "DOUBLE"),
        c("last_ts", "BIGINT"),
        c("load_id", "STRING"),
      ],
      partitions: DAY,
    },
    raw: {
      name: `${tables.raw}_batches`,
      columns: [
        c("host", "STRING"),
        c("measurement", "STRING"),
        c("tags", "STRING"),
        c("field", "STRING"),
        c("value", "DOUBLE"),
        c("ts", "BIGINT"),
        c("agent_id", "STRING"),
        c("seq", "BIGINT"),
        c("topic", "STRING"),
        c("kafka_partition", "INT"),
        c("kafka_offset", "BIGINT"),
        c("load_id", "STRING"),
      ],
      partitions: [...DAY, c("hour", "STRING")],
    },
    quarantine: {
      name: `${tables.quarantine}_batches`,
      columns: [
        c("topic", "STRING"),
        c("kafka_partition", "INT"),
        c("kafka_offset", "BIGINT"),
        c("kafka_timestamp", "BIGINT"),
        c("record_key", "STRING"),
        c("raw_value", "STRING"),
        c("reason", "STRING"),
        c("loaded_at", "BIGINT"),
        c("load_id", "STRING"),
      ],
      partitions: DAY,
    },
    gaps: {
      name: `${tables.gaps}_batches`,
      columns: [
        c("kind", "STRING"),
        c("agent_id", "STRING"),
        c("stream", "STRING"),
        c("host", "STRING"),
        c("from_seq", "BIGINT"),
        c("to_seq", "BIGINT"),
        c("missing", "BIGINT"),
        c("before_ts", "BIGINT"),
        c("after_ts", "BIGINT"),
        c("topic", "STRING"),
        c("kafka_partition", "INT"),
        c("detected_at", "BIGINT"),
        c("load_id", "STRING"),
      ],
      partitions: DAY,
    },
    loads: {
      name: tables.loads,
      columns: [
        c("load_id", "STRING"),
        c("group_id", "STRING"),
        c("topic", "STRING"),
        c("kafka_partition", "INT"),
        c("from_offset", "BIGINT"),
        c("next_offset", "BIGINT"),
        c("records", "BIGINT"),
        c("bad", "BIGINT"),
        c("loaded_at", "BIGINT"),
        c("collector", "STRING"),
      ],
      partitions: [],
    },
    streams: {
      name: tables.streams,
      columns: [
        c("agent_id", "STRING"),
        c("stream", "STRING"),
        c("host", "STRING"),
        c("max_seq", "BIGINT"),
        c("holes", "STRING"),
        c("last_ts", "BIGINT"),
        c("updated_at", "BIGINT"),
        c("load_id", "STRING"),
      ],
      partitions: DAY,
    },
  } satisfies Record<string, TableSpec>;
}

export type TableSpecs = ReturnType<typeof tableSpecs>;
export type TableKind = keyof TableSpecs;

const columnList = (columns: Column[]) =>
  columns.map((col) => `${col.name} ${col.type}`).join(", ");

/**
 * The folder of the database's tables: `<warehouse_dir>/<database>`. Not the database's own
 * LOCATION: the metastore deletes that folder, whatever is in it, on DROP DATABASE … CASCADE.
 */
export function tablesRoot(hive: HiveSettingsConfig): string {
  return `${hive.warehouse_dir.replace(/\/+$/, "")}/${hive.database}`;
}

export function tableLocation(hive: HiveSettingsConfig, spec: TableSpec): string {
  return `${tablesRoot(hive)}/${spec.name}`;
}

/**
 * The properties that keep a table's files when the table or a partition is dropped: Hive 4
 * makes a plain CREATE TABLE external with `external.table.purge=TRUE` (a DROP PARTITION then
 * deletes the files, even at a custom LOCATION), Hive 3 a transactional managed table, Spark a
 * managed one. Explicitly EXTERNAL and not purged, all three keep the files.
 */
export const KEEP_FILES = "'external.table.purge'='FALSE'";

export function createTableStatement(hive: HiveSettingsConfig, spec: TableSpec): string {
  const format = hive.storage_format.toUpperCase();
  return (
    `CREATE EXTERNAL TABLE IF NOT EXISTS ${hive.database}.${spec.name} (${columnList(spec.columns)})` +
    (spec.partitions.length > 0 ? ` PARTITIONED BY (${columnList(spec.partitions)})` : "") +
    ` STORED AS ${format} LOCATION '${tableLocation(hive, spec)}' TBLPROPERTIES (${KEEP_FILES})`
  );
}

export function createDatabaseStatement(hive: HiveSettingsConfig): string {
  return `CREATE DATABASE IF NOT EXISTS ${hive.database}`;
}

/** The DDL of `init` on a new database, in order; each statement may run again (IF NOT EXISTS). */
export function initStatements(hive: HiveSettingsConfig): string[] {
  const specs = tableSpecs(hive.tables);
  return [
    createDatabaseStatement(hive),
    ...Object.values(specs).map((spec) => createTableStatement(hive, spec)),
    ...viewStatements(hive),
  ];
}

/** What `DESCRIBE FORMATTED` and `SHOW TBLPROPERTIES` say about a table's kind. */
export interface TableKindInfo {
  external: boolean;
  transactional: boolean;
  /** `external.table.purge`, lower-cased; undefined when not set. */
  purge: string | undefined;
  location: string | undefined;
}

/**
 * Reads a table's kind from `DESCRIBE FORMATTED` rows (Hive: `Table Type:` EXTERNAL_TABLE,
 * `Location:`; Spark: `Type` EXTERNAL, `Location`) and `SHOW TBLPROPERTIES` rows (Hive:
 * prpt_name, prpt_value; Spark: key, value: read by position).
 */
export function tableKind(
  described: Array<Record<string, unknown>>,
  properties: Array<Record<string, unknown>>,
): TableKindInfo {
  const field = (pattern: RegExp) => {
    const row = described.find((r) => pattern.test(String(r.col_name ?? "").trim()));
    return row === undefined ? undefined : String(row.data_type ?? "").trim();
  };
  const props = new Map(
    properties.map((row) => {
      const [key, value] = Object.values(row).map((v) => String(v ?? "").trim());
      return [(key ?? "").toLowerCase(), value ?? ""];
    }),
  );
  const type = (field(/^(table )?type:?$/i) ?? "").toUpperCase();
  return {
    external: type.startsWith("EXTERNAL") || props.get("external")?.toUpperCase() === "TRUE",
    transactional: props.get("transactional")?.toLowerCase() === "true",
    purge: props.get("external.table.purge")?.toLowerCase(),
    location: field(/^location:?$/i),
  };
}

/**
 * The load ids whose rows count: of each load (`<load id>#<attempt>`; older versions wrote the
 * load id alone), one attempt that committed (the smallest id). A retry runs while an earlier one may
 * still run on the server (its connection was lost, not its statement), and both can commit:
 * this keeps the data of exactly one.
 */
export function committedLoads(database: string, loadsTable: string): string {
  return `(SELECT MIN(load_id) AS load_id FROM ${database}.${loadsTable} GROUP BY split(load_id, '#')[0])`;
}

/** Rows of `loads` written by a load's own commit, not a compaction's copy (`<load>#0<code>`). */
export const NOT_A_COPY = "COALESCE(split(load_id, '#')[1], '') NOT LIKE '0%'";

/** The views over committed rows: `CREATE VIEW IF NOT EXISTS`, so init never replaces a user's. */
export function viewStatements(hive: HiveSettingsConfig): string[] {
  const db = hive.database;
  const specs = tableSpecs(hive.tables);
  const committed = committedLoads(db, specs.loads.name);
  const committedRows = (spec: TableSpec) => {
    const cols = [...spec.columns, ...spec.partitions]
      .filter((col) => col.name !== "load_id")
      .map((col) => `b.${col.name}`)
      .join(", ");
    return `SELECT ${cols} FROM ${db}.${spec.name} b LEFT SEMI JOIN ${committed} l ON (b.load_id = l.load_id)`;
  };
  const key = "b.host, b.measurement, b.tags, b.field, b.window_seconds, b.window_start, b.day";
  // Hive has no min_by/max_by: the smallest (ts, value) struct carries the first value.
  const merged =
    `SELECT host, measurement, tags, field, window_seconds, window_start, day, samples, total, ` +
    `total / samples AS average, minimum, maximum, m.f.v AS first_val, m.f.ts AS first_ts, ` +
    `m.l.v AS last_val, m.l.ts AS last_ts FROM (SELECT ${key}, SUM(b.samples) AS samples, ` +
    `SUM(b.total) AS total, MIN(b.minimum) AS minimum, MAX(b.maximum) AS maximum, ` +
    `MIN(named_struct('ts', b.first_ts, 'v', b.first_val)) AS f, ` +
    `MAX(named_struct('ts', b.last_ts, 'v', b.last_val)) AS l ` +
    `FROM ${db}.${specs.metrics.name} b LEFT SEMI JOIN ${committed} c ON (b.load_id = c.load_id) ` +
    `GROUP BY ${key}) m`;
  return [
    `CREATE VIEW IF NOT EXISTS ${db}.${hive.tables.metrics} AS ${merged}`,
    `CREATE VIEW IF NOT EXISTS ${db}.${hive.tables.raw} AS ${committedRows(specs.raw)}`,
    `CREATE VIEW IF NOT EXISTS ${db}.${hive.tables.quarantine} AS ${committedRows(specs.quarantine)}`,
    `CREATE VIEW IF NOT EXISTS ${db}.${hive.tables.gaps} AS ${committedRows(specs.gaps)}`,
  ];
}

/**
 * Compares `DESCRIBE` output with a spec: Hive and Spark both list the data columns, then the
 * partition columns, then (after a `#` line) the partition columns again. Returns what differs,
 * in words, or an empty list.
 */
export function schemaDifferences(
  spec: TableSpec,
  described: Array<{ col_name: string; data_type: string }>,
): string[] {
  const actual: Column[] = [];
  for (const row of described) {
    const name = row.col_name.trim();
    if (name === "" || name.startsWith("#")) break;
    actual.push({ name: name.toLowerCase(), type: row.data_type.trim().toUpperCase() as never });
  }
  const expected = [...spec.columns, ...spec.partitions];
  const differences: string[] = [];
  expected.forEach((col, index) => {
    const found = actual.find((a) => a.name === col.name);
    if (found === undefined) differences.push(`column ${col.name} ${col.type} is missing`);
    else if (found.type !== col.type)
      differences.push(`column ${col.name} is ${found.type}, expected ${col.type}`);
    else if (actual[index]?.name !== col.name)
      differences.push(
        `column ${col.name} is at position ${actual.indexOf(found) + 1}, expected ${index + 1}`,
      );
  });
  for (const a of actual) {
    if (!expected.some((col) => col.name === a.name))
      differences.push(`unexpected column ${a.name}`);
  }
  return differences;
}
