/**
 * Parsers of the Linux /proc files the sysinfo source reads directly (systeminformation would
 * spawn a process for most: df, lsblk, ps, a shell around cat). Pure functions of the file text, so
 * tests can feed them fixtures. Field meanings follow proc(5) and gopsutil, which Telegraf uses.
 */

/** user nice system idle iowait irq softirq steal guest guest_nice, in USER_HZ ticks. */
export type CpuTimes = readonly number[];

/** The `cpu` and `cpuN` lines of /proc/stat, by name (`cpu` is the sum over all cores). */
export function parseCpuTimes(stat: string): Map<string, CpuTimes> {
  const result = new Map<string, CpuTimes>();
  for (const line of stat.split("\n")) {
    if (!line.startsWith("cpu")) {
      // The cpu lines come first; nothing after them is ours.
      if (result.size > 0) break;
      continue;
    }
    const parts = line.split(/\s+/);
    const times = new Array<number>(10).fill(0);
    for (let i = 0; i < 10; i++) times[i] = Number(parts[i + 1] ?? 0) || 0;
    result.set(parts[0] as string, times);
  }
  return result;
}

/**
 * Telegraf's cpu usage_* fields: shares of the time between two readings, in percent. Guest time
 * is already counted in user (and guest_nice in nice), so it is taken out of those and not counted
 * in the total. Undefined when no time passed or the counters went back (a hotplugged core).
 */
export function cpuUsage(prev: CpuTimes, cur: CpuTimes): Record<string, number> | undefined {
  const d = (i: number) => (cur[i] ?? 0) - (prev[i] ?? 0);
  const total = d(0) + d(1) + d(2) + d(3) + d(4) + d(5) + d(6) + d(7);
  if (!(total > 0)) return undefined;
  // The kernel updates user and guest separately: a reading between the two can make
  // user - guest dip below zero for one interval.
  const pct = (ticks: number) => Math.min(100, Math.max(0, (100 * ticks) / total));
  return {
    usage_user: pct(d(0) - d(8)),
    usage_system: pct(d(2)),
    usage_idle: pct(d(3)),
    usage_nice: pct(d(1) - d(9)),
    usage_iowait: pct(d(4)),
    usage_irq: pct(d(5)),
    usage_softirq: pct(d(6)),
    usage_steal: pct(d(7)),
    usage_guest: pct(d(8)),
    usage_guest_nice: pct(d(9)),
  };
}

/** pswpin and pswpout of /proc/vmstat (pages; gopsutil counts them as 4 KiB each). */
export function parseSwapPaging(vmstat: string): { pswpin: number; pswpout: number } {
  const at = (key: string) => {
    const i = vmstat.indexOf(`\n${key} `);
    return i < 0 ? 0 : Number.parseInt(vmstat.slice(i + key.length + 2), 10) || 0;
  };
  return { pswpin: at("pswpin"), pswpout: at("pswpout") };
}

export interface Mount {
  device: string;
  path: string;
  fstype: string;
  options: string[];
}

/** /proc/mounts lines name spaces and tabs in paths as octal escapes (`\040`). */
function unescapeMount(field: string): string {
  return field.includes("\\")
    ? field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)))
    : field;
}

export function parseMounts(mounts: string): Mount[] {
  const result: Mount[] = [];
  for (const line of mounts.split("\n")) {
    const parts = line.split(" ");
    if (parts.length < 4) continue;
    result.push({
      device: unescapeMount(parts[0] as string),
      path: unescapeMount(parts[1] as string),
      fstype: parts[2] as string,
      options: (parts[3] as string).split(","),
    });
  }
  return result;
}

/**
 * The file system types backed by a device (no `nodev` in /proc/filesystems), plus zfs: what
 * gopsutil's Partitions(all=false) keeps for Telegraf's disk input. It also leaves out network
 * file systems (nfs, cifs, fuse.sshfs), whose statfs can hang on an unreachable server.
 */
export function parsePhysicalFilesystems(filesystems: string): Set<string> {
  const result = new Set<string>(["zfs"]);
  for (const line of filesystems.split("\n")) {
    const [flag, type] = line.split("\t");
    if (flag === "" && type) result.add(type.trim());
  }
  return result;
}

/**
 * /proc/meminfo as numbers: sizes (the lines in kB) in bytes, counts (HugePages_*) as they are.
 * A key the kernel does not have (HighTotal on 64-bit) is absent.
 */
export function parseMeminfo(meminfo: string): Map<string, number> {
  const result = new Map<string, number>();
  for (const line of meminfo.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const [value = "", unit] = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    const n = Number(value);
    if (Number.isFinite(n)) result.set(line.slice(0, colon), unit === "kB" ? n * 1024 : n);
  }
  return result;
}

/**
 * Telegraf's mem fields (1.36, Linux: gopsutil's VirtualMemory) from parsed /proc/meminfo:
 * cached includes SReclaimable and used is what is neither free, buffers nor cache, as free(1)
 * counts them.
 */
export function memFields(m: ReadonlyMap<string, number>): Record<string, number> {
  const kb = (key: string) => m.get(key) ?? 0;
  const total = kb("MemTotal");
  const free = kb("MemFree");
  const buffered = kb("Buffers");
  const sreclaimable = kb("SReclaimable");
  const cached = kb("Cached") + sreclaimable;
  const available = m.get("MemAvailable") ?? free + buffered + cached;
  const used = total - free - buffered - cached;
  return {
    total,
    available,
    used,
    used_percent: total > 0 ? (100 * used) / total : 0,
    available_percent: total > 0 ? (100 * available) / total : 0,
    free,
    buffered,
    cached,
    active: kb("Active"),
    inactive: kb("Inactive"),
    shared: kb("Shmem"),
    slab: kb("Slab"),
    sreclaimable,
    sunreclaim: kb("SUnreclaim"),
    dirty: kb("Dirty"),
    write_back: kb("Writeback"),
    write_back_tmp: kb("WritebackTmp"),
    mapped: kb("Mapped"),
    page_tables: kb("PageTables"),
    swap_cached: kb("SwapCached"),
    swap_total: kb("SwapTotal"),
    swap_free: kb("SwapFree"),
    commit_limit: kb("CommitLimit"),
    committed_as: kb("Committed_AS"),
    high_total: kb("HighTotal"),
    high_free: kb("HighFree"),
    low_total: kb("LowTotal"),
    low_free: kb("LowFree"),
    vmalloc_total: kb("VmallocTotal"),
    vmalloc_used: kb("VmallocUsed"),
    vmalloc_chunk: kb("VmallocChunk"),
    huge_pages_total: kb("HugePages_Total"),
    huge_pages_free: kb("HugePages_Free"),
    huge_page_size: kb("Hugepagesize"),
  };
}

/** The fields of Telegraf's diskio input, by device name, from /proc/diskstats. */
export function parseDiskstats(diskstats: string): Map<string, Record<string, number>> {
  const result = new Map<string, Record<string, number>>();
  for (const line of diskstats.split("\n")) {
    const p = line.trim().split(/\s+/);
    if (p.length < 14) continue;
    const n = (i: number) => Number(p[i]) || 0;
    result.set(p[2] as string, {
      reads: n(3),
      merged_reads: n(4),
      read_bytes: n(5) * 512,
      read_time: n(6),
      writes: n(7),
      merged_writes: n(8),
      write_bytes: n(9) * 512,
      write_time: n(10),
      iops_in_progress: n(11),
      io_time: n(12),
      weighted_io_time: n(13),
    });
  }
  return result;
}

/** The fields of Telegraf's net input, by interface, from /proc/net/dev. */
export function parseNetDev(netdev: string): Map<string, Record<string, number>> {
  const result = new Map<string, Record<string, number>>();
  for (const line of netdev.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const p = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (p.length < 16) continue;
    const n = (i: number) => Number(p[i]) || 0;
    result.set(line.slice(0, colon).trim(), {
      bytes_recv: n(0),
      packets_recv: n(1),
      err_in: n(2),
      drop_in: n(3),
      bytes_sent: n(8),
      packets_sent: n(9),
      err_out: n(10),
      drop_out: n(11),
    });
  }
  return result;
}

/** glibc's struct utmp on Linux (x86_64, aarch64): 384 bytes, ut_type at 0, ut_user at 44. */
const UTMP_RECORD = 384;
const UTMP_USER = 44;
const UTMP_USER_LENGTH = 32;
const USER_PROCESS = 7;

/** Logged-in sessions and distinct users in a utmp file: Telegraf's n_users, n_unique_users. */
export function countUtmpUsers(utmp: Buffer): { sessions: number; unique: number } {
  const users = new Set<string>();
  let sessions = 0;
  for (let at = 0; at + UTMP_RECORD <= utmp.length; at += UTMP_RECORD) {
    if (utmp.readInt16LE(at) !== USER_PROCESS) continue;
    sessions++;
    const raw = utmp.subarray(at + UTMP_USER, at + UTMP_USER + UTMP_USER_LENGTH);
    const end = raw.indexOf(0);
    users.add(raw.toString("latin1", 0, end < 0 ? raw.length : end));
  }
  return { sessions, unique: users.size };
}

export interface ProcessCounts {
  running: number;
  sleeping: number;
  blocked: number;
  zombies: number;
  dead: number;
  stopped: number;
  paging: number;
  idle: number;
  parked: number;
  unknown: number;
  total: number;
  total_threads: number;
}

export function emptyProcessCounts(): ProcessCounts {
  return {
    running: 0,
    sleeping: 0,
    blocked: 0,
    zombies: 0,
    dead: 0,
    stopped: 0,
    paging: 0,
    idle: 0,
    parked: 0,
    unknown: 0,
    total: 0,
    total_threads: 0,
  };
}

const CLOSE_PAREN = 0x29;
const SPACE = 0x20;

/**
 * Counts one /proc/<pid>/stat (the first `length` bytes of `stat`) into `counts`, as Telegraf's
 * processes input does: the state letter after the command name, which may itself contain
 * spaces and parentheses (hence the last `)`), and num_threads, the 20th field.
 */
export function countProcessStat(stat: Buffer, length: number, counts: ProcessCounts): void {
  let close = length - 1;
  while (close >= 0 && stat[close] !== CLOSE_PAREN) close--;
  if (close < 0 || close + 2 >= length) return;
  const state = stat[close + 2];
  switch (state) {
    case 0x52: // R
      counts.running++;
      break;
    case 0x53: // S
      counts.sleeping++;
      break;
    case 0x44: // D
      counts.blocked++;
      break;
    case 0x5a: // Z
      counts.zombies++;
      break;
    case 0x58: // X
    case 0x78: // x
      counts.dead++;
      break;
    case 0x54: // T
    case 0x74: // t
      counts.stopped++;
      break;
    case 0x57: // W
      counts.paging++;
      break;
    case 0x49: // I
      counts.idle++;
      break;
    case 0x50: // P
      counts.parked++;
      break;
    default:
      counts.unknown++;
  }
  counts.total++;
  // After the state (field 3), 17 more spaces lead to num_threads (field 20).
  let at = close + 2;
  for (let spaces = 0; at < length && spaces < 17; at++) if (stat[at] === SPACE) spaces++;
  let threads = 0;
  for (; at < length; at++) {
    const digit = (stat[at] as number) - 0x30;
    if (digit < 0 || digit > 9) break;
    threads = threads * 10 + digit;
  }
  counts.total_threads += threads;
}
