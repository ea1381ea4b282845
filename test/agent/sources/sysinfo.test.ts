import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import type { SysinfoSourceConfig } from "../../../agent/config/schema.js";
import type { AgentEvent } from "../../../agent/core/types.js";
import { createSysinfoSource } from "../../../agent/sources/sysinfo.js";
import { isHostflowError } from "../../../lib/errors.js";
import { counted, sleep, testContext } from "./context.js";

const ALL = ["cpu", "mem", "swap", "system", "disk", "diskio", "net", "processes"] as const;

function config(overrides: Partial<SysinfoSourceConfig> = {}): SysinfoSourceConfig {
  return {
    type: "sysinfo",
    channels: ["c"],
    interceptors: [],
    interval: 10_000,
    jitter: 0,
    measurements: [...ALL],
    percpu: false,
    totalcpu: true,
    ignore_fs: ["tmpfs", "devtmpfs", "devfs", "iso9660", "overlay", "aufs", "squashfs"],
    ...overrides,
  };
}

/** Starts a source and polls it once, late enough for a cpu sample. */
async function sampleOnce(options: SysinfoSourceConfig): Promise<AgentEvent[]> {
  const source = createSysinfoSource("host", options, testContext());
  await source.start();
  if (options.measurements.includes("cpu")) await sleep(300);
  const events = await source.poll();
  await source.stop();
  return events;
}

const FIELDS: Record<string, string[]> = {
  cpu: [
    "usage_user",
    "usage_system",
    "usage_idle",
    "usage_nice",
    "usage_iowait",
    "usage_irq",
    "usage_softirq",
    "usage_steal",
    "usage_guest",
    "usage_guest_nice",
  ],
  mem: [
    "total",
    "available",
    "used",
    "used_percent",
    "available_percent",
    "free",
    "cached",
    "buffered",
    // Telegraf 1.36's other mem fields (issue 13)
    "active",
    "inactive",
    "shared",
    "slab",
    "sreclaimable",
    "sunreclaim",
    "dirty",
    "write_back",
    "write_back_tmp",
    "mapped",
    "page_tables",
    "swap_cached",
    "swap_total",
    "swap_free",
    "commit_limit",
    "committed_as",
    "high_total",
    "high_free",
    "low_total",
    "low_free",
    "vmalloc_total",
    "vmalloc_used",
    "vmalloc_chunk",
    "huge_pages_total",
    "huge_pages_free",
    "huge_page_size",
  ],
  swap: ["total", "used", "free", "used_percent", "in", "out"],
  system: ["load1", "load5", "load15", "n_cpus", "uptime"],
  disk: [
    "total",
    "free",
    "used",
    "used_percent",
    "inodes_total",
    "inodes_free",
    "inodes_used",
    "inodes_used_percent",
  ],
  diskio: [
    "reads",
    "writes",
    "read_bytes",
    "write_bytes",
    "read_time",
    "write_time",
    "io_time",
    "iops_in_progress",
  ],
  net: [
    "bytes_sent",
    "bytes_recv",
    "packets_sent",
    "packets_recv",
    "err_in",
    "err_out",
    "drop_in",
    "drop_out",
    "speed",
  ],
  processes: ["total", "running", "sleeping", "zombies", "stopped", "blocked", "total_threads"],
};

test("every measurement, with Telegraf's field names, finite and sane", async (t) => {
  // include ["*"]: also loopback, so that net has a sample on any machine.
  const events = await sampleOnce(config({ interfaces: { include: ["*"] } }));
  const names = new Set(events.map((e) => e.body.name));
  t.deepEqual([...names].sort(), [...ALL].sort());
  const now = Date.now();
  for (const { headers, body } of events) {
    t.is(headers.name, body.name);
    t.is(headers.host, undefined, "the host interceptor sets host");
    t.is(body.tags.host, undefined);
    t.true(Math.abs(body.timestamp - now) < 5_000);
    for (const field of FIELDS[body.name] ?? [])
      t.true(field in body.fields, `${body.name}.${field}`);
    for (const [field, value] of Object.entries(body.fields)) {
      t.true(Number.isFinite(value), `${body.name}.${field} = ${value}`);
      // net.speed is -1 for a link without a speed (virtual), as Telegraf reports it.
      const least = body.name === "net" && field === "speed" ? -1 : 0;
      t.true(value >= least, `${body.name}.${field} = ${value}`);
      if (field.endsWith("percent") || field.startsWith("usage_")) t.true(value <= 100);
    }
  }
  const one = (name: string) => events.find((e) => e.body.name === name)?.body;
  const mem = one("mem");
  t.true((mem?.fields.used ?? 0) <= (mem?.fields.total ?? 0));
  t.true((mem?.fields.available ?? 0) <= (mem?.fields.total ?? 0));
  const cpu = one("cpu");
  t.is(cpu?.tags.cpu, "cpu-total");
  t.true((one("system")?.fields.n_cpus ?? 0) >= 1);
  t.true((one("processes")?.fields.total ?? 0) >= 1);
  for (const disk of events.filter((e) => e.body.name === "disk")) {
    t.true((disk.body.fields.used ?? 1) <= (disk.body.fields.total ?? 0));
    t.truthy(disk.body.tags.path);
    t.truthy(disk.body.tags.device);
    t.false(disk.body.tags.device?.startsWith("/dev/"));
    t.true(["rw", "ro", "unknown"].includes(disk.body.tags.mode ?? ""));
  }
  t.true(events.some((e) => e.body.name === "disk" && e.body.tags.path === "/"));
});

test("cpu usage is over the time since the previous poll and sums to 100", async (t) => {
  const source = createSysinfoSource(
    "host",
    config({ measurements: ["cpu"], percpu: true }),
    testContext(),
  );
  await source.start();
  await sleep(300);
  const first = await source.poll();
  // Burn CPU for a while: the next window must show it.
  const until = Date.now() + 300;
  while (Date.now() < until);
  const second = await source.poll();
  for (const events of [first, second]) {
    t.true(events.some((e) => e.body.tags.cpu === "cpu-total"));
    t.true(events.some((e) => e.body.tags.cpu === "cpu0"));
    for (const e of events) {
      const sum = Object.values(e.body.fields).reduce((s, v) => s + v, 0);
      t.true(Math.abs(sum - 100) < 0.5, `sum ${sum}`);
    }
  }
  const total = second.find((e) => e.body.tags.cpu === "cpu-total")?.body.fields;
  t.true((total?.usage_idle ?? 100) < 95, "the busy loop shows");
  // A poll right after the previous one has too few ticks: no cpu sample, not a failure.
  t.deepEqual(await source.poll(), []);
});

test("totalcpu false, percpu false: no cpu samples", async (t) => {
  const events = await sampleOnce(config({ measurements: ["cpu"], totalcpu: false }));
  t.deepEqual(events, []);
});

test("include/exclude filters of interfaces, devices and mounts", async (t) => {
  const noLo = await sampleOnce(
    config({ measurements: ["net"], interfaces: { include: ["*"], exclude: ["lo"] } }),
  );
  t.false(noLo.some((e) => e.body.tags.interface === "lo"));
  const onlyLo = await sampleOnce(
    config({ measurements: ["net"], interfaces: { include: ["lo"] } }),
  );
  t.deepEqual(
    onlyLo.map((e) => e.body.tags.interface),
    ["lo"],
  );
  // Telegraf's default: loopback left out without an explicit include.
  const byDefault = await sampleOnce(config({ measurements: ["net"] }));
  t.false(byDefault.some((e) => e.body.tags.interface === "lo"));

  const devices = await sampleOnce(
    config({ measurements: ["diskio"], devices: { exclude: ["loop*", "ram*", "zram*"] } }),
  );
  t.true(devices.length > 0);
  t.false(devices.some((e) => /^(loop|ram|zram)/.test(e.body.tags.name ?? "")));

  const rootOnly = await sampleOnce(config({ measurements: ["disk"], mounts: { include: ["/"] } }));
  t.deepEqual(
    rootOnly.map((e) => e.body.tags.path),
    ["/"],
  );
  const none = await sampleOnce(config({ measurements: ["disk"], mounts: { exclude: ["*"] } }));
  t.deepEqual(none, []);
  const ext4Ignored = await sampleOnce(
    config({ measurements: ["disk"], ignore_fs: ["ext4", "xfs", "btrfs", "vfat", "zfs"] }),
  );
  t.false(ext4Ignored.some((e) => ["ext4", "xfs", "btrfs"].includes(e.body.tags.fstype ?? "")));
});

test("a failing measurement loses only itself; it is counted and the others come", async (t) => {
  const ctx = testContext();
  const source = createSysinfoSource(
    "host",
    config({ measurements: ["cpu", "system", "diskio"] }),
    ctx,
    { proc: "/nonexistent-proc" },
  );
  await source.start();
  const events = await source.poll();
  t.deepEqual(
    events.map((e) => e.body.name),
    ["system"],
  );
  t.is(await counted(ctx, "host", "measurement_failed"), 2);
  t.true(source.health().ok);
  t.regex(source.health().detail ?? "", /cpu, diskio/);
});

test("a cycle where every measurement fails throws HF_SOURCE_SAMPLE", async (t) => {
  const source = createSysinfoSource(
    "host",
    config({ measurements: ["cpu", "diskio", "net", "disk", "processes"] }),
    testContext(),
    { proc: "/nonexistent-proc" },
  );
  await source.start();
  const error = await t.throwsAsync(source.poll());
  t.true(isHostflowError(error, "HF_SOURCE_SAMPLE"));
  t.true(isHostflowError(error) && error.retriable);
  t.false(source.health().ok);
});

test("issue 13: diskio leaves out devices that never did any I/O, and has Telegraf's io_await, io_svctm, io_util", async (t) => {
  const proc = await mkdtemp(join(tmpdir(), "hostflow-proc-"));
  t.teardown(() => rm(proc, { recursive: true, force: true }));
  await writeFile(
    join(proc, "diskstats"),
    "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n" +
      " 254       0 vda 96578 9232 6111946 50309 37816 42061 5022032 24558 0 12236 76772 0 0 0 0 0 0\n" +
      " 251       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
  );
  const source = createSysinfoSource("host", config({ measurements: ["diskio"] }), testContext(), {
    proc,
  });
  await source.start();
  const events = await source.poll();
  t.deepEqual(
    events.map((e) => e.body.tags.name),
    ["vda"],
  );
  t.false("io_await" in (events[0]?.body.fields ?? {}), "no previous reading: no io_await yet");
  // 10 more operations that took 40 ms of read/write time and kept the device busy 20 ms.
  await writeFile(
    join(proc, "diskstats"),
    " 254       0 vda 96583 9232 6111946 50329 37821 42061 5022032 24578 0 12256 76772 0 0 0 0 0 0\n",
  );
  await sleep(20);
  const [next] = await source.poll();
  t.like(next?.body.fields, { io_await: 4, io_svctm: 2 });
  const util = next?.body.fields.io_util ?? -1;
  t.true(util > 0 && util <= 100, `io_util ${util}`);
});
