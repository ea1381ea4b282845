/**
 * Samples this host as Telegraf's cpu, mem, swap, system, disk, diskio, net and processes inputs
 * do, with their measurement, tag and field names.
 *
 * Cost is the point: the agent runs on every server. Everything is read here from /proc and with
 * Node's own os and fs calls (statfs on the mount points of /proc/mounts): systeminformation's
 * functions for these measurements spawn a process each call (currentLoad: a shell around
 * `cat /proc/stat`; fsSize: `df`; disksIO and fsStats: `lsblk`; networkStats: a shell per
 * interface; processes: `ps`; time: `date`), and loading it for its `mem()` alone cost ~10 MB
 * of RSS, so mem and swap read /proc/meminfo too (with Telegraf's 34 mem fields). Facts that rarely change (mounts, file system
 * types, interface flags, the CPU count) are refreshed every minute, not every cycle.
 *
 * cpu usage_* are shares of the time since the previous reading. start() takes the first
 * reading, so the first poll covers start() → poll; a poll less than MIN_CPU_WINDOW_MS after
 * the previous reading skips cpu for that cycle (too few clock ticks for a percentage) and the
 * next poll covers both.
 */
import { closeSync, openSync, readdirSync, readSync, type StatsFs } from "node:fs";
import { statfs } from "node:fs/promises";
import { cpus, loadavg, uptime } from "node:os";
import { describeError, HostflowError } from "../../lib/errors.js";
import { compileIncludeExclude, type Matcher } from "../../lib/glob.js";
import type { Sample } from "../../lib/wire.js";
import type { SysinfoSourceConfig } from "../config/schema.js";
import type { AgentEvent, ComponentContext, Health, PollableSource } from "../core/types.js";
import {
  type CpuTimes,
  countProcessStat,
  countUtmpUsers,
  cpuUsage,
  emptyProcessCounts,
  type Mount,
  memFields,
  parseCpuTimes,
  parseDiskstats,
  parseMeminfo,
  parseMounts,
  parseNetDev,
  parsePhysicalFilesystems,
  parseSwapPaging,
} from "./procfs.js";

type Measurement = SysinfoSourceConfig["measurements"][number];

const STATIC_REFRESH_MS = 60_000;
const MIN_CPU_WINDOW_MS = 250;
/** A statfs that has not answered by then is skipped; its mount is left alone until it does. */
const STATFS_TIMEOUT_MS = 1_000;
const WARN_EVERY_MS = 60_000;
/** gopsutil counts pswpin/pswpout pages as 4 KiB. */
const SWAP_PAGE_BYTES = 4096;
const UTMP_PATHS = ["/var/run/utmp", "/run/utmp"];
const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

/** What changes seldom: read at start and then every STATIC_REFRESH_MS. */
interface StaticFacts {
  readAt: number;
  mounts: Mount[];
  /** Why the mount list could not be read (disk then fails rather than report nothing). */
  mountsError: unknown;
  cpuCount: number;
  /** Interface → flags of /sys/class/net/<if>/flags, filled as interfaces are seen. */
  interfaceFlags: Map<string, number>;
  /** Interface → link speed in Mbit/s (/sys/class/net/<if>/speed; -1 when it has none). */
  interfaceSpeed: Map<string, number>;
}

/**
 * For tests and the benchmark: where the kernel's files are, and the shortest cpu window.
 */
export interface SysinfoInternals {
  proc: string;
  sys: string;
  utmp: readonly string[];
  minCpuWindowMs: number;
}

const DEFAULTS: SysinfoInternals = {
  proc: "/proc",
  sys: "/sys",
  utmp: UTMP_PATHS,
  minCpuWindowMs: MIN_CPU_WINDOW_MS,
};

class SysinfoSource implements PollableSource {
  readonly kind = "pollable";
  readonly type = "sysinfo";
  private readonly mountFilter: Matcher;
  private readonly deviceFilter: Matcher;
  private readonly interfaceFilter: Matcher;
  /** Telegraf's net default: without an explicit include, loopback and down interfaces are left out. */
  private readonly skipIdleInterfaces: boolean;
  private readonly ignoreFs: Set<string>;
  private cpuBaseline: { at: number; times: Map<string, CpuTimes> } | undefined;
  private facts: StaticFacts | undefined;
  /** Mount points whose statfs has not returned yet (a hung file system). */
  private readonly statfsPending = new Set<string>();
  /** Reused for every /proc/<pid>/stat: that scan runs for each process of the host. */
  private readonly statBuffer = Buffer.alloc(1024);
  /**
   * Reused for the other /proc files: readFileSync would allocate a Buffer per file and cycle,
   * which lingers outside the JS heap until a GC and shows as RSS.
   */
  private textBuffer = Buffer.alloc(16 * 1024);
  private readonly lastWarn = new Map<string, number>();
  /** Each device's counters at the previous cycle, for io_await, io_svctm and io_util. */
  private lastDiskio = new Map<
    string,
    { at: number; ops: number; opsTime: number; ioTime: number }
  >();
  private lastHealth: Health = { ok: true };

  constructor(
    readonly name: string,
    private readonly options: SysinfoSourceConfig,
    private readonly ctx: ComponentContext,
    private readonly internals: SysinfoInternals,
  ) {
    this.mountFilter = compileIncludeExclude(options.mounts);
    this.deviceFilter = compileIncludeExclude(options.devices);
    this.interfaceFilter = compileIncludeExclude(options.interfaces);
    this.skipIdleInterfaces = !options.interfaces?.include?.length;
    this.ignoreFs = new Set(options.ignore_fs);
  }

  async start(): Promise<void> {
    this.refreshFacts(Date.now());
    if (!this.options.measurements.includes("cpu")) return;
    try {
      this.readCpuBaseline();
    } catch (error) {
      // poll() reports it (and retries the reading) every cycle.
      this.warn("cpu", error);
    }
  }

  async stop(): Promise<void> {
    this.cpuBaseline = undefined;
    this.facts = undefined;
  }

  health(): Health {
    return this.lastHealth;
  }

  async poll(): Promise<AgentEvent[]> {
    const now = Date.now();
    const facts = this.refreshFacts(now);
    const events: AgentEvent[] = [];
    const failed: string[] = [];
    let firstError: unknown;
    // mem and swap both come from one read of /proc/meminfo per cycle.
    let memory: Map<string, number> | undefined;
    const memData = () => {
      memory ??= parseMeminfo(this.read(`${this.internals.proc}/meminfo`));
      return memory;
    };
    for (const measurement of this.options.measurements) {
      try {
        await this.sample(measurement, now, facts, memData, events);
      } catch (error) {
        failed.push(measurement);
        firstError ??= error;
        this.ctx.metrics.count(this.name, "source", "measurement_failed");
        this.warn(measurement, error);
      }
    }
    if (failed.length > 0 && failed.length === this.options.measurements.length) {
      this.lastHealth = {
        ok: false,
        detail: `every measurement failed: ${describeError(firstError)}`,
      };
      throw new HostflowError("HF_SOURCE_SAMPLE", `source ${this.name}: every measurement failed`, {
        cause: firstError,
        retriable: true,
        context: { source: this.name, measurements: failed },
      });
    }
    this.lastHealth =
      failed.length === 0 ? { ok: true } : { ok: true, detail: `failed: ${failed.join(", ")}` };
    return events;
  }

  private async sample(
    measurement: Measurement,
    now: number,
    facts: StaticFacts,
    memData: () => Map<string, number>,
    out: AgentEvent[],
  ): Promise<void> {
    switch (measurement) {
      case "cpu":
        return this.sampleCpu(now, out);
      case "mem":
        return this.sampleMem(now, memData(), out);
      case "swap":
        return this.sampleSwap(now, memData(), out);
      case "system":
        return this.sampleSystem(now, facts, out);
      case "disk":
        return this.sampleDisk(now, facts, out);
      case "diskio":
        return this.sampleDiskio(now, out);
      case "net":
        return this.sampleNet(now, facts, out);
      case "processes":
        return this.sampleProcesses(now, out);
    }
  }

  private refreshFacts(now: number): StaticFacts {
    if (this.facts !== undefined && now - this.facts.readAt < STATIC_REFRESH_MS) return this.facts;
    let mounts: Mount[] = this.facts?.mounts ?? [];
    let mountsError: unknown;
    try {
      const physical = parsePhysicalFilesystems(this.read(`${this.internals.proc}/filesystems`));
      const byPath = new Map<string, Mount>();
      for (const m of parseMounts(this.read(`${this.internals.proc}/mounts`))) {
        if (m.device === "none" || !physical.has(m.fstype) || this.ignoreFs.has(m.fstype)) continue;
        if (!this.mountFilter(m.path)) continue;
        // A later mount on the same path hides the earlier one: statfs answers for the last.
        byPath.set(m.path, m);
      }
      mounts = [...byPath.values()];
    } catch (error) {
      mountsError = error;
    }
    const cpuCount = cpus().length || this.facts?.cpuCount || 1;
    this.facts = {
      readAt: now,
      mounts,
      mountsError,
      cpuCount,
      interfaceFlags: new Map(),
      interfaceSpeed: new Map(),
    };
    return this.facts;
  }

  private readCpuBaseline(): Map<string, CpuTimes> {
    const times = parseCpuTimes(this.read(`${this.internals.proc}/stat`));
    this.cpuBaseline = { at: Date.now(), times };
    return times;
  }

  private sampleCpu(now: number, out: AgentEvent[]): void {
    const baseline = this.cpuBaseline;
    if (baseline !== undefined && now - baseline.at < this.internals.minCpuWindowMs) return;
    const times = this.readCpuBaseline();
    if (baseline === undefined) return;
    for (const [cpu, cur] of times) {
      const total = cpu === "cpu";
      if (total ? !this.options.totalcpu : !this.options.percpu) continue;
      const prev = baseline.times.get(cpu);
      const fields = prev === undefined ? undefined : cpuUsage(prev, cur);
      if (fields === undefined) continue;
      out.push(
        event({ name: "cpu", tags: { cpu: total ? "cpu-total" : cpu }, fields, timestamp: now }),
      );
    }
  }

  /** Telegraf (gopsutil) counts SReclaimable as cached and used = total - free - buffers - cached. */
  private sampleMem(now: number, m: Map<string, number>, out: AgentEvent[]): void {
    out.push(event({ name: "mem", tags: {}, fields: memFields(m), timestamp: now }));
  }

  private sampleSwap(now: number, m: Map<string, number>, out: AgentEvent[]): void {
    const total = m.get("SwapTotal") ?? 0;
    const free = m.get("SwapFree") ?? 0;
    const used = total - free;
    const { pswpin, pswpout } = parseSwapPaging(this.read(`${this.internals.proc}/vmstat`));
    out.push(
      event({
        name: "swap",
        tags: {},
        fields: {
          total,
          used,
          free,
          used_percent: total > 0 ? (100 * used) / total : 0,
          in: pswpin * SWAP_PAGE_BYTES,
          out: pswpout * SWAP_PAGE_BYTES,
        },
        timestamp: now,
      }),
    );
  }

  private sampleSystem(now: number, facts: StaticFacts, out: AgentEvent[]): void {
    const [load1 = 0, load5 = 0, load15 = 0] = loadavg();
    const fields: Record<string, number> = {
      load1,
      load5,
      load15,
      n_cpus: facts.cpuCount,
      uptime: Math.floor(uptime()),
    };
    // Telegraf leaves the user counts out when utmp cannot be read (containers have none).
    for (const path of this.internals.utmp) {
      try {
        const length = this.readBytes(path);
        const { sessions, unique } = countUtmpUsers(this.textBuffer.subarray(0, length));
        fields.n_users = sessions;
        fields.n_unique_users = unique;
        break;
      } catch {}
    }
    out.push(event({ name: "system", tags: {}, fields, timestamp: now }));
  }

  private async sampleDisk(now: number, facts: StaticFacts, out: AgentEvent[]): Promise<void> {
    if (facts.mountsError !== undefined && facts.mounts.length === 0) throw facts.mountsError;
    const results = await Promise.all(facts.mounts.map((m) => this.statfsOnce(m.path)));
    let lastError: unknown;
    let answered = 0;
    for (const [i, result] of results.entries()) {
      const mount = facts.mounts[i] as Mount;
      if (result instanceof Error) {
        lastError = result;
        continue;
      }
      answered++;
      if (result === undefined || result.blocks === 0) continue;
      const total = result.blocks * result.bsize;
      const free = result.bavail * result.bsize;
      const used = (result.blocks - result.bfree) * result.bsize;
      const mode = mount.options.includes("rw")
        ? "rw"
        : mount.options.includes("ro")
          ? "ro"
          : "unknown";
      out.push(
        event({
          name: "disk",
          tags: {
            path: mount.path,
            device: mount.device.replaceAll("/dev/", ""),
            fstype: mount.fstype,
            mode,
          },
          fields: {
            total,
            free,
            used,
            used_percent: used + free > 0 ? (100 * used) / (used + free) : 0,
            inodes_total: result.files,
            inodes_free: result.ffree,
            inodes_used: result.files - result.ffree,
            inodes_used_percent:
              result.files > 0 ? (100 * (result.files - result.ffree)) / result.files : 0,
          },
          timestamp: now,
        }),
      );
    }
    if (lastError !== undefined) {
      if (answered === 0) throw lastError;
      this.warn("disk", lastError);
    }
  }

  /** undefined: skipped (still pending from an earlier cycle, or too slow now). */
  private async statfsOnce(path: string): Promise<StatsFs | Error | undefined> {
    if (this.statfsPending.has(path)) return undefined;
    this.statfsPending.add(path);
    const call = statfs(path, { bigint: false }).then(
      (stats): StatsFs | Error => stats,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
    void call.finally(() => this.statfsPending.delete(path));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), STATFS_TIMEOUT_MS);
      timer.unref();
    });
    const result = await Promise.race([call, timeout]);
    clearTimeout(timer);
    if (result === undefined) this.warn("disk", new Error(`statfs ${path}: no answer, skipped`));
    return result;
  }

  private sampleDiskio(now: number, out: AgentEvent[]): void {
    const previous = this.lastDiskio;
    this.lastDiskio = new Map();
    for (const [name, fields] of parseDiskstats(this.read(`${this.internals.proc}/diskstats`))) {
      if (!this.deviceFilter(name)) continue;
      // As Telegraf: a device that never did any I/O (an unused loop or zram device) is left out.
      if (Object.values(fields).every((v) => v === 0)) continue;
      const at = {
        at: now,
        ops: (fields.reads ?? 0) + (fields.writes ?? 0),
        opsTime: (fields.read_time ?? 0) + (fields.write_time ?? 0),
        ioTime: fields.io_time ?? 0,
      };
      this.lastDiskio.set(name, at);
      // Telegraf's io_await, io_svctm (ms per operation) and io_util (% of the time busy) over
      // the time since the previous cycle; the first cycle has no previous reading.
      const before = previous.get(name);
      if (before !== undefined && now > before.at && at.ops >= before.ops) {
        const ops = at.ops - before.ops;
        fields.io_await = ops > 0 ? (at.opsTime - before.opsTime) / ops : 0;
        fields.io_svctm = ops > 0 ? (at.ioTime - before.ioTime) / ops : 0;
        fields.io_util = Math.min(100, (100 * (at.ioTime - before.ioTime)) / (now - before.at));
      }
      out.push(event({ name: "diskio", tags: { name }, fields, timestamp: now }));
    }
  }

  private sampleNet(now: number, facts: StaticFacts, out: AgentEvent[]): void {
    for (const [iface, fields] of parseNetDev(this.read(`${this.internals.proc}/net/dev`))) {
      if (!this.interfaceFilter(iface)) continue;
      if (this.skipIdleInterfaces) {
        const flags = this.interfaceFlags(facts, iface);
        if ((flags & IFF_LOOPBACK) !== 0 || (flags & IFF_UP) === 0) continue;
      }
      fields.speed = this.interfaceSpeed(facts, iface);
      out.push(event({ name: "net", tags: { interface: iface }, fields, timestamp: now }));
    }
  }

  /** Telegraf's net `speed`: the link's Mbit/s, -1 for a link without one (virtual, down). */
  private interfaceSpeed(facts: StaticFacts, iface: string): number {
    let speed = facts.interfaceSpeed.get(iface);
    if (speed === undefined) {
      try {
        speed = Number.parseInt(this.read(`${this.internals.sys}/class/net/${iface}/speed`), 10);
      } catch {
        speed = -1;
      }
      if (!Number.isFinite(speed)) speed = -1;
      facts.interfaceSpeed.set(iface, speed);
    }
    return speed;
  }

  private interfaceFlags(facts: StaticFacts, iface: string): number {
    let flags = facts.interfaceFlags.get(iface);
    if (flags === undefined) {
      try {
        flags = Number.parseInt(this.read(`${this.internals.sys}/class/net/${iface}/flags`), 16);
      } catch {
        // Without /sys, fall back on the name: only `lo` counts as loopback.
        flags = iface === "lo" ? IFF_UP | IFF_LOOPBACK : IFF_UP;
      }
      facts.interfaceFlags.set(iface, flags);
    }
    return flags;
  }

  /**
   * Telegraf's processes input on Linux: the state of every /proc/<pid>/stat. The one cost that
   * grows with the host (about 10 µs per process), so it reads into one reused buffer.
   */
  private sampleProcesses(now: number, out: AgentEvent[]): void {
    const counts = emptyProcessCounts();
    const buffer = this.statBuffer;
    const proc = this.internals.proc;
    for (const entry of readdirSync(proc)) {
      const first = entry.charCodeAt(0);
      if (first < 0x30 || first > 0x39) continue;
      let fd: number | undefined;
      try {
        fd = openSync(`${proc}/${entry}/stat`, "r");
        countProcessStat(buffer, readSync(fd, buffer, 0, buffer.length, 0), counts);
      } catch {
        // The process ended between readdir and read (ENOENT, ESRCH): not counted, as in Telegraf.
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    }
    const { parked, ...fields } = counts;
    // Telegraf adds `parked` only when a parked task was seen.
    out.push(
      event({
        name: "processes",
        tags: {},
        fields: parked > 0 ? { ...fields, parked } : fields,
        timestamp: now,
      }),
    );
  }

  /** A /proc or /sys file as text (latin1: these files are ASCII). */
  private read(path: string): string {
    return this.textBuffer.toString("latin1", 0, this.readBytes(path));
  }

  /** Reads a whole file into textBuffer (valid until the next read); returns its length. */
  private readBytes(path: string): number {
    const fd = openSync(path, "r");
    try {
      let length = 0;
      for (;;) {
        const n = readSync(fd, this.textBuffer, length, this.textBuffer.length - length, null);
        if (n === 0) break;
        length += n;
        if (length === this.textBuffer.length) {
          // /proc files have no size to ask for beforehand: grow and read on.
          const bigger = Buffer.alloc(this.textBuffer.length * 2);
          this.textBuffer.copy(bigger);
          this.textBuffer = bigger;
        }
      }
      return length;
    } finally {
      closeSync(fd);
    }
  }

  private warn(measurement: string, error: unknown): void {
    const now = Date.now();
    if (now - (this.lastWarn.get(measurement) ?? 0) < WARN_EVERY_MS) return;
    this.lastWarn.set(measurement, now);
    this.ctx.logger.warn(
      { source: this.name, measurement },
      `sampling ${measurement} failed: ${describeError(error)}`,
    );
  }
}

function event(body: Sample): AgentEvent {
  const headers: Record<string, string> = { name: body.name };
  if (body.tags.host !== undefined) headers.host = body.tags.host;
  return { headers, body };
}

export function createSysinfoSource(
  name: string,
  options: SysinfoSourceConfig,
  ctx: ComponentContext,
  internals: Partial<SysinfoInternals> = {},
): PollableSource {
  return new SysinfoSource(name, options, ctx, { ...DEFAULTS, ...internals });
}
