import yargs, { type Argv } from "yargs";
import { hideBin } from "yargs/helpers";
import { type Endpoints, endpointsFromEnv } from "./endpoints.js";
import { describeError } from "./errors.js";
import { HiveClient } from "./hive/client.js";
import { createKafka, describeKafka } from "./kafka.js";
import { LOG_FORMATS, setLogFormat } from "./log.js";
import { projectVersion } from "./project.js";

/**
 * The frame of every hostflow CLI: strict yargs, --help and --version, and failures as one line
 * (`HF_CODE: what and where`) with exit 1, so that a cron mail says what went wrong.
 */
export async function runCli(
  name: string,
  description: string,
  commands: (y: Argv) => Argv,
): Promise<void> {
  const fail = (error: unknown): never => {
    console.error(`${name}: ${describeError(error)}`);
    process.exit(1);
  };
  // yargs rethrows what a handler throws synchronously, past fail(): catch it here too.
  try {
    await commands(
      yargs(hideBin(process.argv))
        .scriptName(name)
        .usage(`$0 <command>\n\n${description}`)
        .option("log-format", {
          choices: LOG_FORMATS,
          global: true,
          describe:
            "log lines as JSON (files, log shippers) or pretty (people); auto: pretty on a terminal (default: HOSTFLOW_LOG_FORMAT, else auto)",
        })
        .middleware((argv) => {
          if (argv["log-format"] !== undefined) setLogFormat(argv["log-format"]);
        }),
    )
      .demandCommand(1, "name a command")
      .strict()
      .version(projectVersion())
      .fail((message, error, y) => {
        if (error) {
          fail(error);
        } else {
          y.showHelp();
          console.error(`\n${message}`);
        }
        process.exit(1);
      })
      .help()
      .parseAsync();
  } catch (error) {
    fail(error);
  }
}

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
