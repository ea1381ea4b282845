import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "ava";
import { createFileRollSink, fileStamp } from "../../../agent/sinks/file_roll.js";
import { recordLine, toWireRecord } from "../../../agent/sinks/record.js";
import { isHostflowError } from "../../../lib/errors.js";
import { event, eventCount, fakeChannel, fileRollOptions, testContext } from "./_context.js";

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hf-file-roll-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const line = (seq: number, host: string, agentId = "agent-f", stream = fakeChannel().stream) =>
  recordLine(toWireRecord(event(seq, host), "hostflow.metrics", "host", agentId, stream));

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

test("a batch is on disk, as JSON lines, when write resolves; the file is <sink>-<UTC>.jsonl", async (t) => {
  const root = await tempDir(t);
  const dir = join(root, "nested", "out"); // created by start()
  const ctx = testContext("agent-f");
  const sink = createFileRollSink("archive", fileRollOptions(dir), ctx, { now: () => T0 });
  await sink.start();
  await sink.write([event(0, "web-01"), event(1, "web-02")], fakeChannel());
  const files = await readdir(dir);
  t.deepEqual(files, ["archive-20250102T030405.678Z.jsonl"]);
  const path = join(dir, files[0] ?? "");
  t.is(await readFile(path, "utf8"), line(0, "web-01") + line(1, "web-02"));
  await sink.write([event(2, "web-01")], fakeChannel());
  t.is(await readFile(path, "utf8"), line(0, "web-01") + line(1, "web-02") + line(2, "web-01"));
  t.is(await eventCount(ctx, "archive", "written"), 3);
  t.deepEqual(sink.health(), { ok: true });
  await sink.stop();
});

test("files roll by size: a batch never straddles two files, none grows past roll_size", async (t) => {
  const dir = await tempDir(t);
  const one = Buffer.byteLength(line(0, "web-01"));
  let clock = T0;
  const sink = createFileRollSink(
    "s",
    fileRollOptions(dir, { roll_size: one * 3 }),
    testContext("agent-f"),
    {
      now: () => clock++,
    },
  );
  await sink.start();
  await sink.write([event(0, "web-01"), event(1, "web-01")], fakeChannel()); // 2 lines
  await sink.write([event(2, "web-01")], fakeChannel()); // 3 lines: fits exactly
  await sink.write([event(3, "web-01"), event(4, "web-01")], fakeChannel()); // new file
  await sink.write(
    Array.from({ length: 4 }, (_, i) => event(5 + i, "web-01")),
    fakeChannel(),
  ); // larger than roll_size: a file of its own
  await sink.stop();
  const files = (await readdir(dir)).sort();
  t.is(files.length, 3);
  const contents = await Promise.all(files.map((f) => readFile(join(dir, f), "utf8")));
  t.deepEqual(
    contents.map((c) =>
      c
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l).headers["hf-seq"]),
    ),
    [
      ["0", "1", "2"],
      ["3", "4"],
      ["5", "6", "7", "8"],
    ],
  );
});

test("files roll by time at the first write after roll_interval", async (t) => {
  const dir = await tempDir(t);
  let clock = T0;
  const sink = createFileRollSink(
    "s",
    fileRollOptions(dir, { roll_interval: 60_000 }),
    testContext("agent-f"),
    {
      now: () => clock,
    },
  );
  await sink.start();
  await sink.write([event(0, "a")], fakeChannel());
  clock += 59_999;
  await sink.write([event(1, "a")], fakeChannel());
  clock += 1;
  await sink.write([event(2, "a")], fakeChannel());
  await sink.stop();
  const files = (await readdir(dir)).sort();
  t.deepEqual(files, [`s-${fileStamp(T0)}.jsonl`, `s-${fileStamp(T0 + 60_000)}.jsonl`]);
  t.is(await readFile(join(dir, files[1] ?? ""), "utf8"), line(2, "a"));
});

test("a file name taken by an earlier run is never appended to", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, `s-${fileStamp(T0)}.jsonl`), "old\n");
  const sink = createFileRollSink("s", fileRollOptions(dir), testContext("agent-f"), {
    now: () => T0,
  });
  await sink.start();
  await sink.write([event(0, "a")], fakeChannel());
  await sink.stop();
  t.is(await readFile(join(dir, `s-${fileStamp(T0)}.jsonl`), "utf8"), "old\n");
  t.is(await readFile(join(dir, `s-${fileStamp(T0)}-1.jsonl`), "utf8"), line(0, "a"));
});

test("concurrent writes do not interleave within a file", async (t) => {
  const dir = await tempDir(t);
  const sink = createFileRollSink("s", fileRollOptions(dir), testContext("agent-f"), {
    now: () => T0,
  });
  await sink.start();
  const batches = Array.from({ length: 20 }, (_, b) =>
    Array.from({ length: 50 }, (_, i) => event(b * 50 + i, `h${b}`)),
  );
  await Promise.all(batches.map((batch) => sink.write(batch, fakeChannel())));
  await sink.stop();
  const [file] = await readdir(dir);
  const seqs = (await readFile(join(dir, file ?? ""), "utf8"))
    .split("\n")
    .filter(Boolean)
    .map((l) => Number(JSON.parse(l).headers["hf-seq"]));
  t.deepEqual(
    seqs,
    Array.from({ length: 1000 }, (_, i) => i),
  );
});

test("a dir that cannot be created is HF_SINK_WRITE, not retriable", async (t) => {
  const root = await tempDir(t);
  const file = join(root, "a-file");
  await writeFile(file, "");
  const sink = createFileRollSink("s", fileRollOptions(join(file, "sub")), testContext());
  const error = await t.throwsAsync(sink.start());
  t.true(isHostflowError(error, "HF_SINK_WRITE"), String(error));
  t.false(isHostflowError(error) && error.retriable);
});

test("a write that fails is HF_SINK_WRITE, counted, and the sink recovers once the disk does", async (t) => {
  const root = await tempDir(t);
  const dir = join(root, "out");
  const ctx = testContext();
  const sink = createFileRollSink("s", fileRollOptions(dir), ctx);
  await sink.start();
  // The folder is gone and a file stands in its place (works as root, unlike a chmod).
  await rm(dir, { recursive: true });
  await writeFile(dir, "");
  const error = await t.throwsAsync(sink.write([event(0, "a")], fakeChannel()));
  t.true(isHostflowError(error, "HF_SINK_WRITE"), String(error));
  t.is(isHostflowError(error) && error.context.dir, dir);
  t.false(sink.health().ok);
  t.regex(sink.health().detail ?? "", /cannot append/);
  const { values } = await ctx.metrics.sinkErrors.get();
  t.is(values.find((v) => v.labels.sink === "s")?.value, 1);

  await rm(dir);
  await sink.write([event(0, "a")], fakeChannel());
  t.true(sink.health().ok);
  t.is((await readdir(dir)).length, 1);
  await sink.stop();
});

test("write after stop() is refused", async (t) => {
  const dir = await tempDir(t);
  const sink = createFileRollSink("s", fileRollOptions(dir), testContext());
  await sink.start();
  await sink.stop();
  const error = await t.throwsAsync(sink.write([event(0, "a")], fakeChannel()));
  t.true(isHostflowError(error, "HF_SINK_WRITE"));
  t.false(isHostflowError(error) && error.retriable);
});
