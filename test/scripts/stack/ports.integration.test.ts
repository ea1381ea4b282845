import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import { isHostflowError } from "../../../lib/errors.js";
import { stackLayout } from "../../../scripts/stack/layout.js";
import { portInUse } from "../../../scripts/stack/ports.js";
import { runningPid } from "../../../scripts/stack/processes.js";
import { stackUp } from "../../../scripts/stack/stack.js";

// Needs the local stack's Kafka (npm test starts it); skipped against an existing cluster.
const layout = stackLayout();
const port = layout.ports.kafka;
const local = (await runningPid(layout, "kafka-1")) !== undefined;

(local ? test : test.skip)(
  "up refuses a port held by a process it did not start, and starts nothing",
  async (t) => {
    t.true(await portInUse(port), `the local Kafka listens on ${port}`);
    // A second stack folder has no pid files: to it, the running broker is somebody else's.
    const dir = await mkdtemp(path.join(tmpdir(), "hostflow-stack-"));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const lines: string[] = [];
    const error = await t.throwsAsync(
      stackUp(stackLayout(dir), { brokers: 1, groups: ["kafka"], say: (l) => lines.push(l) }),
    );
    t.true(isHostflowError(error, "HF_STACK_PORT_TAKEN"), String(error));
    t.regex(
      error?.message ?? "",
      new RegExp(`port ${port} on 127\\.0\\.0\\.1, needed by kafka-1, is used by another process`),
    );
    t.regex(error?.message ?? "", /KAFKA_BROKERS/);
    t.deepEqual(lines, [], "nothing was resolved or started");
  },
);
