#!/usr/bin/env -S node --max-semi-space-size=32
// The #! line's option is for throughput: a run allocates a parsed object per record, and a
// 32 MB young generation (V8's default grows to 16 MB) cut the time spent collecting it: the
// 1,000,000-record bench went from 49,310 to 52,879 records/s (medians of 3, BENCHMARKS.md) for
// ~40 MB more peak RSS. `node dist/collector/cli.js` runs without it.
import cron from "node-cron";
import type { Argv } from "yargs";
import { checkEndpoints, reportChecks, runCli } from "../lib/cli.js";
import { ConfigError } from "../lib/config/issues.js";
import { parseDuration } from "../lib/config/units.js";
import { describeError } from "../lib/errors.js";
import { createKafka, kafkaClientConfig } from "../lib/kafka.js";
import { createLogger, type Logger, type LogLevel } from "../lib/log.js";
import { type LoadedCollectorConfig, loadCollectorConfig } from "./config/load.js";
import { startDashboard } from "./dashboard/server.js";
import { HiveStore } from "./hive/store.js";
import { filesReader } from "./hive/warehouse-rows.js";
import { acquireRunLock } from "./lock.js";
import {
  compactPoint,
  formatCompaction,
  formatRetention,
  openCompactor,
  retentionLimits,
} from "./maintain.js";
import { progressReporter } from "./progress.js";
import { fleetReport, formatReport } from "./report.js";
import { CRASH_POINTS, type CrashPoint, type RunSummary, runCollector } from "./run.js";
import { collectorStatus, formatStatus } from "./status.js";

const withConfig = <T>(y: Argv<T>) =>
  y.option("config", {
    alias: "c",
    type: "string",
    demandOption: true,
    describe: "collector config (YAML), e.g. conf/collector.yaml",
  });

/** Config warnings do not stop a command; they are logged. */
function logWarnings(loaded: LoadedCollectorConfig, logger: Logger): LoadedCollectorConfig {
  for (const w of loaded.warnings)
    logger.warn(`${w.file}:${w.line}:${w.column}: ${w.path}: ${w.message}`);
  return loaded;
}

/** Loads the config, opens a Hive session, prints what `work` makes, closes the session. */
async function withStore(
  file: string,
  work: (
    config: LoadedCollectorConfig["config"],
    store: HiveStore,
    logger: Logger,
  ) => Promise<string>,
): Promise<void> {
  const logger = createLogger("hostflow-collector", "warn");
  const { config } = logWarnings(loadCollectorConfig(file), logger);
  const store = await HiveStore.open(config.hive, logger);
  try {
    console.log(await work(config, store, logger));
  } finally {
    await store.close();
  }
}

interface RunArgs {
  maxRecords: number | undefined;
  maxSeconds: number | undefined;
  maxBadRatio: number | undefined;
}

/** One run under the lock; resolves with the summary line. */
async function runOnce(
  args: RunArgs,
  loaded: LoadedCollectorConfig,
  logger: Logger,
): Promise<RunSummary> {
  const { config } = loaded;
  const lock = acquireRunLock(config.run.lock_file, (message) => logger.warn(message));
  const progress = progressReporter(logger, config.run.progress_interval);
  try {
    const crashAt = process.env.HOSTFLOW_CRASH_AT as CrashPoint | undefined;
    const holdAt = process.env.HOSTFLOW_HOLD_AT as CrashPoint | undefined;
    const holdDir = process.env.HOSTFLOW_HOLD_DIR;
    return await runCollector(config, {
      logger,
      maxRecords: args.maxRecords ?? config.run.max_records,
      maxSeconds: args.maxSeconds,
      maxBadRatio: args.maxBadRatio,
      onProgress: progress.update,
      crashAt: crashAt !== undefined && CRASH_POINTS.includes(crashAt) ? crashAt : undefined,
      holdAt:
        holdAt !== undefined && CRASH_POINTS.includes(holdAt) && holdDir !== undefined
          ? { point: holdAt, dir: holdDir }
          : undefined,
    });
  } finally {
    progress.stop();
    lock.release();
  }
}

export function summaryLine(s: RunSummary): string {
  const parts = [
    `${s.records} records`,
    `${s.bad} bad`,
    `${s.loads} loads`,
    `${s.rows} rows`,
    `${s.windows} windows`,
    `${s.seconds.toFixed(1)} s`,
    `${Math.round(s.recordsPerSecond)} records/s`,
    `lag left ${s.lagLeft}`,
  ];
  if (s.gaps > 0) parts.push(`${s.gaps} gaps`);
  if (s.duplicates > 0) parts.push(`${s.duplicates} duplicate ranges`);
  if (s.stringFields > 0) parts.push(`${s.stringFields} string fields skipped`);
  if (s.lostToRetention > 0) parts.push(`${s.lostToRetention} LOST to retention`);
  if (s.stoppedBy !== "end") parts.push(`stopped by ${s.stoppedBy}`);
  return `run done: ${parts.join(", ")}`;
}

await runCli(
  "hostflow-collector",
  "Consumes host samples from Kafka, aggregates them and loads them into Hive, exactly once.",
  (y) =>
    y
      .command(
        "init",
        "create the database, tables and views in Hive (idempotent)",
        (a) => withConfig(a),
        (argv) =>
          withStore(argv.config, async (config, store) => {
            const statements = await store.init();
            return `init: ${statements.length} statements ran; ${config.hive.database} has the collector's tables and views`;
          }),
      )
      .command(
        "run",
        "consume up to the end offsets seen at start, aggregate, load into Hive; exit 0 when done",
        (a) =>
          withConfig(a)
            .option("max-records", { type: "number", describe: "stop after this many records" })
            .option("max-seconds", {
              type: "number",
              describe: "stop consuming after this long (default run.max_duration)",
            })
            .option("max-bad-ratio", {
              type: "number",
              describe:
                "fail, before loading, above this share of bad records (records.max_bad_ratio)",
            })
            .option("schedule", {
              type: "string",
              describe:
                'run on a cron schedule in this process, e.g. "*/5 * * * *" (skips a tick while a run goes on)',
            })
            .check((argv) => {
              const ratio = argv["max-bad-ratio"];
              if (ratio !== undefined && !(ratio >= 0 && ratio <= 1)) {
                throw new Error(`--max-bad-ratio ${ratio}: give a share between 0 and 1`);
              }
              for (const flag of ["max-records", "max-seconds"] as const) {
                const value = argv[flag];
                if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
                  throw new Error(`--${flag} ${value}: give a positive number`);
                }
              }
              if (argv.schedule !== undefined && !cron.validate(argv.schedule)) {
                throw new Error(
                  `--schedule "${argv.schedule}" is not a cron expression (5 or 6 fields)`,
                );
              }
              return true;
            }),
        async (argv) => {
          const loaded = loadCollectorConfig(argv.config);
          const level =
            (process.env.HOSTFLOW_LOG_LEVEL as LogLevel | undefined) ?? loaded.config.run.log_level;
          const logger = createLogger("hostflow-collector", level);
          logWarnings(loaded, logger);
          const args: RunArgs = {
            maxRecords: argv["max-records"],
            maxSeconds: argv["max-seconds"],
            maxBadRatio: argv["max-bad-ratio"],
          };
          if (argv.schedule === undefined) {
            console.log(summaryLine(await runOnce(args, loaded, logger)));
            return;
          }
          await schedule(argv.schedule, args, loaded, logger);
        },
      )
      .command(
        "compact",
        "rewrite day partitions that have many small files into a few large ones (exactly once; the files replaced go after maintenance.compact_grace)",
        (a) =>
          withConfig(a)
            .option("dry-run", {
              type: "boolean",
              describe: "say what would be rewritten, change nothing",
            })
            .option("max-files", {
              type: "number",
              describe:
                "compact a table's day partition above this many files (default maintenance.compact_max_files)",
            })
            .option("grace", {
              type: "string",
              describe:
                "delete replaced files this long after (default maintenance.compact_grace, e.g. 10m; 0s: now)",
            })
            .check((argv) => {
              if (argv.grace !== undefined && parseDuration(argv.grace) === undefined) {
                throw new Error(`--grace ${argv.grace}: give a duration such as 10m or 0s`);
              }
              const max = argv["max-files"];
              if (max !== undefined && !(Number.isInteger(max) && max >= 1)) {
                throw new Error(`--max-files ${max}: give a whole number from 1`);
              }
              return true;
            }),
        (argv) =>
          withStore(argv.config, async (config, store, logger) => {
            const compactor = openCompactor(config, store, logger);
            const at = compactPoint();
            return formatCompaction(
              await compactor.compact({
                maxFiles: argv["max-files"] ?? config.maintenance.compact_max_files,
                graceMs:
                  argv.grace === undefined
                    ? config.maintenance.compact_grace
                    : (parseDuration(argv.grace) as number),
                dryRun: argv["dry-run"] === true,
                ...(at ? { at } : {}),
              }),
            );
          }),
      )
      .command(
        "retention",
        "drop the day partitions older than maintenance.retention (per table) and delete their files; trim loads and streams to match",
        (a) =>
          withConfig(a).option("dry-run", {
            type: "boolean",
            describe: "list what would go, change nothing",
          }),
        (argv) =>
          withStore(argv.config, async (config, store, logger) => {
            const limits = retentionLimits(config);
            if (Object.keys(limits).length === 0) {
              return "retention: maintenance.retention sets no limit: every partition is kept";
            }
            const compactor = openCompactor(config, store, logger);
            return formatRetention(
              await compactor.retain(limits, config.gaps.state_days, {
                dryRun: argv["dry-run"] === true,
                graceMs: config.maintenance.compact_grace,
              }),
            );
          }),
      )
      .command(
        "status",
        "per partition: end offset, offset loaded in Hive, lag, last load time",
        (a) => withConfig(a),
        (argv) =>
          withStore(argv.config, async (config, store, logger) => {
            const kafka = createKafka(
              await kafkaClientConfig(config.kafka, { retries: 2 }),
              logger,
            );
            const from = filesReader(config.hive, store) ?? store;
            return formatStatus(await collectorStatus(config, from, kafka), Date.now());
          }),
      )
      .command(
        "report",
        "fleet health from Hive: latest CPU, memory, fullest disk per host, hosts over thresholds or silent, recent gaps",
        (a) => withConfig(a),
        (argv) =>
          withStore(argv.config, async (config, store) =>
            formatReport(
              await fleetReport(config, store, Date.now(), filesReader(config.hive, store)),
              config.report,
            ),
          ),
      )
      .command(
        "dashboard",
        "serve the fleet-health dashboard from Hive, and live from Kafka (loopback by default); Ctrl-C stops it",
        (a) =>
          withConfig(a)
            .option("port", {
              type: "number",
              describe: "port (default dashboard.port, 8080; 0: any free one)",
            })
            .option("host", {
              type: "string",
              describe: "address to listen on (default dashboard.host, 127.0.0.1)",
            }),
        async (argv) => {
          const logger = createLogger("hostflow-collector", "info");
          const { config } = logWarnings(loadCollectorConfig(argv.config), logger);
          const dashboard = await startDashboard(config, logger, {
            host: argv.host ?? config.dashboard.host,
            port: argv.port ?? config.dashboard.port,
          });
          const live = dashboard.live
            ? `; live from Kafka: ${config.kafka.topics.join(", ")} as group ${dashboard.live.groupId}`
            : "";
          console.log(
            `dashboard: ${dashboard.url} (Hive ${config.hive.host}:${config.hive.port}, database ${config.hive.database}${live})`,
          );
          await new Promise<void>((resolve) => {
            process.once("SIGINT", resolve);
            process.once("SIGTERM", resolve);
          });
          await dashboard.close();
        },
      )
      .command(
        "validate",
        "check a config file; print every problem with file:line:column (exit 1 on errors)",
        (a) => withConfig(a),
        (argv) => {
          try {
            const { file, warnings } = loadCollectorConfig(argv.config);
            for (const w of warnings)
              console.log(`warning: ${w.file}:${w.line}:${w.column}: ${w.path}: ${w.message}`);
            console.log(`${file}: valid`);
          } catch (error) {
            if (!(error instanceof ConfigError)) throw error;
            console.error(error.formatIssues());
            process.exit(1);
          }
        },
      )
      .command(
        "check",
        "ask Kafka (KAFKA_BROKERS) for its metadata and HiveServer2 (HIVE_HOST, HIVE_PORT) to run SELECT 1",
        () => undefined,
        async () => reportChecks(await checkEndpoints(undefined, { kafka: true, hive: true })),
      ),
);

/** In-process scheduling: a tick that comes while a run goes on is skipped, and logged. */
async function schedule(
  expression: string,
  args: RunArgs,
  loaded: LoadedCollectorConfig,
  logger: Logger,
): Promise<void> {
  let running = false;
  const task = cron.schedule(expression, async () => {
    if (running) {
      logger.warn("the previous run still goes on: this tick is skipped");
      return;
    }
    running = true;
    try {
      logger.info(summaryLine(await runOnce(args, loaded, logger)));
    } catch (error) {
      logger.error(`run failed: ${describeError(error)}`);
    } finally {
      running = false;
    }
  });
  logger.info(`scheduled: "${expression}"; Ctrl-C or SIGTERM stops after the run in progress`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      task.stop();
      const wait = setInterval(() => {
        if (!running) {
          clearInterval(wait);
          resolve();
        }
      }, 200);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
