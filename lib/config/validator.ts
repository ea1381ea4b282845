import { createHash } from "node:crypto";
import type { ErrorObject, ValidateFunction } from "ajv";
import type { ConfigIssue, ConfigPath, PathSegment } from "./issues.js";
import {
  acceptedTypes,
  discriminatedUnion,
  isRecord,
  isSchema,
  type JsonSchema,
  schemaAt,
  walkData,
} from "./schema-walk.js";
import { suggestion } from "./suggest.js";
import { COMPONENT_NAME_PATTERN, ComponentName } from "./types.js";
import { UNIT_FORMS, UNIT_KEYWORD, type Unit, unitValue } from "./units.js";
import type { IssueSpec, YamlSource } from "./yaml.js";

// What a config load needs at run time, without Ajv itself: a program validates either with
// code Ajv generated at build time (the agent: no schema compile at each start) or with a
// validator compiled at start by ./validate.ts; both go through `validatorFrom`.

/**
 * A config schema ready to validate: validates parsed data, applies the schema's defaults in
 * place, and reports every problem as an operator-grade issue (file:line:column, key path,
 * message, hint) rather than Ajv's raw errors.
 */
export interface ConfigValidator {
  /** The schema as written (TypeBox), for docs and schema-guided walks. */
  readonly schema: JsonSchema;
  /** Validates `data` (mutated: defaults applied); issues are positioned through `source`. */
  validate(source: YamlSource, data: unknown): ConfigIssue[];
}

/**
 * A ConfigValidator from an Ajv validate function of `schema` (compiled with validate.ts's
 * options, now or at build time: its errors carry parentSchema, so `verbose` must be on).
 */
export function validatorFrom(schema: unknown, check: ValidateFunction): ConfigValidator {
  const root = schema as JsonSchema;
  return {
    schema: root,
    validate: (source, data) => (check(data) ? [] : toIssues(check, source, data, root)),
  };
}

/** What a generated validator was made from, so that one made from another schema is not used. */
export function schemaDigest(schema: unknown): string {
  return createHash("sha256").update(JSON.stringify(schema)).digest("hex").slice(0, 16);
}

/**
 * Turns strings into numbers, booleans or comma-separated lists where a variable was
 * substituted and the schema has no string form there: `batch_size: ${BATCH}` with BATCH=500 is
 * 500, but `client_id: ${ID}` with ID=7 stays "7". Only substituted values: a `"500"` written in
 * the file stays a string (and is reported), so Ajv's global coerceTypes is not used.
 */
export function coerceSubstituted(
  schema: JsonSchema,
  data: unknown,
  paths: readonly ConfigPath[],
): void {
  for (const path of paths) {
    const key = path.at(-1);
    const parent = getAt(data, path.slice(0, -1));
    const at = schemaAt(schema, data, path);
    if (key === undefined || at === undefined || !(isRecord(parent) || Array.isArray(parent))) {
      continue;
    }
    const value = (parent as Record<PathSegment, unknown>)[key];
    if (typeof value !== "string") continue;
    const types = acceptedTypes(at);
    const text = value.trim();
    const numeric = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(text);
    // A unit's string form needs a unit, so a bare number there is the number form (ms, bytes).
    if (types.has("string") && !(numeric && at[UNIT_KEYWORD] !== undefined)) continue;
    if ((types.has("number") || types.has("integer")) && numeric) {
      (parent as Record<PathSegment, unknown>)[key] = Number(text);
    } else if (types.has("boolean") && (text === "true" || text === "false")) {
      (parent as Record<PathSegment, unknown>)[key] = text === "true";
    } else if (types.has("array")) {
      // `brokers: ${KAFKA_BROKERS}` with KAFKA_BROKERS=k1:9092,k2:9092, the usual form of a list
      // in one variable; the items are then validated as if written one by one.
      (parent as Record<PathSegment, unknown>)[key] = text
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "");
    }
  }
}

/** Unit values (`10s`, `512MiB`) as numbers: milliseconds and bytes. Valid data only. */
export function convertUnits(schema: JsonSchema, data: unknown): unknown {
  return walkData(schema, data, (at, value) => {
    const unit = at[UNIT_KEYWORD] as Unit | undefined;
    return unit === undefined ? value : (unitValue(unit, value) ?? value);
  });
}

/** Freezes a config and everything in it, so no component changes what another one reads. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

function getAt(data: unknown, path: ConfigPath): unknown {
  let value = data;
  for (const segment of path) {
    if (!(isRecord(value) || Array.isArray(value))) return undefined;
    value = (value as Record<PathSegment, unknown>)[segment];
  }
  return value;
}

// ---------------------------------------------------------------- Ajv errors → issues

function toIssues(
  check: ValidateFunction,
  source: YamlSource,
  data: unknown,
  root: JsonSchema,
): ConfigIssue[] {
  const errors = check.errors ?? [];
  // A union reports the errors of each of its branches, then its own; only its own is told.
  const unions = errors.filter((e) => e.keyword === "anyOf").map((e) => `${e.schemaPath}/`);
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  for (const error of errors) {
    if (unions.some((prefix) => error.schemaPath.startsWith(prefix))) continue;
    const spec = describe(error, data, root);
    const issue = source.issue(spec);
    const key = `${issue.line}:${issue.column}:${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(issue);
    }
  }
  return issues;
}

function describe(error: ErrorObject, root: unknown, rootSchema: JsonSchema): IssueSpec {
  const path = pointerPath(error.instancePath, root);
  const parent = (error.parentSchema ?? {}) as JsonSchema;
  const params = error.params as Record<string, unknown>;
  const invalid = (message: string, hint = hintFor(parent)): IssueSpec => ({
    kind: "invalid_value",
    path,
    at: "value",
    message,
    hint,
  });

  switch (error.keyword) {
    case "additionalProperties": {
      const key = String(params.additionalProperty);
      const at = { path: [...path, key], at: "key" as const };
      if (isSchema(parent.patternProperties)) {
        // The key's own schema is not in the JSON Schema, only its pattern.
        const patterns = Object.keys(parent.patternProperties);
        return {
          kind: "invalid_value",
          ...at,
          message: `invalid name ${JSON.stringify(key)}`,
          hint: patterns.includes(COMPONENT_NAME_PATTERN)
            ? String(ComponentName.description)
            : `names must match ${patterns.join(" or ")}`,
        };
      }
      const keys = Object.keys(isSchema(parent.properties) ? parent.properties : {});
      return {
        kind: "unknown_key",
        ...at,
        message: `unknown key ${JSON.stringify(key)}`,
        hint: suggestion(key, keys, "valid keys"),
      };
    }
    case "required": {
      const key = String(params.missingProperty);
      const property = isSchema(parent.properties) ? parent.properties[key] : undefined;
      return {
        kind: "missing_key",
        path: [...path, key],
        at: "key",
        message: `missing key ${JSON.stringify(key)}`,
        hint: hintFor(isSchema(property) ? property : {}),
      };
    }
    case "discriminator": {
      const tag = String(params.tag);
      const union = discriminatedUnion(parent);
      const names = [...(union?.branches.keys() ?? [])];
      const value = error.data as Record<string, unknown>;
      const given = value[tag];
      if (given === undefined) {
        return {
          kind: "missing_key",
          path: [...path, tag],
          at: "key",
          message: `missing key ${JSON.stringify(tag)}`,
          hint: `one of: ${names.join(", ")}`,
        };
      }
      if (given === null && names.includes("null")) {
        return {
          kind: "unknown_type",
          path: [...path, tag],
          at: "value",
          message: `${tag} is YAML's null, not the name "null"`,
          hint: `quote it: ${tag}: "null"`,
        };
      }
      const near = typeof given === "string" ? suggestion(given, names, "") : "";
      return {
        kind: "unknown_type",
        path: [...path, tag],
        at: "value",
        message: `unknown ${tag} ${show(given)}`,
        hint: near.startsWith("did you mean")
          ? `${near} valid: ${names.join(", ")}`
          : `valid: ${names.join(", ")}`,
      };
    }
    case "anyOf": {
      const unit = parent[UNIT_KEYWORD] as Unit | undefined;
      if (unit !== undefined) {
        return invalid(`invalid ${unit} ${show(error.data)}`, `write ${UNIT_FORMS[unit]}`);
      }
      const options = constants(parent);
      if (options !== undefined) return oneOf(path, error.data, options, parent);
      return invalid(`${show(error.data)} is none of the accepted forms`);
    }
    case "enum":
      return oneOf(path, error.data, (error.schema as unknown[]).map(String), parent);
    case "const":
      return oneOf(path, error.data, [String(error.schema)], parent);
    case "type": {
      if (path.length === 0 && (error.data === null || error.data === undefined)) {
        const properties = isSchema(rootSchema.properties) ? rootSchema.properties : {};
        const required = (Array.isArray(rootSchema.required) ? rootSchema.required : []).filter(
          (k) => isSchema(properties[k]) && properties[k].default === undefined,
        );
        return invalid("the file is empty", `a config is a mapping with: ${required.join(", ")}`);
      }
      return invalid(`must be ${typeName(String(error.schema))}, not ${show(error.data)}`);
    }
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return invalid(`must be ${params.comparison} ${params.limit}, not ${show(error.data)}`);
    case "minItems":
      return invalid(`must list at least ${plural(Number(params.limit), "item")}`);
    case "maxItems":
      return invalid(`must list at most ${plural(Number(params.limit), "item")}`);
    case "minProperties":
      return invalid(`must have at least ${plural(Number(params.limit), "entry", "entries")}`);
    case "minLength":
      return invalid(
        Number(params.limit) === 1
          ? "must not be empty"
          : `must be at least ${plural(Number(params.limit), "character")} long`,
      );
    case "pattern": {
      // A short description names the form ("host:port") better than the expression does.
      const form = typeof parent.description === "string" ? parent.description : "";
      if (form !== "" && form.length <= 30) {
        return {
          kind: "invalid_value",
          path,
          at: "value",
          message: `${show(error.data)} is not of the form ${form}`,
        };
      }
      return invalid(`${show(error.data)} does not match ${String(params.pattern)}`);
    }
    case "uniqueItems": {
      const [i, j] = [Number(params.i), Number(params.j)];
      const item = (error.data as unknown[])[i];
      return {
        kind: "invalid_value",
        path: [...path, i],
        at: "value",
        message: `${show(item)} is listed twice (items ${j} and ${i})`,
        hint: "list each once",
      };
    }
    default:
      return invalid(error.message ?? `fails ${error.keyword}`);
  }
}

function oneOf(
  path: ConfigPath,
  value: unknown,
  options: readonly string[],
  schema: JsonSchema,
): IssueSpec {
  const near = typeof value === "string" ? suggestion(value, options, "") : "";
  return {
    kind: "invalid_value",
    path,
    at: "value",
    message: `must be one of ${options.join(", ")}, not ${show(value)}`,
    hint: near.startsWith("did you mean") ? near : hintFor(schema),
  };
}

/** The values of a union of constants (`block | drop_oldest`), else undefined. */
function constants(schema: JsonSchema): string[] | undefined {
  const union = schema.anyOf;
  if (!Array.isArray(union)) return undefined;
  const values = union.map((b) => (isSchema(b) ? b.const : undefined));
  return values.every((v) => v !== undefined) ? values.map(String) : undefined;
}

/** The schema's description, and its first example: what to show beside a problem. */
export function hintFor(schema: JsonSchema): string | undefined {
  const description = typeof schema.description === "string" ? schema.description : undefined;
  const example = Array.isArray(schema.examples) ? schema.examples[0] : undefined;
  const shown = example === undefined ? undefined : `e.g. ${inlineYaml(example)}`;
  if (description === undefined) return shown;
  return shown === undefined ? description : `${description}; ${shown}`;
}

/** A value as it would be written in YAML's flow style: `[cpu, mem]`, `{dc: eu-1}`. */
export function inlineYaml(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inlineYaml).join(", ")}]`;
  if (isRecord(value)) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}: ${inlineYaml(v)}`)
      .join(", ")}}`;
  }
  if (typeof value === "string") {
    return /^[\w./*%{}-][\w ./*%{}:-]*$/.test(value) && !/: |\s$/.test(value)
      ? value
      : JSON.stringify(value);
  }
  return String(value);
}

function show(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return JSON.stringify(value);
}

function typeName(type: string): string {
  const names: Record<string, string> = {
    integer: "an integer",
    number: "a number",
    string: "a string",
    boolean: "true or false",
    object: "a mapping (key: value)",
    array: "a list",
  };
  return names[type] ?? type;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Ajv's instance path as segments; list indexes become numbers (the data tells which). */
function pointerPath(pointer: string, data: unknown): PathSegment[] {
  const out: PathSegment[] = [];
  let value = data;
  for (const raw of pointer === "" ? [] : pointer.slice(1).split("/")) {
    const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(value)) {
      out.push(Number(segment));
      value = value[Number(segment)];
    } else {
      out.push(segment);
      value = isRecord(value) ? value[segment] : undefined;
    }
  }
  return out;
}
