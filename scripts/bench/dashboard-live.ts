/**
 * The dashboard's live tail at fleet scale, without Kafka: `--hosts` hosts × 16 samples (what
 * the sysinfo source sends on a 4-core host with 3 disks, 2 block devices and 2 interfaces)
 * every 10 s, covering `--minutes` of sample time up to now, encoded as the agent encodes them
 * (value and hf-* headers), fed in batches through the tail's own batch handler (checkRecord,
 * then the LiveStore), as kafkajs would hand them over. Reports the heap and RSS the store holds
 * once full (after a forced GC, against the same process before), the CPU per record, and what
 * /api/fleet costs for that many hosts.
 *
 *   npm run bench -- dashboard-live [--hosts 10000] [--minutes 11] [--window 10m]
 */

import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { loadCollectorConfigText } from "../../collector/config/load.js";
import { fleetHosts } from "../../collector/dashboard/data.js";
import { LiveTail } from "../../collector/dashboard/live-tail.js";
import { createLogger } from "../../lib/log.js";
import { encodeHeaders, encodeSample, type Sample } from "../../lib/wire.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const { values: args } = parseArgs({
  options: {
    hosts: { type: "string", default: "10000" },
    minutes: { type: "string", default: "11" },
    window: { type: "string", default: "10m" },
    partitions: { type: "string", default: "6" },
  },
});
const HOSTS = Number(args.hosts);
const MINUTES = Number(args.minutes);
const PARTITIONS = Number(args.partitions);
const INTERVAL_MS = 10_000;
const BATCH = 2_000;
const MB = 1024 * 1024;

const say = (line: string) => console.log(`[dashboard-live] ${line}`);
const n = (x: number) => Math.round(x).toLocaleString("en");
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

function memory() {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, external: m.external + m.arrayBuffers };
}

/** A host's 16 samples at `ts`; counters grow with `cycle`. */
function hostSamples(host: string, h: number, ts: number, cycle: number): Sample[] {
  const r = (low: number, high: number) => low + Math.random() * (high - low);
  const cpu = (core: string): Sample => {
    const idle = r(20, 95);
    return {
      name: "cpu",
      tags: { cpu: core, host },
      fields: {
        usage_user: (100 - idle) * 0.7,
        usage_system: (100 - idle) * 0.2,
        usage_idle: idle,
        usage_nice: 0,
        usage_iowait: (100 - idle) * 0.05,
        usage_irq: 0,
        usage_softirq: (100 - idle) * 0.05,
        usage_steal: 0,
        usage_guest: 0,
        usage_guest_nice: 0,
      },
      timestamp: ts,
    };
  };
  const disk = (path: string, device: string, used: number): Sample => ({
    name: "disk",
    tags: { path, device, fstype: "ext4", mode: "rw", host },
    fields: {
      total: 1e11,
      free: 1e11 * (1 - used),
      used: 1e11 * used,
      used_percent: 100 * used,
      inodes_total: 6e6,
      inodes_free: 5e6,
      inodes_used: 1e6,
    },
    timestamp: ts,
  });
  const diskio = (name: string): Sample => ({
    name: "diskio",
    tags: { name, host },
    fields: {
      reads: 1e6 + cycle * 50,
      read_bytes: 1e10 + cycle * 4e5 + h,
      read_time: 1e6 + cycle,
      writes: 2e6 + cycle * 80,
      write_bytes: 2e10 + cycle * 9e5 + h,
      write_time: 3e6 + cycle,
      io_time: 4e6 + cycle,
      weighted_io_time: 5e6 + cycle,
      iops_in_progress: 0,
    },
    timestamp: ts,
  });
  const net = (iface: string): Sample => ({
    name: "net",
    tags: { interface: iface, host },
    fields: {
      bytes_recv: 1e12 + cycle * 5e6 + h,
      packets_recv: 1e9 + cycle * 4e3,
      err_in: 0,
      drop_in: 0,
      bytes_sent: 2e12 + cycle * 3e6 + h,
      packets_sent: 2e9 + cycle * 3e3,
      err_out: 0,
      drop_out: 0,
    },
    timestamp: ts,
  });
  const memUsed = r(20, 80);
  return [
    cpu("cpu-total"),
    cpu("cpu0"),
    cpu("cpu1"),
    cpu("cpu2"),
    cpu("cpu3"),
    {
      name: "mem",
      tags: { host },
      fields: {
        total: 16e9,
        available: 16e9 * (1 - memUsed / 100),
        used: 16e9 * (memUsed / 100),
        used_percent: memUsed,
        available_percent: 100 - memUsed,
        free: 1e9,
        buffered: 2e8,
        cached: 4e9,
        slab: 3e8,
        dirty: 1e6,
        swap_total: 2e9,
        swap_free: 2e9,
      },
      timestamp: ts,
    },
    {
      name: "swap",
      tags: { host },
      fields: { total: 2e9, used: 0, free: 2e9, used_percent: 0, in: 0, out: 0 },
      timestamp: ts,
    },
    {
      name: "system",
      tags: { host },
      fields: {
        load1: r(0, 4),
        load5: 1,
        load15: 1,
        n_cpus: 4,
        uptime: 1e6 + cycle * 10,
        n_users: 1,
      },
      timestamp: ts,
    },
    {
      name: "processes",
      tags: { host },
      fields: {
        running: 2,
        sleeping: 180,
        blocked: 0,
        zombies: 0,
        idle: 40,
        total: 222,
        total_threads: 700,
      },
      timestamp: ts,
    },
    disk("/", "sda1", 0.41),
    disk("/var", "sda2", 0.63),
    disk("/boot", "sda3", 0.2),
    diskio("sda"),
    diskio("sdb"),
    net("eth0"),
    net("eth1"),
  ];
}

const { config } = loadCollectorConfigText(
  `kafka:\n  brokers: ["127.0.0.1:9"]\naggregation:\n  windows: [1m, 1h]\ndashboard:\n  live_window: ${args.window}\n`,
  "bench.yaml",
  {},
);
const tail = new LiveTail(config, createLogger("bench", "warn"));
const store = tail.store;
const perHost = hostSamples("x", 0, 0, 0).length;
say(
  `${n(HOSTS)} hosts × ${perHost} samples every ${INTERVAL_MS / 1000} s (${n((HOSTS * perHost * 1000) / INTERVAL_MS)} samples/s), ` +
    `${MINUTES} min of sample time, live window ${store.windowMs / 60_000} min in ${store.bucketMs / 1000} s windows, ${PARTITIONS} partitions`,
);

const names = Array.from({ length: HOSTS }, (_, i) => `host-${String(i).padStart(5, "0")}`);
const keys = names.map((name) => Buffer.from(name));
const before = memory();
const offsets = new Array<number>(PARTITIONS).fill(0);
const cycles = (MINUTES * 60_000) / INTERVAL_MS;
const first = Date.now() - MINUTES * 60_000;
let records = 0;
let feedMs = 0;
let cpuMicros = 0;
const started = Date.now();
for (let c = 0; c < cycles; c++) {
  // One cycle of the fleet, per partition, as the agents' records would be spread.
  const batches: Array<
    Array<{ offset: string; key: Buffer; value: Buffer; headers: Record<string, Buffer> }>
  > = Array.from({ length: PARTITIONS }, () => []);
  const cycleStart = first + c * INTERVAL_MS;
  for (let h = 0; h < HOSTS; h++) {
    const host = names[h] as string;
    const ts = cycleStart + Math.floor((h * INTERVAL_MS) / HOSTS);
    const p = h % PARTITIONS;
    const list = batches[p] as (typeof batches)[number];
    hostSamples(host, h, ts, c).forEach((sample, i) => {
      const headers = encodeHeaders({
        schemaVersion: 1,
        agentId: host,
        stream: "file@1",
        seq: c * perHost + i,
      });
      list.push({
        offset: String((offsets[p] as number) + list.length),
        key: keys[h] as Buffer,
        value: encodeSample(sample),
        headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])),
      });
    });
  }
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let p = 0; p < PARTITIONS; p++) {
    const list = batches[p] as (typeof batches)[number];
    for (let i = 0; i < list.length; i += BATCH)
      tail.handleBatch("metrics", p, list.slice(i, i + BATCH));
    offsets[p] = (offsets[p] as number) + list.length;
    records += list.length;
  }
  const cpu1 = process.cpuUsage(cpu0);
  cpuMicros += cpu1.user + cpu1.system;
  feedMs += performance.now() - t0;
}
const wall = (Date.now() - started) / 1000;
const now = Date.now();
store.sweep(now);
const after = memory();
const size = store.size();
const status = tail.status(now);
say(
  `fed ${n(records)} records in ${wall.toFixed(1)} s (generating them included); the tail's part: ` +
    `${((cpuMicros / records) * 1).toFixed(2)} µs CPU per record (${(feedMs / 1000).toFixed(1)} s), ` +
    `${(((cpuMicros / records) * (HOSTS * perHost * 1000)) / INTERVAL_MS / 1e4).toFixed(1)} % of a core at the fleet's rate`,
);
say(
  `store: ${n(size.hosts)} hosts, ${n(size.series)} series, ${n(size.numbers)} numbers in rings; ` +
    `${n(status.late)} samples older than the window skipped, ${n(status.bad)} bad, ${n(status.droppedForHostCap)} over the host cap`,
);
say(
  `heap used ${mb(before.heap)} → ${mb(after.heap)}: the store holds ${mb(after.heap - before.heap)} ` +
    `(${((after.heap - before.heap) / size.hosts / 1024).toFixed(1)} KB per host); ` +
    `RSS ${mb(before.rss)} → ${mb(after.rss)} (the process, with V8's free pages after ${n(records)} records' garbage); ` +
    `external ${mb(before.external)} → ${mb(after.external)}`,
);

// /api/fleet's live part for this fleet: the hosts' latest signals, merged (no Hive rows), as JSON.
const times: number[] = [];
let json = "";
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  const t = Date.now();
  const hosts = fleetHosts([], store.hosts(t, config.report.silent_after), config.report, t);
  json = JSON.stringify({ hosts, live: tail.status(t) });
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const t0 = performance.now();
const rows = store.rows(names[0] as string, Date.now(), Date.now() - 3_600_000, Date.now());
const rowsMs = performance.now() - t0;
say(
  `/api/fleet's live part for ${n(size.hosts)} hosts: ${(times[2] as number).toFixed(0)} ms (median of 5: merge + JSON), ` +
    `${mb(Buffer.byteLength(json))} of JSON; one host's chart rows: ${rows.length} in ${rowsMs.toFixed(2)} ms`,
);
