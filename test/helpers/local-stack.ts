import { type StackLayout, stackLayout } from "../../scripts/stack/layout.js";

/**
 * The local stack's layout when the tests run against it (the endpoints in the environment are
 * its ports on 127.0.0.1, or unset), else undefined: an existing cluster is not ours to inspect.
 */
export function localStack(env: NodeJS.ProcessEnv = process.env): StackLayout | undefined {
  const layout = stackLayout();
  const p = layout.ports;
  const local =
    (env.KAFKA_BROKERS ?? `127.0.0.1:${p.kafka}`) === `127.0.0.1:${p.kafka}` &&
    (env.HIVE_HOST ?? "127.0.0.1") === "127.0.0.1" &&
    (env.HIVE_PORT ?? String(p.hive)) === String(p.hive) &&
    (env.WEBHDFS_URL ?? `http://127.0.0.1:${p.namenodeHttp}`) ===
      `http://127.0.0.1:${p.namenodeHttp}`;
  return local ? layout : undefined;
}
