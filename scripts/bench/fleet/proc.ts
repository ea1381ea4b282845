/**
 * CPU and memory of the fleet bench's parts, from /proc, the way footprint.ts reads a process:
 * CPU = utime + stime of the process and of its live descendants, plus cutime + cstime (the
 * children it has waited for); RSS = VmRSS summed over the same tree; peak = the largest VmHWM
 * seen. A part (an agent, a collector, a broker …) may be several processes one after the
 * other (killed and started again): its CPU is the sum over them, each counted from the window's
 * start or its own start, up to its last reading (taken just before a kill).
 */

import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const TICK_S = 1 / Number(spawnSync("getconf", ["CLK_TCK"]).stdout?.toString().trim() || 100);

interface Stat {
  ppid: number;
  /** utime + stime + cutime + cstime, in seconds. */
  cpu: number;
  /** Clock ticks after boot at which the process started: tells a reused PID apart. */
  start: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: fields start after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const n = (i: number) => Number(fields[i] ?? 0);
  return { ppid: n(1), cpu: (n(11) + n(12) + n(13) + n(14)) * TICK_S, start: n(19) };
}

function readMemory(pid: number): { rssKb: number; hwmKb: number } {
  let status = "";
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return { rssKb: 0, hwmKb: 0 };
  }
  return {
    rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0),
    hwmKb: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0),
  };
}

/** Parent → children of every process now: one pass over /proc per sampling round. */
function childrenMap(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat === undefined) continue;
    const list = map.get(stat.ppid) ?? [];
    list.push(Number(entry));
    map.set(stat.ppid, list);
  }
  return map;
}

export interface TreeReading {
  cpu: number;
  rssKb: number;
  hwmKb: number;
  start: number;
}

function readTree(pid: number, children: Map<number, number[]>): TreeReading | undefined {
  const root = readStat(pid);
  if (root === undefined) return undefined;
  const out: TreeReading = { cpu: 0, rssKb: 0, hwmKb: 0, start: root.start };
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) pids.push(...(children.get(pids[i] as number) ?? []));
  for (const p of pids) {
    const stat = p === pid ? root : readStat(p);
    if (stat === undefined) continue;
    out.cpu += stat.cpu;
    const memory = readMemory(p);
    out.rssKb += memory.rssKb;
    out.hwmKb = Math.max(out.hwmKb, memory.hwmKb);
  }
  return out;
}

/** One process of a part: its first reading in the window and its latest. */
interface Incarnation {
  pid: number;
  start: number;
  base: number;
  last: number;
}

export interface Part {
  name: string;
  kind: string;
  /** The part's process now, if it runs. */
  pid(): number | undefined;
}

export interface PartFigures {
  name: string;
  kind: string;
  cpuSeconds: number;
  /** Average cores over the window. */
  cores: number;
  steadyRssMb: number;
  peakRssMb: number;
  processes: number;
}

/** Machine-wide busy time (all cores), from /proc/stat, in seconds. */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
  return busy * TICK_S;
}

/**
 * Samples every part's process tree: `sample()` on a timer, `sampleNow(part)` just before a
 * kill, `open()` and `close()` bound the window the figures cover. RSS readings taken after
 * `steadyFrom` count for the steady median.
 */
export function createSampler(parts: Part[]) {
  const incarnations = new Map<string, Incarnation[]>(parts.map((p) => [p.name, []]));
  const rss = new Map<string, number[]>(parts.map((p) => [p.name, []]));
  const peak = new Map<string, number>(parts.map((p) => [p.name, 0]));
  let open = false;
  /** After `close()` the figures stay as they were at that moment. */
  let closed = false;
  let steadyFrom = Number.POSITIVE_INFINITY;
  let machine = { from: 0, to: 0, fromAt: 0, toAt: 0 };

  const readPart = (part: Part, children: Map<number, number[]>, forRss: boolean) => {
    if (closed) return;
    const pid = part.pid();
    if (pid === undefined) return;
    const reading = readTree(pid, children);
    if (reading === undefined) return;
    const list = incarnations.get(part.name) as Incarnation[];
    let current = list.find((i) => i.pid === pid && i.start === reading.start);
    if (current === undefined) {
      // Started before the window: count from now; started inside it: from its start.
      current = { pid, start: reading.start, base: open ? 0 : reading.cpu, last: reading.cpu };
      list.push(current);
    }
    if (!open) current.base = reading.cpu;
    current.last = reading.cpu;
    peak.set(part.name, Math.max(peak.get(part.name) ?? 0, reading.hwmKb, reading.rssKb));
    if (open && forRss && Date.now() >= steadyFrom) rss.get(part.name)?.push(reading.rssKb);
  };

  return {
    sample(): void {
      if (closed) return;
      const children = childrenMap();
      for (const part of parts) readPart(part, children, true);
      if (open) machine = { ...machine, to: machineBusySeconds(), toAt: Date.now() };
    },
    /** A last reading of one part (e.g. before it is killed). */
    sampleNow(name: string): void {
      const part = parts.find((p) => p.name === name);
      if (part !== undefined) readPart(part, childrenMap(), false);
    },
    /** Starts the window: CPU counts from here; RSS readings count as steady after `steady`. */
    open(steadyAt: number): void {
      this.sample();
      open = true;
      steadyFrom = steadyAt;
      const now = machineBusySeconds();
      machine = { from: now, to: now, fromAt: Date.now(), toAt: Date.now() };
    },
    close(): void {
      this.sample();
      closed = true;
    },
    figures(windowSeconds: number): PartFigures[] {
      return parts.map((part) => {
        const list = incarnations.get(part.name) ?? [];
        const cpuSeconds = list.reduce((sum, i) => sum + Math.max(0, i.last - i.base), 0);
        return {
          name: part.name,
          kind: part.kind,
          cpuSeconds,
          cores: cpuSeconds / windowSeconds,
          steadyRssMb: median(rss.get(part.name) ?? []) / 1024,
          peakRssMb: (peak.get(part.name) ?? 0) / 1024,
          processes: list.length,
        };
      });
    },
    /** Busy seconds of the whole machine (every process, ours or not) over the window. */
    machineBusy(): { seconds: number; over: number } {
      return { seconds: machine.to - machine.from, over: (machine.toAt - machine.fromAt) / 1000 };
    },
  };
}

export type Sampler = ReturnType<typeof createSampler>;

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
