import { spawn } from "node:child_process";
import {
  appendFile,
  open,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  truncate,
  unlink,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import test, { type ExecutionContext } from "ava";
import { createFileChannel, HOT_EVENTS } from "../../../../agent/channels/file/index.js";
import { RecordType, scanRecords } from "../../../../agent/channels/file/record.js";
import type { Channel, ChannelEvent } from "../../../../agent/core/types.js";
import { waitFor } from "../../../helpers/agent.js";
import {
  counted,
  diskUse,
  ERROR,
  fileOptions,
  samples,
  segmentFiles,
  tempDir,
  testContext,
  WARN,
} from "../helpers.js";

const seqs = (events: readonly ChannelEvent[]) => events.map((e) => e.seq);
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

/** Takes and commits everything, returning the events. */
async function drain(channel: Channel): Promise<ChannelEvent[]> {
  const out: ChannelEvent[] = [];
  for (;;) {
    const take = await channel.take(1000, 0);
    if (take.events.length === 0) return out;
    out.push(...take.events);
    await take.commit();
  }
}

test("put, take, commit and rollback; the events and the numbering survive a clean restart", async (t) => {
  const { dir, remove } = await tempDir("file");
  t.teardown(remove);
  const ctx = testContext();
  const first = createFileChannel("f", fileOptions(dir), ctx);
  await first.start();
  const stream = first.stream;
  t.regex(stream, /^f@[0-9a-f]{12}$/);
  await first.put(samples(0, 10));
  await first.put(samples(10, 10));
  const taken = await first.take(5, 0);
  t.deepEqual(seqs(taken.events), range(0, 5));
  t.deepEqual(taken.events[2]?.body, samples(2, 1)[0]?.body);
  await taken.commit();
  const rolled = await first.take(3, 0);
  await rolled.rollback();
  const open = await first.take(4, 0);
  t.deepEqual(seqs(open.events), range(5, 4), "a rollback goes back to the head");
  t.is(first.size(), 15);
  await first.stop();
  t.true(first.health().ok);

  const second = createFileChannel("f", fileOptions(dir), testContext());
  await second.start();
  t.is(second.stream, stream, "the epoch lives as long as the folder");
  t.is(second.size(), 15, "the open take of the first run comes back");
  await second.put(samples(20, 3));
  const all = await drain(second);
  t.deepEqual(seqs(all), range(5, 18), "seqs continue after the restart, none repeated");
  await second.stop();

  const third = createFileChannel("f", fileOptions(dir), testContext());
  await third.start();
  t.is(third.size(), 0);
  await third.put(samples(0, 1));
  t.deepEqual(seqs((await third.take(1, 0)).events), [23]);
  await third.stop();
  t.is(await counted(ctx, "f", "put"), 20);
  t.is(await counted(ctx, "f", "taken"), 5);
});

test("a take hands out the put's objects while the channel held few events, parsed JSON beyond HOT_EVENTS and after a restart: the same events either way", async (t) => {
  const { dir, remove } = await tempDir("file");
  t.teardown(remove);
  const ctx = testContext();
  const options = fileOptions(dir, { capacity: 2 * HOT_EVENTS });
  const first = createFileChannel("f", options, ctx);
  await first.start();
  const put = samples(0, HOT_EVENTS + 2000);
  for (let at = 0; at < put.length; at += 1000) await first.put(put.slice(at, at + 1000));
  const asPut = (i: number) => ({ ...(JSON.parse(JSON.stringify(put[i])) as object), seq: i });
  // What a sink sees: the event, and the body's JSON when the channel hands it along.
  const same = (e: ChannelEvent, i: number) =>
    isDeepStrictEqual({ headers: e.headers, body: e.body, seq: e.seq }, asPut(i)) &&
    (e.encodedBody === undefined ||
      e.encodedBody.toString("utf8") === JSON.stringify(put[i]?.body));

  const taken: ChannelEvent[] = [];
  for (let n = 0; n < HOT_EVENTS + 1000; n += 1000) {
    const take = await first.take(1000, 0);
    taken.push(...take.events);
    await take.commit();
  }
  t.deepEqual(seqs(taken), range(0, HOT_EVENTS + 1000));
  t.true(taken.every(same));
  t.true(
    taken.every((e) => e.encodedBody !== undefined),
    "put in this run: the body's JSON comes along",
  );
  t.true(
    taken.slice(0, HOT_EVENTS).every((e, i) => e.body === put[i]?.body && e !== put[i]),
    "kept: the put's body, in a new event",
  );
  t.true(
    taken.slice(HOT_EVENTS).every((e, i) => e.body !== put[HOT_EVENTS + i]?.body),
    "put while the channel held HOT_EVENTS: parsed from its JSON",
  );
  // A rolled back take is handed out again from what the entries kept.
  const again = await first.take(500, 0);
  await again.rollback();
  await first.stop();

  const second = createFileChannel("f", options, ctx);
  await second.start();
  t.teardown(() => second.stop());
  const rest = await drain(second);
  t.deepEqual(seqs(rest), range(HOT_EVENTS + 1000, 1000));
  t.true(rest.every((e) => same(e, e.seq)));
});

test("kill -9 mid-run: every committed put is there or was taken; seqs never repeat", async (t) => {
  const { dir, remove } = await tempDir("crash");
  t.teardown(remove);
  const fixture = fileURLToPath(new URL("../fixtures/file-writer.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", fixture, dir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.setEncoding("utf8");
  const enough = new Promise<void>((resolve) => {
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      if ((out.match(/^T /gm)?.length ?? 0) >= 40) resolve();
    });
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  await Promise.race([enough, new Promise((r) => setTimeout(r, 60_000))]);
  child.kill("SIGKILL");
  await exited;

  const lines = out.split("\n");
  if (!out.endsWith("\n")) lines.pop(); // a line cut by the kill says nothing
  const stream = lines.find((l) => l.startsWith("S "))?.slice(2);
  const put = new Set<number>();
  const committedTakes = new Set<number>();
  let openTake: number[] = [];
  for (const line of lines) {
    const [kind, a, b] = line.split(" ");
    if (kind === "P") for (let s = Number(a); s <= Number(b); s++) put.add(s);
    if (kind === "t") openTake = a ? a.split(",").map(Number) : [];
    if (kind === "T") {
      for (const s of a ? a.split(",").map(Number) : []) committedTakes.add(s);
      openTake = [];
    }
  }
  t.true(put.size > 1000, `the child put ${put.size} events before the kill`);

  const ctx = testContext(true);
  const channel = createFileChannel("crash", fileOptions(dir, { segment_bytes: 64 * 1024 }), ctx);
  await channel.start();
  t.is(channel.stream, stream ?? "(no S line)");
  const left = await drain(channel);
  const leftSeqs = seqs(left);
  t.deepEqual(
    leftSeqs,
    [...leftSeqs].sort((a, b) => a - b),
    "oldest first",
  );
  t.is(new Set(leftSeqs).size, leftSeqs.length, "no event twice");
  for (const e of left) t.is(e.body.fields.i, e.seq, "each seq still carries its own event");
  const leftSet = new Set(leftSeqs);
  const committedBack = leftSeqs.filter((s) => committedTakes.has(s));
  t.deepEqual(committedBack, [], "committed takes never come back");
  const missing = [...put].filter(
    (s) => !leftSet.has(s) && !committedTakes.has(s) && !openTake.includes(s),
  );
  t.deepEqual(missing, [], "every committed put is there, or was taken");
  const maxPut = Math.max(...put);
  // A put cut by the kill may or may not have landed, but only whole and right after the last.
  const beyond = leftSeqs.filter((s) => s > maxPut);
  t.deepEqual(beyond, range(maxPut + 1, beyond.length));
  // Redelivery is limited to the take that was open at the kill.
  const everTaken = new Set([...committedTakes, ...openTake]);
  for (let s = 0; s <= maxPut; s++) {
    if (!leftSet.has(s) && !everTaken.has(s)) t.fail(`seq ${s} vanished`);
  }
  await channel.put(samples(0, 1));
  const fresh = await channel.take(1, 0);
  t.is(fresh.events[0]?.seq, Math.max(maxPut, ...leftSeqs, ...everTaken) + 1);
  await fresh.commit();
  await channel.stop();
  t.false(
    ctx.lines.some((l) => l.level >= ERROR),
    "a kill is not corruption",
  );
});

async function filledChannel(dir: string, batches: number) {
  const channel = createFileChannel("f", fileOptions(dir), testContext());
  await channel.start();
  for (let b = 0; b < batches; b++) await channel.put(samples(b * 10, 10));
  await channel.stop();
  const [segment] = await segmentFiles(dir);
  return join(dir, segment as string);
}

test("a torn record at the end of the log is cut off with a warning; nothing else is lost", async (t) => {
  const { dir, remove } = await tempDir("torn");
  t.teardown(remove);
  const segment = await filledChannel(dir, 3);
  await truncate(segment, (await stat(segment)).size - 3);
  const ctx = testContext(true);
  const channel = createFileChannel("f", fileOptions(dir), ctx);
  await channel.start();
  t.deepEqual(seqs(await drain(channel)), range(0, 29), "only the torn event is gone");
  t.true(ctx.lines.some((l) => l.level === WARN && /torn/.test(l.msg)));
  t.deepEqual(
    ctx.repeated,
    [],
    "issue 13: each key once per line (channel was bound and repeated)",
  );
  await channel.put(samples(0, 1));
  t.deepEqual(seqs((await channel.take(1, 0)).events), [30], "the torn seq is not reused");
  await channel.stop();
  t.is(await counted(ctx, "f", "corrupt"), 0);
});

test("garbage after the last record (a write cut short) loses nothing", async (t) => {
  const { dir, remove } = await tempDir("garbage");
  t.teardown(remove);
  const segment = await filledChannel(dir, 2);
  await appendFile(segment, Buffer.from([0x2a, 0, 0, 0, 1, 2, 3, 4, 1, 9, 9]));
  const ctx = testContext(true);
  const channel = createFileChannel("f", fileOptions(dir), ctx);
  await channel.start();
  t.deepEqual(seqs(await drain(channel)), range(0, 20));
  t.true(ctx.lines.some((l) => l.level === WARN && /torn/.test(l.msg)));
  await channel.stop();
});

test("a flipped byte mid-log skips that record, counts it corrupt and keeps the rest", async (t) => {
  const { dir, remove } = await tempDir("rot");
  t.teardown(remove);
  const segment = await filledChannel(dir, 10);
  const buf = await readFile(segment);
  const puts = [...scanRecords(buf, 0)].filter(
    (r) => r.kind === "record" && r.type === RecordType.PUT,
  );
  const victim = puts[50] as { payloadAt: number; end: number };
  buf[victim.payloadAt + 20] = (buf[victim.payloadAt + 20] as number) ^ 0x10;
  await writeFile(segment, buf);
  const ctx = testContext(true);
  const channel = createFileChannel("f", fileOptions(dir), ctx);
  await channel.start();
  const left = seqs(await drain(channel));
  t.deepEqual(
    left,
    range(0, 100).filter((s) => s !== 50),
  );
  t.is(await counted(ctx, "f", "corrupt"), 1);
  t.true(ctx.lines.some((l) => l.level === ERROR && /damaged/.test(l.msg)));
  await channel.put(samples(0, 1));
  t.deepEqual(seqs((await channel.take(1, 0)).events), [100]);
  await channel.stop();
});

test("a damaged length field is skipped too, also without a checkpoint", async (t) => {
  const { dir, remove } = await tempDir("rot-len");
  t.teardown(remove);
  const segment = await filledChannel(dir, 5);
  await writeFile(join(dir, "checkpoint"), "not a checkpoint");
  const buf = await readFile(segment);
  const puts = [...scanRecords(buf, 0)].filter(
    (r) => r.kind === "record" && r.type === RecordType.PUT,
  );
  const victim = puts[7] as { offset: number };
  buf.writeUInt32LE(0x00ff_ffff, victim.offset);
  await writeFile(segment, buf);
  const ctx = testContext(true);
  const channel = createFileChannel("f", fileOptions(dir), ctx);
  await channel.start();
  t.deepEqual(
    seqs(await drain(channel)),
    range(0, 50).filter((s) => s !== 7),
  );
  t.is(await counted(ctx, "f", "corrupt"), 1);
  t.true(ctx.lines.some((l) => l.level === WARN && /checkpoint is unreadable/.test(l.msg)));
  await channel.stop();
});

test("max_bytes: segments are deleted once taken, and disk use stays within the bound", async (t) => {
  const { dir, remove } = await tempDir("bytes");
  t.teardown(remove);
  const maxBytes = 64 * 1024;
  const ctx = testContext();
  const channel = createFileChannel("f", fileOptions(dir, { max_bytes: maxBytes }), ctx);
  await channel.start();
  let next = 0;
  for (let round = 0; round < 200; round++) {
    await channel.put(samples(next, 50));
    next += 50;
    const take = await channel.take(50, 0);
    await take.commit();
    t.true((await diskUse(dir)) <= maxBytes);
  }
  t.true((await segmentFiles(dir)).length <= 4, "taken segments are deleted");
  t.true(next * 200 > 4 * maxBytes, "far more was written than max_bytes");

  // Full by bytes: block until a take frees a segment, or give up on the signal.
  let put = 0;
  const full = await t.throwsAsync(async () => {
    for (;;) {
      await channel.put(samples(next + put, 50), AbortSignal.timeout(100));
      put += 50;
    }
  });
  t.is((full as { code?: string }).code, "HF_CHANNEL_FULL");
  t.true((await diskUse(dir)) <= maxBytes);
  t.true(channel.fill() > 0.8, `fill ${channel.fill()} counts bytes`);
  const blocked = channel.put(samples(next + put, 50));
  await drain(channel);
  await blocked;
  t.is(channel.size(), 50);
  await channel.stop();
});

test("drop_oldest with max_bytes: puts never block, old events go, disk stays bounded", async (t) => {
  const { dir, remove } = await tempDir("bytes-drop");
  t.teardown(remove);
  const maxBytes = 64 * 1024;
  const ctx = testContext(true);
  const options = fileOptions(dir, { max_bytes: maxBytes, when_full: "drop_oldest" });
  const channel = createFileChannel("f", options, ctx);
  await channel.start();
  for (let b = 0; b < 100; b++) {
    await channel.put(samples(b * 50, 50));
    t.true((await diskUse(dir)) <= maxBytes);
  }
  const dropped = await counted(ctx, "f", "dropped");
  t.true(dropped > 0);
  t.is(dropped + channel.size(), 5000, "every event is either kept or counted as dropped");
  t.true(ctx.lines.some((l) => l.level === WARN && l.dropped !== undefined));
  const kept = channel.size();
  await channel.stop();
  const again = createFileChannel("f", options, testContext());
  await again.start();
  const left = seqs(await drain(again));
  t.is(left.length, kept, "evictions are durable: they do not come back");
  t.deepEqual(left, range(5000 - kept, kept));
  await again.stop();
});

test("the checkpoint is replaced atomically and replay works without it", async (t) => {
  const { dir, remove } = await tempDir("checkpoint");
  t.teardown(remove);
  const options = fileOptions(dir, { checkpoint_interval: 20 });
  const channel = createFileChannel("f", options, testContext());
  await channel.start();
  await channel.put(samples(0, 30));
  await (await channel.take(10, 0)).commit();
  const live = async () =>
    (JSON.parse((await readFile(join(dir, "checkpoint"))).toString("utf8", 9)) as { live: unknown })
      .live;
  // The first write after the opening checkpoint armed the next one, checkpoint_interval later.
  await waitFor("the checkpoint after the take", async () =>
    isDeepStrictEqual(await live(), [[10, 29]]),
  );
  t.pass("written on its interval");
  await channel.stop();
  t.false((await readdir(dir)).includes("checkpoint.tmp"), "no temp file left behind");
  const cp = await readFile(join(dir, "checkpoint"));
  const [record] = [...scanRecords(cp, 0)];
  t.like(record, { kind: "record", type: RecordType.CHECKPOINT, end: cp.length });
  const content = JSON.parse(cp.toString("utf8", 9)) as { nextSeq: number; live: number[][] };
  t.is(content.nextSeq, 30);
  t.deepEqual(content.live, [[10, 29]]);

  // A crash while writing the next one leaves a temp file beside the intact checkpoint.
  await writeFile(join(dir, "checkpoint.tmp"), "half");
  const second = createFileChannel("f", options, testContext());
  await second.start();
  t.deepEqual(seqs(await drain(second)), range(10, 20));
  await second.stop();
  // No checkpoint at all: the segments alone give the same state.
  await unlink(join(dir, "checkpoint"));
  const third = createFileChannel("f", options, testContext());
  await third.start();
  t.is(third.size(), 0);
  await third.put(samples(0, 1));
  t.deepEqual(seqs((await third.take(1, 0)).events), [30]);
  await third.stop();
});

test("the lock keeps a second agent out, and a dead owner's lock is taken over", async (t) => {
  const { dir, remove } = await tempDir("lock");
  t.teardown(remove);
  const first = createFileChannel("f", fileOptions(dir), testContext());
  await first.start();
  const second = createFileChannel("f", fileOptions(dir), testContext());
  const error = await t.throwsAsync(second.start());
  t.is((error as { code?: string }).code, "HF_CHANNEL_IO");
  t.regex((error as Error).message, /in use by process/);
  await first.stop();

  const dead = spawn(process.execPath, ["-e", ""]);
  await new Promise((r) => dead.on("exit", r));
  await writeFile(join(dir, "lock"), `${dead.pid}\n`);
  const ctx = testContext(true);
  const third = createFileChannel("f", fileOptions(dir), ctx);
  await third.start();
  t.true(ctx.lines.some((l) => /no longer runs/.test(l.msg)));
  t.deepEqual(ctx.repeated, [], "issue 13: each key once per line");
  t.is((await readFile(join(dir, "lock"), "utf8")).trim(), String(process.pid));
  await third.stop();
  t.false((await readdir(dir)).includes("lock"), "released at stop");
});

test("a full disk rejects the put with a retriable HF_CHANNEL_IO and leaves the channel consistent", async (t) => {
  const { dir, remove } = await tempDir("enospc");
  t.teardown(remove);
  const ctx = testContext(true);
  const options = fileOptions(dir, { segment_bytes: 4096 });
  const channel = createFileChannel("f", options, ctx);
  await channel.start();
  // The next segment lands on /dev/full: every write to it fails with ENOSPC.
  const [active] = (await segmentFiles(dir)).slice(-1);
  const nextSegment = Number((active as string).slice(4, -4)) + 1;
  await symlink("/dev/full", join(dir, `log-${nextSegment}.wal`));
  let next = 0;
  let failure: unknown;
  for (let i = 0; i < 10 && !failure; i++) {
    try {
      await channel.put(samples(next, 20));
      next += 20;
    } catch (error) {
      failure = error;
    }
  }
  t.like(failure, { code: "HF_CHANNEL_IO", retriable: true });
  t.false(channel.health().ok, "an IO error shows in health");
  t.regex(channel.health().detail ?? "", /IO error/);
  // The failed segment was removed again; the disk has room once more.
  await rm(join(dir, `log-${nextSegment}.wal`), { force: true });
  await channel.put(samples(next, 20));
  next += 20;
  await channel.stop();
  const again = createFileChannel("f", options, testContext());
  await again.start();
  t.deepEqual(seqs(await drain(again)), range(0, next), "nothing of the failed put, no gap");
  await again.stop();
});

test("a commit of a take of a stopped channel is refused; the events come back", async (t) => {
  const { dir, remove } = await tempDir("stopped");
  t.teardown(remove);
  const channel = createFileChannel("f", fileOptions(dir), testContext());
  t.throws(() => channel.stream, { code: "HF_CHANNEL_CLOSED" } as never);
  await channel.start();
  await channel.put(samples(0, 5));
  const take = await channel.take(5, 0);
  await channel.stop();
  await t.throwsAsync(take.commit(), { code: "HF_CHANNEL_CLOSED" } as never);
  await t.throwsAsync(channel.put(samples(5, 1)), { code: "HF_CHANNEL_CLOSED" } as never);
  const again = createFileChannel("f", fileOptions(dir), testContext());
  await again.start();
  t.deepEqual(seqs(await drain(again)), range(0, 5));
  await again.stop();
});

test("a write that hits the file size limit is cut back off; no gap, no half record", async (t) => {
  const { dir, remove } = await tempDir("fsize");
  t.teardown(remove);
  const fixture = fileURLToPath(new URL("../fixtures/file-size-limit.ts", import.meta.url));
  const child = spawn(
    "bash",
    ["-c", 'ulimit -f 64 && exec "$0" --import tsx "$1" "$2"', process.execPath, fixture, dir],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  const code = await new Promise((resolve) => child.on("exit", resolve));
  t.is(code, 0, out);
  const puts = out.split("\n").filter((l) => l.startsWith("P ")).length;
  t.true(puts > 0);
  t.deepEqual(
    out.split("\n").filter((l) => l.startsWith("E ")),
    ["E HF_CHANNEL_IO true", "E HF_CHANNEL_IO true", "E HF_CHANNEL_IO true"],
  );
  t.true(out.includes("H false"), "health reports the IO error");
  const ctx = testContext(true);
  const channel = createFileChannel("full", fileOptions(dir), ctx);
  await channel.start();
  t.deepEqual(seqs(await drain(channel)), range(0, puts * 30));
  await channel.put(samples(0, 1));
  t.deepEqual(seqs((await channel.take(1, 0)).events), [puts * 30], "the failed puts used no seq");
  await channel.stop();
  t.false(
    ctx.lines.some((l) => l.level >= WARN),
    "no torn or damaged record left behind",
  );
});

/**
 * Replaces FileHandle's datasync (one prototype for every handle of this process, so the tests
 * using it are serial) with `wrap(original)`, until the test ends.
 */
async function patchDatasync(
  t: ExecutionContext,
  dir: string,
  wrap: (original: () => Promise<void>) => () => Promise<void>,
): Promise<void> {
  const probe = await open(join(dir, "probe"), "w");
  const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
  await probe.close();
  const original = proto.datasync;
  proto.datasync = wrap(original);
  t.teardown(() => {
    proto.datasync = original;
  });
}

/** A started file channel in a folder of its own, both gone when the test ends. */
async function startedChannel(t: ExecutionContext, prefix: string) {
  const { dir, remove } = await tempDir(prefix);
  t.teardown(remove);
  const channel = createFileChannel("f", fileOptions(dir), testContext());
  await channel.start();
  t.teardown(() => channel.stop());
  return { dir, channel };
}

// Serial: it counts the datasyncs of every FileHandle in this process.
test.serial(
  "a take commit is written at once but synced only with the next put (fsync: every_commit)",
  async (t) => {
    const { dir, channel } = await startedChannel(t, "lazytake");
    let syncs = 0;
    await patchDatasync(
      t,
      dir,
      (original) =>
        function (this: unknown) {
          syncs++;
          return original.call(this);
        },
    );

    await channel.put(samples(0, 10));
    t.is(syncs, 1, "a put is synced before it returns");
    const take = await channel.take(10, 0);
    await take.commit();
    t.is(syncs, 1, "the take commit did not wait for a sync");
    const [segment] = await segmentFiles(dir);
    const records = [...scanRecords(await readFile(join(dir, segment as string)), 0)];
    t.true(
      records.some((r) => r.kind === "record" && r.type === RecordType.TAKE),
      "the TAKE record is in the file once the commit returns (a kill -9 keeps it)",
    );
    await channel.put(samples(10, 1));
    t.is(syncs, 2, "the next put's sync covers the TAKE record before it");
  },
);

// Serial: it holds the datasyncs of every FileHandle in this process.
test.serial(
  "a take commit does not wait for a put's fsync in flight; the put returns once synced",
  async (t) => {
    const { dir, channel } = await startedChannel(t, "syncbehind");
    await channel.put(samples(0, 10));
    const take = await channel.take(10, 0);

    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    t.teardown(() => release());
    let reached: () => void = () => undefined;
    const syncing = new Promise<void>((resolve) => {
      reached = resolve;
    });
    await patchDatasync(
      t,
      dir,
      (original) =>
        async function (this: unknown) {
          reached();
          await held;
          return original.call(this);
        },
    );

    let putDone = false;
    const put = channel.put(samples(10, 5)).then(() => {
      putDone = true;
    });
    await syncing;
    await take.commit();
    t.false(putDone, "the put is still waiting for its fsync");
    const [segment] = await segmentFiles(dir);
    const records = [...scanRecords(await readFile(join(dir, segment as string)), 0)];
    t.true(
      records.some((r) => r.kind === "record" && r.type === RecordType.TAKE),
      "the TAKE record was written behind the put",
    );
    release();
    await put;
    t.is(channel.size(), 5);
  },
);
