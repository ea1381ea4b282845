/**
 * Freshness on the dashboard: `/api/fleet` polled every few seconds, each host's last sample
 * time noted when it changes; a sample is on the dashboard from the first poll whose last
 * sample time for its host is at or after its timestamp.
 *
 * The dashboard's live tail (collector/dashboard/live-tail.ts) marks each host of /api/fleet
 * with `source`: "live" when its latest sample came from Kafka, "loaded" when from Hive; its
 * `lastSeen` is then the newer of the two (merge.ts). Without a `source` on the hosts (a
 * dashboard without the live tail, `dashboard.live: false`), the bench reports "not measured"
 * after the first answer that lists hosts and stops polling (--dashboard-force measures the
 * Hive-backed page instead).
 */
import { Histogram } from "./stats.js";

/** Where a host's last sample time may be, in order. lastSeen is today's (Hive-backed) field. */
export const LAST_SAMPLE_FIELDS = ["lastSample", "lastSampleAt", "lastSampleTs", "lastSeen"];

export function lastSampleOf(host: Record<string, unknown>): number | undefined {
  for (const name of LAST_SAMPLE_FIELDS) {
    const value = host[name];
    if (typeof value === "number" && Number.isFinite(value)) return value;
    if (typeof value === "string" && !Number.isNaN(Date.parse(value))) return Date.parse(value);
  }
  return undefined;
}

export type DashboardMode = "waiting" | "live" | "hive" | "not live";

export function dashboardWatcher(url: string, force: boolean) {
  /** host → [seen at, last sample time] each time the last sample time changed. */
  const changes = new Map<string, Array<[number, number]>>();
  let mode: DashboardMode = "waiting";
  let polls = 0;
  let pollMs = 0;
  let firstPollAt = Number.NaN;
  let lastPollAt = Number.NaN;
  let lastError: string | undefined;
  let liveHosts = 0;
  /** The fields of a host in the first answer that listed hosts: what the API offers. */
  let hostFields: string[] = [];
  return {
    changes,
    mode: () => mode,
    /** Whether it is worth polling on. */
    active: () => mode === "waiting" || mode === "live" || mode === "hive",
    async poll(): Promise<void> {
      const started = Date.now();
      let body: { hosts?: Array<Record<string, unknown>> };
      try {
        const response = await fetch(`${url}/api/fleet`, { signal: AbortSignal.timeout(60_000) });
        if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
        body = (await response.json()) as typeof body;
        lastError = undefined;
      } catch (error) {
        lastError = (error as Error).message;
        return;
      }
      const seenAt = Date.now();
      const hosts = body.hosts ?? [];
      if (mode === "waiting" && hosts.length > 0) {
        hostFields = Object.keys(hosts[0] ?? {});
        const live = hosts.some((h) => h.source === "live" || h.source === "loaded");
        const timed = hosts.some((h) => lastSampleOf(h) !== undefined);
        mode = live && timed ? "live" : force && timed ? "hive" : "not live";
      }
      if (mode !== "live" && mode !== "hive") return;
      if (Number.isNaN(firstPollAt)) firstPollAt = seenAt;
      lastPollAt = seenAt;
      polls += 1;
      pollMs += seenAt - started;
      liveHosts = hosts.filter((h) => h.source === "live").length;
      for (const h of hosts) {
        const name = typeof h.host === "string" ? h.host : undefined;
        const last = lastSampleOf(h);
        if (name === undefined || last === undefined) continue;
        const list = changes.get(name);
        if (list === undefined) changes.set(name, [[seenAt, last]]);
        else if ((list[list.length - 1] as [number, number])[1] !== last) list.push([seenAt, last]);
      }
    },
    /**
     * Freshness of every cpu sample (one per host and cycle) whose timestamp lies within the
     * polled span: seconds from the timestamp to the first poll showing it.
     */
    freshness(
      cpuTimes: Map<string, number[]>,
      cpuSent: Map<string, number[]>,
    ): { all: Histogram; fromKafka: Histogram; unseen: number } {
      const all = new Histogram();
      const fromKafka = new Histogram();
      let unseen = 0;
      for (const [host, times] of cpuTimes) {
        const list = changes.get(host) ?? [];
        const sent = cpuSent.get(host) ?? [];
        const samples = times.map((ts, i) => [ts, sent[i] ?? Number.NaN] as const);
        // Both in time order: one walk per host.
        let at = 0;
        for (const [ts, sentAt] of samples.sort((a, b) => a[0] - b[0])) {
          if (!(ts >= firstPollAt && ts < lastPollAt - 60_000)) continue;
          while (at < list.length && (list[at] as [number, number])[1] < ts) at += 1;
          const first = list[at];
          if (first === undefined) unseen += 1;
          else {
            all.add((first[0] - ts) / 1000);
            if (Number.isFinite(sentAt)) fromKafka.add((first[0] - sentAt) / 1000);
          }
        }
      }
      return { all, fromKafka, unseen };
    },
    stats: () => ({
      polls,
      averageMs: polls > 0 ? pollMs / polls : Number.NaN,
      lastError,
      liveHosts,
      hostFields,
    }),
  };
}

export type DashboardWatcher = ReturnType<typeof dashboardWatcher>;
