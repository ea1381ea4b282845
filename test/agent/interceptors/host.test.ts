import { hostname } from "node:os";
import test from "ava";
import { createHostInterceptor } from "../../../agent/interceptors/host.js";
import { testContext } from "../sources/context.js";
import { sample } from "./events.js";

test("sets the host tag and header, by default to this machine's name", (t) => {
  const i = createHostInterceptor({ type: "host", preserve_existing: true }, testContext());
  t.is(i.type, "host");
  const [e] = i.intercept([sample("cpu", { cpu: "cpu-total" })]);
  t.deepEqual(e?.body.tags, { cpu: "cpu-total", host: hostname() });
  t.deepEqual(e?.headers, { name: "cpu", host: hostname() });
});

test("preserve_existing keeps a host tag (and makes the header follow it)", (t) => {
  const i = createHostInterceptor(
    { type: "host", hostname: "agent-1", preserve_existing: true },
    testContext(),
  );
  const [kept, set] = i.intercept([sample("cpu", { host: "sim-007" }), sample("mem")]);
  t.is(kept?.body.tags.host, "sim-007");
  t.is(kept?.headers.host, "sim-007");
  t.is(set?.body.tags.host, "agent-1");
  t.is(set?.headers.host, "agent-1");
});

test("preserve_existing false overwrites", (t) => {
  const i = createHostInterceptor(
    { type: "host", hostname: "agent-1", preserve_existing: false },
    testContext(),
  );
  const [e] = i.intercept([sample("cpu", { host: "sim-007" }, { name: "cpu", host: "sim-007" })]);
  t.is(e?.body.tags.host, "agent-1");
  t.is(e?.headers.host, "agent-1");
});
