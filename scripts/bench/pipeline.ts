/**
 * Agent pipeline throughput to the local broker with acks=all: synthetic fleet → memory or
 * file channel → kafka sink, through the real runtime (interceptors, selector, transactions,
 * sink runner). Events/s = events committed by the sink / seconds from start to the last
 * commit. Median of --runs runs per channel kind, each against a bare kafkajs producer of the
 * same records in the same round.
 *
 *   npx tsx scripts/bench/pipeline.ts [--events 200000] [--runs 3] [--batch 1000]
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { Partitioners } from "kafkajs";
import { defaultRegistry } from "../../agent/components.js";
import { loadAgentConfigText } from "../../agent/config/load.js";
import type { SyntheticSourceConfig } from "../../agent/config/schema.js";
import type { AgentEvent } from "../../agent/core/types.js";
import { Agent } from "../../agent/runtime/agent.js";
import { Fleet } from "../../agent/sources/synthetic.js";
import { endpointsFromEnv } from "../../lib/endpoints.js";
import { createKafka, createTopicsAndWait } from "../../lib/kafka.js";
import { createLogger } from "../../lib/log.js";
import { sleep } from "../../lib/timeout.js";
import { encodeHeaders, encodeSample, WIRE_SCHEMA_VERSION } from "../../lib/wire.js";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "200000" },
    runs: { type: "string", default: "3" },
    batch: { type: "string", default: "1000" },
    // Internal: one measurement, in a process of its own (see below).
    one: { type: "string" },
    run: { type: "string", default: "0" },
  },
});
const execFileAsync = promisify(execFile);
const EVENTS = Number(args.events);
const RUNS = Number(args.runs);
const BATCH = Number(args.batch);
const brokers = endpointsFromEnv().kafkaBrokers;

async function once(
  channel: "memory" | "file",
  run: number,
): Promise<{ perSecond: number; bytes: number }> {
  const dir = await mkdtemp(path.join(tmpdir(), "hostflow-bench-"));
  const topic = `hf_bench_${channel}_${Date.now().toString(36)}_${run}`;
  const admin = createKafka({ clientId: "hostflow-bench", brokers }).admin();
  await admin.connect();
  await createTopicsAndWait(admin, [{ topic, numPartitions: 3 }]);
  const config = benchConfig(dir, topic, channel);
  const agent = new Agent(config, defaultRegistry(), createLogger("bench", "error"));
  const started = performance.now();
  await agent.start();
  while ((await agent.metrics.total("kafka", "committed")) < EVENTS) await sleep(5);
  const seconds = (performance.now() - started) / 1000;
  await agent.stop();
  const offsets = await admin.fetchTopicOffsets(topic);
  const written = offsets.reduce((s, p) => s + Number(p.high), 0);
  if (written !== EVENTS) throw new Error(`${topic} holds ${written} records, expected ${EVENTS}`);
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
  await rm(dir, { recursive: true, force: true });
  return { perSecond: EVENTS / seconds, bytes: 0 };
}

/** The agent's config for one run; the bare producer reads its synthetic source's options too. */
function benchConfig(dir: string, topic: string, channel: "memory" | "file") {
  const channelYaml =
    channel === "memory"
      ? `{ type: memory, capacity: 100000, transaction_capacity: ${BATCH} }`
      : `{ type: file, transaction_capacity: ${BATCH} }`;
  return loadAgentConfigText(
    `
agent: { id: bench, data_dir: ${dir}, log_level: error }
sources:
  fleet:
    type: synthetic
    channels: [events]
    hosts: 1000
    backfill: 30d
    total: ${EVENTS}
    batch_size: ${BATCH}
channels:
  events: ${channelYaml}
sinks:
  kafka: { type: kafka, channel: events, brokers: [${brokers.join(",")}], topic: ${topic}, batch_size: ${BATCH}, acks: all }
`,
    "bench.yaml",
  ).config;
}

/** The records a bare producer sends: the agent's own, or one small fixed sample (before 2026-12-07). */
type Records = "same" | "fixed";

/**
 * The ceiling: a bare kafkajs producer, one batch of BATCH at a time, acks=all, timed from
 * before its connect (as the agent's clock runs from before its sink connects) to the last
 * acknowledgement. `same`: the records the agent sends — the same synthetic fleet (1000 hosts,
 * 30 days back) generated in the loop, its bodies encoded by lib/wire.ts, the host as key and
 * the four hostflow headers — so the ratio is what the agent's runtime and channel cost.
 * `fixed`: one cpu sample of 8 short decimals for every record (about 240 bytes against the
 * fleet's 290, and numbers cheap to print), as this bench sent before.
 */
async function bareKafkajs(run: number, records: Records): Promise<number> {
  const kafka = createKafka({ clientId: "hostflow-bench", brokers });
  const topic = `hf_bench_bare_${records}_${Date.now().toString(36)}_${run}`;
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsAndWait(admin, [{ topic, numPartitions: 3 }]);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const next = records === "same" ? fleetEvents() : fixedEvents();
  const started = performance.now();
  await producer.connect();
  for (let sent = 0; sent < EVENTS; sent += BATCH) {
    const events = next(Math.min(BATCH, EVENTS - sent));
    const messages = events.map((event, i) => ({
      key: event.headers.host ?? null,
      value: encodeSample(event.body),
      headers: encodeHeaders({
        schemaVersion: WIRE_SCHEMA_VERSION,
        agentId: "bench",
        stream: "events@bench",
        seq: sent + i,
      }),
    }));
    await producer.send({ topic, acks: -1, messages });
  }
  const perSecond = EVENTS / ((performance.now() - started) / 1000);
  await producer.disconnect();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
  return perSecond;
}

/** The synthetic source's events, cycle by cycle, as its run makes them (no pacing: backfill). */
function fleetEvents(): (count: number) => AgentEvent[] {
  const source = benchConfig(tmpdir(), "unused", "memory").sources.fleet as SyntheticSourceConfig;
  const interval = source.interval;
  let t = Math.floor((Date.now() - source.backfill) / interval) * interval;
  const fleet = new Fleet(source, t, source.backfill);
  let pending: AgentEvent[] = [];
  return (count) => {
    while (pending.length < count) {
      fleet.cycle(t, pending);
      t += interval;
    }
    const batch = pending.slice(0, count);
    pending = pending.slice(count);
    return batch;
  };
}

function fixedEvents(): (count: number) => AgentEvent[] {
  let n = 0;
  return (count) =>
    Array.from({ length: count }, () => {
      const host = `sim-${n++ % 1000}`;
      return {
        headers: { host },
        body: {
          name: "cpu",
          tags: { cpu: "cpu-total", host },
          fields: {
            usage_user: 12.5,
            usage_system: 3.2,
            usage_idle: 83.1,
            usage_iowait: 0.4,
            usage_nice: 0,
            usage_irq: 0.1,
            usage_softirq: 0.3,
            usage_steal: 0.4,
          },
          timestamp: Date.now(),
        },
      };
    });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

type Kind = Records | "memory" | "file";
const KINDS: readonly Kind[] = ["same", "fixed", "memory", "file"];

async function measure(kind: Kind, run: number): Promise<number> {
  return kind === "same" || kind === "fixed"
    ? bareKafkajs(run, kind)
    : (await once(kind, run)).perSecond;
}

/**
 * Each measurement in a fresh process, as the agent and a producer each run as one: in one
 * process each run inherited the heap of the runs before it, and the file channel ran last in
 * each round.
 */
async function inProcess(kind: Kind, run: number): Promise<number> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      `--one=${kind}`,
      `--run=${run}`,
      `--events=${EVENTS}`,
      `--batch=${BATCH}`,
    ],
    { maxBuffer: 1 << 20 },
  );
  const rate = Number(stdout.trim().split("\n").at(-1));
  if (!(rate > 0)) throw new Error(`the ${kind} measurement printed no rate: ${stdout}`);
  return rate;
}

if (args.one !== undefined) {
  if (!KINDS.includes(args.one as Kind)) throw new Error(`--one: one of ${KINDS.join(", ")}`);
  console.log(await measure(args.one as Kind, Number(args.run)));
  process.exit(0);
}

console.log(
  `pipeline: synthetic (1000 hosts) → channel → kafka (acks=all, batch ${BATCH}), ${EVENTS} events, ${RUNS} runs`,
);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}, brokers ${brokers.join(",")}`,
);
// Round by round (both ceilings, memory, file), so that a drift of the machine or the broker over
// the bench touches all alike; each round's ratios to its bare producers are reported too.
const rates: Record<Kind, number[]> = { same: [], fixed: [], memory: [], file: [] };
for (let run = 0; run < RUNS; run++) {
  for (const kind of KINDS) rates[kind].push(await inProcess(kind, run));
}
const fmt = (r: number) => Math.round(r).toLocaleString("en");
const pct = (r: number) => `${Math.round(100 * r)} %`;
const line = (rs: number[]) =>
  `median ${fmt(median(rs))} events/s  (runs: ${rs.map(fmt).join(", ")})`;
console.log(`kafkajs alone, the agent's records (the ceiling) ${line(rates.same)}`);
console.log(`kafkajs alone, one fixed cpu sample               ${line(rates.fixed)}`);
for (const channel of ["memory", "file"] as const) {
  const of = (ceiling: "same" | "fixed") => {
    const ratios = rates[channel].map((r, i) => r / (rates[ceiling][i] as number));
    return `median ${pct(median(ratios))} (${ratios.map(pct).join(", ")})`;
  };
  console.log(
    `${channel.padEnd(7)} ${line(rates[channel])}; of the bare producer in the same round: ` +
      `${of("same")}; of the fixed-sample producer: ${of("fixed")}`,
  );
}
