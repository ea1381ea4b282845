/**
 * Offset claims on a local warehouse (the same protocol as on HDFS: an exclusive rename decides):
 * who owns a position when two attempts race for it, and what becomes of one killed half way.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import test from "ava";
import { type Claim, LoadLostError, OffsetClaims } from "../../collector/hive/claims.js";
import { LocalWarehouse } from "../../collector/hive/warehouse-fs.js";

const claims = () =>
  new OffsetClaims(new LocalWarehouse(), mkdtempSync(path.join(tmpdir(), "hf-claims-")));

const attempt = (id: string, offsets: Record<number, number>): Claim => ({
  attempt: id,
  group: "g",
  positions: Object.entries(offsets).map(([partition, offset]) => ({
    topic: "metrics",
    partition: Number(partition),
    offset,
  })),
  commit: `INSERT … ${id}`,
});

test("two attempts from the same offsets: the first owns them, the second is told who", async (t) => {
  const c = claims();
  const first = attempt("L1#1", { 0: 100, 1: 200 });
  const second = attempt("L2#1", { 1: 200, 0: 100 });
  await c.claim(first);
  const error = await t.throwsAsync(c.claim(second), { instanceOf: LoadLostError });
  t.is(error?.code, "HF_LOAD_LOST");
  t.is(error?.winner?.attempt, "L1#1");
  t.is(error?.winner?.commit, "INSERT … L1#1", "the winner's commit travels with its claim");
  t.is(await c.state(first, "x", false), "complete");
  t.is(await c.state(second, "x", false), "pending", "the loser holds nothing");
  // Claiming again (a retried request) is the attempt's own slot.
  await t.notThrowsAsync(c.claim(first));
});

test("an attempt killed half way never completes; the one that killed it owns the offsets", async (t) => {
  const c = claims();
  const stale = attempt("L1#1", { 0: 100, 1: 200 });
  const owner = attempt("L2#1", { 0: 100, 1: 200 });
  let held!: () => void;
  const reached = new Promise<void>((resolve) => {
    held = resolve;
  });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  // The stale attempt holds partition 0 and stops before partition 1.
  const staleClaim = c.claim(stale, async () => {
    held();
    await gate;
  });
  await reached;
  t.is(await c.state(stale, "x", false), "pending");
  await c.claim(owner);
  t.is(await c.state(stale, "x", false), "dead", "found pending in the way: made dead");
  t.is(await c.state(owner, "x", false), "complete");
  t.is(
    (await c.holder("g", owner.positions[0] as never, 2))?.attempt,
    "L2#1",
    "at the next version",
  );
  release();
  const error = await t.throwsAsync(staleClaim, { instanceOf: LoadLostError });
  t.is(error?.winner, undefined, "the stale attempt learns it was stopped");
  t.is(await c.state(stale, "x", false), "dead");
});

test("a third attempt behind a complete one loses, behind a dead one takes the next slot", async (t) => {
  const c = claims();
  await c.claim(attempt("A#1", { 0: 0 }));
  await t.throwsAsync(c.claim(attempt("B#1", { 0: 0 })), { instanceOf: LoadLostError });
  // A dead attempt's slot (a tombstone for a victim that never came) is skipped.
  const victim = attempt("V#1", { 0: 50, 1: 60 });
  t.is(await c.state(victim, "killer", true), "dead");
  await c.claim(attempt("C#1", { 0: 50 }));
  t.is((await c.holder("g", { topic: "metrics", partition: 0, offset: 50 }, 2))?.attempt, "C#1");
  // Other groups claim their own positions.
  await t.notThrowsAsync(c.claim({ ...attempt("D#1", { 0: 0 }), group: "other" }));
});
