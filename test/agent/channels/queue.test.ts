import test from "ava";
import { Deque, DropReporter, Notifier } from "../../../agent/channels/queue.js";
import { testContext, WARN } from "./helpers.js";

test("the deque keeps order across wrap-around, growth and shrinking", (t) => {
  const d = new Deque<number>(4);
  const model: number[] = [];
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 3000; i++) {
      d.push(round * 10_000 + i);
      model.push(round * 10_000 + i);
    }
    const taken = d.shiftMany(2500);
    t.deepEqual(taken, model.splice(0, 2500));
    d.unshiftMany(taken.slice(0, 7));
    model.unshift(...taken.slice(0, 7));
  }
  t.is(d.length, model.length);
  t.deepEqual([...d], model);
  t.is(d.at(0), model[0]);
  t.is(d.at(d.length), undefined);
});

test("a notifier wait ends on wake, on timeout and on abort", async (t) => {
  const n = new Notifier();
  const woken = n.wait(10_000);
  n.wake();
  await woken;
  const started = Date.now();
  await n.wait(30);
  t.true(Date.now() - started >= 25);
  const controller = new AbortController();
  const aborted = n.wait(10_000, controller.signal);
  controller.abort();
  await aborted;
  t.pass();
});

test("drop logs are rate-limited, with the seq range and a running total", async (t) => {
  const ctx = testContext(true);
  const reporter = new DropReporter(ctx.logger, "c", 100);
  reporter.dropped([0, 1, 2]);
  reporter.dropped([3, 4]);
  reporter.dropped([5]);
  t.is(ctx.lines.length, 1, "the first drop logs at once");
  t.like(ctx.lines[0], { level: WARN, dropped: 3, firstSeq: 0, lastSeq: 2, totalDropped: 3 });
  // The rest comes in one line after the interval (polled: timers run late on a busy box).
  for (let waited = 0; ctx.lines.length < 2 && waited < 2000; waited += 20) {
    await new Promise((r) => setTimeout(r, 20));
  }
  t.is(ctx.lines.length, 2);
  t.like(ctx.lines[1], { dropped: 3, firstSeq: 3, lastSeq: 5, totalDropped: 6 });
});
