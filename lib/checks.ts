/**
 * `check`: asks each endpoint a real question. The Kafka and Hive clients are imported when a
 * check runs, so that a CLI loads only the client it asks with.
 */
import { type Endpoints, endpointsFromEnv } from "./endpoints.js";
import { describeError } from "./errors.js";

export interface CheckResult {
  what: string;
  endpoint: string;
  ok: boolean;
  detail: string;
  ms: number;
}

/** Asks each endpoint a real question (Kafka metadata, HiveServer2 `SELECT 1`). */
export async function checkEndpoints(
  endpoints: Endpoints = endpointsFromEnv(),
  which: { kafka: boolean; hive: boolean },
): Promise<CheckResult[]> {
  const checks: Promise<CheckResult>[] = [];
  if (which.kafka) {
    checks.push(
      timed("kafka", endpoints.kafkaBrokers.join(","), async () => {
        const { createKafka, describeKafka } = await import("./kafka.js");
        const kafka = createKafka({
          clientId: "hostflow-check",
          brokers: endpoints.kafkaBrokers,
          retry: { retries: 2 },
        });
        const { brokers, controller } = await describeKafka(kafka);
        return `${brokers} broker${brokers === 1 ? "" : "s"}, controller ${controller}`;
      }),
    );
  }
  if (which.hive) {
    const { host, port } = endpoints.hive;
    checks.push(
      timed("hive", `${host}:${port}`, async () => {
        const { HiveClient } = await import("./hive/client.js");
        const client = await HiveClient.connect({ ...endpoints.hive, connectTimeoutMs: 10_000 });
        try {
          await client.query("SELECT 1");
          return "HiveServer2 session ran SELECT 1";
        } finally {
          await client.close();
        }
      }),
    );
  }
  return Promise.all(checks);
}

async function timed(
  what: string,
  endpoint: string,
  probe: () => Promise<string>,
): Promise<CheckResult> {
  const started = Date.now();
  try {
    return { what, endpoint, ok: true, detail: await probe(), ms: Date.now() - started };
  } catch (error) {
    return { what, endpoint, ok: false, detail: describeError(error), ms: Date.now() - started };
  }
}

/** Prints check results one per line; exit code 1 when any failed. */
export function reportChecks(results: CheckResult[]): void {
  for (const r of results) {
    console.log(
      `${r.ok ? "ok  " : "FAIL"} ${r.what.padEnd(6)} ${r.endpoint}  ${r.detail} (${r.ms} ms)`,
    );
  }
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}
