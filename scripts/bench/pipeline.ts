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
import { defaultRegistry } from "../../agent/components.js";
import { loadAgentConfigText } from "../../agent/config/load.js";
import { Agent } from "../../agent/runtime/agent.js";
import { endpointsFromEnv } from "../../lib/endpoints.js";
import { createKafka } from "../../lib/kafka.js";
import { createLogger } from "../../lib/log.js";
import { sleep } from "../../lib/timeout.js";

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
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

console.log(
  `pipeline: synthetic (1000 hosts) → channel → kafka (acks=all, batch ${BATCH}), ${EVENTS} events, ${RUNS} runs`,
);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}, brokers ${brokers.join(",")}`,
);
for (const channel of ["memory", "file"] as const) {
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) rates.push((await once(channel, run)).perSecond);
  console.log(
    `${channel.padEnd(7)} median ${Math.round(median(rates)).toLocaleString("en")} events/s  (runs: ${rates.map((r) => Math.round(r).toLocaleString("en")).join(", ")})`,
  );
}
