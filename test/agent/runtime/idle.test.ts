import test from "ava";
import { agentFromYaml, eventCount, tempDir, waitFor } from "../../helpers/agent.js";
import { watchTimers } from "../../helpers/timers.js";

// Issue 13: a sink took an empty batch every `linger` and the file channel synced and
// checkpointed on intervals, whether or not anything had happened. Between two samples nothing
// is due, so no timer may fire (the Kafka client's share: test/agent/idle.integration.test.ts).
for (const channel of ["memory", "file"] as const) {
  test.serial(
    `issue 13: between samples, an agent with a ${channel} channel and a null sink runs no timer`,
    async (t) => {
      const dir = await tempDir(t);
      const timers = watchTimers();
      t.teardown(() => timers.stop());
      const agent = agentFromYaml(`
agent: { id: idle-test, data_dir: ${dir} }
sources:
  host: { type: sysinfo, channels: [events], interval: 1h, measurements: [mem, system] }
channels:
  events: ${channel === "file" ? "{ type: file, fsync: interval, fsync_interval: 50ms, checkpoint_interval: 100ms }" : "{ type: memory }"}
sinks:
  out: { type: "null", channel: events, linger: 10ms }
`);
      await agent.start();
      t.teardown(() => agent.stop());
      await waitFor(
        "the first sample taken",
        async () => (await eventCount(agent, "out", "committed")) > 0,
      );
      if (channel === "file") {
        // The put and the take armed one fsync and one checkpoint; let them run first.
        await waitFor("the channel's sync and checkpoint", async () => {
          const fired = await timers.quiet(150);
          return fired.size === 0;
        });
      }
      const fired = await timers.quiet(500);
      t.deepEqual(Object.fromEntries(fired), {}, "timer callbacks while nothing was due");
    },
  );
}
