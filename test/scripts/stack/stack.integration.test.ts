import test from "ava";
import { endpointsFromEnv } from "../../../lib/endpoints.js";
import { WebHdfs } from "../../../lib/hdfs/webhdfs.js";
import { HiveClient } from "../../../lib/hive/client.js";
import { createKafka, describeKafka } from "../../../lib/kafka.js";
import type { StackLayout } from "../../../scripts/stack/layout.js";
import { portAnswers } from "../../../scripts/stack/ports.js";
import { isAlive, runningPid } from "../../../scripts/stack/processes.js";
import { readHiveFlavor, stackStatus, stackUp } from "../../../scripts/stack/stack.js";
import { localStack } from "../../helpers/local-stack.js";
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

// The shared stack's HDFS and HiveServer2 (npm test starts them); skipped against a cluster.
const local = localStack();

(local ? test : test.skip)(
  "HDFS and HiveServer2: status shows the NameNode, DataNode and HiveServer2 answering, WebHDFS lists the warehouse, version() is Hive 4 (Spark 3.5 with --hive spark), a second up starts nothing",
  async (t) => {
    const layout = local as StackLayout;
    const spark = readHiveFlavor(layout) === "spark";
    const status = await stackStatus(layout);
    for (const name of ["namenode", "datanode", spark ? "spark" : "hive"]) {
      const service = status.find((s) => s.name === name);
      t.truthy(service?.pid, `${name} runs`);
      t.true(
        service?.ports.every((p) => p.answers),
        `${name}'s ports answer`,
      );
    }
    const again = await stackUp(layout, {
      brokers: 1,
      hive: spark ? "spark" : "apache",
      groups: ["hdfs", "hive"],
      say: () => undefined,
    });
    t.deepEqual(
      again.map((g) => [g.name, g.started]),
      [
        ["hdfs", []],
        ["hive", []],
      ],
    );
    const webHdfs = new WebHdfs(endpointsFromEnv().webHdfs);
    const root = (await webHdfs.list("/")) ?? [];
    t.true(root.some((f) => f.pathSuffix === "warehouse" && f.type === "DIRECTORY"));

    const client = await HiveClient.connect(endpointsFromEnv().hive);
    t.teardown(() => client.close());
    const { rows } = await client.query("SELECT version() AS v");
    t.regex(String(rows[0]?.v), spark ? /^3\.5\./ : /^4\.\d+\.\d+ /, "the server's version()");
  },
);
