import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type StackLayout, stackLayout } from "../../scripts/stack/layout.js";
import { stackDown, stackUp } from "../../scripts/stack/stack.js";
import { freePortPair } from "./ports.js";

export interface PrivateKafka {
  layout: StackLayout;
  brokers: string[];
  /** Starts (again) the broker; its data survives stop/start. */
  start(): Promise<void>;
  /** Stops the broker as an outage would (SIGTERM, SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
  /** Stops it and deletes its data. */
  dispose(): Promise<void>;
}

/**
 * A one-node Kafka of the test's own, on free loopback ports, sharing the local stack's jars:
 * for tests that stop and restart a broker without disturbing the tests that use the shared one.
 */
export async function privateKafka(): Promise<PrivateKafka> {
  const port = await freePortPair();
  const dir = await mkdtemp(path.join(tmpdir(), "hostflow-kafka-"));
  const layout = stackLayout(dir, { lib: path.join(stackLayout().root, "lib"), kafkaPort: port });
  const quiet = () => undefined;
  const start = async () => {
    await stackUp(layout, { brokers: 1, groups: ["kafka"], say: quiet });
  };
  const stop = async (graceMs?: number) => {
    await stackDown(layout, {
      services: ["kafka-1"],
      say: quiet,
      ...(graceMs === undefined ? {} : { graceMs }),
    });
  };
  await start();
  return {
    layout,
    brokers: [`127.0.0.1:${port}`],
    start,
    stop,
    dispose: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
