import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import test from "ava";
import { endpointsFromEnv } from "../../lib/endpoints.js";
import { decodeHeaders, type WireHeaders } from "../../lib/wire.js";
import { tempDir } from "../helpers/agent.js";
import { createTopic, deleteTopic, readTopic } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";

const brokers = endpointsFromEnv().kafkaBrokers;
const BATCH = 200;

function startAgent(config: string): {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ["--import", "tsx", "agent/cli.ts", "run", "-c", config], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, stderr: () => stderr, exited };
}

async function waitForLog(
  agent: { stderr: () => string },
  text: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!agent.stderr().includes(text)) {
    if (Date.now() > deadline)
      throw new Error(`no "${text}" in the agent's log:\n${agent.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("kill -9 during delivery, restart: no sequence number missing, duplicates only within the last uncommitted batch", async (t) => {
  const dir = await tempDir(t);
  const topic = uniqueName("hf_agent_crash");
  await createTopic(brokers, topic);
  t.teardown(() => deleteTopic(brokers, topic));
  const config = path.join(dir, "agent.yaml");
  await writeFile(
    config,
    `agent: { id: crash-test, data_dir: ${dir}, shutdown_timeout: 20s }
sources:
  seq: { type: sequence, channels: [events], rate: 3000, batch_size: 100 }
channels:
  events: { type: file }
sinks:
  kafka: { type: kafka, channel: events, brokers: [${brokers.join(",")}], topic: ${topic}, batch_size: ${BATCH} }
`,
  );

  const first = startAgent(config);
  await waitForLog(first, "agent started");
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  first.child.kill("SIGKILL");
  t.is(await first.exited, null, "killed, not exited");
  const beforeRestart = (await readTopic(brokers, topic)).length;
  t.true(beforeRestart > 1_000, `the first run delivered ${beforeRestart} records`);

  const second = startAgent(config);
  await waitForLog(second, "agent started");
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  second.child.kill("SIGTERM");
  t.is(await second.exited, 0, second.stderr());
  t.regex(second.stderr(), /0 events kept for the next start/, "the channel was drained at stop");

  const headers = (await readTopic(brokers, topic)).map(
    (r) => decodeHeaders(r.headers as Record<string, Buffer>) as WireHeaders,
  );
  t.is(
    new Set(headers.map((h) => h.stream)).size,
    1,
    "one stream across the restart: the file channel's epoch survives",
  );
  const seqs = headers.map((h) => h.seq).sort((a, b) => a - b);
  const distinct = [...new Set(seqs)];
  t.deepEqual(
    distinct,
    Array.from({ length: distinct.length }, (_, i) => i),
    "no sequence number missing",
  );
  t.true(distinct.length > beforeRestart, "the second run went on numbering");
  const duplicates = seqs.length - distinct.length;
  t.true(duplicates <= BATCH, `${duplicates} duplicates: at most the batch in flight at the kill`);
});
