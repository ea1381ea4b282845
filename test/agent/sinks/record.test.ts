import test from "ava";
import {
  compileTopicPattern,
  createRecordBuilder,
  DEFAULT_ROUTING,
  recordLine,
  toWireRecord,
} from "../../../agent/sinks/record.js";
import { isHostflowError } from "../../../lib/errors.js";
import { encodeSample } from "../../../lib/wire.js";
import { event, eventCount, fakeChannel, testContext } from "./_context.js";

test("a topic without placeholders is itself", (t) => {
  const pattern = compileTopicPattern("hostflow.metrics");
  t.deepEqual(pattern.headers, []);
  t.deepEqual(pattern.render({ name: "cpu" }), { topic: "hostflow.metrics", missing: [] });
});

test("%{header} is replaced by that event header, several and anywhere", (t) => {
  const pattern = compileTopicPattern("metrics.%{name}.%{dc}-raw");
  t.deepEqual(pattern.headers, ["name", "dc"]);
  t.deepEqual(pattern.render({ name: "cpu", dc: "eu-1" }), {
    topic: "metrics.cpu.eu-1-raw",
    missing: [],
  });
  t.is(compileTopicPattern("%{name}").render({ name: "mem" }).topic, "mem");
});

test("a missing or empty header becomes `unknown` and is reported as missing", (t) => {
  const pattern = compileTopicPattern("metrics.%{name}.%{dc}");
  t.deepEqual(pattern.render({ name: "cpu" }), {
    topic: "metrics.cpu.unknown",
    missing: ["dc"],
  });
  t.deepEqual(pattern.render({ name: "", dc: "x" }), {
    topic: "metrics.unknown.x",
    missing: ["name"],
  });
});

test("characters Kafka refuses in a header value become _", (t) => {
  const pattern = compileTopicPattern("metrics.%{name}");
  t.is(pattern.render({ name: "disk io/sda:1" }).topic, "metrics.disk_io_sda_1");
  t.is(compileTopicPattern("%{name}").render({ name: ".." }).topic, "__");
  t.is(compileTopicPattern("%{name}").render({ name: "x".repeat(300) }).topic.length, 249);
});

test("a pattern with an empty %{} or illegal fixed text is HF_CONFIG_INVALID", (t) => {
  for (const bad of ["metrics.%{}", "metrics/%{name}", "my topic", ""]) {
    const error = t.throws(() => compileTopicPattern(bad));
    t.true(isHostflowError(error, "HF_CONFIG_INVALID"), `${bad}: ${String(error)}`);
  }
});

test("a wire record: key = the key header, value = encodeSample, the four hostflow headers", (t) => {
  const e = event(42, "web-01");
  const record = toWireRecord(e, "hostflow.metrics", "host", "agent-7", "main@123");
  t.deepEqual(record, {
    topic: "hostflow.metrics",
    key: "web-01",
    headers: {
      "hf-schema-version": "1",
      "hf-agent-id": "agent-7",
      "hf-stream": "main@123",
      "hf-seq": "42",
    },
    value: encodeSample(e.body),
  });
  t.is(toWireRecord(e, "t", "nope", "a", "s").key, null);
});

test("a record line is one JSON object with topic, key, headers and the sample as value", (t) => {
  const e = event(3, "db-01", "mem");
  const line = recordLine(toWireRecord(e, "metrics.mem", "host", "agent-7", "main@1"));
  t.true(line.endsWith("}\n"));
  t.is(line.indexOf("\n"), line.length - 1);
  t.deepEqual(JSON.parse(line), {
    topic: "metrics.mem",
    key: "db-01",
    headers: {
      "hf-schema-version": "1",
      "hf-agent-id": "agent-7",
      "hf-stream": "main@1",
      "hf-seq": "3",
    },
    value: e.body,
  });
  t.true(
    line.includes(`"value":${encodeSample(e.body).toString()}}`),
    "the wire bytes as they are",
  );
});

test("the record builder renders a batch and counts events with missing headers", async (t) => {
  const ctx = testContext("agent-9");
  const build = createRecordBuilder("out", { topic: "m.%{name}", key_header: "host" }, ctx);
  const noName = { ...event(2, "web-02"), headers: { host: "web-02" } };
  const noHost = { ...event(3, "web-03"), headers: { name: "cpu" } };
  const records = build([event(1, "web-01"), noName, noHost], fakeChannel("c@9"));
  t.deepEqual(
    records.map((r) => [r.topic, r.key, r.headers["hf-seq"], r.headers["hf-stream"]]),
    [
      ["m.cpu", "web-01", "1", "c@9"],
      ["m.unknown", "web-02", "2", "c@9"],
      ["m.cpu", null, "3", "c@9"],
    ],
  );
  t.is(await eventCount(ctx, "out", "missing_header"), 2);
});

test("the default routing is the kafka sink's defaults", (t) => {
  t.deepEqual(DEFAULT_ROUTING, { topic: "hostflow.metrics", key_header: "host" });
});
