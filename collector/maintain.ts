/**
 * The warehouse's upkeep: compaction (small files into large ones) and retention (old day
 * partitions out), from the `compact` and `retention` commands or after a run
 * (`maintenance.compact_after_run`, `maintenance.retention`). The work is in hive/compact.ts.
 */
import { HostflowError } from "../lib/errors.js";
import type { Logger } from "../lib/log.js";
import type { ResolvedCollectorConfig } from "./config/load.js";
import {
  Compactor,
  type CompactPoint,
  type CompactResult,
  type RetentionLimits,
  type RetentionResult,
} from "./hive/compact.js";
import type { HiveStore } from "./hive/store.js";
import { warehouseFs } from "./hive/warehouse-fs.js";

export function openCompactor(
  config: ResolvedCollectorConfig,
  store: HiveStore,
  logger: Logger,
): Compactor {
  const fs = warehouseFs(config.hive);
  if (fs === undefined) {
    throw new HostflowError(
      "HF_CONFIG_INVALID",
      `compaction and retention work on the warehouse's files, and warehouse_dir ${config.hive.warehouse_dir} is on HDFS without hive.webhdfs_url: set it (the NameNode's http://host:9870, or HttpFS), or use a file:// warehouse_dir`,
      { context: { warehouse_dir: config.hive.warehouse_dir } },
    );
  }
  const compactor = new Compactor(store, config.hive, fs, logger);
  compactor.keepsRaw = config.aggregation.keep_raw;
  return compactor;
}

export function retentionLimits(config: ResolvedCollectorConfig): RetentionLimits {
  const { retention } = config.maintenance;
  const limits: RetentionLimits = {};
  for (const key of ["metrics", "raw", "quarantine", "gaps"] as const) {
    const value = retention[key];
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}

/** After a run that loaded something: what the config asks for. Failures are logged, not thrown. */
export async function maintainAfterRun(
  config: ResolvedCollectorConfig,
  store: HiveStore,
  logger: Logger,
): Promise<void> {
  const limits = retentionLimits(config);
  const { compact_after_run, compact_max_files, compact_grace } = config.maintenance;
  if (!compact_after_run && Object.keys(limits).length === 0) return;
  try {
    const compactor = openCompactor(config, store, logger);
    if (Object.keys(limits).length > 0) {
      const r = await compactor.retain(limits, config.gaps.state_days, { graceMs: compact_grace });
      if (r.busy === undefined && r.dropped.length > 0) logger.info(formatRetention(r));
    }
    if (compact_after_run) {
      const r = await compactor.compact({ maxFiles: compact_max_files, graceMs: compact_grace });
      if (r.busy !== undefined) logger.info(`compaction skipped: ${r.busy}`);
      else if (r.loads > 0 || r.deleted > 0) logger.info(formatCompaction(r));
    }
  } catch (error) {
    logger.warn(
      { error: (error as Error).message },
      `the warehouse's upkeep after the run failed (the load itself is committed; the next run tries again): ${(error as Error).message}`,
    );
  }
}

export function compactPoint(): ((point: CompactPoint) => void) | undefined {
  const at = process.env.HOSTFLOW_CRASH_AT;
  return at === undefined
    ? undefined
    : (point) => {
        if (point === at) process.kill(process.pid, "SIGKILL");
      };
}

export function formatCompaction(r: CompactResult): string {
  if (r.busy !== undefined) return `compact: nothing done: ${r.busy}`;
  const lines = [
    r.dryRun
      ? `compact (dry run): ${r.days.length === 0 ? "no day partition has too many files" : `would rewrite ${r.days.join(", ")} (${r.loads} loads' files)`}`
      : `compact: ${r.days.length === 0 ? "no day partition had too many files" : `rewrote ${r.days.join(", ")}: ${r.loads} loads into ${r.copied} files`}; ${r.deleted} replaced files deleted${r.loadsRewritten ? "; loads rewritten into one file" : ""}`,
    "table                     day          files before (counted/not)   after (counted/not)",
  ];
  const after = new Map(r.after.map((d) => [`${d.table}/${d.day}`, d]));
  for (const d of r.before) {
    const a = after.get(`${d.table}/${d.day}`);
    lines.push(
      `${d.table.padEnd(26)}${d.day.padEnd(13)}${`${d.live}/${d.dead}`.padEnd(29)}${a ? `${a.live}/${a.dead}` : "–"}`,
    );
  }
  return lines.join("\n");
}

export function formatRetention(r: RetentionResult): string {
  if (r.busy !== undefined) return `retention: nothing done: ${r.busy}`;
  const verb = r.dryRun ? "would drop" : "dropped";
  const lines = [
    `retention${r.dryRun ? " (dry run)" : ""}: ${verb} ${r.dropped.length} day partitions`,
    ...r.dropped.map((d) => `  ${d.table} day=${d.day} (${d.files} files)`),
    "kept" in r.loads
      ? `  loads: ${r.loads.kept}`
      : `  loads: ${r.loads.before} rows${r.dryRun ? ", would keep" : " →"} ${r.loads.after}`,
  ];
  return lines.join("\n");
}
