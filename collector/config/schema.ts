/**
 * The collector's config (conf/collector.yaml): THE schema. Validation, the TypeScript types
 * below, conf/collector.schema.json (for editors) and docs/collector-config.md come from it.
 */
import { type Static, Type } from "@sinclair/typebox";
import { kafkaConnection } from "../../lib/config/kafka.js";
import { Duration, Size, Strict } from "../../lib/config/types.js";
import { LOG_LEVELS } from "../../lib/log.js";

/** A Hive identifier that needs no quoting in HiveQL (Hive 3/4 and Spark alike). */
const IDENTIFIER = "^[A-Za-z][A-Za-z0-9_]*$";
const Identifier = (description: string, value: string) =>
  Type.String({ pattern: IDENTIFIER, default: value, description });

export const KafkaSettings = Strict(
  {
    ...kafkaConnection("hostflow-collector"),
    topics: Type.Array(Type.String({ pattern: "^[A-Za-z0-9._-]+$" }), {
      minItems: 1,
      default: ["hostflow.metrics"],
      description: "the topics to consume",
    }),
    group_id: Type.String({
      minLength: 1,
      default: "hostflow-collector",
      description:
        "consumer group: collectors on several hosts with the same group share the partitions; also the key of the offsets recorded in Hive",
    }),
    start_from: Type.Union([Type.Literal("earliest"), Type.Literal("latest")], {
      default: "earliest",
      description: "where a partition that Hive has no record of starts",
    }),
    session_timeout: Duration({
      default: "30s",
      description: "time without heartbeat after which the group gives this run's partitions away",
    }),
    rebalance_timeout: Duration({
      default: "5m",
      description:
        "time the group waits for this run to finish a load before it reassigns partitions (longer than the slowest load)",
    }),
  },
  { default: {}, description: "where the samples come from" },
);

export const HiveTables = Strict(
  {
    metrics: Identifier(
      "view of the merged window aggregates (its partial rows live in <name>_batches)",
      "metrics",
    ),
    raw: Identifier("view of the raw samples, when aggregation.keep_raw", "raw_samples"),
    quarantine: Identifier("view of the bad records", "quarantine"),
    gaps: Identifier("view of the sequence gaps, duplicates and retention losses", "gaps"),
    loads: Identifier(
      "table of loads: the offsets loaded, written with the data (the truth of what is in Hive)",
      "loads",
    ),
    streams: Identifier("table of each agent stream's last sequence number", "streams"),
  },
  { default: {}, description: "table and view names" },
);

export const HiveSettings = Strict(
  {
    host: Type.String({ default: "127.0.0.1", description: "HiveServer2 host" }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 10000, description: "port" }),
    user: Type.String({ default: "hostflow", description: "user (SASL PLAIN)" }),
    password: Type.Optional(
      Type.String({ description: "prefer ${ENV_VAR} or password_file to a literal" }),
    ),
    password_file: Type.Optional(
      Type.String({ description: "a file whose content (trimmed) is the password" }),
    ),
    database: Identifier("the database, created by init", "hostflow"),
    tables: HiveTables,
    warehouse_dir: Type.String({
      pattern: "^(/|[A-Za-z][A-Za-z0-9+.-]*://)[^'\\\\]*$",
      default: "/warehouse/hostflow",
      description:
        "root of the tables' files, on HiveServer2's file system (an absolute path, or a URI such as hdfs://namenode:8020/…): each table is EXTERNAL at <warehouse_dir>/<database>/<table> (outside the database's own folder), so that no DDL (DROP PARTITION, DROP TABLE, DROP DATABASE … CASCADE) deletes files the views still count, on Hive 3, Hive 4 and Spark alike",
      examples: ["/warehouse/hostflow", "hdfs://namenode:8020/data/hostflow"],
    }),
    storage_format: Type.Union([Type.Literal("parquet"), Type.Literal("orc")], {
      default: "parquet",
      description: "STORED AS of the tables init creates",
    }),
    connect_timeout: Duration({
      default: "30s",
      description: "time to open a session (a metastore that hangs fails here, not forever)",
    }),
    statement_timeout: Duration({
      default: "10m",
      description: "time one statement may take; a late one is cancelled on the server",
    }),
    max_statement_bytes: Size({
      default: "16MiB",
      description:
        "largest INSERT statement when loads travel as statements; a bigger load is split into several",
    }),
    load_via: Type.Union([Type.Literal("auto"), Type.Literal("statement"), Type.Literal("files")], {
      default: "auto",
      description:
        "how a load's rows reach the tables: `files` writes them as Parquet files straight into the tables' partition folders (through webhdfs_url when warehouse_dir is on HDFS, or into a file:// warehouse_dir), then commits with one small INSERT into `loads`; `statement` sends them inside the INSERT statement (any HiveServer2, ~50 µs a row); `auto` is files when the warehouse can be written (webhdfs_url set and answering, or a file:// warehouse_dir), statement otherwise, and the run logs which",
    }),
    webhdfs_url: Type.Optional(
      Type.String({
        pattern: "^https?://[^/]+/?$",
        description:
          "WebHDFS (the NameNode's HTTP address) or HttpFS endpoint of the HDFS that holds warehouse_dir, for load_via files; simple authentication only (no Kerberos/SPNEGO yet)",
        examples: ["http://namenode:9870", "http://httpfs:14000"],
      }),
    ),
    webhdfs_user: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "the HDFS user the collector writes files as (user.name); default HADOOP_USER_NAME, else the OS user. It must be allowed to write <warehouse_dir>/<database>",
      }),
    ),
    retries: Type.Integer({
      minimum: 0,
      default: 5,
      description: "retries of a statement that failed for a transient reason",
    }),
    retry_backoff: Duration({
      default: "2s",
      description: "first pause between retries; doubles each time, with jitter, up to 1 minute",
    }),
  },
  { default: {}, description: "where the aggregates go (HiveServer2, binary transport)" },
);

export const AggregationSettings = Strict(
  {
    windows: Type.Array(
      Duration({ description: "a window size, at least 1s", examples: ["1m", "1h"] }),
      {
        minItems: 1,
        default: ["1m"],
        description: "window sizes; each sample counts in one window of each size (UTC-aligned)",
      },
    ),
    keep_raw: Type.Boolean({
      default: false,
      description: "also load every sample as it came (one row per field), by day and hour",
    }),
  },
  { default: {}, description: "what is computed from the samples" },
);

export const RecordSettings = Strict(
  {
    timestamp_unit: Type.Union(
      [Type.Literal("ms"), Type.Literal("s"), Type.Literal("us"), Type.Literal("ns")],
      {
        default: "ms",
        description: "unit of the records' timestamp (hostflow: ms; Telegraf's Kafka output: s)",
      },
    ),
    max_bytes: Size({ default: "64KiB", description: "a larger record value is bad" }),
    max_age: Duration({ default: "30d", description: "an older sample timestamp is bad" }),
    max_future: Duration({
      default: "1h",
      description: "a sample timestamp further in the future is bad",
    }),
    max_bad_ratio: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 1,
      description:
        "the run fails, before loading, when more than this share of its records is bad (1: never); --max-bad-ratio",
    }),
  },
  { default: {}, description: "what makes a record bad (bad records go to the quarantine)" },
);

export const GapSettings = Strict(
  {
    enabled: Type.Boolean({
      default: true,
      description: "detect per-agent sequence gaps and duplicates",
    }),
    grace: Duration({
      default: "2m",
      description:
        "a missing sequence number is a gap once the record after it is this old (it may still be on its way in another partition)",
    }),
    state_days: Type.Integer({
      minimum: 1,
      default: 7,
      description: "days a stream's last sequence number is remembered without news from it",
    }),
  },
  { default: {}, description: "loss detection from the agents' sequence numbers" },
);

export const RunSettings = Strict(
  {
    max_records: Type.Optional(
      Type.Integer({ minimum: 1, description: "stop after this many records; --max-records" }),
    ),
    max_duration: Duration({
      default: "10m",
      description:
        "stop consuming after this long, load what was read and exit 0; --max-seconds (keep it under the cron interval)",
    }),
    batch_records: Type.Integer({
      minimum: 1,
      default: 500_000,
      description: "records per load (one atomic set of statements)",
    }),
    batch_bytes: Size({ default: "256MiB", description: "record bytes per load" }),
    lock_file: Type.Optional(
      Type.String({
        description:
          "the lock that keeps two runs on this host apart; default <tmpdir>/hostflow-collector-<group_id>.lock",
      }),
    ),
    progress_interval: Duration({
      default: "30s",
      description: "how often a run without a terminal logs its progress",
    }),
    log_level: Type.Union(
      LOG_LEVELS.map((l) => Type.Literal(l)),
      { default: "info", description: "log level (logs go to stderr)" },
    ),
  },
  { default: {}, description: "limits of one run" },
);

export const ReportSettings = Strict(
  {
    cpu_percent: Type.Number({
      minimum: 0,
      maximum: 100,
      default: 90,
      description: "a host whose CPU use is above this is flagged",
    }),
    mem_percent: Type.Number({
      minimum: 0,
      maximum: 100,
      default: 90,
      description: "a host whose memory use is above this is flagged",
    }),
    disk_percent: Type.Number({
      minimum: 0,
      maximum: 100,
      default: 90,
      description: "a host whose fullest disk is above this is flagged",
    }),
    silent_after: Duration({
      default: "5m",
      description: "a host with no sample for this long is flagged silent",
    }),
    gaps_since: Duration({ default: "1d", description: "how far back recent gaps are shown" }),
  },
  { default: {}, description: "thresholds of the fleet-health report (and the dashboard)" },
);

export const DashboardSettings = Strict(
  {
    host: Type.String({
      default: "127.0.0.1",
      description: "address the dashboard listens on (loopback: only this machine)",
    }),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8080,
      description: "port (0: any free one)",
    }),
    refresh: Duration({ default: "30s", description: "how often an open page asks for new data" }),
    cache_ttl: Duration({
      default: "1m",
      description:
        "how long an answer from Hive is reused for every page that asks (Hive's data changes once per load: every minute at most with collectors every minute); while the live tail is live, the fleet's Hive part is kept for half live_window at least (the hosts heard from within live_window come from Kafka)",
    }),
    live: Type.Boolean({
      default: true,
      description:
        "also follow kafka.topics: the last live_window of samples come straight from Kafka into memory and show within seconds, over Hive's history (a consumer group of its own, <kafka.group_id>-dashboard-<hostname>-<pid>, that commits no offsets)",
    }),
    live_window: Duration({
      default: "10m",
      description:
        "how far back the live tail keeps samples, in windows of the finest aggregation.windows size (at least one, at most 360)",
    }),
    live_max_hosts: Type.Integer({
      minimum: 1,
      default: 20_000,
      description:
        "hosts the live tail keeps at most; samples of further hosts are dropped (logged) and show once loaded into Hive",
    }),
    live_refresh: Duration({
      default: "5s",
      description: "how often an open page asks for new data while live is on",
    }),
  },
  { default: {}, description: "the web dashboard (`dashboard` command)" },
);

const Keep = (what: string) =>
  Type.Optional(
    Duration({
      description: `drop ${what} partitions (and delete their files) once wholly older than this; absent: keep them`,
    }),
  );

export const MaintenanceSettings = Strict(
  {
    compact_after_run: Type.Boolean({
      default: false,
      description:
        "after each run that loaded something, compact the day partitions that have more than compact_max_files files (the `compact` command, under a lock: one collector of a group at a time)",
    }),
    compact_max_files: Type.Integer({
      minimum: 1,
      default: 8,
      description: "a table's day partition with more files than this is compacted",
    }),
    compact_grace: Duration({
      default: "10m",
      description:
        "how long files that a compaction replaced stay (invisible) before they are deleted: longer than the slowest query",
    }),
    retention: Strict(
      {
        metrics: Keep("the metrics"),
        raw: Keep("the raw samples'"),
        quarantine: Keep("the quarantine's"),
        gaps: Keep("the gaps'"),
      },
      {
        default: {},
        description:
          "how long each table keeps its day partitions (`retention` command, and after each run when set); the bookkeeping (`loads`, `streams`) is trimmed to match",
      },
    ),
  },
  { default: {}, description: "small files and old partitions: compaction and retention" },
);

export const CollectorConfig = Strict(
  {
    kafka: KafkaSettings,
    hive: HiveSettings,
    aggregation: AggregationSettings,
    records: RecordSettings,
    gaps: GapSettings,
    run: RunSettings,
    report: ReportSettings,
    dashboard: DashboardSettings,
    maintenance: MaintenanceSettings,
  },
  { title: "hostflow collector config" },
);

export type CollectorConfig = Static<typeof CollectorConfig>;
export type HiveSettingsConfig = Static<typeof HiveSettings>;
export type HiveTablesConfig = Static<typeof HiveTables>;
export type ReportSettingsConfig = Static<typeof ReportSettings>;
export type DashboardSettingsConfig = Static<typeof DashboardSettings>;
export type MaintenanceSettingsConfig = Static<typeof MaintenanceSettings>;
