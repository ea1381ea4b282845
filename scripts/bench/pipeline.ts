/**
 * Agent pipeline throughput to the local broker with acks=all: synthetic fleet → memory or
 * file channel → kafka sink, through the real runtime (interceptors, selector, transactions,
 * sink runner). Events/s = events committed by the sink / seconds from start to the last
 * commit. Median of --runs runs per channel kind.
 *
 *   npx tsx scripts/bench/pipeline.ts [--events 200000] [--runs 3] [--batch 1000]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Partitioners } from "kafkajs";
import { defaultRegistry } from "../../agent/components.js";
import { loadAgentConfigText } from "../../agent/config/load.js";
import { Agent } from "../../agent/runtime/agent.js";
import { endpointsFromEnv } from "../../lib/endpoints.js";
import { createKafka, createTopicsAndWait } from "../../lib/kafka.js";
import { createLogger } from "../../lib/log.js";
import { sleep } from "../../lib/timeout.js";
import { encodeHeaders, encodeSample } from "../../lib/wire.js";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "200000" },
    runs: { type: "string", default: "3" },
    batch: { type: "string", default: "1000" },
  },
});
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
  const channelYaml =
    channel === "memory"
      ? `{ type: memory, capacity: 100000, transaction_capacity: ${BATCH} }`
      : `{ type: file, transaction_capacity: ${BATCH} }`;
  const { config } = loadAgentConfigText(
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
  );
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

/**
 * The ceiling: a bare kafkajs producer sending records of the same shape (a synthetic cpu
 * sample, 4 hostflow headers) in batches of BATCH, acks=all, one batch at a time; timed from
 * its connect to the last acknowledgement.
 */
async function bareKafkajs(run: number): Promise<number> {
  const kafka = createKafka({ clientId: "hostflow-bench", brokers });
  const topic = `hf_bench_bare_${Date.now().toString(36)}_${run}`;
  const admin = kafka.admin();
  await admin.connect();
  await createTopicsAndWait(admin, [{ topic, numPartitions: 3 }]);
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  // From before the connect, as the agent's clock runs from before its start (its sink connects).
  const started = performance.now();
  await producer.connect();
  const sample = {
    name: "cpu",
    tags: { cpu: "cpu-total", host: "sim-0001" },
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
  };
  for (let sent = 0; sent < EVENTS; sent += BATCH) {
    const messages = Array.from({ length: Math.min(BATCH, EVENTS - sent) }, (_, i) => ({
      key: `sim-${(sent + i) % 1000}`,
      value: encodeSample(sample),
      headers: encodeHeaders({
        schemaVersion: 1,
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

console.log(
  `pipeline: synthetic (1000 hosts) → channel → kafka (acks=all, batch ${BATCH}), ${EVENTS} events, ${RUNS} runs`,
);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}, brokers ${brokers.join(",")}`,
);
// Round by round (bare, memory, file), so that a drift of the machine or the broker over the
// bench touches all three alike; each round's ratios to the bare producer are reported too.
const rates: Record<"bare" | "memory" | "file", number[]> = { bare: [], memory: [], file: [] };
for (let run = 0; run < RUNS; run++) {
  rates.bare.push(await bareKafkajs(run));
  for (const channel of ["memory", "file"] as const) {
    rates[channel].push((await once(channel, run)).perSecond);
  }
}
const fmt = (r: number) => Math.round(r).toLocaleString("en");
const pct = (r: number) => `${Math.round(100 * r)} %`;
console.log(
  `kafkajs alone (ceiling) median ${fmt(median(rates.bare))} events/s  (runs: ${rates.bare.map(fmt).join(", ")})`,
);
for (const channel of ["memory", "file"] as const) {
  const ratios = rates[channel].map((r, i) => r / (rates.bare[i] as number));
  console.log(
    `${channel.padEnd(7)} median ${fmt(median(rates[channel]))} events/s  (runs: ${rates[channel].map(fmt).join(", ")}); ` +
      `of the bare producer in the same round: median ${pct(median(ratios))} (${ratios.map(pct).join(", ")})`,
  );
}
