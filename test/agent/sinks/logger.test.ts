import { Writable } from "node:stream";
import test from "ava";
import { createLoggerSink } from "../../../agent/sinks/logger.js";
import { isHostflowError } from "../../../lib/errors.js";
import { event, eventCount, fakeChannel, loggerOptions, sample, testContext } from "./_context.js";

/** A stream that keeps every chunk; `delayMs` makes each write slow, like a slow reader. */
function collector(options: { delayMs?: number; highWaterMark?: number; fail?: Error } = {}) {
  const chunks: string[] = [];
  const stream = new Writable({
    highWaterMark: options.highWaterMark ?? 16_384,
    write(chunk: Buffer, _encoding, callback) {
      setTimeout(() => {
        if (options.fail) return callback(options.fail);
        chunks.push(chunk.toString());
        callback();
      }, options.delayMs ?? 0);
    },
  });
  return { stream, chunks };
}

test("one JSON line per event: the record the kafka sink would produce", async (t) => {
  const ctx = testContext("agent-3");
  const { stream, chunks } = collector();
  const sink = createLoggerSink("dry", loggerOptions, ctx, { out: stream });
  await sink.start();
  await sink.write([event(0, "web-01"), event(1, "web-02", "mem")], fakeChannel("main@5"));
  t.is(chunks.length, 1, "one write per batch");
  const lines = (chunks[0] ?? "").split("\n");
  t.is(lines.pop(), "");
  t.deepEqual(
    lines.map((l) => JSON.parse(l)),
    [
      {
        topic: "hostflow.metrics",
        key: "web-01",
        headers: {
          "hf-schema-version": "1",
          "hf-agent-id": "agent-3",
          "hf-stream": "main@5",
          "hf-seq": "0",
        },
        value: sample("web-01", "cpu", 1_700_000_000_000),
      },
      {
        topic: "hostflow.metrics",
        key: "web-02",
        headers: {
          "hf-schema-version": "1",
          "hf-agent-id": "agent-3",
          "hf-stream": "main@5",
          "hf-seq": "1",
        },
        value: sample("web-02", "mem", 1_700_000_000_001),
      },
    ],
  );
  t.is(await eventCount(ctx, "dry", "written"), 2);
  t.deepEqual(sink.health(), { ok: true });
  await sink.stop();
});

test("the routing of a kafka sink can be shown (what --dry-run passes)", async (t) => {
  const { stream, chunks } = collector();
  const sink = createLoggerSink("dry", loggerOptions, testContext(), {
    out: stream,
    routing: { topic: "metrics.%{name}", key_header: "name" },
  });
  await sink.write([event(0, "web-01", "disk")], fakeChannel());
  t.like(JSON.parse(chunks[0] ?? ""), { topic: "metrics.disk", key: "disk" });
});

test("write resolves only once a slow stream took the batch (back-pressure)", async (t) => {
  const { stream, chunks } = collector({ delayMs: 30, highWaterMark: 1 });
  const sink = createLoggerSink("dry", loggerOptions, testContext(), { out: stream });
  const events = Array.from({ length: 50 }, (_, i) => event(i, `h-${i}`));
  await sink.write(events, fakeChannel());
  t.is(chunks.length, 1, "the batch reached the reader before write resolved");
  t.false(stream.writableNeedDrain);
  t.is(chunks[0]?.split("\n").length, 51);
});

test("an empty batch writes nothing", async (t) => {
  const { stream, chunks } = collector();
  await createLoggerSink("dry", loggerOptions, testContext(), { out: stream }).write(
    [],
    fakeChannel(),
  );
  t.is(chunks.length, 0);
});

test("a closed stdout (EPIPE) is HF_SINK_WRITE, not retriable, and counted", async (t) => {
  const ctx = testContext();
  const epipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
  const { stream } = collector({ fail: epipe });
  stream.on("error", () => undefined);
  const sink = createLoggerSink("dry", loggerOptions, ctx, { out: stream });
  const error = await t.throwsAsync(sink.write([event(0, "a")], fakeChannel()));
  t.true(isHostflowError(error, "HF_SINK_WRITE"), String(error));
  t.false(isHostflowError(error) && error.retriable);
  t.false(sink.health().ok);
  const { values } = await ctx.metrics.sinkErrors.get();
  t.is(values.find((v) => v.labels.sink === "dry")?.value, 1);
});

test("EAGAIN on stdout is retriable", async (t) => {
  const eagain = Object.assign(new Error("write EAGAIN"), { code: "EAGAIN" });
  const { stream } = collector({ fail: eagain });
  stream.on("error", () => undefined);
  const error = await t.throwsAsync(
    createLoggerSink("dry", loggerOptions, testContext(), { out: stream }).write(
      [event(0, "a")],
      fakeChannel(),
    ),
  );
  t.true(isHostflowError(error, "HF_SINK_WRITE") && error.retriable);
});
