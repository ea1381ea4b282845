import test from "ava";
import {
  countProcessStat,
  countUtmpUsers,
  cpuUsage,
  emptyProcessCounts,
  memFields,
  parseCpuTimes,
  parseDiskstats,
  parseMeminfo,
  parseMounts,
  parseNetDev,
  parsePhysicalFilesystems,
  parseSwapPaging,
} from "../../../agent/sources/procfs.js";

const STAT_0 = `cpu  1000 10 500 8000 100 20 30 40 50 0
cpu0 500 5 250 4000 50 10 15 20 25 0
cpu1 500 5 250 4000 50 10 15 20 25 0
intr 12345 0 0
ctxt 999
procs_running 2
`;
const STAT_1 = `cpu  1100 10 550 8300 110 20 30 40 70 0
cpu0 550 5 275 4150 55 10 15 20 35 0
cpu1 550 5 275 4150 55 10 15 20 35 0
intr 12399 0 0
`;

test("cpu times: the cpu lines by name, nothing after them", (t) => {
  const times = parseCpuTimes(STAT_0);
  t.deepEqual([...times.keys()], ["cpu", "cpu0", "cpu1"]);
  t.deepEqual(times.get("cpu"), [1000, 10, 500, 8000, 100, 20, 30, 40, 50, 0]);
  // Old kernels have fewer columns: the rest count as zero.
  t.deepEqual(parseCpuTimes("cpu 1 2 3 4\n").get("cpu"), [1, 2, 3, 4, 0, 0, 0, 0, 0, 0]);
});

test("cpu usage follows Telegraf: guest out of user, total without guest", (t) => {
  const a = parseCpuTimes(STAT_0).get("cpu") ?? [];
  const b = parseCpuTimes(STAT_1).get("cpu") ?? [];
  const u = cpuUsage(a, b);
  if (u === undefined) return t.fail();
  // total delta = 100 + 0 + 50 + 300 + 10 = 460 ticks; guest (20) comes out of user (100).
  t.is(u.usage_user, (100 * 80) / 460);
  t.is(u.usage_system, (100 * 50) / 460);
  t.is(u.usage_idle, (100 * 300) / 460);
  t.is(u.usage_iowait, (100 * 10) / 460);
  t.is(u.usage_guest, (100 * 20) / 460);
  const sum = Object.values(u).reduce((s, v) => s + v, 0);
  t.true(Math.abs(sum - 100) < 1e-9);
  t.is(cpuUsage(a, a), undefined, "no time passed");
  t.is(cpuUsage(b, a), undefined, "counters went back");
});

test("swap paging from /proc/vmstat", (t) => {
  t.deepEqual(parseSwapPaging("nr_free_pages 1\npswpin 12\npswpout 34\nfoo 5\n"), {
    pswpin: 12,
    pswpout: 34,
  });
  t.deepEqual(parseSwapPaging("nr_free_pages 1\n"), { pswpin: 0, pswpout: 0 });
});

test("mounts: octal escapes in paths, options split", (t) => {
  const mounts = parseMounts(
    "/dev/sda1 / ext4 rw,relatime 0 0\n/dev/sdb1 /mnt/my\\040disk xfs ro,noatime 0 0\n",
  );
  t.deepEqual(mounts[1], {
    device: "/dev/sdb1",
    path: "/mnt/my disk",
    fstype: "xfs",
    options: ["ro", "noatime"],
  });
  t.is(mounts.length, 2);
});

test("physical file systems: not nodev, plus zfs", (t) => {
  const fs = parsePhysicalFilesystems("nodev\tsysfs\nnodev\tnfs\n\text4\n\txfs\nnodev\tzfs\n");
  t.deepEqual([...fs].sort(), ["ext4", "xfs", "zfs"]);
});

test("diskstats: Telegraf diskio fields, sectors of 512 bytes", (t) => {
  const stats = parseDiskstats(
    " 254       0 vda 96578 9232 6111946 50309 37816 42061 5022032 24558 0 12236 76772 14673 34 1720392 1283 9983 621\n   7 0 loop0 0 0 0 0 0 0 0 0 0 0 0\n",
  );
  t.deepEqual(stats.get("vda"), {
    reads: 96578,
    merged_reads: 9232,
    read_bytes: 6111946 * 512,
    read_time: 50309,
    writes: 37816,
    merged_writes: 42061,
    write_bytes: 5022032 * 512,
    write_time: 24558,
    iops_in_progress: 0,
    io_time: 12236,
    weighted_io_time: 76772,
  });
  t.true(stats.has("loop0"));
});

test("net/dev: Telegraf net fields by interface", (t) => {
  const net =
    parseNetDev(`Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1028741    9540    0    0    0     0          0         0  1028741    9540    0    0    0     0       0          0
  eth0: 800933611   24530    1    2    0     0          0         0  2906476   17744    3    4    0     0       0          0
`);
  t.deepEqual([...net.keys()], ["lo", "eth0"]);
  t.deepEqual(net.get("eth0"), {
    bytes_recv: 800933611,
    packets_recv: 24530,
    err_in: 1,
    drop_in: 2,
    bytes_sent: 2906476,
    packets_sent: 17744,
    err_out: 3,
    drop_out: 4,
  });
});

test("utmp: USER_PROCESS records, distinct users", (t) => {
  const record = (type: number, user: string) => {
    const b = Buffer.alloc(384);
    b.writeInt16LE(type, 0);
    b.write(user, 44, "latin1");
    return b;
  };
  const utmp = Buffer.concat([
    record(2, "reboot"),
    record(7, "alice"),
    record(7, "bob"),
    record(7, "alice"),
    record(8, "carol"),
  ]);
  t.deepEqual(countUtmpUsers(utmp), { sessions: 3, unique: 2 });
});

test("process stat: state after the last ')', threads from field 20", (t) => {
  const counts = emptyProcessCounts();
  const add = (line: string) => {
    const b = Buffer.from(line);
    countProcessStat(b, b.length, counts);
  };
  add(
    "1 (process_api) S 0 0 0 0 -1 4194560 47993 2910208 0 811 93 487 18824 3406 20 0 13 0 25 44875776",
  );
  add("42 (weird) name) R 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 2 0 25 0");
  add("43 (z) Z 1 43 43 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 25 0");
  add("44 (kworker/0:1) I 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 25 0");
  add("45 (d) D 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 4 0 25 0");
  add("46 (t) t 1 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 25 0");
  t.like(counts, {
    sleeping: 1,
    running: 1,
    zombies: 1,
    idle: 1,
    blocked: 1,
    stopped: 1,
    total: 6,
    total_threads: 13 + 2 + 1 + 1 + 4 + 1,
  });
});

test("meminfo: Telegraf's 34 mem fields in bytes (huge page counts as counts); cached includes SReclaimable", (t) => {
  const m = parseMeminfo(
    [
      "MemTotal:        8000000 kB",
      "MemFree:         1000000 kB",
      "MemAvailable:    5000000 kB",
      "Buffers:          200000 kB",
      "Cached:          3000000 kB",
      "SwapCached:         1000 kB",
      "Active:          2500000 kB",
      "Inactive:        2000000 kB",
      "SwapTotal:       2000000 kB",
      "SwapFree:        1500000 kB",
      "Dirty:              1200 kB",
      "Writeback:             4 kB",
      "Mapped:           400000 kB",
      "Shmem:             50000 kB",
      "Slab:             600000 kB",
      "SReclaimable:     500000 kB",
      "SUnreclaim:       100000 kB",
      "PageTables:        20000 kB",
      "WritebackTmp:          0 kB",
      "CommitLimit:     6000000 kB",
      "Committed_AS:    7000000 kB",
      "VmallocTotal:   34359738367 kB",
      "VmallocUsed:       30000 kB",
      "VmallocChunk:          0 kB",
      "HugePages_Total:       4",
      "HugePages_Free:        3",
      "Hugepagesize:       2048 kB",
    ].join("\n"),
  );
  const f = memFields(m);
  t.is(Object.keys(f).length, 34);
  t.is(f.total, 8_000_000 * 1024);
  t.is(f.cached, 3_500_000 * 1024);
  t.is(f.used, (8_000_000 - 1_000_000 - 200_000 - 3_500_000) * 1024);
  t.is(f.available_percent, 62.5);
  t.is(f.shared, 50_000 * 1024);
  t.is(f.committed_as, 7_000_000 * 1024);
  t.is(f.huge_pages_total, 4);
  t.is(f.huge_page_size, 2048 * 1024);
  t.is(f.high_total, 0, "absent on 64-bit kernels: 0, as Telegraf reports it");
});
