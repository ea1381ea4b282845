import test from "ava";
import { createTimestampInterceptor } from "../../../agent/interceptors/timestamp.js";
import { testContext } from "../sources/context.js";
import { sample } from "./events.js";

test("preserve_existing keeps a set timestamp and fills a missing one", (t) => {
  const i = createTimestampInterceptor(
    { type: "timestamp", preserve_existing: true },
    testContext(),
  );
  t.is(i.type, "timestamp");
  const before = Date.now();
  const [kept, zero, nan] = i.intercept([
    sample("cpu", {}, { name: "cpu" }, 1_700_000_000_000),
    sample("cpu", {}, { name: "cpu" }, 0),
    sample("cpu", {}, { name: "cpu" }, Number.NaN),
  ]);
  t.is(kept?.body.timestamp, 1_700_000_000_000);
  t.true((zero?.body.timestamp ?? 0) >= before);
  t.true((nan?.body.timestamp ?? 0) >= before);
});

test("preserve_existing false sets the time of interception on every sample", (t) => {
  const i = createTimestampInterceptor(
    { type: "timestamp", preserve_existing: false },
    testContext(),
  );
  const before = Date.now();
  const out = i.intercept([sample("cpu"), sample("mem")]);
  t.true(out.every((e) => e.body.timestamp >= before && e.body.timestamp <= Date.now()));
});
