import net from "node:net";
import test, { type ExecutionContext } from "ava";
import type { Agent } from "../../../agent/runtime/agent.js";
import { serveMonitoring } from "../../../agent/runtime/http.js";
import { agentFromYaml, waitFor } from "../../helpers/agent.js";

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the agent and its monitoring endpoint on a free port; both stop after the test. */
async function startServed(t: ExecutionContext, agent: Agent): Promise<string> {
  await agent.start();
  const listen = `127.0.0.1:${await freePort()}`;
  const server = await serveMonitoring(agent, listen);
  t.teardown(async () => {
    server.close();
    await agent.stop();
  });
  return listen;
}

test("/metrics serves Prometheus text of the agent's counters and gauges; /health says 200 or 503", async (t) => {
  const agent = agentFromYaml(`
agent: { id: http-test, data_dir: /nonexistent }
sources:
  seq: { type: sequence, channels: [events], total: 300, batch_size: 100 }
channels:
  events: { type: memory }
sinks:
  out: { type: "null", channel: events }
`);
  const listen = await startServed(t, agent);
  await waitFor(
    "all events written",
    async () => (await agent.metrics.total("out", "committed")) === 300,
  );

  const metrics = await fetch(`http://${listen}/metrics`);
  t.is(metrics.status, 200);
  t.regex(metrics.headers.get("content-type") ?? "", /^text\/plain/);
  const text = await metrics.text();
  t.regex(text, /^hostflow_events_total\{component="events",kind="channel",outcome="put"\} 300$/m);
  t.regex(text, /^hostflow_events_total\{component="out",kind="sink",outcome="committed"\} 300$/m);
  t.regex(text, /^hostflow_channel_size\{channel="events"\} 0$/m);
  t.regex(text, /^hostflow_sink_batch_seconds_count\{sink="out"\} \d+$/m);

  const health = await fetch(`http://${listen}/health`);
  t.is(health.status, 200);
  const body = (await health.json()) as {
    ok: boolean;
    components: Record<string, { ok: boolean }>;
  };
  t.true(body.ok);
  t.deepEqual(Object.keys(body.components).sort(), [
    "channel.events",
    "runner.out",
    "sink.out",
    "source.seq",
  ]);

  t.is((await fetch(`http://${listen}/nope`)).status, 404);
});

test("/health answers 503 and names the component when a sink cannot write", async (t) => {
  const agent = agentFromYaml(`
agent: { id: http-test, data_dir: /nonexistent, shutdown_timeout: 1s }
sources:
  seq: { type: sequence, channels: [events], total: 10 }
channels:
  events: { type: memory }
sinks:
  kafka: { type: kafka, channel: events, brokers: ["127.0.0.1:1"], connection_timeout: 200ms }
`);
  const listen = await startServed(t, agent);
  await waitFor(
    "the sink failed once",
    async () => (await agent.metrics.sinkErrors.get()).values.length > 0,
  );
  const health = await fetch(`http://${listen}/health`);
  t.is(health.status, 503);
  const body = (await health.json()) as {
    ok: boolean;
    components: Record<string, { ok: boolean; detail?: string }>;
  };
  t.false(body.ok);
  t.false(body.components["sink.kafka"]?.ok);
  t.regex(body.components["runner.kafka"]?.detail ?? "", /HF_KAFKA_UNREACHABLE/);
});

test("a taken listen address is a config error naming agent.http.listen", async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const listen = `127.0.0.1:${(blocker.address() as net.AddressInfo).port}`;
  const agent = agentFromYaml(`
sources: { seq: { type: sequence, channels: [c], total: 1 } }
channels: { c: { type: memory } }
sinks: { out: { type: "null", channel: c } }
`);
  const error = await t.throwsAsync(serveMonitoring(agent, listen));
  t.regex(
    error?.message ?? "",
    new RegExp(`agent.http.listen ${listen}: cannot listen \\(EADDRINUSE\\)`),
  );
});
