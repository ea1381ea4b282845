/**
 * Where the collector stands per Kafka partition: the end offset Kafka has, the offset Hive has
 * loaded up to (the `loads` table is the truth, not Kafka's committed offsets), and the lag.
 */

import type { Kafka } from "kafkajs";
import { HostflowError, isHostflowError } from "../lib/errors.js";
import type { ResolvedCollectorConfig } from "./config/load.js";
import { type HiveStore, sqlString } from "./hive/store.js";
import { NOT_A_COPY } from "./hive/tables.js";
import type { WarehouseRows } from "./hive/warehouse-rows.js";
import { formatAgo, formatTable, type TableRow } from "./table-format.js";

export interface PartitionStatus {
  topic: string;
  partition: number;
  /** Kafka's high watermark: the offset the next record will get. */
  endOffset: number;
  /** The next offset Hive has (MAX(next_offset) of the committed loads); undefined: never loaded. */
  loadedOffset: number | undefined;
  /** Records not in Hive yet: end - (loaded ?? Kafka's low watermark). */
  lag: number;
  /** Epoch ms of the partition's latest load. */
  lastLoadAt: number | undefined;
}

interface Loaded {
  next: number;
  at: number;
}

/**
 * Where each partition was loaded to (one Hive statement, or `loads`' files when the warehouse
 * is readable: no Tez job, no Hive session) and one Kafka metadata round per topic, side by side.
 */
export async function collectorStatus(
  config: ResolvedCollectorConfig,
  from: HiveStore | Pick<WarehouseRows, "loadedPartitions">,
  kafka: Kafka,
): Promise<PartitionStatus[]> {
  const [loaded, offsets] = await Promise.all([
    "loadedPartitions" in from
      ? from.loadedPartitions(config.kafka.group_id, config.kafka.topics)
      : loadedPartitions(config, from),
    topicOffsets(config, kafka),
  ]);
  const rows: PartitionStatus[] = [];
  for (const { topic, partitions } of offsets) {
    for (const p of [...partitions].sort((a, b) => a.partition - b.partition)) {
      const done = loaded.get(`${topic}:${p.partition}`);
      rows.push({
        topic,
        partition: p.partition,
        endOffset: p.high,
        loadedOffset: done?.next,
        lag: p.high - (done?.next ?? p.low),
        lastLoadAt: done?.at,
      });
    }
  }
  return rows;
}

async function loadedPartitions(
  config: ResolvedCollectorConfig,
  store: HiveStore,
): Promise<Map<string, Loaded>> {
  const topics = config.kafka.topics.map((t) => `'${sqlString(t)}'`).join(", ");
  // kafka_partition -1 marks loads that carry stream state only (gaps found at a run's end).
  const { rows } = await store.query<{
    topic: string;
    kafka_partition: number;
    next_offset: number;
    last_load: number;
  }>(
    `SELECT topic, kafka_partition, MAX(next_offset) AS next_offset, MAX(loaded_at) AS last_load ` +
      `FROM ${store.database}.${store.specs.loads.name} ` +
      `WHERE group_id = '${sqlString(config.kafka.group_id)}' AND kafka_partition >= 0 AND topic IN (${topics}) AND ${NOT_A_COPY} ` +
      `GROUP BY topic, kafka_partition`,
  );
  return new Map(
    rows.map((r) => [
      `${r.topic}:${r.kafka_partition}`,
      { next: Number(r.next_offset), at: Number(r.last_load) },
    ]),
  );
}

async function topicOffsets(
  config: ResolvedCollectorConfig,
  kafka: Kafka,
): Promise<
  Array<{ topic: string; partitions: Array<{ partition: number; low: number; high: number }> }>
> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    // fetchTopicOffsets on a missing topic fails with a protocol error naming no topic: check first,
    // and say it as `run` does.
    const existing = new Set(await admin.listTopics());
    const missing = config.kafka.topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      throw new HostflowError(
        "HF_KAFKA_TOPIC",
        `topic${missing.length > 1 ? "s" : ""} ${missing.join(", ")} not found on ${config.kafka.brokers.join(",")} (kafka.topics)`,
        { context: { missing } },
      );
    }
    return await Promise.all(
      config.kafka.topics.map(async (topic) => ({
        topic,
        partitions: (await admin.fetchTopicOffsets(topic)).map((p) => ({
          partition: p.partition,
          low: Number(p.low),
          high: Number(p.high),
        })),
      })),
    );
  } catch (cause) {
    if (isHostflowError(cause)) throw cause;
    throw new HostflowError(
      "HF_KAFKA_UNREACHABLE",
      `cannot read the end offsets of ${config.kafka.topics.join(", ")} from ${config.kafka.brokers.join(",")}: ${(cause as Error).message}`,
      { cause, retriable: true, context: { brokers: config.kafka.brokers } },
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** A text table, one line per partition, and a total line (partitions, summed offsets and lag). */
export function formatStatus(rows: PartitionStatus[], now: number): string {
  const sum = (pick: (r: PartitionStatus) => number) => rows.reduce((n, r) => n + pick(r), 0);
  const loads = rows.flatMap((r) => (r.lastLoadAt === undefined ? [] : [r.lastLoadAt]));
  const lines: TableRow[] = rows.map((r) => [
    r.topic,
    String(r.partition),
    String(r.endOffset),
    r.loadedOffset === undefined ? "-" : String(r.loadedOffset),
    String(r.lag),
    formatAgo(r.lastLoadAt, now),
  ]);
  lines.push("rule", [
    `total (${rows.length} partition${rows.length === 1 ? "" : "s"})`,
    "",
    String(sum((r) => r.endOffset)),
    String(sum((r) => r.loadedOffset ?? 0)),
    String(sum((r) => r.lag)),
    formatAgo(loads.length === 0 ? undefined : Math.max(...loads), now),
  ]);
  return formatTable(
    [
      { header: "topic" },
      { header: "partition", align: "right" },
      { header: "end offset", align: "right" },
      { header: "loaded offset", align: "right" },
      { header: "lag", align: "right" },
      { header: "last load" },
    ],
    lines,
  );
}
