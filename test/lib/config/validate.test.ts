import { Type } from "@sinclair/typebox";
import test from "ava";
import { formatIssues } from "../../../lib/config/issues.js";
import { loadConfigText } from "../../../lib/config/load.js";
import { Duration, Size, Strict } from "../../../lib/config/types.js";
import { compileConfigSchema } from "../../../lib/config/validate.js";

// A schema of its own: the validator is generic, the collector's config will use it too.
const Target = Type.Union([
  Strict({ type: Type.Literal("hive"), table: Type.String({ description: "the table" }) }),
  Strict({
    type: Type.Literal("file"),
    path: Type.String(),
    max: Size({ description: "limit", default: "1MiB" }),
  }),
]);
const Schema = Strict({
  every: Duration({ description: "period", default: "1m" }),
  workers: Type.Integer({ minimum: 1, default: 2, description: "parallel loads" }),
  dry_run: Type.Boolean({ default: false }),
  targets: Type.Array(Target, { default: [] }),
});
const spec = { validator: compileConfigSchema(Schema) };

test("defaults, units and unions on another schema", (t) => {
  const { config } = loadConfigText("targets:\n  - {type: file, path: /x}\n", "c.yaml", spec, {});
  t.deepEqual(config, {
    every: 60_000,
    workers: 2,
    dry_run: false,
    targets: [{ type: "file", path: "/x", max: 1_048_576 }],
  });
  t.true(Object.isFrozen((config as { targets: object[] }).targets[0]));
});

test("substituted values become what the schema takes; written ones do not", (t) => {
  const text = "workers: ${W}\ndry_run: ${D}\nevery: ${E}\n";
  const { config } = loadConfigText(text, "c.yaml", spec, { W: "4", D: "true", E: "250" });
  // Duration accepts a string, so "250" stays one (and means 250 ms).
  t.deepEqual(config, { every: 250, workers: 4, dry_run: true, targets: [] });
  const error = t.throws(() => loadConfigText('workers: "4"\n', "c.yaml", spec, {}));
  t.regex(error?.message ?? "", /c\.yaml:1:10: workers: must be an integer, not "4"/);
});

test("a substituted value that is not a number is reported as written", (t) => {
  const error = t.throws(() => loadConfigText("workers: ${W}\n", "c.yaml", spec, { W: "four" }));
  t.regex(error?.message ?? "", /c\.yaml:1:10: workers: must be an integer, not "four"/);
});

test("reports unknown keys in the branch named by type, and a missing key", (t) => {
  const text = "targets:\n  - type: hive\n    tabel: t\n  - type: file\n";
  const error = t.throws(() => loadConfigText(text, "c.yaml", spec, {}));
  t.is(
    error?.message.split("\n").slice(1).join("\n"),
    [
      'c.yaml:2:5: targets[0].table: missing key "table" (hint: the table)',
      'c.yaml:3:5: targets[0].tabel: unknown key "tabel" (hint: did you mean "table"?)',
      'c.yaml:4:5: targets[1].path: missing key "path"',
    ].join("\n"),
  );
});

test("formats issues one per line, warnings marked", (t) => {
  const base = { file: "f.yaml", line: 3, column: 7, path: "a.b", message: "m" } as const;
  t.is(
    formatIssues([
      { ...base, severity: "warning", kind: "unused", line: 1 },
      { ...base, severity: "error", kind: "invalid_value", hint: "h" },
    ]),
    "f.yaml:3:7: a.b: m (hint: h)\nf.yaml:1:7: warning: a.b: m",
  );
});
