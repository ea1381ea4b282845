/**
 * Hive's history and the live tail's last minutes, merged: for each host, what is newer than
 * what Hive has loaded comes from the live tail, and every host and chart says which it is.
 */
import type { ReportSettingsConfig } from "../config/schema.js";
import { type HostHealth, hostFlags } from "../report.js";
import type { WindowRow } from "./fields.js";
import type { LiveHost } from "./live-store.js";

/** `live`: read from Kafka by the dashboard itself; `loaded`: from Hive, loaded by the collector. */
export type Source = "live" | "loaded";

export interface MergedHost extends HostHealth {
  source: Source;
  /** Epoch ms of the host's latest sample in Hive; absent when Hive has none (or did not answer). */
  loadedLastSeen?: number;
  /** Epoch ms of the host's latest sample read from Kafka; absent when none is in the live window. */
  liveLastSeen?: number;
  /** Epoch ms (the dashboard's clock) when that sample was read. */
  liveReceivedAt?: number;
}

/**
 * One entry per host of either side, by name. A host whose latest live sample is newer than its
 * latest loaded one shows its live signals (a signal the live window lacks, e.g. a disk sampled
 * every 5 minutes, stays as loaded); silent and flags are judged again as of `now`.
 */
export function mergeHosts(
  loaded: readonly HostHealth[],
  live: readonly LiveHost[],
  thresholds: ReportSettingsConfig,
  now: number,
): MergedHost[] {
  const liveByHost = new Map(live.map((h) => [h.host, h]));
  const merged: MergedHost[] = [];
  const add = (h: HostHealth | undefined, l: LiveHost | undefined) => {
    const isLive = l !== undefined && (h === undefined || l.lastSeen > h.lastSeen);
    const lastSeen = isLive ? l.lastSeen : (h as HostHealth).lastSeen;
    const host: MergedHost = {
      host: (h ?? (l as LiveHost)).host,
      lastSeen,
      cpuPercent: (isLive ? l.cpuPercent : undefined) ?? h?.cpuPercent,
      memPercent: (isLive ? l.memPercent : undefined) ?? h?.memPercent,
      fullestDisk: (isLive ? l.fullestDisk : undefined) ?? h?.fullestDisk,
      silent: now - lastSeen > thresholds.silent_after,
      gaps: h?.gaps ?? 0,
      flags: [],
      source: isLive ? "live" : "loaded",
    };
    if (h !== undefined) host.loadedLastSeen = h.lastSeen;
    if (l !== undefined) {
      host.liveLastSeen = l.lastSeen;
      host.liveReceivedAt = l.receivedAt;
    }
    host.flags = hostFlags(host, thresholds, now);
    merged.push(host);
  };
  for (const h of loaded) {
    add(h, liveByHost.get(h.host));
    liveByHost.delete(h.host);
  }
  for (const l of liveByHost.values()) add(undefined, l);
  return merged.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

export interface MergedRows {
  rows: WindowRow[];
  /** Windows that start at or after this come from the live tail; undefined: none does. */
  liveFrom: number | undefined;
  /** Start of the latest window Hive has for the host in this range. */
  loadedUntil: number | undefined;
}

/**
 * One host's chart rows of one window size. Nothing changes while Hive holds the host's latest
 * sample (the live tail has nothing newer). Otherwise, from the cut on (Hive's latest window,
 * which may hold only part of its samples, or the first window the live tail has whole,
 * whichever is later) a live window replaces the loaded one of the same series and time; a
 * loaded window the live tail lacks stays. Rows come back ordered by window start.
 */
export function mergeRows(
  loaded: readonly WindowRow[],
  live: { rows: readonly WindowRow[]; lastSeen: number } | undefined,
  coverageFrom: number | undefined,
  bucketMs: number,
): MergedRows {
  let loadedUntil: number | undefined;
  let loadedLastTs = Number.NEGATIVE_INFINITY;
  for (const r of loaded) {
    if (loadedUntil === undefined || r.window_start > loadedUntil) loadedUntil = r.window_start;
    if (r.last_ts > loadedLastTs) loadedLastTs = r.last_ts;
  }
  const unchanged = { rows: [...loaded], liveFrom: undefined, loadedUntil };
  if (coverageFrom === undefined || live === undefined || live.lastSeen <= loadedLastTs)
    return unchanged;
  const cut = Math.max(
    loadedUntil ?? Number.NEGATIVE_INFINITY,
    Math.ceil(coverageFrom / bucketMs) * bucketMs,
  );
  const key = (r: WindowRow) => `${r.measurement}\0${r.tags}\0${r.field}\0${r.window_start}`;
  const used = live.rows.filter((r) => r.window_start >= cut);
  if (used.length === 0) return unchanged;
  const replaced = new Set(used.map(key));
  const rows = [...loaded.filter((r) => !replaced.has(key(r))), ...used].sort(
    (a, b) => a.window_start - b.window_start,
  );
  let liveFrom = Number.POSITIVE_INFINITY;
  for (const r of used) if (r.window_start < liveFrom) liveFrom = r.window_start;
  return { rows, liveFrom, loadedUntil };
}
