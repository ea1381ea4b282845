import test from "ava";
import {
  type CheckedRecord,
  checkRecord,
  type RecordCheckOptions,
} from "../../collector/records.js";
import { encodeHeaders, encodeSample, type Sample } from "../../lib/wire.js";

const now = Date.parse("2024-11-21T12:00:00Z");
const options: RecordCheckOptions = {
  timestampUnit: "ms",
  maxBytes: 4096,
  maxAgeMs: 30 * 86_400_000,
  maxFutureMs: 5 * 60_000,
  now,
};
const sample: Sample = {
  name: "cpu",
  tags: { host: "web-01", cpu: "cpu-total" },
  fields: { usage_user: 3.1, usage_idle: 95.4 },
  timestamp: now - 10_000,
};
const wire = { schemaVersion: 1, agentId: "agent-1", stream: "memory@17", seq: 42 };

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const check = (value: Buffer | null, more: Partial<RecordCheckOptions> = {}, key?: string) =>
  checkRecord(key === undefined ? null : Buffer.from(key), value, undefined, {
    ...options,
    ...more,
  });
const reason = (checked: CheckedRecord) => (checked.ok ? "ok" : checked.reason);

test("a good record gives its sample, host and headers", (t) => {
  const checked = checkRecord(
    Buffer.from("web-01"),
    encodeSample(sample),
    encodeHeaders(wire),
    options,
  );
  t.deepEqual(checked, { ok: true, sample, host: "web-01", headers: wire, skipped: 0 });
});

test("the host comes from the record key when tags.host is missing; tags.host wins otherwise", (t) => {
  const { host: _, ...tags } = sample.tags;
  const keyed = check(json({ ...sample, tags }), {}, "db-02");
  t.true(keyed.ok && keyed.host === "db-02");
  const both = check(encodeSample(sample), {}, "db-02");
  t.true(both.ok && both.host === "web-01");
  t.is(
    reason(check(json({ ...sample, tags }))),
    "no host: tags.host missing and the record has no key",
  );
  t.is(reason(check(json({ ...sample, tags }), {}, "")), reason(check(json({ ...sample, tags }))));
  t.is(
    reason(check(json({ ...sample, tags }), {}, "db\u000702")),
    'record key: control character U+0007 in host "db\\u000702"',
  );
});

test("values that are not a sample are bad with the decoder's reason", (t) => {
  t.regex(reason(check(Buffer.from("{oops"))), /^not JSON: /);
  t.is(reason(check(json([1, 2]))), "not a JSON object");
  t.is(reason(check(json({ ...sample, tags: "web-01" }))), "tags: missing or not an object");
  t.is(
    reason(check(json({ ...sample, fields: { usage_user: [3.1] } }))),
    "fields.usage_user: not a finite number, a boolean or a string",
  );
  t.is(
    reason(check(json({ ...sample, fields: { usage_user: null } }))),
    "fields.usage_user: not a finite number, a boolean or a string",
  );
  t.is(reason(check(json({ ...sample, fields: {} }))), "fields: empty");
  t.is(reason(check(null)), "empty value (tombstone)");
});

test("Telegraf 1.36's records as its Kafka output writes them: string fields skipped and counted, booleans 0/1", (t) => {
  // outputs.kafka with data_format = "json" (json_timestamp_units = "1s"): inputs.system sends
  // uptime_format on a metric of its own; a boolean field (e.g. inputs.ping's result flags,
  // inputs.procstat's running) beside numbers.
  const s = Math.floor((now - 10_000) / 1000);
  const telegraf = (line: string) => check(Buffer.from(line), { timestampUnit: "s" });
  const uptime = telegraf(
    `{"fields":{"uptime_format":"12 days,  3:04"},"name":"system","tags":{"host":"web-01"},"timestamp":${s}}`,
  );
  t.true(uptime.ok, reason(uptime));
  t.like(uptime, { ok: true, skipped: 1, sample: { name: "system" } });
  t.deepEqual(uptime.ok ? uptime.sample.fields : undefined, {});
  const mixed = telegraf(
    `{"fields":{"load1":0.52,"n_cpus":2,"n_users":1,"running":true,"stopped":false,"state":"up","uptime":3600},"name":"system","tags":{"host":"web-01"},"timestamp":${s}}`,
  );
  t.like(mixed, {
    ok: true,
    skipped: 1,
    sample: {
      timestamp: s * 1000,
    },
  });
  t.deepEqual(mixed.ok ? mixed.sample.fields : undefined, {
    load1: 0.52,
    n_cpus: 2,
    n_users: 1,
    running: 1,
    stopped: 0,
    uptime: 3600,
  });
});

test("names with control characters or beyond their length limit are bad, naming the key", (t) => {
  const bad = (changes: Partial<Sample>) => reason(check(json({ ...sample, ...changes })));
  t.is(
    bad({ tags: { host: "web-01", path: "/var\u0001" } }),
    'tags.path: control character U+0001 in value "/var\\u0001"',
  );
  t.is(
    bad({ tags: { host: "web-01", "pa\u007fth": "/" } }),
    'tags["pa\\u007fth"]: control character U+007F in key "pa\\u007fth"',
  );
  t.is(bad({ name: "cp\nu" }), 'name: control character U+000A in name "cp\\nu"');
  t.is(
    bad({ fields: { ["x".repeat(300)]: 1 } }),
    `fields["${"x".repeat(80)}…"]: key of 300 characters, more than 256`,
  );
  t.is(
    bad({ tags: { host: "web-01", path: "p".repeat(1025) } }),
    "tags.path: value of 1025 characters, more than 1024",
  );
  t.is(bad({ tags: { host: "web-01", path: "p".repeat(1024) } }), "ok");
});

test("timestamps outside the window are bad, with a hint when another unit fits", (t) => {
  t.is(
    reason(check(json({ ...sample, timestamp: 1732190400 }))),
    "timestamp 1732190400 is 1970-01-21T01:09:50.400Z, older than 30 days " +
      "(limit 2024-10-22T12:00:00.000Z; records.timestamp_unit is ms; is it s?)",
  );
  t.is(
    reason(check(json({ ...sample, timestamp: now + 3_600_000 }))),
    "timestamp 1732194000000 is 2024-11-21T13:00:00.000Z, more than 5 minutes in the future " +
      "(limit 2024-11-21T12:05:00.000Z)",
  );
  t.regex(
    reason(check(json({ ...sample, timestamp: now }), { timestampUnit: "s" })),
    /^timestamp 1732190400000 is .*; records.timestamp_unit is s; is it ms\?\)$/,
  );
  // Beyond what Date can represent: still a reason, not a RangeError.
  t.regex(reason(check(json({ ...sample, timestamp: now * 1e6 }))), /beyond any date.*is it ns\?/);
  const seconds = check(json({ ...sample, timestamp: now / 1000 }), { timestampUnit: "s" });
  t.true(seconds.ok && seconds.sample.timestamp === now);
});

test("an oversized value is bad", (t) => {
  t.regex(reason(check(encodeSample(sample), { maxBytes: 10 })), /^value of \d+ bytes exceeds 10$/);
});

test("malformed or missing hostflow headers leave the record good, without headers", (t) => {
  const headers = (h: Record<string, string>) =>
    checkRecord(null, encodeSample(sample), h, options);
  const good = encodeHeaders(wire);
  for (const broken of [
    {},
    { ...good, "hf-seq": "-1" },
    { ...good, "hf-seq": "99999999999999999999" },
    { ...good, "hf-agent-id": "" },
  ]) {
    const checked = headers(broken);
    t.true(checked.ok && checked.headers === undefined, JSON.stringify(broken));
  }
  const buffers = checkRecord(
    null,
    encodeSample(sample),
    Object.fromEntries(Object.entries(good).map(([k, v]) => [k, Buffer.from(v)])),
    options,
  );
  t.true(buffers.ok && buffers.headers?.seq === 42);
});
