import test from "ava";
import { Backoff, pause } from "../../lib/backoff.js";

test("pauses grow by the multiplier up to the maximum, with jitter as a share of each", (t) => {
  const none = new Backoff({ initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0 });
  t.deepEqual(
    [1, 2, 3, 4, 5, 6].map(() => none.next()),
    [100, 200, 400, 800, 1000, 1000],
  );
  t.is(none.failures, 6);
  none.reset();
  t.is(none.next(), 100);

  const low = new Backoff({ initialMs: 1000, maxMs: 10_000, multiplier: 2, jitter: 0.2 }, () => 0);
  const high = new Backoff({ initialMs: 1000, maxMs: 10_000, multiplier: 2, jitter: 0.2 }, () => 1);
  t.is(low.next(), 800);
  t.is(high.next(), 1000);
});

test("pause ends early when its signal aborts", async (t) => {
  const controller = new AbortController();
  const started = Date.now();
  setTimeout(() => controller.abort(), 20);
  await pause(10_000, controller.signal);
  t.true(Date.now() - started < 2_000);
});
