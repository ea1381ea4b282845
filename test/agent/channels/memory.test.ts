import test from "ava";
import { createMemoryChannel } from "../../../agent/channels/memory.js";
import { isHostflowError } from "../../../lib/errors.js";
import { counted, memoryOptions, samples, testContext, WARN } from "./helpers.js";

const seqs = (events: readonly { seq: number }[]) => events.map((e) => e.seq);
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

test("puts get contiguous seqs at commit; takes hand them out oldest first", async (t) => {
  const ctx = testContext();
  const channel = createMemoryChannel("mem", memoryOptions(), ctx);
  await channel.start();
  t.regex(channel.stream, /^mem@[0-9a-f]{12}$/);
  await channel.put(samples(0, 10));
  await channel.put(samples(10, 5));
  t.is(channel.size(), 15);
  t.is(channel.fill(), 0.15);
  const take = await channel.take(12, 0);
  t.deepEqual(seqs(take.events), range(0, 12));
  t.is(take.events[3]?.body.fields.i, 3);
  t.is(channel.size(), 15, "events in an open take still count");
  await take.commit();
  t.is(channel.size(), 3);
  const rest = await channel.take(50, 0);
  t.deepEqual(seqs(rest.events), [12, 13, 14]);
  await rest.commit();
  t.is(await counted(ctx, "mem", "put"), 15);
  t.is(await counted(ctx, "mem", "taken"), 15);
  await channel.stop();
});

test("a rollback puts the events back at the head, in order", async (t) => {
  const ctx = testContext();
  const channel = createMemoryChannel("mem", memoryOptions(), ctx);
  await channel.put(samples(0, 10));
  const first = await channel.take(4, 0);
  await first.rollback();
  const again = await channel.take(6, 0);
  t.deepEqual(seqs(again.events), range(0, 6));
  await again.commit();
  t.is(await counted(ctx, "mem", "rolled_back"), 4);
  await t.throwsAsync(first.commit(), { code: "HF_CHANNEL_TRANSACTION" } as never);
  t.is(channel.size(), 4);
});

test("concurrent takes get disjoint events, and rollbacks restore them", async (t) => {
  const channel = createMemoryChannel("mem", memoryOptions(), testContext());
  await channel.put(samples(0, 30));
  const takes = await Promise.all([channel.take(10, 0), channel.take(10, 0), channel.take(10, 0)]);
  const all = takes.flatMap((take) => seqs(take.events));
  t.is(new Set(all).size, 30);
  t.deepEqual(
    [...all].sort((a, b) => a - b),
    range(0, 30),
  );
  const [a, b, c] = takes;
  await c?.rollback();
  await b?.rollback();
  await a?.commit();
  const next = await channel.take(50, 0);
  t.deepEqual(seqs(next.events), range(10, 20));
});

test("a take waits for the first event up to waitMs, and may come back empty", async (t) => {
  const channel = createMemoryChannel("mem", memoryOptions(), testContext());
  const started = Date.now();
  const empty = await channel.take(10, 50);
  t.is(empty.events.length, 0);
  t.true(Date.now() - started >= 45);
  await empty.commit();
  const waiting = channel.take(10, 5000);
  setTimeout(() => void channel.put(samples(0, 3)), 20);
  const take = await waiting;
  t.deepEqual(seqs(take.events), [0, 1, 2]);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 20);
  t.is((await channel.take(10, 5000, controller.signal)).events.length, 0);
});

test("block: a put into a full channel waits for room, then goes in", async (t) => {
  const channel = createMemoryChannel("mem", memoryOptions({ capacity: 10 }), testContext());
  await channel.put(samples(0, 8));
  let done = false;
  const blocked = channel.put(samples(8, 5)).then(() => {
    done = true;
  });
  await new Promise((r) => setTimeout(r, 30));
  t.false(done);
  const take = await channel.take(5, 0);
  await new Promise((r) => setTimeout(r, 10));
  t.false(done, "events in an open take still take room");
  await take.commit();
  await blocked;
  t.is(channel.size(), 8);
  const rest = await channel.take(50, 0);
  t.deepEqual(seqs(rest.events), range(5, 8));
});

test("block: an aborted put rejects with HF_CHANNEL_FULL and puts nothing", async (t) => {
  const channel = createMemoryChannel("mem", memoryOptions({ capacity: 10 }), testContext());
  await channel.put(samples(0, 9));
  const error = await t.throwsAsync(channel.put(samples(9, 2), AbortSignal.timeout(30)));
  t.true(isHostflowError(error, "HF_CHANNEL_FULL") && error.retriable);
  t.is(channel.size(), 9);
  // A put queued behind the blocked one gives up on its own signal too.
  const first = channel.put(samples(9, 5));
  const second = channel.put(samples(14, 1), AbortSignal.timeout(20));
  await t.throwsAsync(second, { code: "HF_CHANNEL_FULL" } as never);
  await (await channel.take(10, 0)).commit();
  await first;
  await channel.put(samples(15, 1));
  const rest = await channel.take(50, 0);
  t.deepEqual(
    seqs(rest.events),
    [9, 10, 11, 12, 13, 14],
    "seqs stay contiguous after the failed puts",
  );
});

test("drop_oldest evicts the oldest events not in a take, counts and logs them", async (t) => {
  const ctx = testContext(true);
  const channel = createMemoryChannel(
    "mem",
    memoryOptions({ capacity: 10, when_full: "drop_oldest" }),
    ctx,
  );
  await channel.put(samples(0, 10));
  const inTake = await channel.take(3, 0);
  await channel.put(samples(10, 4));
  t.is(channel.size(), 10);
  t.is(await counted(ctx, "mem", "dropped"), 4);
  const warn = ctx.lines.find((l) => l.level === WARN);
  t.like(warn, { dropped: 4, firstSeq: 3, lastSeq: 6, totalDropped: 4 });
  await inTake.commit();
  const rest = await channel.take(50, 0);
  t.deepEqual(seqs(rest.events), [7, 8, 9, 10, 11, 12, 13]);
  t.deepEqual(seqs(inTake.events), [0, 1, 2]);
});

test("batches beyond the transaction capacity are refused", async (t) => {
  const channel = createMemoryChannel(
    "mem",
    memoryOptions({ transaction_capacity: 5 }),
    testContext(),
  );
  await t.throwsAsync(channel.put(samples(0, 6)), { code: "HF_CHANNEL_TRANSACTION" } as never);
  await t.throwsAsync(channel.take(6, 0), { code: "HF_CHANNEL_TRANSACTION" } as never);
  t.is(channel.size(), 0);
  await channel.put(samples(0, 5));
  t.is(channel.size(), 5);
});

test("stop drops what is left, counts and logs it; use after stop is refused", async (t) => {
  const ctx = testContext(true);
  const channel = createMemoryChannel("mem", memoryOptions(), ctx);
  await channel.put(samples(0, 7));
  const take = await channel.take(7, 0);
  const waiting = channel.take(5, 10_000);
  await channel.stop();
  t.is((await waiting).events.length, 0, "a waiting take ends with nothing");
  t.is(await counted(ctx, "mem", "dropped"), 7);
  t.like(ctx.lines.at(-1), { level: WARN, dropped: 7 });
  await t.throwsAsync(channel.put(samples(7, 1)), { code: "HF_CHANNEL_CLOSED" } as never);
  await t.throwsAsync(channel.take(1, 0), { code: "HF_CHANNEL_CLOSED" } as never);
  await take.rollback();
});

test("each start is a new stream", (t) => {
  const a = createMemoryChannel("mem", memoryOptions(), testContext());
  const b = createMemoryChannel("mem", memoryOptions(), testContext());
  t.not(a.stream, b.stream);
});
