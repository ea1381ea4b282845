import test from "ava";
import { interpolateString } from "../../../lib/config/interpolate.js";

const env = { HOST: "kafka-1", PORT: "9092", EMPTY: "" };

for (const [text, expected] of [
  ["${HOST}:${PORT}", "kafka-1:9092"],
  ["${MISSING:-fallback}", "fallback"],
  ["${EMPTY:-fallback}", "fallback"],
  ["${HOST:-fallback}", "kafka-1"],
  ["${MISSING:-}", ""],
  ["${MISSING:-a:b/c d}", "a:b/c d"],
  ["$${HOST}", "${HOST}"],
  ["cost: $5 and $$ and ${HOST}", "cost: $5 and $$ and kafka-1"],
  ["no variables", "no variables"],
] as const) {
  test(`${JSON.stringify(text)} → ${JSON.stringify(expected)}`, (t) => {
    const result = interpolateString(text, env);
    t.deepEqual(result.ok ? result.value : result, expected);
  });
}

test("an empty variable without a default is empty, as in the shell", (t) => {
  t.deepEqual(interpolateString("[${EMPTY}]", env), { ok: true, value: "[]", substituted: true });
});

test("escapes alone substitute nothing", (t) => {
  t.deepEqual(interpolateString("$${X}", {}), { ok: true, value: "${X}", substituted: false });
});

for (const [text, message] of [
  ["${NOPE}", "environment variable NOPE is not set"],
  ["${HOST", 'unterminated "${" in "${HOST"'],
  ["${9X}", 'malformed "${9X}"'],
  ["${HOST-default}", 'malformed "${HOST-default}"'],
] as const) {
  test(`${JSON.stringify(text)} is an error: ${message}`, (t) => {
    const result = interpolateString(text, env);
    t.false(result.ok);
    t.is(result.ok ? undefined : result.message, message);
  });
}
