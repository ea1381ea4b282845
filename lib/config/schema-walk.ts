import type { ConfigPath } from "./issues.js";

/**
 * Walking a JSON Schema (as TypeBox builds it) alongside the data it describes: to coerce
 * interpolated strings, to convert unit values, and to generate docs. Only the keywords the
 * config schemas use are followed: properties, patternProperties, additionalProperties, items,
 * and unions of objects told apart by a constant `type` (or other tag) property.
 */
export type JsonSchema = Readonly<Record<string, unknown>>;

export function isSchema(value: unknown): value is JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export interface Discriminated {
  /** The property that names the branch, usually `type`. */
  tag: string;
  /** tag value → the branch's schema, in the schema's order. */
  branches: ReadonlyMap<string, JsonSchema>;
}

/**
 * The tag and branches when `schema` is a union of objects each with a required constant
 * property (`type: sysinfo | synthetic | …`); undefined for other schemas.
 */
export function discriminatedUnion(schema: JsonSchema): Discriminated | undefined {
  const union = schema.anyOf ?? schema.oneOf;
  if (!Array.isArray(union) || union.length === 0) return undefined;
  const objects = union.filter(isSchema);
  if (objects.length !== union.length || objects.some((b) => b.type !== "object")) return undefined;
  const first = objects[0]?.properties;
  if (!isSchema(first)) return undefined;
  const candidates = Object.keys(first).sort((a, b) => (a === "type" ? -1 : b === "type" ? 1 : 0));
  for (const tag of candidates) {
    const branches = new Map<string, JsonSchema>();
    for (const branch of objects) {
      const property = (branch.properties as JsonSchema | undefined)?.[tag];
      const required = Array.isArray(branch.required) && branch.required.includes(tag);
      if (!isSchema(property) || typeof property.const !== "string" || !required) break;
      branches.set(property.const, branch);
    }
    if (branches.size === objects.length) return { tag, branches };
  }
  return undefined;
}

/** The branch of a discriminated union that `value` names; the schema itself otherwise. */
export function branchFor(schema: JsonSchema, value: unknown): JsonSchema | undefined {
  const union = discriminatedUnion(schema);
  if (union === undefined) return schema;
  if (!isRecord(value)) return undefined;
  const tagValue = value[union.tag];
  return typeof tagValue === "string" ? union.branches.get(tagValue) : undefined;
}

/** The schema of `container[segment]`, given the container's schema (a branch, not a union). */
export function childSchema(schema: JsonSchema, segment: string | number): JsonSchema | undefined {
  if (typeof segment === "number") return isSchema(schema.items) ? schema.items : undefined;
  const properties = schema.properties;
  if (isSchema(properties) && Object.hasOwn(properties, segment)) {
    const property = properties[segment];
    return isSchema(property) ? property : undefined;
  }
  if (isSchema(schema.patternProperties)) {
    for (const [pattern, property] of Object.entries(schema.patternProperties)) {
      if (new RegExp(pattern, "u").test(segment) && isSchema(property)) return property;
    }
  }
  return isSchema(schema.additionalProperties) ? schema.additionalProperties : undefined;
}

/** The schema that applies at `path` in `data`, following union branches by the data's tags. */
export function schemaAt(
  root: JsonSchema,
  data: unknown,
  path: ConfigPath,
): JsonSchema | undefined {
  let schema = branchFor(root, data);
  let value = data;
  for (const segment of path) {
    if (schema === undefined) return undefined;
    const child = childSchema(schema, segment);
    value = isRecord(value) || Array.isArray(value) ? (value as never)[segment] : undefined;
    schema = child === undefined ? undefined : branchFor(child, value);
  }
  return schema;
}

/**
 * Calls `visit` for every value present in `data` together with its schema, depth first; a
 * visitor that returns a replacement sets it in the parent.
 */
export function walkData(
  root: JsonSchema,
  data: unknown,
  visit: (schema: JsonSchema, value: unknown, path: ConfigPath) => unknown,
): unknown {
  const walk = (schema: JsonSchema | undefined, value: unknown, path: ConfigPath): unknown => {
    const branch = schema === undefined ? undefined : branchFor(schema, value);
    if (branch === undefined) return value;
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        value[index] = walk(childSchema(branch, index), item, [...path, index]);
      });
    } else if (isRecord(value)) {
      for (const [key, item] of Object.entries(value)) {
        value[key] = walk(childSchema(branch, key), item, [...path, key]);
      }
    }
    return visit(branch, value, path);
  };
  return walk(root, data, []);
}

/** The JSON types a schema accepts, looking into anyOf (so a Duration gives string and number). */
export function acceptedTypes(schema: JsonSchema): Set<string> {
  const types = new Set<string>();
  const add = (s: JsonSchema): void => {
    if (typeof s.type === "string") types.add(s.type);
    if (Array.isArray(s.type)) for (const t of s.type) types.add(String(t));
    if (s.const !== undefined) types.add(typeof s.const);
    for (const key of ["anyOf", "oneOf"]) {
      const union = s[key];
      if (Array.isArray(union)) for (const b of union) if (isSchema(b)) add(b);
    }
  };
  add(schema);
  return types;
}
