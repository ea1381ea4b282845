import test from "ava";
import { type GapEvent, GapTracker, type StreamState } from "../../collector/gaps.js";
import { decodeHoles, encodeHoles } from "../../collector/hive/encode.js";

const now = Date.parse("2024-11-21T12:00:00Z");
const options = { graceMs: 60_000, maxHolesPerStream: 100 };
const old = now - 3_600_000;
/** Sample timestamps one second per seq, an hour before now. */
const tsOf = (seq: number) => old + seq * 1000;

function run(
  seqs: readonly number[],
  {
    states = [] as readonly StreamState[],
    complete = true,
    at = now,
    stream = "file@1",
    host = "web-01",
  } = {},
) {
  const tracker = new GapTracker(states, options);
  for (const seq of seqs) tracker.observe("agent-1", stream, seq, host, tsOf(seq));
  return tracker.finish(at, complete);
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

const gap = (fromSeq: number, toSeq: number, more: Partial<GapEvent> = {}): GapEvent => ({
  kind: "gap",
  agentId: "agent-1",
  stream: "file@1",
  host: "web-01",
  fromSeq,
  toSeq,
  count: toSeq - fromSeq + 1,
  beforeTs: tsOf(fromSeq - 1),
  afterTs: tsOf(toSeq + 1),
  ...more,
});

test("an in-order stream gives no events and one state", (t) => {
  const { events, changed } = run(range(0, 99));
  t.deepEqual(events, []);
  t.deepEqual(changed, [
    {
      agentId: "agent-1",
      stream: "file@1",
      host: "web-01",
      maxSeq: 99,
      holes: [],
      lastTs: tsOf(99),
      updatedAt: now,
    },
  ]);
});

test("a hole is a gap once the run is complete and the record after it is old", (t) => {
  const { events, changed } = run([...range(0, 4), 8, 9]);
  t.deepEqual(events, [gap(5, 7)]);
  t.deepEqual(changed[0]?.holes, []);
});

test("a hole stays pending when the run is incomplete, and is reported by a later run", (t) => {
  const first = run([...range(0, 4), 8, 9], { complete: false });
  t.deepEqual(first.events, []);
  t.deepEqual(first.changed[0]?.holes, [[5, 7]]);

  const later = run([], { states: first.changed, at: now + 300_000 });
  // Neighbours of a hole from an earlier run are not kept.
  t.deepEqual(later.events, [gap(5, 7, { beforeTs: undefined, afterTs: undefined })]);
  t.deepEqual(later.changed[0]?.holes, []);
  t.is(later.changed[0]?.updatedAt, now + 300_000);
});

test("a hole stays pending within the grace period after the record that follows it", (t) => {
  const first = run([...range(0, 4), 8, 9], { at: tsOf(8) + 30_000 });
  t.deepEqual(first.events, []);
  t.deepEqual(first.changed[0]?.holes, [[5, 7]]);

  const late = run([6], { states: first.changed, at: now });
  t.deepEqual(late.events, [gap(5, 5, { beforeTs: undefined }), gap(7, 7, { afterTs: undefined })]);
  t.deepEqual(late.changed[0]?.holes, []);
});

test("late records at either end of a hole shrink it", (t) => {
  const first = run([...range(0, 4), 10], { complete: false });
  const { events } = run([5, 9], { states: first.changed });
  t.deepEqual(events, [gap(6, 8)]);
});

test("records spread over partitions and read out of order fill the holes", (t) => {
  const tracker = new GapTracker([], options);
  // One partition read to its end before the other.
  for (const seq of range(0, 999).filter((seq) => seq % 2 === 0)) {
    tracker.observe("agent-1", "file@1", seq, "web-01", tsOf(seq));
  }
  for (const seq of range(0, 999).filter((seq) => seq % 2 === 1)) {
    tracker.observe("agent-1", "file@1", seq, "db-01", tsOf(seq));
  }
  const { events, changed } = tracker.finish(now, true);
  t.deepEqual(events, []);
  t.like(changed[0], { maxSeq: 999, holes: [], host: "db-01", lastTs: tsOf(999) });
});

test("duplicates are counted per record and merged into contiguous ranges", (t) => {
  const { events } = run([...range(0, 9), 3, 5, 4, 5, 8]);
  const duplicate = (
    fromSeq: number,
    toSeq: number,
    count: number,
    beforeTs: number,
    afterTs: number,
  ) => ({
    kind: "duplicate",
    agentId: "agent-1",
    stream: "file@1",
    host: "web-01",
    fromSeq,
    toSeq,
    count,
    beforeTs,
    afterTs,
  });
  t.deepEqual(events, [duplicate(3, 5, 4, tsOf(3), tsOf(5)), duplicate(8, 8, 1, tsOf(8), tsOf(8))]);

  const again = run([7, 2], { states: run(range(0, 9)).changed });
  t.deepEqual(
    again.events.map((event) => [event.kind, event.fromSeq, event.count]),
    [
      ["duplicate", 2, 1],
      ["duplicate", 7, 1],
    ],
  );
});

test("a new stream starts at the lowest seq of the run; lower ones arriving late open holes", (t) => {
  t.deepEqual(run(range(100, 110)).events, []);
  const { events, changed } = run([100, 101, 95, 97, 102]);
  t.deepEqual(events, [gap(96, 96), gap(98, 99)]);
  t.like(changed[0], { maxSeq: 102, holes: [] });
});

test("beyond maxHolesPerStream pending holes, the oldest are reported", (t) => {
  const tracker = new GapTracker([], { ...options, maxHolesPerStream: 2 });
  for (const seq of [0, 2, 4, 6, 8]) tracker.observe("agent-1", "file@1", seq, "web-01", tsOf(seq));
  const { events, changed } = tracker.finish(now, false);
  t.deepEqual(events, [gap(1, 1), gap(3, 3)]);
  t.deepEqual(changed[0]?.holes, [
    [5, 5],
    [7, 7],
  ]);
});

test("a load in the middle of a run keeps every pending hole: the partitions read later fill them, no false gaps", (t) => {
  // One stream over two partitions read at different paces: the even seqs first, then the odd.
  const capped = { ...options, maxHolesPerStream: 2 };
  const first = new GapTracker([], capped);
  for (const seq of range(0, 20).filter((s) => s % 2 === 0)) {
    first.observe("agent-1", "file@1", seq, "web-01", tsOf(seq));
  }
  const mid = first.finish(now, false, { midRun: true });
  t.deepEqual(mid.events, []);
  t.is(mid.changed[0]?.holes.length, 10, "all ten holes kept, beyond the cap of 2");

  const second = new GapTracker(mid.changed, capped);
  for (const seq of range(0, 20).filter((s) => s % 2 === 1)) {
    second.observe("agent-1", "file@1", seq, "web-01", tsOf(seq));
  }
  const end = second.finish(now, true);
  t.deepEqual(end.events, []);
  t.deepEqual(end.changed[0]?.holes, []);
});

test("a new stream's lowest seqs read after a load in the middle of the run are not duplicates", (t) => {
  // Partition A (seqs 10–19) is read and loaded before partition B (seqs 0–9) is.
  const first = new GapTracker([], options);
  for (const seq of range(10, 19)) first.observe("agent-1", "file@1", seq, "web-01", tsOf(seq));
  const mid = first.finish(now, false, { midRun: true });
  t.deepEqual(mid.events, []);
  t.like(mid.changed[0], { maxSeq: 19, holes: [], floor: 10 });

  const second = new GapTracker(mid.changed, options);
  for (const seq of range(0, 9)) second.observe("agent-1", "file@1", seq, "web-01", tsOf(seq));
  const end = second.finish(now, true);
  t.deepEqual(end.events, []);
  t.is(end.changed[0]?.floor, undefined, "a run that read everything forgets the floor");

  // Without the floor (a stream known from before), the same seqs are duplicates.
  const known = new GapTracker(
    end.changed.map((state) => ({ ...state })),
    options,
  );
  known.observe("agent-1", "file@1", 3, "web-01", tsOf(3));
  t.is(known.finish(now, true).events[0]?.kind, "duplicate");
});

test("streams.holes: the plain array of earlier versions, and the floor form", (t) => {
  t.deepEqual(decodeHoles("[[1,2],[5,5]]"), {
    holes: [
      [1, 2],
      [5, 5],
    ],
  });
  t.is(encodeHoles({ holes: [[1, 2]] }), "[[1,2]]");
  const withFloor = { holes: [[1, 2]] as Array<[number, number]>, floor: 0 };
  t.deepEqual(decodeHoles(encodeHoles(withFloor)), withFloor);
});

test("a new epoch is a different stream: numbering restarts without gaps or duplicates", (t) => {
  const before = run(range(0, 500), { stream: "memory@1" });
  const { events, changed } = run(range(0, 20), { stream: "memory@2", states: before.changed });
  t.deepEqual(events, []);
  t.deepEqual(
    changed.map((state) => [state.stream, state.maxSeq]),
    [["memory@2", 20]],
  );
});

test("streams not seen in a run and without reported holes are not changed", (t) => {
  const states = run(range(0, 9)).changed;
  t.deepEqual(run([], { states }).changed, []);
});
