import { type ObjectOptions, type TSchema, type TUnsafe, Type } from "@sinclair/typebox";

/**
 * Schema builders for values written with units in YAML. In the JSON Schema they are strings
 * (or plain numbers) with a pattern and an `x-hostflow-unit` keyword; the loader turns them
 * into numbers after validation, so the static types below are what components receive.
 */

export const DURATION_PATTERN = "^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)\\s*$";
export const SIZE_PATTERN = "^\\s*\\d+(\\.\\d+)?\\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\\s*$";

interface UnitOptions {
  description: string;
  default?: string;
  examples?: string[];
}

/** A string with a unit, or a bare number in the base unit, marked for the loader to convert. */
function withUnit(
  unit: "duration" | "size",
  pattern: string,
  bare: "number" | "integer",
  options: UnitOptions,
) {
  return Type.Unsafe<number>({
    anyOf: [
      { type: "string", pattern },
      { type: bare, minimum: 0 },
    ],
    "x-hostflow-unit": unit,
    ...options,
  });
}

/** A duration such as `500ms`, `10s`, `5m`, `1h`, `7d`; a bare number means milliseconds. Becomes ms. */
export function Duration(options: UnitOptions): TUnsafe<number> {
  return withUnit("duration", DURATION_PATTERN, "number", options);
}

/** A size such as `512MiB`, `64KB`, `1GiB`; a bare number means bytes. Becomes bytes. */
export function Size(options: UnitOptions): TUnsafe<number> {
  return withUnit("size", SIZE_PATTERN, "integer", options);
}

/** A closed object: unknown keys are errors ("did you mean …"). */
export function Strict<T extends Parameters<typeof Type.Object>[0]>(
  properties: T,
  options: ObjectOptions = {},
) {
  return Type.Object(properties, { additionalProperties: false, ...options });
}

/** Names of components, as the keys of `sources`, `channels`, `sinks`. */
export const COMPONENT_NAME_PATTERN = "^[A-Za-z][A-Za-z0-9_-]*$";

export const ComponentName = Type.String({
  pattern: COMPONENT_NAME_PATTERN,
  description: "a name of letters, digits, _ and -, starting with a letter",
});

/** A value that names a component (`channel: events`): a ComponentName, with its own description. */
export function ComponentRef(description: string) {
  return Type.String({ pattern: COMPONENT_NAME_PATTERN, description });
}

export type { TSchema };
