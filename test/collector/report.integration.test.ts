import test, { type ExecutionContext } from "ava";
import type { PartialRow } from "../../collector/aggregate.js";
import {
  loadCollectorConfigText,
  type ResolvedCollectorConfig,
} from "../../collector/config/load.js";
import type { LoadUnit } from "../../collector/hive/encode.js";
import { loadNow, openLoader } from "../../collector/hive/load.js";
import { HiveStore } from "../../collector/hive/store.js";
import { filesReader } from "../../collector/hive/warehouse-rows.js";
import { fleetReport, formatReport, type HostHealth } from "../../collector/report.js";
import { collectorStatus, formatStatus } from "../../collector/status.js";
import { endpointsFromEnv } from "../../lib/endpoints.js";
import { createKafka, kafkaClientConfig } from "../../lib/kafka.js";
import { createLogger } from "../../lib/log.js";
import { quiet, webHdfs } from "../helpers/collector.js";
import { createTopic, deleteTopic } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";

const endpoints = endpointsFromEnv();
const MINUTE = 60_000;

/** A config for a database of the test's own, created by init and dropped when the test ends. */
async function openStore(
  t: ExecutionContext,
  topic = "hostflow.metrics",
): Promise<{ config: ResolvedCollectorConfig; store: HiveStore }> {
  const database = uniqueName("hf_test");
  const yaml = `kafka:
  brokers: [${endpoints.kafkaBrokers.map((b) => JSON.stringify(b)).join(", ")}]
  topics: [${JSON.stringify(topic)}]
  group_id: ${database}
hive:
  host: ${JSON.stringify(endpoints.hive.host)}
  port: ${endpoints.hive.port}
  user: ${JSON.stringify(endpoints.hive.user)}
  password: ${JSON.stringify(endpoints.hive.password)}
  database: ${database}
${process.env.WEBHDFS_URL ? `  webhdfs_url: ${endpoints.webHdfs.url}\n  webhdfs_user: ${endpoints.webHdfs.user}\n` : ""}aggregation:
  windows: [1m, 1h]
report:
  cpu_percent: 90
  mem_percent: 90
  disk_percent: 90
  silent_after: 5m
  gaps_since: 1d
`;
  const { config } = loadCollectorConfigText(yaml, "test.yaml", {});
  const store = await HiveStore.open(config.hive, createLogger("hostflow-test", "silent"));
  t.teardown(async () => {
    await store.dropDatabase(webHdfs).catch(() => undefined);
    await store.close();
  });
  await store.init();
  return { config, store };
}

/** A window of `value` everywhere (six samples, 10 s apart), so that its average is exact. */
function windowRow(
  host: string,
  measurement: string,
  tags: string,
  field: string,
  windowStart: number,
  value: number,
  windowSeconds = 60,
): PartialRow {
  return {
    host,
    measurement,
    tags,
    field,
    windowSeconds,
    windowStart,
    samples: 6,
    total: 6 * value,
    minimum: value,
    maximum: value,
    firstValue: value,
    firstTs: windowStart + 1_000,
    lastValue: value,
    lastTs: windowStart + 51_000,
  };
}

const CPU = '{"cpu":"cpu-total"}';
const disk = (path: string) => `{"device":"sda1","fstype":"ext4","mode":"rw","path":"${path}"}`;

/** cpu (from usage_idle), mem and one disk per path, all in the window at `start`. */
function hostWindow(
  host: string,
  start: number,
  s: { cpu: number; mem: number; disks: Record<string, number> },
): PartialRow[] {
  return [
    windowRow(host, "cpu", CPU, "usage_idle", start, 100 - s.cpu),
    windowRow(host, "cpu", CPU, "usage_user", start, s.cpu),
    windowRow(host, "mem", "{}", "used_percent", start, s.mem),
    ...Object.entries(s.disks).map(([path, used]) =>
      windowRow(host, "disk", disk(path), "used_percent", start, used),
    ),
  ];
}

function unit(id: string, loadedAt: number, parts: Partial<LoadUnit>): LoadUnit {
  return {
    loadId: uniqueName(id),
    groupId: "hf-test",
    collector: "report-test",
    loadedAt,
    metrics: [],
    raw: [],
    quarantine: [],
    gaps: [],
    streams: [],
    offsets: [],
    ...parts,
  };
}

/** Loads as a run does (files through WebHDFS when the stack has it). */
async function load(store: HiveStore, config: ResolvedCollectorConfig, u: LoadUnit): Promise<void> {
  const loader = await openLoader(store, config.hive, quiet);
  try {
    await loadNow(loader, u);
  } finally {
    await loader.close();
  }
}

test("fleetReport flags hot, full, silent and gappy hosts from the latest 1-minute windows", async (t) => {
  const { config, store } = await openStore(t);
  const now = Date.now();
  // The last complete minute: the latest window of every reporting host.
  const latest = Math.floor(now / MINUTE) * MINUTE - MINUTE;
  const healthy = { cpu: 20, mem: 40, disks: { "/": 50 } };
  const gap = {
    agentId: "agent-gappy",
    stream: "events@1",
    beforeTs: latest - 5 * MINUTE,
    afterTs: latest - 4 * MINUTE,
    topic: "hostflow.metrics",
    partition: 0,
  };
  const metrics = [
    // Hot now; an older window was calm (the latest one counts).
    ...hostWindow("hf-hot", latest - 5 * MINUTE, { cpu: 1, mem: 40, disks: { "/": 50 } }),
    ...hostWindow("hf-hot", latest, { cpu: 97, mem: 40, disks: { "/": 50 } }),
    // A full data disk; /old was last seen an hour ago (unmounted), so it is not the fullest.
    ...hostWindow("hf-full", latest, { cpu: 20, mem: 50, disks: { "/": 40, "/data": 95 } }),
    windowRow("hf-full", "disk", disk("/old"), "used_percent", latest - 60 * MINUTE, 99),
    // Last sample 30 minutes ago: silent; its last readings still show.
    ...hostWindow("hf-quiet", latest - 30 * MINUTE, { cpu: 30, mem: 30, disks: { "/": 20 } }),
    ...hostWindow("hf-gappy", latest, healthy),
    // Was hot earlier; its hourly window (not the smallest) averages 100 % busy.
    ...hostWindow("hf-ok-1", latest - 2 * MINUTE, { cpu: 99, mem: 99, disks: { "/": 99 } }),
    ...hostWindow("hf-ok-1", latest, healthy),
    windowRow("hf-ok-1", "cpu", CPU, "usage_idle", latest - (latest % 3_600_000), 0, 3600),
    ...hostWindow("hf-ok-2", latest, healthy),
    // Reports nothing the report reads: listed, no readings, not flagged.
    windowRow("hf-other", "system", "{}", "uptime", latest, 12_345),
  ];
  await load(
    store,
    config,
    unit("hf_load", now - MINUTE, {
      metrics,
      gaps: [
        { ...gap, kind: "gap", host: "hf-gappy", fromSeq: 10, toSeq: 12, count: 3 },
        // A duplicate loses nothing: not counted, not listed.
        { ...gap, kind: "duplicate", host: "hf-ok-1", fromSeq: 3, toSeq: 3, count: 1 },
        {
          ...gap,
          kind: "retention",
          agentId: "",
          stream: "",
          host: "",
          fromSeq: 100,
          toSeq: 149,
          count: 50,
        },
      ],
      offsets: [
        { topic: "hostflow.metrics", partition: 0, from: 0, next: 40, records: 40, bad: 0 },
      ],
    }),
  );
  // A gap older than gaps_since (in an older day partition): not counted.
  await load(
    store,
    config,
    unit("hf_old", now - 2 * 24 * 60 * MINUTE, {
      gaps: [{ ...gap, kind: "gap", host: "hf-ok-2", fromSeq: 1, toSeq: 1, count: 1 }],
      offsets: [{ topic: "hostflow.metrics", partition: -1, from: 0, next: 0, records: 0, bad: 0 }],
    }),
  );
  // Rows whose load never committed (no `loads` row): invisible.
  await load(
    store,
    config,
    unit("hf_ghost", now, { metrics: hostWindow("hf-ghost", latest, { ...healthy, cpu: 99 }) }),
  );

  const report = await fleetReport(config, store, now);
  // The last load from loads' files where the warehouse is readable: Hive's answer.
  const files = filesReader(config.hive, store);
  if (files) t.is(await files.lastLoadAt(), report.lastLoadAt);
  const byHost = new Map(report.hosts.map((h) => [h.host, h]));
  const host = (name: string): HostHealth => {
    const h = byHost.get(name);
    if (h === undefined) throw new Error(`${name} is not in the report`);
    return h;
  };

  t.deepEqual(
    report.hosts.map((h) => h.host),
    ["hf-full", "hf-gappy", "hf-hot", "hf-ok-1", "hf-ok-2", "hf-other", "hf-quiet"],
  );
  t.is(report.generatedAt, now);
  t.is(report.lastLoadAt, now - MINUTE);

  t.like(host("hf-hot"), { cpuPercent: 97, memPercent: 40, silent: false, gaps: 0 });
  t.deepEqual(host("hf-hot").flags, ["cpu 97.0% > 90%"]);
  t.is(host("hf-hot").lastSeen, latest + 51_000);

  t.deepEqual(host("hf-full").fullestDisk, { path: "/data", usedPercent: 95 });
  t.deepEqual(host("hf-full").flags, ["disk /data 95.0% > 90%"]);

  const quiet = host("hf-quiet");
  t.true(quiet.silent);
  t.is(quiet.lastSeen, latest - 30 * MINUTE + 51_000);
  t.like(quiet, { cpuPercent: 30, memPercent: 30, fullestDisk: { path: "/", usedPercent: 20 } });
  t.is(quiet.flags.length, 1);
  t.regex(quiet.flags[0] ?? "", /^silent 3[01] min$/);

  t.like(host("hf-gappy"), { gaps: 1, flags: ["1 gap"] });

  for (const name of ["hf-ok-1", "hf-ok-2"]) {
    t.like(host(name), {
      cpuPercent: 20,
      memPercent: 40,
      fullestDisk: { path: "/", usedPercent: 50 },
      silent: false,
      gaps: 0,
    });
    t.deepEqual(host(name).flags, [], name);
  }
  t.like(host("hf-other"), {
    cpuPercent: undefined,
    memPercent: undefined,
    fullestDisk: undefined,
    silent: false,
    lastSeen: latest + 51_000,
  });
  t.deepEqual(host("hf-other").flags, []);

  t.deepEqual(
    report.recentGaps.map((g) => ({ ...g })).sort((a, b) => a.kind.localeCompare(b.kind)),
    [
      {
        agentId: "agent-gappy",
        host: "hf-gappy",
        fromSeq: 10,
        toSeq: 12,
        missing: 3,
        detectedAt: now - MINUTE,
        kind: "gap",
      },
      {
        agentId: "",
        host: "",
        fromSeq: 100,
        toSeq: 149,
        missing: 50,
        detectedAt: now - MINUTE,
        kind: "retention",
      },
    ],
  );

  const text = formatReport(report, config.report);
  t.log(text);
  t.regex(text, /^Fleet health at .*: 7 hosts, 4 flagged; last load 1 min ago$/m);
  const tableLines = text.split("\n").filter((line) => line.startsWith("hf-"));
  // Flagged first (by name), then the healthy hosts.
  t.deepEqual(
    tableLines.map((line) => line.split(/\s+/)[0]),
    ["hf-full", "hf-gappy", "hf-hot", "hf-quiet", "hf-ok-1", "hf-ok-2", "hf-other"],
  );
  t.regex(text, /^hf-hot .*cpu 97\.0% > 90%$/m);
  t.regex(text, /^hf-full .*\/data 95\.0%.*disk \/data 95\.0% > 90%$/m);
  t.regex(text, /^hf-quiet .*silent 3[01] min$/m);
  t.regex(text, /^Recent gaps/m);
  t.regex(text, /hf-gappy +agent-gappy +gap +10 +12 +3$/m);
});

test("collectorStatus: lag per partition from Kafka's end offsets and the loads in Hive", async (t) => {
  const topic = uniqueName("hf_status");
  await createTopic(endpoints.kafkaBrokers, topic, 2);
  t.teardown(() => deleteTopic(endpoints.kafkaBrokers, topic));
  const { config, store } = await openStore(t, topic);
  const kafka = createKafka(await kafkaClientConfig(config.kafka, { retries: 2 }));
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: [
        ...["a", "b", "c"].map((value) => ({ partition: 0, value })),
        ...["d", "e", "f", "g"].map((value) => ({ partition: 1, value })),
      ],
    });
  } finally {
    await producer.disconnect();
  }

  const loadedAt = Date.now() - 3 * MINUTE;
  const range = (partition: number, from: number, next: number) => ({
    topic,
    partition,
    from,
    next,
    records: next - from,
    bad: 0,
  });
  // Partition 0 loaded up to offset 2 in two ranges; a state-only row (-1) does not count.
  await load(
    store,
    config,
    unit("hf_status", loadedAt, {
      groupId: config.kafka.group_id,
      offsets: [range(0, 0, 1), range(0, 1, 2), range(-1, 0, 0)],
    }),
  );
  // Another consumer group's loads say nothing about this one.
  await load(
    store,
    config,
    unit("hf_other_group", Date.now(), { groupId: "other", offsets: [range(1, 0, 4)] }),
  );

  const rows = await collectorStatus(config, store, kafka);
  t.deepEqual(rows, [
    { topic, partition: 0, endOffset: 3, loadedOffset: 2, lag: 1, lastLoadAt: loadedAt },
    { topic, partition: 1, endOffset: 4, loadedOffset: undefined, lag: 4, lastLoadAt: undefined },
  ]);
  // Read from loads' files (the CLI and the dashboard, where the warehouse is readable): the same.
  const files = filesReader(config.hive, store);
  if (process.env.WEBHDFS_URL) t.truthy(files, "the local stack's warehouse is readable");
  if (files) t.deepEqual(await collectorStatus(config, files, kafka), rows);

  const text = formatStatus(rows, loadedAt + 3 * MINUTE);
  t.log(text);
  const lines = text.split("\n");
  t.regex(lines[0] ?? "", /^topic +partition +end offset +loaded offset +lag +last load$/);
  t.regex(text, new RegExp(`^${topic} +0 +3 +2 +1 +3 min ago$`, "m"));
  t.regex(text, new RegExp(`^${topic} +1 +4 +- +4 +never$`, "m"));
  t.regex(lines[lines.length - 1] ?? "", /^total \(2 partitions\) +7 +2 +5 +3 min ago$/);
});
