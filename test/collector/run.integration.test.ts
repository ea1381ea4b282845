import { spawn, spawnSync } from "node:child_process";
import test from "ava";
import pino from "pino";
import { tablesRoot } from "../../collector/hive/tables.js";
import { CRASH_POINTS, runCollector } from "../../collector/run.js";
import { isHostflowError } from "../../lib/errors.js";
import {
  assertSame,
  type CollectorFixture,
  collectorFixture,
  dataset,
  endpoints,
  expectedAggregates,
  hiveAggregates,
  produce,
  quiet,
  type TestRecord,
  webHdfs,
} from "../helpers/collector.js";
import { createTopic } from "../helpers/kafka.js";
import { privateKafka } from "../helpers/private-kafka.js";
import { tcpProxy } from "../helpers/tcp-proxy.js";

// Serial: each run drives HiveServer2 hard, and the two cores run every other test file too.

for (const via of ["files", "statement"] as const) {
  test.serial(
    `a known dataset with bad records, loaded via ${via}: aggregates equal a plain computation, the quarantine holds exactly the bad ones`,
    async (t) => {
      const f = await collectorFixture(t, { hive: { load_via: via } });
      t.is(f.config.hive.load_via, via);
      const good = dataset(4, 5);
      const now = Date.now();
      const bad: TestRecord[] = [
        { host: "web-00", raw: "not json at all" },
        {
          host: "web-01",
          raw: JSON.stringify({
            name: "cpu",
            tags: {},
            fields: { usage_idle: { value: 3 } },
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
      if (via === "files") await assertNoMarkers(t, f);
    },
  );
}

/** Every load committed: no in-flight marker is left in the warehouse. */
async function assertNoMarkers(t: import("ava").ExecutionContext, f: CollectorFixture) {
  t.deepEqual(await markers(f), []);
}

/** The attempts whose markers are left in the warehouse (their files await a later run). */
async function markers(f: CollectorFixture): Promise<string[]> {
  const found = await webHdfs?.list(`${tablesRoot(f.config.hive)}/_hostflow/inflight`);
  return (found ?? []).map((m) => decodeURIComponent(m.pathSuffix.replace(/\.json$/, "")));
}

/** Markers left only by attempts that did not commit (a committed one's goes by the next run). */
async function assertOnlyUncommittedMarkers(
  t: import("ava").ExecutionContext,
  f: CollectorFixture,
) {
  const { rows } = await f.store.query<{ load_id: string }>(
    `SELECT load_id FROM ${f.database}.loads`,
  );
  const committed = new Set(rows.map((r) => r.load_id));
  for (const attempt of await markers(f)) t.false(committed.has(attempt), attempt);
}

function collectorCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, ["--import", "tsx", "collector/cli.ts", ...args], {
    encoding: "utf8",
    env: { ...process.env, HOSTFLOW_LOG_LEVEL: "warn", ...env },
    timeout: 120_000,
  });
}

for (const point of CRASH_POINTS) {
  test.serial(`killed ${point}, then another run: every record counted exactly once`, async (t) => {
    const f = await collectorFixture(t);
    const records = dataset(3, 4);
    await produce(f.topic, records);
    const crashed = collectorCli(["run", "-c", f.file], { HOSTFLOW_CRASH_AT: point });
    t.is(crashed.signal, "SIGKILL", crashed.stderr);
    // The lock of the killed run is taken over once stale.
    const second = collectorCli(["run", "-c", f.file]);
    t.is(second.status, 0, second.stderr);
    t.regex(second.stdout, /^run done: \d+ records, 0 bad/m);
    assertSame(t, await hiveAggregates(f), expectedAggregates(records));
    const { rows } = await f.store.query<{ n: number; s: number }>(
      `SELECT COUNT(*) AS n, SUM(samples) AS s FROM ${f.database}.metrics`,
    );
    t.is(Number(rows[0]?.s), records.length * 2, "each record's two fields once");
  });
}

test.serial(
  "two runs at once: one loads, the other exits 1 with a clear message; nothing is loaded twice",
  async (t) => {
    const f = await collectorFixture(t);
    // Enough records that a run lasts longer than the other's start-up.
    const records = dataset(40, 60);
    await produce(f.topic, records);
    const start = () =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          ["--import", "tsx", "collector/cli.ts", "run", "-c", f.file],
          {
            env: { ...process.env, HOSTFLOW_LOG_LEVEL: "warn" },
          },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => {
          stdout += d;
        });
        child.stderr.on("data", (d) => {
          stderr += d;
        });
        child.on("exit", (status) => resolve({ status, stdout, stderr }));
      });
    const results = await Promise.all([start(), start()]);
    const winner = results.find((r) => r.status === 0);
    const loser = results.find((r) => r.status === 1);
    t.truthy(winner, JSON.stringify(results));
    t.truthy(loser, JSON.stringify(results));
    t.regex(winner?.stdout ?? "", /run done: 14400 records/);
    t.regex(
      loser?.stderr ?? "",
      /HF_LOCKED: another collector run \(pid \d+, started .*\) holds .*run\.lock; this run does nothing/,
    );
    assertSame(t, await hiveAggregates(f), expectedAggregates(records));
  },
);

test.serial("a window that spans two runs merges into one row in the view", async (t) => {
  const f = await collectorFixture(t);
  const records = dataset(2, 2);
  // The first half of every window in one run, the second half in the next.
  const firstHalf = records.filter((r) => (r.sample?.timestamp ?? 0) % 60_000 < 30_000);
  const secondHalf = records.filter((r) => (r.sample?.timestamp ?? 0) % 60_000 >= 30_000);
  await produce(f.topic, firstHalf);
  t.is((await runCollector(f.config, { logger: quiet })).records, firstHalf.length);
  await produce(f.topic, secondHalf);
  t.is((await runCollector(f.config, { logger: quiet })).records, secondHalf.length);
  const partial = await f.store.query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM ${f.database}.metrics_batches`,
  );
  const merged = expectedAggregates(records);
  t.is(Number(partial.rows[0]?.n), merged.size * 2, "two partial rows per window");
  assertSame(t, await hiveAggregates(f), merged);
});

test.serial(
  "above --max-bad-ratio the run fails before loading and says why; records are read again later",
  async (t) => {
    const f = await collectorFixture(t);
    const good = dataset(1, 2);
    const bad: TestRecord[] = Array.from({ length: 20 }, (_, i) => ({
      host: "x",
      raw: `{broken ${i}`,
    }));
    await produce(f.topic, [...good, ...bad]);
    const failed = collectorCli(["run", "-c", f.file, "--max-bad-ratio", "0.1"]);
    t.is(failed.status, 1);
    t.regex(
      failed.stderr,
      /HF_BAD_RATIO: 20 of \d+ records \([\d.]+ %\) were bad, above the limit of 10\.0 %.*20× not JSON/,
    );
    t.is((await hiveAggregates(f)).size, 0);
    const ok = collectorCli(["run", "-c", f.file]);
    t.is(ok.status, 0, ok.stderr);
    assertSame(t, await hiveAggregates(f), expectedAggregates(good));
  },
);

test.serial("sequence gaps and duplicates upstream are recorded in the gaps view", async (t) => {
  const f = await collectorFixture(t);
  const records = dataset(1, 3).filter((r) => r.seq !== 5 && r.seq !== 6);
  const dup = records[10] as TestRecord;
  await produce(f.topic, [...records, dup]);
  await runCollector(f.config, { logger: quiet });
  const { rows } = await f.store.query<{
    kind: string;
    from_seq: number;
    to_seq: number;
    missing: number;
  }>(`SELECT kind, from_seq, to_seq, missing FROM ${f.database}.gaps ORDER BY kind`);
  t.deepEqual(
    rows.map((r) => ({
      ...r,
      from_seq: Number(r.from_seq),
      to_seq: Number(r.to_seq),
      missing: Number(r.missing),
    })),
    [
      { kind: "duplicate", from_seq: dup.seq as number, to_seq: dup.seq as number, missing: 1 },
      { kind: "gap", from_seq: 5, to_seq: 6, missing: 2 },
    ],
  );
});

test.serial(
  "one agent stream spread over 3 partitions and several loads: no false gaps, no false duplicates",
  async (t) => {
    const f = await collectorFixture(t);
    // An agent that sends 300 hosts (as the synthetic fleet does): one sequence, keyed by host,
    // so spread over the partitions, which the run reads at different paces.
    const records = dataset(300, 7)
      .sort((a, b) => (a.sample?.timestamp ?? 0) - (b.sample?.timestamp ?? 0))
      .map((r, seq): TestRecord => ({ ...r, agent: "fleet", seq }));
    await produce(f.topic, records);
    const summary = await runCollector(
      { ...f.config, run: { ...f.config.run, batch_records: 3_000 } },
      { logger: quiet },
    );
    t.is(summary.records, records.length);
    t.true(summary.loads >= 4, `${summary.loads} loads`);
    t.is(summary.gaps, 0);
    t.is(summary.duplicates, 0);
    const { rows } = await f.store.query(`SELECT * FROM ${f.database}.gaps`);
    t.deepEqual(rows, []);
    assertSame(t, await hiveAggregates(f), expectedAggregates(records));
  },
);

for (const via of ["files", "statement"] as const) {
  test.serial(
    `HiveServer2's connection cut while a load's statement runs (via ${via}): the run reconnects and every record counts once`,
    async (t) => {
      const f = await collectorFixture(t, { hive: { load_via: via } });
      const records = dataset(3, 4);
      await produce(f.topic, records);
      const proxy = await tcpProxy(endpoints.hive);
      t.teardown(() => proxy.close());
      let cuts = 0;
      // The files path commits with a small INSERT on Spark, which runs it in well under 300 ms;
      // on Apache Hive with a file of `loads`: its one statement is the ALTER TABLE that
      // registers the partitions.
      const byFile = via === "files" && (await f.store.serverName()) === "Apache Hive";
      proxy.watch(byFile ? "ALTER TABLE" : "INSERT INTO TABLE", () =>
        setTimeout(
          () => {
            cuts++;
            proxy.cut();
          },
          via === "files" ? 0 : 300,
        ),
      );
      const summary = await runCollector(
        { ...f.config, hive: { ...f.config.hive, port: proxy.port, retry_backoff: 200 } },
        { logger: quiet },
      );
      t.is(cuts, 1);
      t.true(proxy.connections >= 2, `${proxy.connections} connections`);
      t.is(summary.records, records.length);
      assertSame(t, await hiveAggregates(f), expectedAggregates(records));
      const { rows } = await f.store.query<{ n: number; s: number }>(
        `SELECT COUNT(*) AS n, SUM(samples) AS s FROM ${f.database}.metrics`,
      );
      t.is(Number(rows[0]?.s), records.length * 2, "each record's two fields once");
      // Both attempts may have committed (the first ran on after its connection was cut): the
      // views count one.
      const attempts = await f.store.query<{ load_id: string }>(
        `SELECT DISTINCT load_id FROM ${f.database}.loads`,
      );
      t.log(`committed attempts: ${attempts.rows.map((r) => r.load_id.split("#")[1]).join(", ")}`);
      if (via === "files") {
        // The cut attempt's marker stays (it might still commit); the next run drops it if it
        // did, and keeps it (young, uncommitted) if not.
        await runCollector(f.config, { logger: quiet });
        const markers = await webHdfs?.list(`${tablesRoot(f.config.hive)}/_hostflow/inflight`);
        const committed = new Set(attempts.rows.map((r) => r.load_id));
        for (const m of markers ?? []) {
          t.false(
            committed.has(decodeURIComponent(m.pathSuffix.replace(/\.json$/, ""))),
            m.pathSuffix,
          );
        }
      }
    },
  );
}

test.serial(
  "the Kafka broker killed as the run starts consuming and started again: no record lost or counted twice",
  async (t) => {
    const f = await collectorFixture(t);
    const kafka = await privateKafka();
    let outage: Promise<void> | undefined;
    // A failed assertion ends the test at once: the restart must be over before its folder goes.
    t.teardown(async () => {
      await outage?.catch(() => undefined);
      await kafka.dispose();
    });
    await createTopic(kafka.brokers, f.topic);
    const records = dataset(4, 6);
    await produce(f.topic, records, kafka.brokers);
    const config = {
      ...f.config,
      kafka: { ...f.config.kafka, brokers: kafka.brokers },
      run: { ...f.config.run, batch_records: 20, max_duration: 120_000 },
    };
    // The run's own log says when it has captured the end offsets and starts consuming.
    const logger = pino(
      { level: "info" },
      {
        write(line: string) {
          if (outage === undefined && line.includes('"msg":"run starts')) {
            outage = (async () => {
              await kafka.stop(0);
              await kafka.start();
            })();
          }
        },
      },
    );
    let first: Awaited<ReturnType<typeof runCollector>> | undefined;
    try {
      first = await runCollector(config, { logger });
    } catch (error) {
      // Failing is allowed, with a reason that names Kafka; loading anything twice is not.
      t.true(isHostflowError(error) && /KAFKA/.test(error.code), String(error));
      t.log(`first run: ${String(error)}`);
    }
    t.not(outage, undefined, "the broker was stopped during the run");
    await outage;
    const second = await runCollector(config, { logger: quiet });
    t.is((first?.records ?? 0) + second.records >= records.length, true);
    t.is(second.lagLeft, 0);
    assertSame(t, await hiveAggregates(f), expectedAggregates(records));
    t.log(
      `first run: ${first === undefined ? "failed" : `${first.records} records`}; second: ${second.records}`,
    );
  },
);

test.serial(
  "HiveServer2 down for longer than the retries: exit 1 with the reason, nothing loaded; back up, the next run loads all once",
  async (t) => {
    const f = await collectorFixture(t);
    const records = dataset(2, 3);
    await produce(f.topic, records);
    const proxy = await tcpProxy(endpoints.hive);
    t.teardown(() => proxy.close());
    // Cut as the load registers its partitions, before its commit (files written, not counted).
    proxy.watch("ADD IF NOT EXISTS PARTITION", () => {
      proxy.refuse(true);
      proxy.cut();
    });
    const config = {
      ...f.config,
      hive: { ...f.config.hive, port: proxy.port, retries: 2, retry_backoff: 200 },
    };
    const error = await t.throwsAsync(runCollector(config, { logger: quiet }));
    t.true(isHostflowError(error, "HF_HIVE_UNREACHABLE"), String(error));
    t.regex(String(error?.message), new RegExp(`127\\.0\\.0\\.1:${proxy.port}`));
    const { rows } = await f.store.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${f.database}.loads`,
    );
    t.is(Number(rows[0]?.n), 0);

    proxy.refuse(false);
    const summary = await runCollector(config, { logger: quiet });
    t.is(summary.records, records.length);
    assertSame(t, await hiveAggregates(f), expectedAggregates(records));
    // The failed attempt's files stay, invisible, until its marker is old.
    t.is((await markers(f)).length, 1);
    await assertOnlyUncommittedMarkers(t, f);
  },
);

test.serial(
  "regression: a partition larger than one fetch is read to its end (offsets resolved as handled)",
  async (t) => {
    const f = await collectorFixture(t, { partitions: 1 });
    // ~36,000 records of ~150 bytes: more than the consumer's 4 MiB per-partition fetch.
    const records = dataset(100, 60);
    await produce(f.topic, records);
    const summary = await runCollector(f.config, { logger: quiet, maxSeconds: 90 });
    t.is(summary.stoppedBy, "end");
    t.is(summary.records, records.length);
    t.is(summary.lagLeft, 0);
  },
);

test.serial(
  "Telegraf's own records (string fields, booleans, seconds): nothing quarantined, strings counted, booleans loaded as 0/1",
  async (t) => {
    const f = await collectorFixture(t, { extra: "records:\n  timestamp_unit: s\n" });
    const minute = Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60;
    // As Telegraf 1.36's outputs.kafka (data_format json) writes inputs.system: the string
    // uptime_format on a metric of its own, every interval.
    const lines: TestRecord[] = [];
    for (let i = 0; i < 3; i++) {
      const ts = minute + 10 * i;
      lines.push(
        {
          host: "tg-01",
          raw: `{"fields":{"load1":${i + 0.5},"n_cpus":2},"name":"system","tags":{"host":"tg-01"},"timestamp":${ts}}`,
        },
        {
          host: "tg-01",
          raw: `{"fields":{"uptime_format":"1 day,  2:0${i}"},"name":"system","tags":{"host":"tg-01"},"timestamp":${ts}}`,
        },
        {
          host: "tg-01",
          raw: `{"fields":{"result_code":0,"up":${i !== 1}},"name":"ping","tags":{"host":"tg-01","url":"10.0.0.1"},"timestamp":${ts}}`,
        },
      );
    }
    await produce(f.topic, lines);
    const summary = await runCollector(f.config, { logger: quiet });
    t.is(summary.records, 9);
    t.is(summary.bad, 0);
    t.is(summary.stringFields, 3);
    const { rows } = await f.store.query<{
      measurement: string;
      field: string;
      samples: number;
      total: number;
    }>(
      `SELECT measurement, field, samples, total FROM ${f.database}.metrics WHERE window_seconds = 60 ORDER BY measurement, field`,
    );
    t.deepEqual(
      rows.map((r) => [r.measurement, r.field, Number(r.samples), Number(r.total)]),
      [
        ["ping", "result_code", 3, 0],
        ["ping", "up", 3, 2],
        ["system", "load1", 3, 4.5],
        ["system", "n_cpus", 3, 6],
      ],
    );
    const quarantined = await f.store.query<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${f.database}.quarantine`,
    );
    t.is(Number(quarantined.rows[0]?.n), 0);
  },
);
