/**
 * A fleet simulator: `hosts` simulated hosts (`<host_prefix><nnn>`) sampled every `interval` of
 * simulated time, with the measurements and fields of the sysinfo source. Values are seeded
 * random walks (mean-reverting, with a day/night swing of CPU and traffic), counters only grow,
 * so the same seed and start give the same samples.
 *
 * Time: cycles fall on multiples of `interval` (as Telegraf's round_interval), each host at its
 * own fixed offset within the cycle, so a host's timestamps increase by `interval`. Without
 * `rate` the fleet runs in real time: a cycle is emitted once all its timestamps are past.
 * With `rate`, simulated time runs as fast as the rate allows, ahead of the wall clock if the
 * rate is above hosts × 9 / interval. `backfill` starts the clock that far in the past; those
 * cycles go as fast as the channel takes them (paced only by `rate`, if set).
 *
 * Unhealthy hosts (disjoint, picked by the seed, logged at start) show their signal over the
 * run's horizon: the backfill if any, else the time `total` takes, else one hour:
 * - cpu_hog: usage_idle 0–5 %, high load;
 * - disk_filling: the root disk's used_percent climbs toward 100 (95 % of the way at the horizon);
 * - silent: no samples after about 60 % of the horizon;
 * - lossy: about 3 % of its events carry SIMULATED_LOSS_HEADER, which the sink runner drops after
 *   sequence assignment (a sequence gap, as a lost record would make).
 */
import type { SyntheticSourceConfig } from "../config/schema.js";
import {
  type AgentEvent,
  type ComponentContext,
  type EventDrivenSource,
  SIMULATED_LOSS_HEADER,
} from "../core/types.js";
import { type BatchPutter, DrivenSource, Pacer, pacedBatchSize, pause } from "./driven.js";

/** cpu-total, mem, swap, system, disk /, disk /var, diskio sda, net eth0, processes. */
export const SYNTHETIC_EVENTS_PER_HOST = 9;
const DEFAULT_HORIZON_MS = 3_600_000;
const DAY_MS = 86_400_000;
const WEEK_S = 7 * 86_400;
const GIB = 1024 ** 3;
const LOSSY_SHARE = 0.03;
const SILENT_AT = 0.6;

/** sfc32: small, fast and good enough for simulated metrics; one per source instance. */
class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed | 0;
    for (let i = 0; i < 16; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** About normal, mean 0, deviation 1 (sum of three uniforms: cheap, bounded at ±3). */
  normal(): number {
    return (this.next() + this.next() + this.next() - 1.5) * 2;
  }

  between(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)] as T;
  }
}

const clamp = (value: number, low: number, high: number) =>
  value < low ? low : value > high ? high : value;

interface Host {
  name: string;
  offset: number;
  cpuHog: boolean;
  diskFilling: boolean;
  silent: boolean;
  silentAt: number;
  lossy: boolean;
  nCpus: number;
  memTotal: number;
  swapTotal: number;
  rootTotal: number;
  varTotal: number;
  rootInodes: number;
  varInodes: number;
  bootAt: number;
  phase: number;
  cpuBase: number;
  cpu: number;
  load1: number;
  load5: number;
  load15: number;
  memBase: number;
  memUsed: number;
  cacheShare: number;
  swapUsed: number;
  swapIn: number;
  swapOut: number;
  rootStart: number;
  rootUsed: number;
  varUsed: number;
  ioRate: number;
  reads: number;
  writes: number;
  mergedReads: number;
  mergedWrites: number;
  readBytes: number;
  writeBytes: number;
  readTime: number;
  writeTime: number;
  ioTime: number;
  weightedIoTime: number;
  netRate: number;
  bytesSent: number;
  bytesRecv: number;
  packetsSent: number;
  packetsRecv: number;
  errIn: number;
  errOut: number;
  dropIn: number;
  dropOut: number;
  procs: number;
  users: number;
}

/** The simulated hosts and their state; `cycle` advances every host by one interval. */
export class Fleet {
  readonly hosts: Host[] = [];
  private readonly random: Random;
  private readonly dt: number;

  constructor(
    options: Pick<
      SyntheticSourceConfig,
      "hosts" | "host_prefix" | "interval" | "seed" | "unhealthy"
    >,
    private readonly origin: number,
    private readonly horizon: number,
  ) {
    this.random = new Random(options.seed);
    this.dt = options.interval / 1000;
    const r = this.random;
    const width = Math.max(3, String(options.hosts).length);
    for (let i = 0; i < options.hosts; i++) {
      const nCpus = r.pick([2, 4, 8, 16, 32]);
      const cpuBase = r.between(0.05, 0.45);
      const memBase = r.between(0.25, 0.75);
      const rootStart = r.between(0.3, 0.7);
      this.hosts.push({
        name: `${options.host_prefix}${String(i + 1).padStart(width, "0")}`,
        offset: Math.floor(r.next() * options.interval),
        cpuHog: false,
        diskFilling: false,
        silent: false,
        silentAt: SILENT_AT + r.between(-0.05, 0.05),
        lossy: false,
        nCpus,
        memTotal: nCpus * r.pick([2, 4, 8]) * GIB,
        swapTotal: r.next() < 0.3 ? 0 : r.pick([1, 2, 4, 8]) * GIB,
        rootTotal: r.pick([40, 80, 100, 200]) * GIB,
        varTotal: r.pick([100, 250, 500, 1000]) * GIB,
        rootInodes: 0,
        varInodes: 0,
        bootAt: origin - r.between(1, 120) * DAY_MS,
        phase: r.next() * 2 * Math.PI,
        cpuBase,
        cpu: cpuBase * 100,
        load1: cpuBase * nCpus,
        load5: cpuBase * nCpus,
        load15: cpuBase * nCpus,
        memBase,
        memUsed: memBase,
        cacheShare: r.between(0.1, 0.3),
        swapUsed: r.between(0, 0.1),
        swapIn: Math.floor(r.next() * 1e6) * 4096,
        swapOut: Math.floor(r.next() * 1e6) * 4096,
        rootStart,
        rootUsed: rootStart,
        varUsed: r.between(0.1, 0.8),
        ioRate: r.between(5, 200),
        reads: Math.floor(r.next() * 1e8),
        writes: Math.floor(r.next() * 1e8),
        mergedReads: Math.floor(r.next() * 1e7),
        mergedWrites: Math.floor(r.next() * 1e7),
        readBytes: Math.floor(r.next() * 1e12),
        writeBytes: Math.floor(r.next() * 1e12),
        readTime: Math.floor(r.next() * 1e9),
        writeTime: Math.floor(r.next() * 1e9),
        ioTime: Math.floor(r.next() * 1e9),
        weightedIoTime: Math.floor(r.next() * 2e9),
        netRate: r.between(1e4, 5e7),
        bytesSent: Math.floor(r.next() * 1e13),
        bytesRecv: Math.floor(r.next() * 1e13),
        packetsSent: Math.floor(r.next() * 1e10),
        packetsRecv: Math.floor(r.next() * 1e10),
        errIn: 0,
        errOut: 0,
        dropIn: Math.floor(r.next() * 100),
        dropOut: 0,
        procs: Math.floor(r.between(120, 400)),
        users: Math.floor(r.between(0, 3)),
      });
      const host = this.hosts[i] as Host;
      host.rootInodes = Math.floor(host.rootTotal / 16384);
      host.varInodes = Math.floor(host.varTotal / 16384);
    }
    // A seeded shuffle picks the unhealthy hosts, disjoint, in the order of the config.
    const order = this.hosts.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(r.next() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    let next = 0;
    const mark = (count: number, set: (host: Host) => void) => {
      for (let n = 0; n < count && next < order.length; n++)
        set(this.hosts[order[next++] as number] as Host);
    };
    mark(options.unhealthy.cpu_hog, (h) => {
      h.cpuHog = true;
    });
    mark(options.unhealthy.disk_filling, (h) => {
      h.diskFilling = true;
    });
    mark(options.unhealthy.silent, (h) => {
      h.silent = true;
    });
    mark(options.unhealthy.lossy, (h) => {
      h.lossy = true;
    });
  }

  /** Host names by kind of trouble. */
  unhealthy(): Record<"cpu_hog" | "disk_filling" | "silent" | "lossy", string[]> {
    const names = (test: (h: Host) => boolean) => this.hosts.filter(test).map((h) => h.name);
    return {
      cpu_hog: names((h) => h.cpuHog),
      disk_filling: names((h) => h.diskFilling),
      silent: names((h) => h.silent),
      lossy: names((h) => h.lossy),
    };
  }

  /** Appends the cycle at simulated time `t` to `out`, at most `room` events. */
  cycle(t: number, out: AgentEvent[], room = Number.POSITIVE_INFINITY): void {
    const progress = (t - this.origin) / this.horizon;
    const limit = out.length + room;
    for (const host of this.hosts) {
      if (out.length >= limit) return;
      if (host.silent && progress >= host.silentAt) continue;
      this.step(host, t, progress);
      this.samples(host, t + host.offset, out, limit);
    }
  }

  private step(h: Host, t: number, progress: number): void {
    const r = this.random;
    const dt = this.dt;
    const day = 1 + 0.35 * Math.sin((2 * Math.PI * (t % DAY_MS)) / DAY_MS + h.phase);
    const target = h.cpuHog ? 97.5 : clamp(h.cpuBase * 100 * day, 1, 95);
    h.cpu = h.cpuHog
      ? clamp(h.cpu + 0.5 * (target - h.cpu) + r.normal(), 95, 100)
      : clamp(h.cpu + 0.3 * (target - h.cpu) + 3 * r.normal(), 0.5, 99);
    const runnable = (h.cpu / 100) * h.nCpus * (h.cpuHog ? 1.6 : 1 + 0.1 * r.normal());
    h.load1 += (runnable - h.load1) * (1 - Math.exp(-dt / 60));
    h.load5 += (runnable - h.load5) * (1 - Math.exp(-dt / 300));
    h.load15 += (runnable - h.load15) * (1 - Math.exp(-dt / 900));
    h.memUsed = clamp(h.memUsed + 0.05 * (h.memBase - h.memUsed) + 0.01 * r.normal(), 0.05, 0.95);
    h.cacheShare = clamp(h.cacheShare + 0.005 * r.normal(), 0.02, 0.9 - h.memUsed);
    h.swapUsed = clamp(h.swapUsed + 0.002 * r.normal(), 0, 0.9);
    if (r.next() < 0.05) {
      h.swapIn += Math.floor(r.next() * 256) * 4096;
      h.swapOut += Math.floor(r.next() * 256) * 4096;
    }
    if (h.diskFilling) {
      h.rootUsed = 1 - (1 - h.rootStart) * Math.exp(-3 * Math.max(0, progress));
    } else {
      // Logs grow by about 1 % a day; about once a week something is cleaned up.
      const cleanup = r.next() < dt / WEEK_S;
      h.rootUsed = clamp(h.rootUsed + (cleanup ? -0.02 : 2e-7 * dt * r.next()), 0.05, 0.95);
    }
    h.varUsed = clamp(h.varUsed + 2e-6 * dt * r.normal(), 0.02, 0.95);
    const busy = 0.5 + h.cpu / 100;
    const ops = h.ioRate * dt * busy * (1 + 0.2 * r.normal());
    const reads = Math.max(0, Math.round(ops * 0.3));
    const writes = Math.max(0, Math.round(ops * 0.7));
    h.reads += reads;
    h.writes += writes;
    h.mergedReads += Math.round(reads * 0.1);
    h.mergedWrites += Math.round(writes * 0.3);
    h.readBytes += reads * 16384;
    h.writeBytes += writes * 8192;
    h.readTime += reads;
    h.writeTime += writes * 2;
    h.ioTime += Math.min(dt * 1000, Math.round((reads + writes) * 0.4));
    h.weightedIoTime += reads + writes * 2;
    const traffic = h.netRate * dt * day * (1 + 0.2 * r.normal());
    const recv = Math.max(0, Math.round(traffic));
    const sent = Math.max(0, Math.round(traffic * 0.6));
    h.bytesRecv += recv;
    h.bytesSent += sent;
    h.packetsRecv += Math.round(recv / 900);
    h.packetsSent += Math.round(sent / 700);
    if (r.next() < 0.01) h.dropIn += 1;
    h.procs = clamp(h.procs + Math.round(r.normal()), 80, 2000);
  }

  private samples(h: Host, ts: number, out: AgentEvent[], limit: number): void {
    const r = this.random;
    const host = h.name;
    const cpu = h.cpu;
    const system = cpu * 0.18;
    const iowait = cpu * 0.04 * r.next();
    const irq = cpu * 0.005;
    const softirq = cpu * 0.015;
    const steal = cpu * 0.01 * r.next();
    const memUsed = h.memUsed * h.memTotal;
    const buffered = 0.02 * h.memTotal;
    const cached = h.cacheShare * h.memTotal;
    const free = Math.max(0, h.memTotal - memUsed - buffered - cached);
    const available = free + buffered + cached * 0.9;
    const slab = 0.02 * h.memTotal;
    const swapUsed = Math.round(h.swapUsed * h.swapTotal);
    const running = 1 + Math.floor((cpu / 100) * h.nCpus * r.next());
    const blocked = r.next() < 0.1 ? 1 : 0;
    const zombies = r.next() < 0.02 ? 1 : 0;
    const idle = 40 + h.nCpus * 4;
    const lossy = h.lossy;

    const push = (name: string, tags: Record<string, string>, fields: Record<string, number>) => {
      if (out.length >= limit) return;
      const headers: Record<string, string> = { name, host };
      if (lossy && r.next() < LOSSY_SHARE) headers[SIMULATED_LOSS_HEADER] = "1";
      out.push({ headers, body: { name, tags, fields, timestamp: ts } });
    };

    push(
      "cpu",
      { cpu: "cpu-total", host },
      {
        usage_user: Math.max(0, cpu - system - iowait - irq - softirq - steal),
        usage_system: system,
        usage_idle: 100 - cpu,
        usage_nice: 0,
        usage_iowait: iowait,
        usage_irq: irq,
        usage_softirq: softirq,
        usage_steal: steal,
        usage_guest: 0,
        usage_guest_nice: 0,
      },
    );
    push(
      "mem",
      { host },
      {
        total: h.memTotal,
        available,
        used: memUsed,
        used_percent: 100 * h.memUsed,
        available_percent: (100 * available) / h.memTotal,
        free,
        buffered,
        cached,
        slab,
        sreclaimable: slab * 0.6,
        sunreclaim: slab * 0.4,
        dirty: Math.floor(r.next() * 4e6),
        write_back: 0,
        swap_total: h.swapTotal,
        swap_free: h.swapTotal - swapUsed,
      },
    );
    push(
      "swap",
      { host },
      {
        total: h.swapTotal,
        used: swapUsed,
        free: h.swapTotal - swapUsed,
        used_percent: h.swapTotal > 0 ? (100 * swapUsed) / h.swapTotal : 0,
        in: h.swapIn,
        out: h.swapOut,
      },
    );
    push(
      "system",
      { host },
      {
        load1: h.load1,
        load5: h.load5,
        load15: h.load15,
        n_cpus: h.nCpus,
        uptime: Math.floor((ts - h.bootAt) / 1000),
        n_users: h.users,
        n_unique_users: h.users,
      },
    );
    push(
      "disk",
      { path: "/", device: "sda1", fstype: "ext4", mode: "rw", host },
      diskFields(h.rootTotal, h.rootUsed, h.rootInodes, 0.3),
    );
    push(
      "disk",
      { path: "/var", device: "sda2", fstype: "xfs", mode: "rw", host },
      diskFields(h.varTotal, h.varUsed, h.varInodes, 0.2),
    );
    push(
      "diskio",
      { name: "sda", host },
      {
        reads: h.reads,
        merged_reads: h.mergedReads,
        read_bytes: h.readBytes,
        read_time: h.readTime,
        writes: h.writes,
        merged_writes: h.mergedWrites,
        write_bytes: h.writeBytes,
        write_time: h.writeTime,
        iops_in_progress: blocked,
        io_time: h.ioTime,
        weighted_io_time: h.weightedIoTime,
      },
    );
    push(
      "net",
      { interface: "eth0", host },
      {
        bytes_recv: h.bytesRecv,
        packets_recv: h.packetsRecv,
        err_in: h.errIn,
        drop_in: h.dropIn,
        bytes_sent: h.bytesSent,
        packets_sent: h.packetsSent,
        err_out: h.errOut,
        drop_out: h.dropOut,
      },
    );
    push(
      "processes",
      { host },
      {
        running,
        sleeping: h.procs - running - blocked - zombies - idle,
        blocked,
        zombies,
        dead: 0,
        stopped: 0,
        paging: 0,
        idle,
        unknown: 0,
        total: h.procs,
        total_threads: h.procs * 3 + h.nCpus * 8,
      },
    );
  }
}

class SyntheticSource extends DrivenSource {
  readonly type = "synthetic";

  constructor(
    name: string,
    private readonly options: SyntheticSourceConfig,
    ctx: ComponentContext,
  ) {
    super(name, ctx);
  }

  protected async run(putter: BatchPutter, signal: AbortSignal): Promise<void> {
    const o = this.options;
    const interval = Math.max(1, o.interval);
    const perCycle = o.hosts * SYNTHETIC_EVENTS_PER_HOST;
    const limit = o.total ?? Number.POSITIVE_INFINITY;
    const first =
      Math.floor((Date.now() - (o.backfill > 0 ? o.backfill : interval)) / interval) * interval;
    const horizon =
      o.backfill > 0
        ? o.backfill
        : o.total !== undefined
          ? Math.ceil(o.total / perCycle) * interval
          : DEFAULT_HORIZON_MS;
    const fleet = new Fleet({ ...o, interval }, first, horizon);
    const sick = fleet.unhealthy();
    if (Object.values(sick).some((names) => names.length > 0)) {
      this.ctx.logger.info({ source: this.name, ...sick }, "simulated unhealthy hosts");
    }
    if (o.rate !== undefined && o.rate > (perCycle * 1000) / interval) {
      this.ctx.logger.info(
        { source: this.name, speedup: o.rate / ((perCycle * 1000) / interval) },
        "rate above real time: simulated timestamps run ahead of the wall clock",
      );
    }
    const batchSize = pacedBatchSize(o.batch_size, o.rate);
    const pacer =
      o.rate === undefined ? undefined : new Pacer(o.rate, Math.max(batchSize, o.rate / 20));
    let sent = 0;
    let pending: AgentEvent[] = [];

    /** Puts full batches (all of `pending` when `all`); false when stopping. */
    const flush = async (all: boolean): Promise<boolean> => {
      let at = 0;
      while (pending.length - at >= batchSize || (all && at < pending.length)) {
        const batch = pending.slice(at, at + batchSize);
        await pacer?.take(batch.length, signal);
        if (!(await putter.put(batch))) return false;
        at += batch.length;
        sent += batch.length;
      }
      pending = at === 0 ? pending : pending.slice(at);
      return true;
    };

    let caughtUp = o.backfill === 0;
    for (let t = first; sent + pending.length < limit && !signal.aborted; t += interval) {
      if (pacer === undefined) {
        // Real time: a cycle is due when every host's timestamp in it is past.
        const wait = t + interval - Date.now();
        if (wait > 0) {
          if (!(await flush(true))) return;
          if (!caughtUp) {
            caughtUp = true;
            this.ctx.logger.info(
              { source: this.name, events: sent },
              "backfill done: the simulated fleet runs in real time now",
            );
          }
          await pause(wait, signal);
          if (signal.aborted) return;
        }
      }
      const before = pending.length;
      fleet.cycle(t, pending, limit - sent - pending.length);
      if (!(await flush(false))) return;
      // Paced by rate alone, a fleet gone all silent would spin through simulated time.
      if (pacer !== undefined && pending.length === before)
        await pause(Math.min(interval, 1000), signal);
    }
    await flush(true);
  }
}

/** Telegraf's disk fields for a file system `usedShare` full, its inodes `inodeShare` as full. */
function diskFields(
  total: number,
  usedShare: number,
  inodes: number,
  inodeShare: number,
): Record<string, number> {
  const used = Math.round(usedShare * total);
  const inodesUsed = Math.round(inodes * usedShare * inodeShare);
  return {
    total,
    free: total - used,
    used,
    used_percent: (100 * used) / total,
    inodes_total: inodes,
    inodes_free: inodes - inodesUsed,
    inodes_used: inodesUsed,
  };
}

export function createSyntheticSource(
  name: string,
  options: SyntheticSourceConfig,
  ctx: ComponentContext,
): EventDrivenSource {
  return new SyntheticSource(name, options, ctx);
}
