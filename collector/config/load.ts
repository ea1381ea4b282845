import os from "node:os";
import path from "node:path";
import type { Env } from "../../lib/config/interpolate.js";
import type { ConfigIssue } from "../../lib/config/issues.js";
import { checkKafkaConnection } from "../../lib/config/kafka.js";
import {
  type ConfigSpec,
  type LoadedConfig,
  loadConfigFile,
  loadConfigText,
} from "../../lib/config/load.js";
import { isRecord } from "../../lib/config/schema-walk.js";
import { compileConfigSchema } from "../../lib/config/validate.js";
import type { IssueSpec, YamlSource } from "../../lib/config/yaml.js";
import { MAX_LIVE_BUCKETS } from "../dashboard/live-store.js";
import { type CollectorConfig, CollectorConfig as CollectorConfigSchema } from "./schema.js";

/** The collector config once loaded: every default applied, including the lock file's. */
export type ResolvedCollectorConfig = Omit<CollectorConfig, "run" | "hive"> & {
  run: CollectorConfig["run"] & { lock_file: string };
  hive: ResolvedHiveSettings;
};

/** The hive section with the WebHDFS user decided (`auto` is decided by a run: load.ts). */
export type ResolvedHiveSettings = CollectorConfig["hive"] & { webhdfs_user: string };

export type LoadedCollectorConfig = LoadedConfig<ResolvedCollectorConfig>;

const validator = compileConfigSchema(CollectorConfigSchema);
const MIN_WINDOW_MS = 1_000;

const spec: ConfigSpec<CollectorConfig, ResolvedCollectorConfig> = {
  validator,
  check: checkCollectorConfig,
  complete: (config) => ({
    ...config,
    hive: {
      ...config.hive,
      webhdfs_user:
        config.hive.webhdfs_user ??
        nonEmpty(process.env.HADOOP_USER_NAME) ??
        os.userInfo().username,
    },
    run: {
      ...config.run,
      lock_file:
        config.run.lock_file ??
        path.join(os.tmpdir(), `hostflow-collector-${config.kafka.group_id}.lock`),
    },
  }),
};

const nonEmpty = (text: string | undefined) => (text?.trim() ? text.trim() : undefined);

/**
 * Loads conf/collector.yaml: ${VAR} interpolation, the schema (collector/config/schema.ts), the
 * checks below; durations in ms, sizes in bytes, deep-frozen. Throws HF_CONFIG_READ,
 * HF_CONFIG_PARSE or HF_CONFIG_INVALID (every issue at once, with file:line:column).
 */
export function loadCollectorConfig(file: string, env: Env = process.env): LoadedCollectorConfig {
  return loadConfigFile(file, spec, env);
}

export function loadCollectorConfigText(
  text: string,
  file: string,
  env: Env = process.env,
): LoadedCollectorConfig {
  return loadConfigText(text, file, spec, env);
}

/** What the schema cannot say; runs on data that may have schema errors too. */
function checkCollectorConfig(data: unknown, source: YamlSource): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const report = (issue: IssueSpec) => issues.push(source.issue(issue));
  const root = isRecord(data) ? data : {};
  if (isRecord(root.kafka)) checkKafkaConnection(root.kafka, ["kafka"], report);
  const hive = isRecord(root.hive) ? root.hive : {};
  if (hive.password !== undefined && hive.password_file !== undefined) {
    report({
      kind: "conflict",
      path: ["hive"],
      at: "key",
      message: "password and password_file are both given",
      hint: "give one of them",
    });
  }
  if (isRecord(hive.tables)) {
    const seen = new Map<string, string>();
    for (const [key, name] of Object.entries(hive.tables)) {
      if (typeof name !== "string") continue;
      const other = seen.get(name.toLowerCase());
      if (other !== undefined) {
        report({
          kind: "conflict",
          path: ["hive", "tables", key],
          at: "value",
          message: `${JSON.stringify(name)} is also the name of tables.${other}`,
          hint: "give every table its own name (Hive names ignore case)",
        });
      }
      seen.set(name.toLowerCase(), key);
    }
  }
  const windows = isRecord(root.aggregation) ? root.aggregation.windows : undefined;
  if (Array.isArray(windows)) {
    windows.forEach((ms, index) => {
      if (typeof ms !== "number") return;
      const at = ["aggregation", "windows", index];
      if (ms < MIN_WINDOW_MS || ms % MIN_WINDOW_MS !== 0) {
        report({
          kind: "invalid_value",
          path: at,
          at: "value",
          message: `window of ${ms} ms is not a whole number of seconds of at least 1s`,
          hint: "write 1m, 5m, 1h …",
        });
      } else if (windows.indexOf(ms) !== index) {
        report({
          kind: "conflict",
          path: at,
          at: "value",
          message: "this window size is listed twice",
          hint: "list each size once",
        });
      }
    });
  }
  // The default live_window is cut to fit (live-tail.ts); one the config gives must fit.
  const dashboard = isRecord(root.dashboard) ? root.dashboard : {};
  const liveWindow = dashboard.live_window;
  const valid = Array.isArray(windows)
    ? windows.filter((ms): ms is number => typeof ms === "number" && ms >= MIN_WINDOW_MS)
    : [];
  const finest = valid.length > 0 ? Math.min(...valid) : 60_000;
  if (
    typeof liveWindow === "number" &&
    dashboard.live !== false &&
    source.has(["dashboard", "live_window"])
  ) {
    const buckets = liveWindow / finest;
    if (buckets < 1 || buckets > MAX_LIVE_BUCKETS) {
      report({
        kind: "invalid_value",
        path: ["dashboard", "live_window"],
        at: "value",
        message: `${liveWindow} ms holds ${buckets < 1 ? "less than one" : `more than ${MAX_LIVE_BUCKETS}`} of the finest aggregation window (${finest} ms)`,
        hint: "the live tail keeps one bucket per finest window: e.g. 10m with windows [1m, 1h]",
      });
    }
  }
  return issues;
}
