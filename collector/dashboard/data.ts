/**
 * What the dashboard shows, from Hive (and Kafka for the lag): the fleet with each host's worst
 * signal, one host's time series, and how fresh the data is. Every answer comes through a short
 * cache shared by all open pages, and the Hive statements run one at a time on one session, so
 * that a hundred open pages cost HiveServer2 what one does.
 *
 * With the live tail (dashboard.live), what it read from Kafka is merged over Hive's answer at
 * every request (merge.ts), and Hive's answer is renewed in the background: a page never waits
 * for Hive once it had one answer, and Hive down still leaves the live data to show.
 */
import type { Kafka } from "kafkajs";
import { describeError, HostflowError, isHostflowError } from "../../lib/errors.js";
import { createKafka, kafkaClientConfig } from "../../lib/kafka.js";
import type { Logger } from "../../lib/log.js";
import type { ResolvedCollectorConfig } from "../config/load.js";
import { HiveStore } from "../hive/store.js";
import { tableSpecs } from "../hive/tables.js";
import { filesReader, type WarehouseRows } from "../hive/warehouse-rows.js";
import { type FleetReport, fleetReport, type HostHealth, type RecentGap } from "../report.js";
import { collectorStatus } from "../status.js";
import { chartFieldsSql, type WindowRow } from "./fields.js";
import type { LiveHost, LiveStore } from "./live-store.js";
import type { LiveStatus } from "./live-tail.js";
import { type MergedHost, mergeHosts, mergeRows } from "./merge.js";

export const RANGES = { hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 } as const;
export type Range = keyof typeof RANGES;

/** Worst first: the colour of a host's tile. A silent host's last readings are stale, so silent
 * wins over them. */
export type HostStatus = "silent" | "critical" | "warning" | "ok";

export interface FleetHost extends MergedHost {
  status: HostStatus;
}

/** A failure of HiveServer2 while the live tail still answers. */
export interface HiveFailure {
  code: string;
  message: string;
}

export interface FleetView {
  generatedAt: number;
  lastLoadAt: number | undefined;
  thresholds: ResolvedCollectorConfig["report"];
  refreshMs: number;
  hosts: FleetHost[];
  recentGaps: RecentGap[];
  /** Epoch ms when Hive gave the loaded part (live: it may be up to cache_ttl old, or older when Hive fails). */
  loadedAt?: number;
  /** Hive did not answer: the hosts are what the live tail has (and Hive's last answer, if any). */
  hiveError?: HiveFailure;
  /** Hive's first answer is still on its way: the hosts are the live tail's only. */
  hivePending?: true;
  /** The live tail; absent when dashboard.live is off. */
  live?: LiveStatus;
}

export interface StatusView {
  lastLoadAt: number | undefined;
  /** Records in Kafka not yet in Hive; undefined when Kafka did not answer. */
  lag: number | undefined;
  kafkaError: string | undefined;
  partitions: number;
  /** Live only: Hive did not answer, so the lag is unknown. */
  hiveError?: HiveFailure;
  live?: LiveStatus;
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
  /** Points at or after this time come from the live tail (Kafka), earlier ones from Hive; absent: all from Hive. */
  liveFrom?: number;
  /** Start of the latest window Hive has for the host in this range. */
  loadedUntil?: number;
  hiveError?: HiveFailure;
  hivePending?: true;
}

/** What the dashboard needs of the live tail (live-tail.ts, imported only when live is on). */
export interface LiveSource {
  readonly store: LiveStore;
  status(now: number): LiveStatus;
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

/** The merged hosts with their status (set in place: 10,000 copies cost more than the merge). */
export function fleetHosts(
  loaded: readonly HostHealth[],
  live: readonly LiveHost[],
  thresholds: ResolvedCollectorConfig["report"],
  now: number,
): FleetHost[] {
  const hosts = mergeHosts(loaded, live, thresholds, now) as FleetHost[];
  for (const h of hosts) h.status = hostStatus(h, thresholds);
  return hosts;
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

export interface Answer<T> {
  value?: T;
  /** Epoch ms when `value` was loaded. */
  at?: number;
  /** The last load failed (after `value`, if any, was loaded). */
  error?: unknown;
}

/**
 * The latest answer of `load`, for the live dashboard: once older than `ttl` it is renewed in
 * the background while the old one is still given out, and a failure is kept `ttl` too, so
 * that a Hive that is down is asked once per ttl rather than by every request. Only a caller
 * with nothing to show yet waits for a load, and at most `firstWaitMs` from the first load's
 * start: in all, not per caller.
 */
export class Refreshing<T> {
  #value: { at: number; value: T } | undefined;
  #error: { at: number; error: unknown } | undefined;
  #pending: Promise<void> | undefined;
  /** When the first load began (this.now()): callers wait firstWaitMs from then, in all. */
  #firstSince: number | undefined;

  constructor(
    /** How long an answer is kept: a number of ms, or asked anew at each get. */
    private readonly ttl: number | (() => number),
    private readonly load: () => Promise<T>,
    private readonly firstWaitMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<Answer<T>> {
    const now = this.now();
    const ttl = typeof this.ttl === "number" ? this.ttl : this.ttl();
    const fresh = this.#value !== undefined && now - this.#value.at < ttl;
    const failedLately = this.#error !== undefined && now - this.#error.at < ttl;
    if (!fresh && !failedLately) this.#renew();
    const pending = this.#pending;
    if (this.#value === undefined && this.#error === undefined && pending !== undefined) {
      // Measured from the first load's start: once a page was kept waiting firstWaitMs, later
      // requests answer at once with what there is (the live part), not 10 s each.
      this.#firstSince ??= now;
      const left = this.firstWaitMs - (now - this.#firstSince);
      if (left > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          pending,
          new Promise((resolve) => {
            timer = setTimeout(resolve, left);
          }),
        ]);
        clearTimeout(timer);
      }
    }
    const answer: Answer<T> = {};
    if (this.#value !== undefined) {
      answer.value = this.#value.value;
      answer.at = this.#value.at;
    }
    if (this.#error !== undefined) answer.error = this.#error.error;
    return answer;
  }

  #renew(): void {
    if (this.#pending !== undefined) return;
    this.#pending = this.load().then(
      (value) => {
        this.#value = { at: this.now(), value };
        this.#error = undefined;
      },
      (error: unknown) => {
        this.#error = { at: this.now(), error };
      },
    );
    void this.#pending.finally(() => {
      this.#pending = undefined;
    });
  }
}

/** Live: a page with nothing to show yet waits this long for Hive's first answer. */
const FIRST_HIVE_WAIT_MS = 10_000;
/** Live: the merged fleet is shared by the requests of a quarter second (10,000 hosts: ~20 ms). */
const MERGED_FLEET_MS = 250;
/** Per host and range, a few hundred at most. */
const MAX_SERIES_ENTRIES = 500;

interface LoadedSeries {
  rows: WindowRow[];
  windowMs: number;
}

interface LoadedStatus {
  lag: number | undefined;
  kafkaError: string | undefined;
  partitions: number;
}

const hiveFailure = (error: unknown): HiveFailure => ({
  code: isHostflowError(error) ? error.code : "HF_INTERNAL",
  message: describeError(error),
});

/** The dashboard's data: one Hive session opened on demand, reopened after it failed. */
export class DashboardData {
  readonly #cache: TtlCache;
  #store: Promise<HiveStore> | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #kafka: Promise<Kafka> | undefined;
  readonly #live: LiveSource | undefined;
  readonly #loadedFleet: Refreshing<FleetReport>;
  readonly #loadedStatus: Refreshing<LoadedStatus>;
  readonly #loadedSeries = new Map<string, Refreshing<LoadedSeries>>();
  #merged: { at: number; view: Promise<FleetView> } | undefined;
  /** `loads`' files, when readable: the lag and the last load without a Tez job. */
  readonly #files: WarehouseRows | undefined;
  /** Statements sent to Hive: what the cache saves is visible in tests and /health. */
  hiveCalls = 0;

  constructor(
    private readonly config: ResolvedCollectorConfig,
    private readonly logger: Logger,
    live?: LiveSource,
  ) {
    const ttl = config.dashboard.cache_ttl;
    this.#cache = new TtlCache(ttl);
    this.#live = live;
    this.#files = filesReader(config.hive, {
      database: config.hive.database,
      specs: tableSpecs(config.hive.tables),
    });
    // While the tail is live, every host heard from within live_window is on the page from
    // Kafka: Hive's fleet adds the hosts silent for longer, and the gaps, and is asked every
    // half live_window at most (its queries scan the day's metrics: Tez jobs that took most of
    // HiveServer2's CPU in the fleet bench).
    const liveWindow = config.dashboard.live_window;
    const fleetTtl = () =>
      live?.status(Date.now()).state === "live" ? Math.max(ttl, liveWindow / 2) : ttl;
    this.#loadedFleet = new Refreshing(
      fleetTtl,
      () => this.#hive((s) => this.#fleetReport(s)),
      FIRST_HIVE_WAIT_MS,
    );
    this.#loadedStatus = new Refreshing(ttl, () => this.#lag(), FIRST_HIVE_WAIT_MS);
  }

  fleet(): Promise<FleetView> {
    const live = this.#live;
    if (live === undefined) {
      return this.#cache.get("fleet", () =>
        this.#hive(async (store) => {
          const report = await this.#fleetReport(store);
          return this.#fleetView(report.generatedAt, { value: report, at: report.generatedAt });
        }),
      );
    }
    const now = Date.now();
    if (this.#merged === undefined || now - this.#merged.at >= MERGED_FLEET_MS) {
      const view = this.#loadedFleet
        .get()
        .then((loaded) => this.#fleetView(Date.now(), loaded, live));
      this.#merged = { at: now, view };
      view.catch(() => {
        if (this.#merged?.view === view) this.#merged = undefined;
      });
    }
    return this.#merged.view;
  }

  status(): Promise<StatusView> {
    const live = this.#live;
    if (live === undefined)
      return this.#cache.get("status", async () => {
        const fleet = await this.fleet();
        return { lastLoadAt: fleet.lastLoadAt, ...(await this.#lag()) };
      });
    return (async () => {
      const fleet = await this.fleet();
      const loaded = await this.#loadedStatus.get();
      const view: StatusView = {
        lastLoadAt: fleet.lastLoadAt,
        lag: loaded.value?.lag,
        kafkaError: loaded.value?.kafkaError,
        partitions: loaded.value?.partitions ?? 0,
        live: live.status(Date.now()),
      };
      if (loaded.error !== undefined) view.hiveError = hiveFailure(loaded.error);
      return view;
    })();
  }

  series(host: string, range: Range): Promise<SeriesView> {
    checkHostName(host);
    const live = this.#live;
    const key = `series ${range} ${host}`;
    const load = () =>
      this.#hive(async (store): Promise<LoadedSeries> => {
        const to = Date.now();
        const windowMs = windowFor(range, this.config.aggregation.windows);
        this.hiveCalls++;
        const { rows } = await store.query<SeriesRow>(
          seriesQuery(this.config, host, windowMs, to - RANGES[range], to),
        );
        return { rows, windowMs };
      });
    if (live === undefined) {
      return this.#cache.get(key, async () => {
        const to = Date.now();
        const { rows, windowMs } = await load();
        return {
          host,
          range,
          windowSeconds: windowMs / 1000,
          from: to - RANGES[range],
          to,
          charts: charts(rows),
        };
      });
    }
    let entry = this.#loadedSeries.get(key);
    if (entry === undefined) {
      entry = new Refreshing(this.config.dashboard.cache_ttl, load, FIRST_HIVE_WAIT_MS);
      this.#loadedSeries.set(key, entry);
      if (this.#loadedSeries.size > MAX_SERIES_ENTRIES) {
        const oldest = this.#loadedSeries.keys().next().value;
        if (oldest !== undefined) this.#loadedSeries.delete(oldest);
      }
    }
    return entry.get().then((loaded) => this.#seriesView(host, range, loaded, live));
  }

  async close(): Promise<void> {
    const store = this.#store;
    this.#store = undefined;
    await store?.then((s) => s.close()).catch(() => undefined);
  }

  async #fleetReport(store: HiveStore): Promise<FleetReport> {
    const report = await fleetReport(this.config, store, Date.now(), this.#files);
    this.hiveCalls += this.#files ? 2 : 3;
    return report;
  }

  /** Hive's answer (or failure) and the live tail's hosts, as one view as of `now`. */
  #fleetView(now: number, loaded: Answer<FleetReport>, live?: LiveSource): FleetView {
    const thresholds = this.config.report;
    const liveStatus = live?.status(now);
    // Nothing to show: neither Hive's answer nor a tail that reads.
    if (loaded.value === undefined && loaded.error !== undefined && liveStatus?.state !== "live")
      throw loaded.error;
    const liveHosts = live?.store.hosts(now, thresholds.silent_after) ?? [];
    const report = loaded.value;
    const view: FleetView = {
      generatedAt: now,
      lastLoadAt: report?.lastLoadAt,
      thresholds,
      refreshMs:
        live === undefined ? this.config.dashboard.refresh : this.config.dashboard.live_refresh,
      hosts: fleetHosts(report?.hosts ?? [], liveHosts, thresholds, now),
      recentGaps: report?.recentGaps ?? [],
    };
    if (loaded.at !== undefined) view.loadedAt = loaded.at;
    if (loaded.error !== undefined) view.hiveError = hiveFailure(loaded.error);
    else if (report === undefined) view.hivePending = true;
    if (liveStatus !== undefined) view.live = liveStatus;
    return view;
  }

  #seriesView(
    host: string,
    range: Range,
    loaded: Answer<LoadedSeries>,
    live: LiveSource,
  ): SeriesView {
    const to = Date.now();
    const from = to - RANGES[range];
    const windowMs = loaded.value?.windowMs ?? windowFor(range, this.config.aggregation.windows);
    const state = live.status(to).state;
    if (loaded.value === undefined && loaded.error !== undefined && state !== "live")
      throw loaded.error;
    const hiveRows = (loaded.value?.rows ?? []).filter((r) => Number(r.window_start) >= from);
    const store = live.store;
    // Live windows are the finest size: they join only the charts drawn at that size.
    const liveHost = store.host(host, to, this.config.report.silent_after);
    const liveRows =
      liveHost !== undefined && windowMs === store.bucketMs
        ? { rows: store.rows(host, to, from, to), lastSeen: liveHost.lastSeen }
        : undefined;
    const merged = mergeRows(hiveRows, liveRows, store.coverageFrom, store.bucketMs);
    const view: SeriesView = {
      host,
      range,
      windowSeconds: windowMs / 1000,
      from,
      to,
      charts: charts(merged.rows),
    };
    if (merged.liveFrom !== undefined) view.liveFrom = merged.liveFrom;
    if (merged.loadedUntil !== undefined) view.loadedUntil = merged.loadedUntil;
    if (loaded.error !== undefined) view.hiveError = hiveFailure(loaded.error);
    else if (loaded.value === undefined) view.hivePending = true;
    return view;
  }

  /** Records in Kafka not loaded yet: Hive's offsets against Kafka's end offsets. */
  async #lag(): Promise<LoadedStatus> {
    try {
      this.#kafka ??= kafkaClientConfig(this.config.kafka, { retries: 1 }).then((c) =>
        createKafka(c),
      );
      const kafka = await this.#kafka;
      // From loads' files, when readable: not queued behind the fleet's queries in the session.
      const files = this.#files;
      const partitions = files
        ? await collectorStatus(this.config, files, kafka)
        : await this.#hive((store) => {
            this.hiveCalls++;
            return collectorStatus(this.config, store, kafka);
          });
      const lag = partitions.reduce((sum, p) => sum + Math.max(0, p.lag), 0);
      return { lag, kafkaError: undefined, partitions: partitions.length };
    } catch (error) {
      // Hive's or the warehouse files' failure is not Kafka's: it shows as hiveError.
      if (isHostflowError(error) && /^HF_(HIVE_|WAREHOUSE)/.test(error.code)) throw error;
      return { lag: undefined, kafkaError: (error as Error).message, partitions: 0 };
    }
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

type SeriesRow = WindowRow;

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
  const wanted = chartFieldsSql();
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
