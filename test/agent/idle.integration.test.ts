import test from "ava";
import { endpointsFromEnv } from "../../lib/endpoints.js";
import { agentFromYaml, eventCount, tempDir, waitFor } from "../helpers/agent.js";
import { createTopic, deleteTopic } from "../helpers/kafka.js";
import { uniqueName } from "../helpers/names.js";
import { watchTimers } from "../helpers/timers.js";

const brokers = endpointsFromEnv().kafkaBrokers;

// Issue 13: the idle agent woke ~1,760 times a second (kafkajs's request queue re-armed a 1 ms
// timer, its timeout check ran every 100 ms, the sink took an empty batch every linger). Between
// two samples nothing is due, so no timer may fire. Not a timed test: the quiet stretch only
// gives the old loops room to show; a slow machine makes them show less, never more.
test("issue 13: between samples, an agent with a file channel and a kafka sink runs no timer", async (t) => {
  const topic = uniqueName("hf_agent_idle");
  const dir = await tempDir(t);
  await createTopic(brokers, topic, 1);
  t.teardown(() => deleteTopic(brokers, topic));
  const timers = watchTimers();
  t.teardown(() => timers.stop());
  const agent = agentFromYaml(`
agent: { id: idle-test, data_dir: ${dir} }
sources:
  host: { type: sysinfo, channels: [events], interval: 1h, measurements: [mem, system] }
channels:
  events: { type: file, checkpoint_interval: 1h }
sinks:
  kafka: { type: kafka, channel: events, brokers: [${brokers.join(",")}], topic: ${topic}, linger: 50ms }
`);
  await agent.start();
  t.teardown(() => agent.stop());
  // The first cycle runs at start; once Kafka has it, the next thing due is an hour away.
  await waitFor(
    "the first sample in Kafka",
    async () => (await eventCount(agent, "kafka", "committed")) > 0,
  );
  const fired = await timers.quiet(1_500);
  t.deepEqual(Object.fromEntries(fired), {}, "timer callbacks while nothing was due");
});
