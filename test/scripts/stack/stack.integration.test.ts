import test from "ava";
import { createKafka, describeKafka } from "../../../lib/kafka.js";
import { portAnswers } from "../../../scripts/stack/ports.js";
import { isAlive, runningPid } from "../../../scripts/stack/processes.js";
import { stackStatus, stackUp } from "../../../scripts/stack/stack.js";
import { privateKafka } from "../../helpers/private-kafka.js";

test("up answers a metadata request, a second up starts nothing, down leaves no process", async (t) => {
  const kafka = await privateKafka();
  t.teardown(() => kafka.dispose());
  const cluster = await describeKafka(
    createKafka({ clientId: "hostflow-test", brokers: kafka.brokers }),
  );
  t.is(cluster.brokers, 1);

  const again = await stackUp(kafka.layout, {
    brokers: 1,
    groups: ["kafka"],
    say: () => undefined,
  });
  t.deepEqual(
    again.map((g) => g.started),
    [[]],
    "already running: nothing started",
  );

  const pid = await runningPid(kafka.layout, "kafka-1");
  t.truthy(pid);
  const status = await stackStatus(kafka.layout);
  t.true(
    status.some((s) => s.name === "kafka-1" && s.pid === pid && s.ports.every((p) => p.answers)),
  );

  await kafka.stop();
  t.is(await runningPid(kafka.layout, "kafka-1"), undefined);
  // isAlive, not kill(pid, 0): the exited JVM may be this test's zombie child for a moment.
  t.false(isAlive(pid as number), "the broker's JVM is gone");
  const port = kafka.layout.ports.kafka;
  t.false(await portAnswers(port));
  t.false(await portAnswers(port + 1));
});
