#!/usr/bin/env -S node --max-semi-space-size=1 --lite-mode
// The #! line's options are for the agent's memory, measured by `npm run bench -- footprint`: a
// 1 MB young generation (V8 grows it to 16 MB at a 1 s sample interval, ~15 MB of RSS for
// nothing) and V8's lite mode (no optimizing compiler: ~9 MB less RSS; the agent idles 99 % of
// its time and spent no more CPU per cycle). `node dist/agent/cli.js` runs without them.
import { parseArgs } from "node:util";
import { describeError } from "../lib/errors.js";
import { LOG_FORMATS, type LogFormat, setLogFormat } from "../lib/log.js";
import type { RunOptions } from "./main.js";

// Each command imports what it uses when it runs: `run` never loads the Hive client, the schema
// printer, or (without a kafka sink) the Kafka client.

const NAME = "hostflow-agent";

/**
 * `run` with well-formed options goes straight to the agent: yargs and its help formatting
 * (~10 MB of RSS for the agent's whole life, bench footprint) are loaded only for anything else
 * — other commands, --help, and any option `run` does not know, which yargs then reports.
 */
function plainRun(argv: readonly string[]): RunOptions | undefined {
  if (argv[0] !== "run") return undefined;
  try {
    const { values } = parseArgs({
      args: argv.slice(1),
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string", short: "c" },
        name: { type: "string", short: "n" },
        "dry-run": { type: "boolean" },
        once: { type: "boolean" },
        "log-format": { type: "string" },
      },
    });
    if (values.config === undefined || (values["dry-run"] && values.once)) return undefined;
    const format = values["log-format"];
    if (format !== undefined) {
      // An unknown format goes to yargs, which names the choices.
      if (!(LOG_FORMATS as readonly string[]).includes(format)) return undefined;
      setLogFormat(format as LogFormat);
    }
    return {
      config: values.config,
      name: values.name,
      dryRun: values["dry-run"] ?? false,
      once: values.once ?? false,
    };
  } catch {
    return undefined;
  }
}

const plain = plainRun(process.argv.slice(2));
if (plain !== undefined) {
  try {
    const { runAgent } = await import("./main.js");
    await runAgent(plain);
  } catch (error) {
    // As runCli reports a failure: one line, exit 1.
    console.error(`${NAME}: ${describeError(error)}`);
    process.exit(1);
  }
} else {
  await withYargs();
}

async function withYargs(): Promise<void> {
  const { runCli } = await import("../lib/cli.js");

  const configOption = {
    alias: "c",
    type: "string",
    demandOption: true,
    describe: "the flow config (YAML)",
  } as const;

  await runCli(
    NAME,
    "Samples this host's health and produces it to Kafka, following a YAML flow config\n(sources → channels → sinks). Config reference: docs/agent-config.md",
    (y) =>
      y
        .command(
          "run",
          "run the flows of a config until SIGTERM or SIGINT",
          (c) =>
            c
              .option("config", configOption)
              .option("name", {
                alias: "n",
                type: "string",
                describe: "this agent's id (overrides agent.id)",
              })
              .option("dry-run", {
                type: "boolean",
                default: false,
                describe: "memory channels and stdout instead of Kafka and disk",
              })
              .option("once", {
                type: "boolean",
                default: false,
                describe: "one sample cycle of each polled source, printed; then exit",
              })
              .check((argv) => {
                if (argv["dry-run"] && argv.once)
                  throw new Error("--dry-run and --once exclude each other");
                return true;
              })
              .example("$0 run -c /etc/hostflow/agent.yaml", "")
              .example("$0 run -c conf/agent.yaml --once", "print one sample of this host"),
          async (argv) => {
            const { runAgent } = await import("./main.js");
            await runAgent({
              config: argv.config,
              name: argv.name,
              dryRun: argv["dry-run"],
              once: argv.once,
            });
          },
        )
        .command(
          "validate",
          "check a config: every error with file:line:column, key and hint (exit 1 on errors)",
          (c) => c.option("config", configOption),
          async (argv) => {
            const { loadAgentConfig } = await import("./config/load.js");
            const { formatIssue } = await import("../lib/config/issues.js");
            const { config, warnings } = loadAgentConfig(argv.config);
            for (const warning of warnings) console.log(formatIssue(warning));
            const count = (o: object) => Object.keys(o).length;
            console.log(
              `${argv.config}: ok (agent ${config.agent.id}: ${count(config.sources)} sources, ` +
                `${count(config.channels)} channels, ${count(config.sinks)} sinks, ${count(config.sink_groups)} sink groups)`,
            );
          },
        )
        .command(
          "schema",
          "print the JSON Schema of the flow config (for editors; also conf/agent.schema.json)",
          () => undefined,
          async () => {
            const { formatJson, toEditorSchema } = await import("../lib/config/docs.js");
            const { AgentConfig } = await import("./config/schema.js");
            process.stdout.write(
              formatJson(toEditorSchema(AgentConfig, { title: "hostflow agent flow config" })),
            );
          },
        )
        .command(
          "check",
          "ask the Kafka cluster (KAFKA_BROKERS, default 127.0.0.1:9092) for its metadata",
          () => undefined,
          async () => {
            const { checkEndpoints, reportChecks } = await import("../lib/checks.js");
            reportChecks(await checkEndpoints(undefined, { kafka: true, hive: false }));
          },
        ),
  );
}
