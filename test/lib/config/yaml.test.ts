import test from "ava";
import { ConfigError } from "../../../lib/config/issues.js";
import { parseYaml, readYamlFile } from "../../../lib/config/yaml.js";
import { isHostflowError } from "../../../lib/errors.js";
import { writeConfig } from "./helpers.js";

const TEXT = [
  "sinks:",
  "  kafka:",
  "    batch_size: 10",
  "    brokers:",
  "      - a:9092",
  "      - b:9092",
  "    empty:",
  "anchor: &x {deep: 1}",
  "alias: *x",
].join("\n");

test("maps a path to the value's position, or the key's", (t) => {
  const source = parseYaml(TEXT, "f.yaml");
  t.deepEqual(source.locate(["sinks", "kafka", "batch_size"], "value"), { line: 3, column: 17 });
  t.deepEqual(source.locate(["sinks", "kafka", "batch_size"], "key"), { line: 3, column: 5 });
  t.deepEqual(source.locate(["sinks", "kafka", "brokers", 1], "value"), { line: 6, column: 9 });
  t.deepEqual(source.locate(["alias", "deep"], "value"), { line: 8, column: 19 });
});

test("a key with no value is pointed at by its key", (t) => {
  const source = parseYaml(TEXT, "f.yaml");
  t.deepEqual(source.locate(["sinks", "kafka", "empty"], "value"), { line: 7, column: 5 });
  t.true(source.has(["sinks", "kafka", "empty"]));
});

test("a path past what the file holds points at the deepest key there is", (t) => {
  const source = parseYaml(TEXT, "f.yaml");
  t.deepEqual(source.locate(["sinks", "kafka", "retry", "max"], "value"), { line: 2, column: 3 });
  t.false(source.has(["sinks", "kafka", "retry"]));
});

test("builds issues with the operator's path", (t) => {
  const source = parseYaml(TEXT, "f.yaml");
  t.deepEqual(
    source.issue({
      kind: "invalid_value",
      path: ["sinks", "kafka", "brokers", 0],
      at: "value",
      message: "bad",
    }),
    {
      severity: "error",
      kind: "invalid_value",
      file: "f.yaml",
      line: 5,
      column: 9,
      path: "sinks.kafka.brokers[0]",
      message: "bad",
    },
  );
});

test("syntax errors are HF_CONFIG_PARSE, every one with its position", (t) => {
  const error = t.throws(() => parseYaml("a: 1\n\tb: 2\nc: [1, 2\n", "bad.yaml"), {
    instanceOf: ConfigError,
  });
  t.true(isHostflowError(error, "HF_CONFIG_PARSE"));
  t.true((error?.issues.length ?? 0) >= 1);
  t.is(
    error?.issues[0] && `${error.issues[0].line}:${error.issues[0].column} ${error.issues[0].kind}`,
    "2:1 syntax",
  );
});

test("duplicate keys are rejected", (t) => {
  const error = t.throws(() => parseYaml("a:\n  b: 1\n  b: 2\n", "dup.yaml"), {
    instanceOf: ConfigError,
  });
  t.is(
    error?.formatIssues(),
    'dup.yaml:3:3: duplicate key "b" (hint: each key may appear once in a mapping; remove or merge the other one)',
  );
});

test("more than one document is rejected", (t) => {
  const error = t.throws(() => parseYaml("a: 1\n---\nb: 2\n", "two.yaml"));
  t.true(isHostflowError(error, "HF_CONFIG_PARSE"));
});

test("a file that cannot be read is HF_CONFIG_READ", (t) => {
  const error = t.throws(() => readYamlFile("/nonexistent/hostflow.yaml"));
  t.true(isHostflowError(error, "HF_CONFIG_READ"));
  t.deepEqual(error && isHostflowError(error) ? error.context : {}, {
    file: "/nonexistent/hostflow.yaml",
  });
});

test("reads a file", (t) => {
  const file = writeConfig(["a: [1, 2]"]);
  t.deepEqual(readYamlFile(file).toJS(), { a: [1, 2] });
});
