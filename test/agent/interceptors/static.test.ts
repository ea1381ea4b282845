import test from "ava";
import { createStaticInterceptor } from "../../../agent/interceptors/static.js";
import { testContext } from "../sources/context.js";
import { sample } from "./events.js";

test("adds tags and headers; preserve_existing keeps the event's own", (t) => {
  const i = createStaticInterceptor(
    {
      type: "static",
      tags: { dc: "eu-1", role: "web" },
      headers: { topic: "metrics", name: "other" },
      preserve_existing: true,
    },
    testContext(),
  );
  t.is(i.type, "static");
  const [e] = i.intercept([sample("cpu", { role: "db" })]);
  t.deepEqual(e?.body.tags, { role: "db", dc: "eu-1" });
  t.deepEqual(e?.headers, { name: "cpu", topic: "metrics" });
});

test("preserve_existing false overwrites", (t) => {
  const i = createStaticInterceptor(
    { type: "static", tags: { role: "web" }, headers: { name: "x" }, preserve_existing: false },
    testContext(),
  );
  const [e] = i.intercept([sample("cpu", { role: "db" })]);
  t.deepEqual(e?.body.tags, { role: "web" });
  t.deepEqual(e?.headers, { name: "x" });
});
