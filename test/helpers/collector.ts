import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ExecutionContext } from "ava";
import type { Message } from "kafkajs";
import {
  loadCollectorConfigText,
  type ResolvedCollectorConfig,
} from "../../collector/config/load.js";
import { HiveStore } from "../../collector/hive/store.js";
import { endpointsFromEnv } from "../../lib/endpoints.js";
import { WebHdfs } from "../../lib/hdfs/webhdfs.js";
import { createKafka } from "../../lib/kafka.js";
import { createLogger } from "../../lib/log.js";
import { encodeHeaders, encodeSample, type Sample, WIRE_SCHEMA_VERSION } from "../../lib/wire.js";
import { createTopic, deleteTopic } from "./kafka.js";
import { uniqueName } from "./names.js";

export const endpoints = endpointsFromEnv();
/** The warehouse's HDFS when the environment names one (npm test sets it for the local stack). */
export const webHdfs = process.env.WEBHDFS_URL ? new WebHdfs(endpoints.webHdfs) : undefined;
export const quiet = createLogger("hostflow-test", "silent");

export interface CollectorFixture {
  topic: string;
  database: string;
  /** The config file (YAML) the CLI reads. */
  file: string;
  config: ResolvedCollectorConfig;
  store: HiveStore;
}

/**
 * A topic, a Hive database with the collector's tables, a config naming both; all removed when
 * the test ends. `extra` is YAML appended to the config.
 */
export async function collectorFixture(
  t: ExecutionContext,
  options: { partitions?: number; extra?: string; hive?: Record<string, string | number> } = {},
): Promise<CollectorFixture> {
  const topic = uniqueName("hf_col");
  const database = uniqueName("hf_col").replace(/[^A-Za-z0-9_]/g, "_");
  const dir = mkdtempSync(path.join(tmpdir(), "hf-collector-"));
  const yaml = `kafka:
  brokers: [${endpoints.kafkaBrokers.map((b) => JSON.stringify(b)).join(", ")}]
  topics: [${topic}]
  group_id: ${database}
hive:
  host: ${endpoints.hive.host}
  port: ${endpoints.hive.port}
  user: ${endpoints.hive.user}
  password: ${JSON.stringify(endpoints.hive.password)}
  database: ${database}
  connect_timeout: 2m # many tests share one HiveServer2 on two cores
${process.env.WEBHDFS_URL && options.hive?.webhdfs_url === undefined ? `  webhdfs_url: ${endpoints.webHdfs.url}\n  webhdfs_user: ${endpoints.webHdfs.user}\n` : ""}${Object.entries(
  options.hive ?? {},
)
  .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}\n`)
  .join("")}run:
  lock_file: ${path.join(dir, "run.lock")}
gaps:
  grace: 1s
${options.extra ?? ""}`;
  const file = path.join(dir, "collector.yaml");
  writeFileSync(file, yaml);
  const { config } = loadCollectorConfigText(yaml, file, {});
  await createTopic(endpoints.kafkaBrokers, topic, options.partitions ?? 3);
  const store = await HiveStore.open(config.hive, quiet);
  await store.init();
  t.teardown(async () => {
    await store.dropDatabase(webHdfs).catch(() => undefined);
    await store.close();
    await deleteTopic(endpoints.kafkaBrokers, topic);
  });
  return { topic, database, file, config, store };
}

export interface TestRecord {
  sample?: Sample;
  /** A raw value instead of a sample: a bad record. */
  raw?: string;
  host: string;
  seq?: number;
  agent?: string;
}

export async function produce(
  topic: string,
  records: TestRecord[],
  brokers = endpoints.kafkaBrokers,
): Promise<void> {
  const producer = createKafka({ clientId: "hostflow-test", brokers }).producer();
  await producer.connect();
  try {
    const messages: Message[] = records.map((r) => ({
      key: r.host,
      value: r.sample ? encodeSample(r.sample) : (r.raw ?? ""),
      ...(r.seq === undefined
        ? {}
        : {
            headers: encodeHeaders({
              schemaVersion: WIRE_SCHEMA_VERSION,
              agentId: r.agent ?? `agent-${r.host}`,
              stream: "events@1",
              seq: r.seq,
            }),
          }),
    }));
    for (let i = 0; i < messages.length; i += 2_000) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 2_000) });
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * A known dataset: `hosts` hosts, a cpu sample (two fields) every 10 s for `minutes` minutes
 * ending a few minutes ago, with sequence numbers per host; values from a formula, so that the
 * test can compute the aggregates itself.
 */
export function dataset(
  hosts: number,
  minutes: number,
  end = Date.now() - 5 * 60_000,
): TestRecord[] {
  const start = Math.floor((end - minutes * 60_000) / 60_000) * 60_000;
  const out: TestRecord[] = [];
  for (let h = 0; h < hosts; h++) {
    const host = `web-${String(h).padStart(2, "0")}`;
    let seq = 0;
    for (let ts = start + 3_000 + h * 7; ts < start + minutes * 60_000; ts += 10_000) {
      const i = (ts - start) / 10_000;
      out.push({
        host,
        seq: seq++,
        sample: {
          name: "cpu",
          tags: { host, cpu: "cpu-total" },
          fields: { usage_idle: 50 + ((i * 7 + h * 3) % 40) + 0.25, usage_user: (i % 5) * 1.5 },
          timestamp: Math.floor(ts),
        },
      });
    }
  }
  return out;
}

export interface ExpectedRow {
  samples: number;
  total: number;
  minimum: number;
  maximum: number;
  first: number;
  last: number;
}

/** The 1-minute aggregates of good records, computed plainly: host|field|window → stats. */
export function expectedAggregates(
  records: TestRecord[],
  windowMs = 60_000,
): Map<string, ExpectedRow> {
  const groups = new Map<string, Array<{ ts: number; v: number }>>();
  for (const r of records) {
    if (!r.sample) continue;
    for (const [field, v] of Object.entries(r.sample.fields)) {
      const w = r.sample.timestamp - (r.sample.timestamp % windowMs);
      const k = `${r.host}|${field}|${w}`;
      const list = groups.get(k) ?? [];
      list.push({ ts: r.sample.timestamp, v });
      groups.set(k, list);
    }
  }
  const out = new Map<string, ExpectedRow>();
  for (const [k, list] of groups) {
    const sorted = [...list].sort((a, b) => a.ts - b.ts);
    out.set(k, {
      samples: list.length,
      total: list.reduce((s, x) => s + x.v, 0),
      minimum: Math.min(...list.map((x) => x.v)),
      maximum: Math.max(...list.map((x) => x.v)),
      first: sorted[0]?.v ?? Number.NaN,
      last: sorted[sorted.length - 1]?.v ?? Number.NaN,
    });
  }
  return out;
}

/** The merged 1-minute rows of the metrics view, keyed as expectedAggregates. */
export async function hiveAggregates(f: CollectorFixture): Promise<Map<string, ExpectedRow>> {
  const { rows } = await f.store.query<{
    host: string;
    field: string;
    window_start: number;
    samples: number;
    total: number;
    minimum: number;
    maximum: number;
    first_val: number;
    last_val: number;
  }>(
    `SELECT host, field, window_start, samples, total, minimum, maximum, first_val, last_val FROM ${f.database}.metrics WHERE window_seconds = 60`,
  );
  return new Map(
    rows.map((r) => [
      `${r.host}|${r.field}|${r.window_start}`,
      {
        samples: Number(r.samples),
        total: r.total,
        minimum: r.minimum,
        maximum: r.maximum,
        first: r.first_val,
        last: r.last_val,
      },
    ]),
  );
}

export function writeConfig(file: string, text: string): void {
  writeFileSync(file, text);
}

/** Sums in Hive come back as doubles: compare with a tolerance, the rest exactly. */
export function assertSame(
  t: ExecutionContext,
  actual: Map<string, unknown>,
  expected: Map<string, unknown>,
): void {
  t.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [k, e] of expected) {
    const a = actual.get(k) as Record<string, number>;
    for (const [stat, v] of Object.entries(e as Record<string, number>)) {
      t.true(Math.abs((a[stat] ?? Number.NaN) - v) < 1e-6, `${k} ${stat}: ${a[stat]} != ${v}`);
    }
  }
}

/** Every aggregate as a plain computation says, and each record's two fields counted once. */
export async function assertExactlyOnce(
  t: ExecutionContext,
  f: CollectorFixture,
  records: TestRecord[],
): Promise<void> {
  assertSame(t, await hiveAggregates(f), expectedAggregates(records));
  const { rows } = await f.store.query<{ s: number }>(
    `SELECT SUM(samples) AS s FROM ${f.database}.metrics WHERE window_seconds = 60`,
  );
  t.is(Number(rows[0]?.s), records.length * 2, "each record's two fields once");
}
