/**
 * What the dashboard shows, from Hive (and Kafka for the lag): the fleet with each host's worst
 * signal, one host's time series, and how fresh the data is. Every answer comes through a short
 * cache shared by all open pages, and the Hive statements run one at a time on one session, so
 * that a hundred open pages cost HiveServer2 what one does.
 */
import type { Kafka } from "kafkajs";
import { HostflowError, isHostflowError } from "../../lib/errors.js";
import { createKafka, kafkaClientConfig } from "../../lib/kafka.js";
import type { Logger } from "../../lib/log.js";
import type { ResolvedCollectorConfig } from "../config/load.js";
import { HiveStore } from "../hive/store.js";
import { fleetReport, type HostHealth, type RecentGap } from "../report.js";
import { collectorStatus } from "../status.js";

export const RANGES = { hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 } as const;
export type Range = keyof typeof RANGES;

/** Worst first: the colour of a host's tile. A silent host's last readings are stale, so silent
 * wins over them. */
export type HostStatus = "silent" | "critical" | "warning" | "ok";

export interface FleetHost extends HostHealth {
  status: HostStatus;
}

export interface FleetView {
  generatedAt: number;
  lastLoadAt: number | undefined;
  thresholds: ResolvedCollectorConfig["report"];
  refreshMs: number;
  hosts: FleetHost[];
  recentGaps: RecentGap[];
}

export interface StatusView {
  lastLoadAt: number | undefined;
  /** Records in Kafka not yet in Hive; undefined when Kafka did not answer. */
  lag: number | undefined;
  kafkaError: string | undefined;
  partitions: number;
}

export interface Chart {
  id: "cpu" | "mem" | "disk" | "diskio" | "net";
  title: string;
  unit: "%" | "B/s";
  series: Array<{ label: string; points: Array<[number, number]> }>;
}

export interface SeriesView {
  host: string;
  range: Range;
  windowSeconds: number;
  from: number;
  to: number;
  charts: Chart[];
}

/** A share of a threshold from which a signal counts as a warning. */
const NEAR = 0.9;
/** Points a chart should have at least before a coarser window is used. */
const MIN_POINTS = 60;
const HOST_NAME = /^[A-Za-z0-9._:-]{1,253}$/;

export function hostStatus(h: HostHealth, t: ResolvedCollectorConfig["report"]): HostStatus {
  const over = (value: number | undefined, limit: number) => value !== undefined && value > limit;
  const cpu = h.cpuPercent;
  const mem = h.memPercent;
  const disk = h.fullestDisk?.usedPercent;
  if (h.silent) return "silent";
  if (over(cpu, t.cpu_percent) || over(mem, t.mem_percent) || over(disk, t.disk_percent))
    return "critical";
  const near =
    over(cpu, NEAR * t.cpu_percent) ||
    over(mem, NEAR * t.mem_percent) ||
    over(disk, NEAR * t.disk_percent);
  return near || h.gaps > 0 ? "warning" : "ok";
}

/**
 * The window size for a range: the coarsest configured window that still gives MIN_POINTS,
 * else the finest (with windows 1m and 1h: hour and day by minute, week by hour).
 */
export function windowFor(range: Range, windows: readonly number[]): number {
  const sorted = [...windows].sort((a, b) => a - b);
  const fit = sorted.filter((w) => RANGES[range] / w >= MIN_POINTS);
  return (fit.at(-1) ?? sorted[0]) as number;
}

export function checkHostName(host: string): string {
  if (!HOST_NAME.test(host))
    throw new HostflowError(
      "HF_DASHBOARD_REQUEST",
      `host "${host.slice(0, 80)}": not a host name (letters, digits, . _ : -)`,
    );
  return host;
}

export function checkRange(range: string | null): Range {
  const value = range ?? "hour";
  if (!(value in RANGES))
    throw new HostflowError(
      "HF_DASHBOARD_REQUEST",
      `range "${value.slice(0, 40)}": use one of ${Object.keys(RANGES).join(", ")}`,
    );
  return value as Range;
}

interface Entry<T> {
  at: number;
  value: Promise<T>;
}

/** Answers kept `ttlMs`; concurrent askers share one pending load; failures are not kept. */
export class TtlCache {
  readonly #entries = new Map<string, Entry<unknown>>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    const entry = this.#entries.get(key) as Entry<T> | undefined;
    if (entry !== undefined && this.now() - entry.at < this.ttlMs) return entry.value;
    const value = load();
    this.#entries.set(key, { at: this.now(), value });
    value.catch(() => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    });
    // Bounded: a page per host and range at most, but never more than a few hundred.
    if (this.#entries.size > 500) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return value;
  }
}

/** The dashboard's data: one Hive session opened on demand, reopened after it failed. */
export class DashboardData {
  readonly #cache: TtlCache;
  #store: Promise<HiveStore> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #kafka: Promise<Kafka> | undefined;
  /** Statements sent to Hive: what the cache saves is visible in tests and /health. */
  hiveCalls = 0;

  constructor(
    private readonly config: ResolvedCollectorConfig,
    private readonly logger: Logger,
  ) {
    this.#cache = new TtlCache(config.dashboard.cache_ttl);
  }

  fleet(): Promise<FleetView> {
    return this.#cache.get("fleet", () =>
      this.#hive(async (store) => {
        const report = await fleetReport(this.config, store, Date.now());
        this.hiveCalls += 3;
        const hosts = report.hosts.map((h) => ({
          ...h,
          status: hostStatus(h, this.config.report),
        }));
        return {
          generatedAt: report.generatedAt,
          lastLoadAt: report.lastLoadAt,
          thresholds: this.config.report,
          refreshMs: this.config.dashboard.refresh,
          hosts,
          recentGaps: report.recentGaps,
        };
      }),
    );
  }

  status(): Promise<StatusView> {
    return this.#cache.get("status", async () => {
      const fleet = await this.fleet();
      try {
        this.#kafka ??= kafkaClientConfig(this.config.kafka, { retries: 1 }).then((c) =>
          createKafka(c),
        );
        const kafka = await this.#kafka;
        const partitions = await this.#hive((store) => {
          this.hiveCalls++;
          return collectorStatus(this.config, store, kafka);
        });
        const lag = partitions.reduce((sum, p) => sum + Math.max(0, p.lag), 0);
        return {
          lastLoadAt: fleet.lastLoadAt,
          lag,
          kafkaError: undefined,
          partitions: partitions.length,
        };
      } catch (error) {
        if (isHostflowError(error) && error.code.startsWith("HF_HIVE_")) throw error;
        return {
          lastLoadAt: fleet.lastLoadAt,
          lag: undefined,
          kafkaError: (error as Error).message,
          partitions: 0,
        };
      }
    });
  }

  series(host: string, range: Range): Promise<SeriesView> {
    checkHostName(host);
    return this.#cache.get(`series ${range} ${host}`, () =>
      this.#hive(async (store) => {
        const to = Date.now();
        const from = to - RANGES[range];
        const window = windowFor(range, this.config.aggregation.windows);
        this.hiveCalls++;
        const { rows } = await store.query<SeriesRow>(
          seriesQuery(this.config, host, window, from, to),
        );
        return { host, range, windowSeconds: window / 1000, from, to, charts: charts(rows) };
      }),
    );
  }

  async close(): Promise<void> {
    const store = this.#store;
    this.#store = undefined;
    await store?.then((s) => s.close()).catch(() => undefined);
  }

  /** Runs `work` after every earlier Hive statement: the store has one session. */
  #hive<T>(work: (store: HiveStore) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      this.#store ??= HiveStore.open(this.config.hive, this.logger);
      const opening = this.#store;
      try {
        return await work(await opening);
      } catch (error) {
        if (isHostflowError(error) && error.code !== "HF_HIVE_QUERY") {
          // A session that failed is not trusted again: the next request opens a new one.
          if (this.#store === opening) this.#store = undefined;
          await opening.then((s) => s.close()).catch(() => undefined);
        }
        throw error;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

interface SeriesRow extends Record<string, unknown> {
  measurement: string;
  tags: string;
  field: string;
  window_start: number;
  average: number;
  last_val: number;
  last_ts: number;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The fields the charts use, for one host, one window size and a time range. */
export function seriesQuery(
  config: ResolvedCollectorConfig,
  host: string,
  windowMs: number,
  from: number,
  to: number,
): string {
  const db = config.hive.database;
  const wanted = [
    "(measurement = 'cpu' AND field = 'usage_idle')",
    "(measurement = 'mem' AND field = 'used_percent')",
    "(measurement = 'disk' AND field = 'used_percent')",
    "(measurement = 'diskio' AND field IN ('read_bytes', 'write_bytes'))",
    "(measurement = 'net' AND field IN ('bytes_recv', 'bytes_sent'))",
  ].join(" OR ");
  return (
    `SELECT measurement, tags, field, window_start, average, last_val, last_ts ` +
    `FROM ${db}.${config.hive.tables.metrics} ` +
    `WHERE host = '${checkHostName(host)}' AND day >= '${day(from)}' AND day <= '${day(to)}' ` +
    `AND window_seconds = ${windowMs / 1000} AND window_start >= ${from} AND window_start <= ${to} ` +
    `AND (${wanted}) ORDER BY window_start`
  );
}

function tag(tags: string, name: string): string | undefined {
  try {
    const value = (JSON.parse(tags) as Record<string, unknown>)[name];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Rows to charts: CPU used (100 − idle of cpu-total), memory and disk used percent averaged per
 * window; disk I/O and network as bytes per second between the counters' last values of
 * consecutive windows (a counter that went down, a reboot, gives no point).
 */
export function charts(rows: readonly SeriesRow[]): Chart[] {
  const by = new Map<string, Array<[number, number]>>();
  const counters = new Map<string, Array<{ t: number; v: number; ts: number }>>();
  const add = (key: string, t: number, v: number) => {
    const points = by.get(key) ?? [];
    points.push([t, v]);
    by.set(key, points);
  };
  for (const r of rows) {
    const t = Number(r.window_start);
    if (r.measurement === "cpu") {
      if (tag(r.tags, "cpu") === "cpu-total") add("cpu|used", t, 100 - Number(r.average));
    } else if (r.measurement === "mem") {
      add("mem|used", t, Number(r.average));
    } else if (r.measurement === "disk") {
      add(`disk|${tag(r.tags, "path") ?? "?"}`, t, Number(r.average));
    } else {
      const device = tag(r.tags, r.measurement === "net" ? "interface" : "name") ?? "?";
      const label = r.field.replace("_bytes", "").replace("bytes_", "");
      const key = `${r.measurement}|${device} ${label}`;
      const list = counters.get(key) ?? [];
      list.push({ t, v: Number(r.last_val), ts: Number(r.last_ts) });
      counters.set(key, list);
    }
  }
  for (const [key, list] of counters) {
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1] as { v: number; ts: number };
      const b = list[i] as { t: number; v: number; ts: number };
      if (b.v >= a.v && b.ts > a.ts) add(key, b.t, ((b.v - a.v) * 1000) / (b.ts - a.ts));
    }
  }
  const chart = (id: Chart["id"], title: string, unit: Chart["unit"]): Chart => ({
    id,
    title,
    unit,
    series: [...by]
      .filter(([key]) => key.startsWith(`${id}|`))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, points]) => ({ label: key.slice(id.length + 1), points })),
  });
  return [
    chart("cpu", "CPU used", "%"),
    chart("mem", "Memory used", "%"),
    chart("disk", "Disk used", "%"),
    chart("diskio", "Disk I/O", "B/s"),
    chart("net", "Network", "B/s"),
  ];
}
