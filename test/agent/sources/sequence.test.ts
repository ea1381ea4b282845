import test from "ava";
import type { SequenceSourceConfig } from "../../../agent/config/schema.js";
import type { AgentEvent, Emit } from "../../../agent/core/types.js";
import { createSequenceSource } from "../../../agent/sources/sequence.js";
import { HostflowError } from "../../../lib/errors.js";
import { collector, counted, sleep, testContext } from "./context.js";

function config(overrides: Partial<SequenceSourceConfig> = {}): SequenceSourceConfig {
  return { type: "sequence", channels: ["c"], interceptors: [], batch_size: 100, ...overrides };
}

const values = (events: AgentEvent[]) => events.map((e) => e.body.fields.value);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test("total events numbered 0 … total-1, in batches of batch_size", async (t) => {
  const ctx = testContext();
  const source = createSequenceSource("seq", config({ total: 1050 }), ctx);
  const sink = collector(1050);
  source.attach(sink.emit);
  await source.start();
  await sink.done;
  await sleep(20);
  await source.stop();
  t.deepEqual(values(sink.events), range(1050));
  t.deepEqual(
    sink.batches.map((b) => b.length),
    [...Array(10).fill(100), 50],
  );
  const [first] = sink.events;
  t.deepEqual(first?.headers, { name: "sequence" });
  t.is(first?.body.name, "sequence");
  t.deepEqual(first?.body.tags, { source: "seq" });
  t.deepEqual(source.health(), { ok: true, detail: "finished" });
  t.is(await counted(ctx, "seq", "generated"), 1050);
});

test("a retriable put error retries the same batch: nothing lost, nothing reordered", async (t) => {
  const ctx = testContext();
  const source = createSequenceSource("seq", config({ total: 500 }), ctx);
  const sink = collector(500);
  let calls = 0;
  const flaky: Emit = async (events, signal) => {
    calls++;
    if (calls % 3 === 2) throw new HostflowError("HF_CHANNEL_FULL", "full", { retriable: false });
    if (calls % 3 === 0 && calls < 9)
      throw new HostflowError("HF_CHANNEL_IO", "disk hiccup", { retriable: true });
    await sink.emit(events, signal);
  };
  source.attach(flaky);
  await source.start();
  await sink.done;
  await source.stop();
  t.deepEqual(values(sink.events), range(500));
  t.true((await counted(ctx, "seq", "retried")) >= 3);
});

test("a non-retriable put error ends the source, unhealthy", async (t) => {
  const source = createSequenceSource("seq", config({ total: 500 }), testContext());
  source.attach(async () => {
    throw new HostflowError("HF_CHANNEL_TRANSACTION", "batch too large");
  });
  await source.start();
  await sleep(20);
  t.false(source.health().ok);
  t.regex(source.health().detail ?? "", /HF_CHANNEL_TRANSACTION/);
  await source.stop();
});

test("without total or rate it runs until stop(), which is prompt, and stays contiguous", async (t) => {
  const source = createSequenceSource("seq", config(), testContext());
  const sink = collector();
  source.attach(sink.emit);
  await source.start();
  await sleep(50);
  const asked = performance.now();
  await source.stop();
  t.true(performance.now() - asked < 100);
  t.true(sink.events.length > 1000);
  t.deepEqual(values(sink.events), range(sink.events.length));
});

test("stop() ends a put blocked on a full channel", async (t) => {
  const source = createSequenceSource("seq", config(), testContext());
  let sawAbort = false;
  source.attach(
    (_events, signal) =>
      new Promise((_, reject) =>
        signal?.addEventListener("abort", () => {
          sawAbort = true;
          reject(new HostflowError("HF_CHANNEL_FULL", "gave up", { retriable: true }));
        }),
      ),
  );
  await source.start();
  await sleep(20);
  const asked = performance.now();
  await source.stop();
  t.true(performance.now() - asked < 100);
  t.true(sawAbort);
  t.true(source.health().ok);
});

test("rate caps events per second", async (t) => {
  const source = createSequenceSource("seq", config({ rate: 2000, total: 1000 }), testContext());
  const sink = collector(1000);
  source.attach(sink.emit);
  const started = performance.now();
  await source.start();
  await sink.done;
  const elapsed = performance.now() - started;
  await source.stop();
  // 1000 events at 2000/s, less a first burst of 200: about 400 ms.
  t.true(elapsed > 300 && elapsed < 1500, `${elapsed} ms`);
  t.true(
    sink.batches.every((b) => b.length <= 200),
    "batches of at most 100 ms worth",
  );
  t.deepEqual(values(sink.events), range(1000));
});

test("start() before attach() is an error", async (t) => {
  const source = createSequenceSource("seq", config(), testContext());
  await t.throwsAsync(source.start(), { message: /attach/ });
});
