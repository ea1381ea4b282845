/**
 * What the dashboard's live tail keeps of the samples it reads from Kafka: per host the time of
 * its latest sample, and for the fields the page draws (fields.ts) a ring of window aggregates
 * that covers the live window and nothing older. Memory is bounded by construction: at most
 * `maxHosts` hosts × `maxSeriesPerHost` series × (window / bucket + 1) buckets of two numbers.
 *
 * A bucket is one window of the collector's finest size, aligned on UTC as the collector's
 * windows are, so that a live point and a loaded one of the same time mean the same thing.
 * A gauge bucket holds sum and count (its average is what the collector loads as `average`); a
 * counter bucket holds the last value and its timestamp (the charts draw rates between them).
 */
import type { Sample } from "../../lib/wire.js";
import { canonicalTags } from "../aggregate.js";
import { CPU_TOTAL, chartField, type WindowRow } from "./fields.js";

/** Windows a live window may hold (its memory grows with them): 6 hours of 1-minute windows. */
export const MAX_LIVE_BUCKETS = 360;
/** Disks, devices and interfaces of one host, with a margin; a host with more keeps the first. */
export const MAX_SERIES_PER_HOST = 64;
/** Distinct series descriptions shared between hosts; beyond, each host gets its own copy. */
const MAX_SHARED_SERIES = 100_000;
/** At the host cap, expired hosts are looked for at most this often (not at every record). */
const CAP_SWEEP_MS = 1_000;

export interface LiveStoreOptions {
  /** How far back the store keeps samples (dashboard.live_window). */
  windowMs: number;
  /** The bucket size: the collector's finest window (aggregation.windows). */
  bucketMs: number;
  /** Hosts kept at most (dashboard.live_max_hosts); samples of further hosts are dropped. */
  maxHosts: number;
  maxSeriesPerHost?: number;
}

export type AddResult = "kept" | "late" | "host-cap";

/** A host as the live tail last saw it; the signals as `collector report` defines them. */
export interface LiveHost {
  host: string;
  /** Epoch ms of the host's latest sample (any measurement). */
  lastSeen: number;
  /** Epoch ms (the dashboard's clock) when that sample was read from Kafka. */
  receivedAt: number;
  cpuPercent: number | undefined;
  memPercent: number | undefined;
  fullestDisk: { path: string; usedPercent: number } | undefined;
}

export interface LiveStoreCounts {
  /** Samples offered to the store. */
  samples: number;
  /** Samples (or a series' windows) older than the live window: not kept. */
  late: number;
  /** Samples of hosts beyond maxHosts: not kept. */
  hostCap: number;
  /** Fields of series beyond maxSeriesPerHost: not kept. */
  seriesCap: number;
  /** Hosts removed because their latest sample left the window. */
  expiredHosts: number;
}

/** A series' identity, shared by every host that has the same one. */
interface SeriesInfo {
  key: string;
  measurement: string;
  tags: string;
  field: string;
  counter: boolean;
  /** The disk's mount point, for the fullest disk. */
  path: string | undefined;
}

interface SeriesState {
  info: SeriesInfo;
  /** [newest window start, then per bucket: gauge sum | counter last value, gauge count | counter last ts]. */
  ring: number[];
}

interface HostState {
  lastSeen: number;
  receivedAt: number;
  series: Map<string, SeriesState>;
}

export class LiveStore {
  readonly windowMs: number;
  readonly bucketMs: number;
  readonly maxHosts: number;
  readonly maxSeriesPerHost: number;
  /** Buckets per series: the window's, and the one being filled. */
  readonly bucketsPerSeries: number;
  readonly counts: LiveStoreCounts = {
    samples: 0,
    late: 0,
    hostCap: 0,
    seriesCap: 0,
    expiredHosts: 0,
  };
  /**
   * Epoch ms from which the store has every sample (where the tail started reading); windows
   * that start earlier hold only part of theirs. Undefined until the tail has started.
   */
  coverageFrom: number | undefined;
  readonly #hosts = new Map<string, HostState>();
  readonly #shared = new Map<string, SeriesInfo>();
  #capSweepAt = Number.NEGATIVE_INFINITY;

  constructor(options: LiveStoreOptions) {
    const { windowMs, bucketMs, maxHosts } = options;
    if (!(bucketMs > 0 && windowMs >= bucketMs && maxHosts > 0))
      throw new RangeError(
        `live store: window ${windowMs} ms, bucket ${bucketMs} ms, ${maxHosts} hosts`,
      );
    this.windowMs = windowMs;
    this.bucketMs = bucketMs;
    this.maxHosts = maxHosts;
    this.maxSeriesPerHost = options.maxSeriesPerHost ?? MAX_SERIES_PER_HOST;
    this.bucketsPerSeries = Math.ceil(windowMs / bucketMs) + 1;
  }

  get hostCount(): number {
    return this.#hosts.size;
  }

  /** `now` is the dashboard's clock when the sample was read. */
  add(host: string, sample: Sample, now: number): AddResult {
    this.counts.samples++;
    const ts = sample.timestamp;
    if (ts < now - this.windowMs) {
      this.counts.late++;
      return "late";
    }
    let state = this.#hosts.get(host);
    if (state === undefined) {
      if (this.#hosts.size >= this.maxHosts && now - this.#capSweepAt >= CAP_SWEEP_MS) {
        this.#capSweepAt = now;
        this.sweep(now);
      }
      if (this.#hosts.size >= this.maxHosts) {
        this.counts.hostCap++;
        return "host-cap";
      }
      state = { lastSeen: ts, receivedAt: now, series: new Map() };
      this.#hosts.set(host, state);
    } else if (ts > state.lastSeen) {
      state.lastSeen = ts;
      state.receivedAt = now;
    }
    const chart = chartField(sample.name);
    if (chart === undefined || (chart.measurement === "cpu" && sample.tags.cpu !== CPU_TOTAL))
      return "kept";
    const start = Math.floor(ts / this.bucketMs) * this.bucketMs;
    let tags: string | undefined;
    for (const field of chart.fields) {
      const value = sample.fields[field];
      if (value === undefined) continue;
      tags ??= canonicalTags(sample.tags);
      const key = `${sample.name}\0${tags}\0${field}`;
      let series = state.series.get(key);
      if (series === undefined) {
        if (state.series.size >= this.maxSeriesPerHost) {
          this.counts.seriesCap++;
          continue;
        }
        const info = this.#info(key, sample.name, tags, field, chart.counter);
        series = { info, ring: this.#newRing() };
        state.series.set(info.key, series);
      }
      this.#put(series, start, ts, value);
    }
    return "kept";
  }

  /** Drops hosts and series with nothing in the window any more; returns the hosts dropped. */
  sweep(now: number): number {
    const cutoff = this.#cutoff(now);
    let dropped = 0;
    for (const [host, state] of this.#hosts) {
      if (state.lastSeen < now - this.windowMs) {
        this.#hosts.delete(host);
        dropped++;
        continue;
      }
      for (const [key, series] of state.series)
        if ((series.ring[0] as number) < cutoff) state.series.delete(key);
    }
    this.counts.expiredHosts += dropped;
    return dropped;
  }

  /**
   * Every host with a sample in the window, with its latest signals: a series counts with its
   * latest window unless that is more than `staleMs` older than the host's latest (an unmounted
   * disk), as in `collector report`.
   */
  hosts(now: number, staleMs: number): LiveHost[] {
    const out: LiveHost[] = [];
    for (const [host, state] of this.#hosts) {
      const view = this.#view(host, state, now, staleMs);
      if (view !== undefined) out.push(view);
    }
    return out;
  }

  host(host: string, now: number, staleMs: number): LiveHost | undefined {
    const state = this.#hosts.get(host);
    return state === undefined ? undefined : this.#view(host, state, now, staleMs);
  }

  /** The host's windows that start within [from, to] and the live window, as chart rows. */
  rows(host: string, now: number, from: number, to: number): WindowRow[] {
    const state = this.#hosts.get(host);
    if (state === undefined) return [];
    const b = this.bucketMs;
    const first = Math.max(this.#cutoff(now), Math.ceil(from / b) * b);
    const rows: WindowRow[] = [];
    for (const { info, ring } of state.series.values()) {
      const newest = ring[0] as number;
      for (let t = Math.max(first, newest - (this.bucketsPerSeries - 1) * b); t <= newest; t += b) {
        if (t > to) break;
        const i = this.#slot(t);
        const a = ring[i] as number;
        const c = ring[i + 1] as number;
        if (c === 0) continue;
        const average = info.counter ? a : a / c;
        rows.push({
          measurement: info.measurement,
          tags: info.tags,
          field: info.field,
          window_start: t,
          average,
          last_val: info.counter ? a : average,
          last_ts: info.counter ? c : t,
        });
      }
    }
    return rows.sort((x, y) => x.window_start - y.window_start);
  }

  /** What the store holds: hosts, series, and the numbers in their rings. */
  size(): { hosts: number; series: number; numbers: number } {
    let series = 0;
    for (const state of this.#hosts.values()) series += state.series.size;
    return { hosts: this.#hosts.size, series, numbers: series * (1 + 2 * this.bucketsPerSeries) };
  }

  #cutoff(now: number): number {
    return Math.floor((now - this.windowMs) / this.bucketMs) * this.bucketMs;
  }

  #slot(start: number): number {
    return 1 + 2 * ((start / this.bucketMs) % this.bucketsPerSeries);
  }

  #newRing(): number[] {
    const ring = new Array<number>(1 + 2 * this.bucketsPerSeries).fill(0);
    ring[0] = Number.NEGATIVE_INFINITY;
    return ring;
  }

  #info(key: string, measurement: string, tags: string, field: string, counter: boolean) {
    const known = this.#shared.get(key);
    if (known !== undefined) return known;
    const info: SeriesInfo = {
      key,
      measurement,
      tags,
      field,
      counter,
      path: measurement === "disk" ? tagValue(tags, "path") : undefined,
    };
    if (this.#shared.size < MAX_SHARED_SERIES) this.#shared.set(key, info);
    return info;
  }

  #put(series: SeriesState, start: number, ts: number, value: number): void {
    const ring = series.ring;
    const b = this.bucketMs;
    const newest = ring[0] as number;
    if (start > newest) {
      // The buckets between the old newest and this one held windows that left the ring.
      const stale = Math.min(this.bucketsPerSeries, (start - newest) / b);
      for (let k = 0; k < stale; k++) {
        const i = this.#slot(start - k * b);
        ring[i] = 0;
        ring[i + 1] = 0;
      }
      ring[0] = start;
    } else if (start <= newest - this.bucketsPerSeries * b) {
      this.counts.late++;
      return;
    }
    const i = this.#slot(start);
    if (series.info.counter) {
      // Equal timestamps: the later-read wins, as in the collector's aggregates.
      if (ts >= (ring[i + 1] as number)) {
        ring[i] = value;
        ring[i + 1] = ts;
      }
    } else {
      ring[i] = (ring[i] as number) + value;
      ring[i + 1] = (ring[i + 1] as number) + 1;
    }
  }

  #view(host: string, state: HostState, now: number, staleMs: number): LiveHost | undefined {
    if (state.lastSeen < now - this.windowMs) return undefined;
    const b = this.bucketMs;
    const oldest = Math.floor(state.lastSeen / b) * b - staleMs;
    const cutoff = this.#cutoff(now);
    const view: LiveHost = {
      host,
      lastSeen: state.lastSeen,
      receivedAt: state.receivedAt,
      cpuPercent: undefined,
      memPercent: undefined,
      fullestDisk: undefined,
    };
    let diskTags = "";
    for (const { info, ring } of state.series.values()) {
      if (info.counter) continue;
      const newest = ring[0] as number;
      if (newest < oldest || newest < cutoff) continue;
      const i = this.#slot(newest);
      const count = ring[i + 1] as number;
      if (count === 0) continue;
      const average = (ring[i] as number) / count;
      if (info.measurement === "cpu") view.cpuPercent = 100 - average;
      else if (info.measurement === "mem") view.memPercent = average;
      else if (info.measurement === "disk") {
        const fullest = view.fullestDisk;
        if (
          fullest === undefined ||
          average > fullest.usedPercent ||
          (average === fullest.usedPercent && info.tags < diskTags)
        ) {
          view.fullestDisk = { path: info.path ?? info.tags, usedPercent: average };
          diskTags = info.tags;
        }
      }
    }
    return view;
  }
}

function tagValue(tags: string, name: string): string | undefined {
  try {
    const value = (JSON.parse(tags) as Record<string, unknown>)[name];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}
