/**
 * The fleet-health report: per host the latest CPU, memory and fullest-disk readings, whether it
 * went silent, and the sequence gaps of its agent; then the recent gaps themselves.
 *
 * `fleetReport` gathers the data (three Hive statements, whatever the fleet's size) and
 * `formatReport` turns it into text, so that a dashboard can reuse the first.
 */

import type { ResolvedCollectorConfig } from "./config/load.js";
import type { ReportSettingsConfig } from "./config/schema.js";
import type { HiveStore } from "./hive/store.js";
import { NOT_A_COPY } from "./hive/tables.js";
import type { WarehouseRows } from "./hive/warehouse-rows.js";
import { formatAgo, formatDuration, formatTable } from "./table-format.js";

export interface HostHealth {
  host: string;
  /** Epoch ms of the host's latest sample (any measurement). */
  lastSeen: number;
  /** 100 - usage_idle of cpu-total, averaged over the latest window. */
  cpuPercent: number | undefined;
  /** mem used_percent, averaged over the latest window. */
  memPercent: number | undefined;
  /** The disk with the highest used_percent in its latest window. */
  fullestDisk: { path: string; usedPercent: number } | undefined;
  silent: boolean;
  /** Rows of kind "gap" detected within report.gaps_since. */
  gaps: number;
  /** What is wrong, in words: "cpu 97.1% > 90%", "silent 12 min", "3 gaps"; empty when healthy. */
  flags: string[];
}

export interface RecentGap {
  agentId: string;
  host: string;
  /** For kind "retention": Kafka offsets rather than sequence numbers. */
  fromSeq: number;
  toSeq: number;
  missing: number;
  detectedAt: number;
  kind: string;
}

export interface FleetReport {
  generatedAt: number;
  /** Every host with a sample in the days looked at, by host name. */
  hosts: HostHealth[];
  /** Newest first, at most RECENT_GAPS_LIMIT. */
  recentGaps: RecentGap[];
  /** Epoch ms of the latest load of any group; undefined when nothing was ever loaded. */
  lastLoadAt: number | undefined;
}

/** Recent gaps listed (the per-host counts include them all). */
export const RECENT_GAPS_LIMIT = 100;

const DAY_MS = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The one value of each signal a host reports, as the metrics query classifies its rows. */
type Signal = "cpu" | "mem" | "disk" | "other";

interface SignalRow extends Record<string, unknown> {
  host: string;
  sig: Signal;
  val: number;
  tags: string;
  last_seen: number;
}

interface GapQueryRow extends Record<string, unknown> {
  kind: string;
  agent_id: string;
  host: string;
  from_seq: number;
  to_seq: number;
  missing: number;
  detected_at: number;
  host_gaps: number;
  overall_rank: number;
}

export async function fleetReport(
  config: ResolvedCollectorConfig,
  store: HiveStore,
  now: number,
  fromFiles?: Pick<WarehouseRows, "lastLoadAt">,
): Promise<FleetReport> {
  const thresholds = config.report;
  // One after the other: the store has one session, and its reconnect-and-retry would cut off
  // a statement running beside the one that failed.
  const signals = await store.query<SignalRow>(signalQuery(config, store.database, now));
  const gaps = await store.query<GapQueryRow>(gapQuery(config, store.database, now));
  // From `loads`' files when the collector can read them: no Tez job.
  const lastLoad = fromFiles
    ? await fromFiles.lastLoadAt()
    : (
        await store.query<{ last_load: number | null }>(
          `SELECT MAX(loaded_at) AS last_load FROM ${store.database}.${store.specs.loads.name} WHERE ${NOT_A_COPY}`,
        )
      ).rows[0]?.last_load;

  const gapsByHost = new Map<string, number>();
  for (const g of gaps.rows) gapsByHost.set(g.host, Number(g.host_gaps));

  const hosts = new Map<string, HostHealth>();
  for (const row of signals.rows) {
    let health = hosts.get(row.host);
    if (health === undefined) {
      const lastSeen = Number(row.last_seen);
      health = {
        host: row.host,
        lastSeen,
        cpuPercent: undefined,
        memPercent: undefined,
        fullestDisk: undefined,
        silent: now - lastSeen > thresholds.silent_after,
        gaps: gapsByHost.get(row.host) ?? 0,
        flags: [],
      };
      hosts.set(row.host, health);
    }
    if (row.sig === "cpu") health.cpuPercent = row.val;
    else if (row.sig === "mem") health.memPercent = row.val;
    else if (row.sig === "disk")
      health.fullestDisk = { path: diskPath(row.tags), usedPercent: row.val };
  }
  for (const health of hosts.values()) health.flags = hostFlags(health, thresholds, now);

  return {
    generatedAt: now,
    hosts: [...hosts.values()].sort((a, b) => compareText(a.host, b.host)),
    recentGaps: gaps.rows
      .filter((g) => Number(g.overall_rank) <= RECENT_GAPS_LIMIT)
      .sort((a, b) => Number(a.overall_rank) - Number(b.overall_rank))
      .map((g) => ({
        agentId: g.agent_id,
        host: g.host,
        fromSeq: Number(g.from_seq),
        toSeq: Number(g.to_seq),
        missing: Number(g.missing),
        detectedAt: Number(g.detected_at),
        kind: g.kind,
      })),
    lastLoadAt: lastLoad === null || lastLoad === undefined ? undefined : Number(lastLoad),
  };
}

/**
 * One row per host and signal: cpu, mem, the fullest disk, and "other" (so that a host that
 * reports none of the three still has its row, and its last_seen).
 *
 * Each series (host, measurement, tags, field) contributes its own latest window of the
 * smallest size rather than the host's latest window overall: inputs sampled at different
 * intervals (disk every 5 minutes, cpu every 10 s) would otherwise leave the disk blank most of
 * the time. A series whose latest window is more than report.silent_after older than the host's
 * latest is left out, so that an unmounted disk does not stay "fullest" for a day.
 */
export function signalQuery(
  config: ResolvedCollectorConfig,
  database: string,
  now: number,
): string {
  const windowSeconds = Math.min(...config.aggregation.windows) / 1000;
  // Partition pruning on `day` (the window's UTC day), far enough back that a silent host is
  // still found. Windows after `now` (an agent's clock ahead) are left out: the report is as of `now`.
  const since = day(now - Math.max(config.report.silent_after, DAY_MS));
  const cpu = `measurement = 'cpu' AND field = 'usage_idle' AND get_json_object(tags, '$.cpu') = 'cpu-total'`;
  const rows =
    `SELECT host, tags, window_start, ` +
    `CASE WHEN ${cpu} THEN 'cpu' WHEN measurement = 'mem' AND field = 'used_percent' THEN 'mem' ` +
    `WHEN measurement = 'disk' AND field = 'used_percent' THEN 'disk' ELSE 'other' END AS sig, ` +
    `CASE WHEN ${cpu} THEN 100 - average ELSE average END AS val, ` +
    `ROW_NUMBER() OVER (PARTITION BY host, measurement, tags, field ORDER BY window_start DESC) AS series_rank, ` +
    `MAX(window_start) OVER (PARTITION BY host) AS host_latest, ` +
    `MAX(last_ts) OVER (PARTITION BY host) AS last_seen ` +
    `FROM ${database}.${config.hive.tables.metrics} ` +
    `WHERE day >= '${since}' AND window_seconds = ${windowSeconds} AND window_start <= ${now}`;
  const latest =
    `SELECT host, sig, val, tags, last_seen, ` +
    `ROW_NUMBER() OVER (PARTITION BY host, sig ORDER BY val DESC, tags) AS sig_rank ` +
    `FROM (${rows}) s WHERE series_rank = 1 AND window_start >= host_latest - ${config.report.silent_after}`;
  return `SELECT host, sig, val, tags, last_seen FROM (${latest}) t WHERE sig_rank = 1`;
}

/**
 * Losses (gaps, and records Kafka's retention deleted before a load) detected within
 * report.gaps_since: every host's first row carries its gap count, and the newest
 * RECENT_GAPS_LIMIT rows are listed. Duplicates lose nothing and are left out.
 */
export function gapQuery(config: ResolvedCollectorConfig, database: string, now: number): string {
  const since = now - config.report.gaps_since;
  const rows =
    `SELECT kind, agent_id, host, from_seq, to_seq, missing, detected_at, ` +
    `SUM(IF(kind = 'gap', 1, 0)) OVER (PARTITION BY host) AS host_gaps, ` +
    `ROW_NUMBER() OVER (PARTITION BY host ORDER BY detected_at DESC, agent_id, from_seq) AS host_rank, ` +
    `ROW_NUMBER() OVER (ORDER BY detected_at DESC, host, agent_id, from_seq) AS overall_rank ` +
    `FROM ${database}.${config.hive.tables.gaps} ` +
    // A gap row's day is the day it was detected (loaded): the same pruning as detected_at.
    `WHERE day >= '${day(since)}' AND detected_at >= ${since} AND detected_at <= ${now} ` +
    `AND kind IN ('gap', 'retention')`;
  return (
    `SELECT kind, agent_id, host, from_seq, to_seq, missing, detected_at, host_gaps, overall_rank ` +
    `FROM (${rows}) g WHERE host_rank = 1 OR overall_rank <= ${RECENT_GAPS_LIMIT}`
  );
}

function diskPath(tags: string): string {
  try {
    const path = (JSON.parse(tags) as Record<string, unknown>).path;
    return typeof path === "string" ? path : tags;
  } catch {
    return tags;
  }
}

const percent = (value: number) => `${value.toFixed(1)}%`;

/** What is wrong with a host, in words: the report's flags, and the dashboard's. */
export function hostFlags(health: HostHealth, t: ReportSettingsConfig, now: number): string[] {
  const flags: string[] = [];
  if (health.cpuPercent !== undefined && health.cpuPercent > t.cpu_percent)
    flags.push(`cpu ${percent(health.cpuPercent)} > ${t.cpu_percent}%`);
  if (health.memPercent !== undefined && health.memPercent > t.mem_percent)
    flags.push(`mem ${percent(health.memPercent)} > ${t.mem_percent}%`);
  const disk = health.fullestDisk;
  if (disk !== undefined && disk.usedPercent > t.disk_percent)
    flags.push(`disk ${disk.path} ${percent(disk.usedPercent)} > ${t.disk_percent}%`);
  if (health.silent) flags.push(`silent ${formatDuration(now - health.lastSeen)}`);
  if (health.gaps > 0) flags.push(`${health.gaps} gap${health.gaps === 1 ? "" : "s"}`);
  return flags;
}

/** Code-point order: the same on every machine, unlike localeCompare. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A header line (hosts, flagged, last load) and the thresholds, the hosts (flagged first, then
 * by name) and the recent gaps.
 */
export function formatReport(report: FleetReport, thresholds: ReportSettingsConfig): string {
  const now = report.generatedAt;
  const flagged = report.hosts.filter((h) => h.flags.length > 0);
  const lines = [
    `Fleet health at ${new Date(now).toISOString().slice(0, 16).replace("T", " ")} UTC: ` +
      `${report.hosts.length} host${report.hosts.length === 1 ? "" : "s"}, ${flagged.length} flagged; ` +
      `last load ${formatAgo(report.lastLoadAt, now)}`,
    `Thresholds: cpu > ${thresholds.cpu_percent}%, mem > ${thresholds.mem_percent}%, ` +
      `disk > ${thresholds.disk_percent}%, silent after ${formatDuration(thresholds.silent_after)}, ` +
      `gaps of the last ${formatDuration(thresholds.gaps_since)}`,
    "",
  ];
  if (report.hosts.length === 0) {
    lines.push("No host has reported lately.");
  } else {
    const ordered = [...flagged, ...report.hosts.filter((h) => h.flags.length === 0)];
    const optional = (value: number | undefined) => (value === undefined ? "-" : value.toFixed(1));
    lines.push(
      formatTable(
        [
          { header: "host" },
          { header: "cpu %", align: "right" },
          { header: "mem %", align: "right" },
          { header: "fullest disk" },
          { header: "last seen" },
          { header: "flags" },
        ],
        ordered.map((h) => [
          h.host,
          optional(h.cpuPercent),
          optional(h.memPercent),
          h.fullestDisk === undefined
            ? "-"
            : `${h.fullestDisk.path} ${percent(h.fullestDisk.usedPercent)}`,
          formatAgo(h.lastSeen, now),
          h.flags.length === 0 ? "ok" : h.flags.join(", "),
        ]),
      ),
    );
  }
  lines.push("");
  const since = formatDuration(thresholds.gaps_since);
  if (report.recentGaps.length === 0) {
    lines.push(`No gaps in the last ${since}.`);
  } else {
    lines.push(`Recent gaps (last ${since}, newest first):`);
    lines.push(
      formatTable(
        [
          { header: "detected" },
          { header: "host" },
          { header: "agent" },
          { header: "kind" },
          { header: "from", align: "right" },
          { header: "to", align: "right" },
          { header: "missing", align: "right" },
        ],
        report.recentGaps.map((g) => [
          formatAgo(g.detectedAt, now),
          g.host === "" ? "-" : g.host,
          g.agentId === "" ? "-" : g.agentId,
          g.kind,
          String(g.fromSeq),
          String(g.toSeq),
          String(g.missing),
        ]),
      ),
    );
  }
  return lines.join("\n");
}
