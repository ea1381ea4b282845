import yargs, { type Argv } from "yargs";
import { hideBin } from "yargs/helpers";
import { describeError } from "./errors.js";
import { LOG_FORMATS, setLogFormat } from "./log.js";
import { projectVersion } from "./project.js";

// The endpoint checks live in ./checks.js and load their clients only when they run; a CLI that
// does not check imports them from there (the agent never loads the Hive client).
export { type CheckResult, checkEndpoints, reportChecks } from "./checks.js";

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
