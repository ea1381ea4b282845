import test from "ava";
import type { Channel, ChannelEvent, Sink } from "../../../agent/core/types.js";
import { groupProcessor } from "../../../agent/runtime/processor.js";
import { HostflowError, isHostflowError } from "../../../lib/errors.js";

/** A sink whose writes fail while `failing` is set; it records which batches it took. */
function fakeSink(name: string) {
  const state = { failing: false, retriable: true, writes: 0 };
  const sink: Sink = {
    name,
    type: "fake",
    start: async () => undefined,
    stop: async () => undefined,
    health: () => ({ ok: !state.failing }),
    async write() {
      if (state.failing)
        throw new HostflowError("HF_KAFKA_PRODUCE", `${name} down`, { retriable: state.retriable });
      state.writes++;
    },
  };
  return { sink, state };
}

const batch: ChannelEvent[] = [];
const channel = {} as Channel;

test("failover: the highest priority sink takes batches; on failure the next takes over, and the first is set aside", async (t) => {
  let now = 0;
  const a = fakeSink("a");
  const b = fakeSink("b");
  const group = groupProcessor(
    "g",
    [a.sink, b.sink],
    { type: "failover", priorities: { a: 10, b: 5 }, max_penalty: 30_000 },
    Math.random,
    () => now,
  );
  await group.write(batch, channel);
  t.deepEqual([a.state.writes, b.state.writes], [1, 0]);

  a.state.failing = true;
  await group.write(batch, channel);
  t.deepEqual([a.state.writes, b.state.writes], [1, 1]);

  // a is set aside for 1 s: b takes the next batch without a being tried.
  a.state.failing = false;
  await group.write(batch, channel);
  t.deepEqual([a.state.writes, b.state.writes], [1, 2]);

  now += 1_001;
  await group.write(batch, channel);
  t.deepEqual([a.state.writes, b.state.writes], [2, 2], "a is back after its penalty");
});

test("failover: when every sink fails, the error is retriable if any sink's was, and names each reason", async (t) => {
  const a = fakeSink("a");
  const b = fakeSink("b");
  a.state.failing = true;
  b.state.failing = true;
  b.state.retriable = false;
  const group = groupProcessor("g", [a.sink, b.sink], {
    type: "failover",
    priorities: {},
    max_penalty: 30_000,
  });
  const error = await t.throwsAsync(group.write(batch, channel));
  t.true(isHostflowError(error, "HF_SINK_WRITE"));
  t.true(isHostflowError(error) && error.retriable);
  t.regex(error?.message ?? "", /no sink of group g took the batch: a down; b down/);
  // All set aside: the group still tries the one whose penalty ends first instead of giving up.
  a.state.failing = false;
  await group.write(batch, channel);
  t.is(a.state.writes, 1);
});

test("load_balance round_robin spreads batches and skips a failed sink", async (t) => {
  const sinks = [fakeSink("a"), fakeSink("b"), fakeSink("c")];
  const group = groupProcessor(
    "g",
    sinks.map((s) => s.sink),
    { type: "load_balance", selector: "round_robin", backoff: true, max_penalty: 30_000 },
  );
  for (let i = 0; i < 6; i++) await group.write(batch, channel);
  t.deepEqual(
    sinks.map((s) => s.state.writes),
    [2, 2, 2],
  );
  (sinks[1] as (typeof sinks)[number]).state.failing = true;
  for (let i = 0; i < 6; i++) await group.write(batch, channel);
  t.is(
    sinks.reduce((sum, s) => sum + s.state.writes, 0),
    12,
    "every batch was written once",
  );
  t.is(sinks[1]?.state.writes, 2, "the failed sink took none");
});
