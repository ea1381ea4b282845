import test from "ava";
import { createNullSink } from "../../../agent/sinks/null.js";
import { event, eventCount, fakeChannel, nullOptions, testContext } from "./_context.js";

test("the null sink discards batches, counts them as written and is always healthy", async (t) => {
  const ctx = testContext();
  const sink = createNullSink("void", nullOptions, ctx);
  t.is(sink.type, "null");
  await sink.start();
  await sink.write([event(0, "a"), event(1, "b")], fakeChannel());
  await sink.write([event(2, "a")], fakeChannel());
  await sink.write([], fakeChannel());
  t.is(await eventCount(ctx, "void", "written"), 3);
  t.deepEqual(sink.health(), { ok: true });
  await sink.stop();
});
