import test from "ava";
import { createFilterInterceptor } from "../../../agent/interceptors/filter.js";
import { counted, testContext } from "../sources/context.js";
import { sample } from "./events.js";

const names = ["cpu", "mem", "disk", "diskio", "net", "processes"];

test("include keeps matching measurements, exclude drops after it; dropped are counted", async (t) => {
  const ctx = testContext("src.interceptors.0");
  const i = createFilterInterceptor(
    { type: "filter", include: ["cpu", "disk*", "net"], exclude: ["diskio"] },
    ctx,
  );
  t.is(i.type, "filter");
  const kept = i.intercept(names.map((n) => sample(n)));
  t.deepEqual(
    kept.map((e) => e.body.name),
    ["cpu", "disk", "net"],
  );
  i.intercept([sample("mem")]);
  t.is(await counted(ctx, "src.interceptors.0", "filtered"), 4);
});

test("exclude alone drops only what it names; neither keeps all", async (t) => {
  const ctx = testContext();
  const exclude = createFilterInterceptor({ type: "filter", exclude: ["disk*"] }, ctx, "f");
  t.deepEqual(
    exclude.intercept(names.map((n) => sample(n))).map((e) => e.body.name),
    ["cpu", "mem", "net", "processes"],
  );
  const none = createFilterInterceptor({ type: "filter" }, ctx, "g");
  t.is(none.intercept(names.map((n) => sample(n))).length, names.length);
  t.is(await counted(ctx, "f", "filtered"), 2);
  t.is(await counted(ctx, "g", "filtered"), 0);
});
