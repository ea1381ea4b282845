import test from "ava";
import type { AgentEvent } from "../../../agent/core/types.js";
import { createSelector } from "../../../agent/runtime/selector.js";

const event = (name: string): AgentEvent => ({
  headers: { name },
  body: { name, tags: { host: "h" }, fields: { v: 1 }, timestamp: 0 },
});

test("replicating sends every event to every channel", (t) => {
  const events = [event("cpu"), event("mem")];
  const { routed, unrouted } = createSelector(["a", "b"], undefined)(events);
  t.deepEqual([...routed.keys()], ["a", "b"]);
  t.is(routed.get("a"), events);
  t.is(routed.get("b"), events);
  t.is(unrouted, 0);
});

test("multiplexing routes by header value, falls back to default, counts the rest", (t) => {
  const select = createSelector(["fast", "durable", "other"], {
    type: "multiplexing",
    header: "name",
    mapping: { cpu: ["fast"], disk: ["durable", "fast"] },
    default: ["other"],
  });
  const { routed } = select([event("cpu"), event("disk"), event("net")]);
  t.deepEqual(
    routed.get("fast")?.map((e) => e.headers.name),
    ["cpu", "disk"],
  );
  t.deepEqual(
    routed.get("durable")?.map((e) => e.headers.name),
    ["disk"],
  );
  t.deepEqual(
    routed.get("other")?.map((e) => e.headers.name),
    ["net"],
  );

  const strict = createSelector(["fast"], {
    type: "multiplexing",
    header: "name",
    mapping: { cpu: ["fast"] },
  });
  const result = strict([event("cpu"), event("net"), event("mem")]);
  t.is(result.unrouted, 2);
  t.is(result.routed.get("fast")?.length, 1);
});
