import type { TSchema } from "@sinclair/typebox";
import { discriminatedUnion, isRecord, isSchema, type JsonSchema } from "./schema-walk.js";
import { COMPONENT_NAME_PATTERN } from "./types.js";
import { UNIT_KEYWORD } from "./units.js";
import { inlineYaml } from "./validator.js";

// ---------------------------------------------------------------- JSON Schema for editors

/**
 * The schema as a JSON Schema draft-07 document for editors (yaml-language-server): TypeBox's
 * internal symbols dropped, and options that have a default no longer `required` (the loader
 * fills them in; an editor must not ask for them). Units keep their string | number forms.
 */
export function toEditorSchema(schema: TSchema, meta: { title?: string; id?: string } = {}) {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip);
    if (!isRecord(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = strip(value);
    if (Array.isArray(out.required) && isRecord(out.properties)) {
      const properties = out.properties;
      const required = out.required.filter(
        (k) => !(isRecord(properties[k]) && properties[k].default !== undefined),
      );
      if (required.length > 0) out.required = required;
      else delete out.required;
    }
    return out;
  };
  const body = strip(schema) as Record<string, unknown>;
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    ...(meta.id === undefined ? {} : { $id: meta.id }),
    ...(meta.title === undefined ? {} : { title: meta.title }),
    ...body,
  };
}

/**
 * JSON as the repository's formatter (biome) writes it, so the generated file passes lint as is:
 * objects one member per line, arrays on one line when they fit in `width`.
 */
export function formatJson(value: unknown, width = 100): string {
  const render = (node: unknown, indent: string, prefix: number): string => {
    if (Array.isArray(node)) {
      if (node.length === 0) return "[]";
      const flat = `[${node.map((n) => render(n, "", 0)).join(", ")}]`;
      if (!flat.includes("\n") && prefix + flat.length <= width) return flat;
      const inner = `${indent}  `;
      return `[\n${node.map((n) => inner + render(n, inner, inner.length)).join(",\n")}\n${indent}]`;
    }
    if (isRecord(node)) {
      const entries = Object.entries(node);
      if (entries.length === 0) return "{}";
      const inner = `${indent}  `;
      const lines = entries.map(([k, v]) => {
        const head = `${inner}${JSON.stringify(k)}: `;
        return head + render(v, inner, head.length);
      });
      return `{\n${lines.join(",\n")}\n${indent}}`;
    }
    return JSON.stringify(node);
  };
  return `${render(value, "", 0)}\n`;
}

// ---------------------------------------------------------------- reference docs

export interface OptionRow {
  /** `sinks.<name>.retry.initial` */
  path: string;
  type: string;
  /** As written in YAML, or undefined when there is none. */
  default: string | undefined;
  required: boolean;
  description: string;
  examples: string[];
}

export interface OptionVariant {
  /** The tag value (`kafka`), or undefined for a plain object. */
  name: string | undefined;
  description: string;
  rows: OptionRow[];
}

export interface OptionSection {
  /** Where these options live: `sinks.<name>`, `sources.<name>.interceptors[]`. */
  path: string;
  description: string;
  /** The tag that chooses the variant (`type`), when there are several. */
  tag: string | undefined;
  variants: OptionVariant[];
}

/**
 * Every option of a schema, grouped for a reference page: one section per top-level key, and
 * one per place that holds a union of components (sources, interceptors, selectors …) with a
 * variant per `type`. Nested plain objects (retry, tls) stay in their parent's table.
 */
export function optionSections(schema: TSchema): OptionSection[] {
  const sections: OptionSection[] = [];
  const seen = new Set<string>();

  // Depth first, so that a component's interceptors or processor come right after it.
  const emit = (path: string, target: JsonSchema): void => {
    if (seen.has(path)) return;
    seen.add(path);
    const nested: [string, JsonSchema][] = [];
    const enqueue = (p: string, t: JsonSchema) => void nested.push([p, t]);
    const description = text(target.description);
    const element = elementOf(target);
    const inner = element === undefined ? undefined : element.schema;
    if (element !== undefined && inner !== undefined && isComposite(inner)) {
      // A map or list of components: documented where the component is.
      emit(`${path}${element.path}`, { ...inner, description });
      return;
    }
    const union = discriminatedUnion(target);
    sections.push({
      path,
      description,
      tag: union?.tag,
      variants:
        union === undefined
          ? [{ name: undefined, description: "", rows: rowsOf(target, path, enqueue) }]
          : [...union.branches].map(([name, branch]) => ({
              name,
              description: text(branch.description),
              rows: rowsOf(branch, path, enqueue),
            })),
    });
    for (const [p, t] of nested) emit(p, t);
  };

  const root = schema as unknown as JsonSchema;
  for (const [key, value] of Object.entries(isSchema(root.properties) ? root.properties : {})) {
    if (isSchema(value)) emit(key, value);
  }
  return sections;
}

type Enqueue = (path: string, target: JsonSchema) => void;

function rowsOf(object: JsonSchema, prefix: string, enqueue: Enqueue): OptionRow[] {
  const rows: OptionRow[] = [];
  const properties = isSchema(object.properties) ? object.properties : {};
  const required = Array.isArray(object.required) ? object.required : [];
  for (const [key, value] of Object.entries(properties)) {
    if (!isSchema(value)) continue;
    const path = `${prefix}.${key}`;
    rows.push(row(path, value, required.includes(key) && value.default === undefined, enqueue));
    if (isSchema(value.properties) && discriminatedUnion(value) === undefined) {
      rows.push(...rowsOf(value, path, enqueue));
    }
  }
  return rows;
}

/** A union of components or an object with options: gets a section (or rows) of its own. */
function isComposite(schema: JsonSchema): boolean {
  return discriminatedUnion(schema) !== undefined || isSchema(schema.properties);
}

function row(path: string, schema: JsonSchema, required: boolean, enqueue: Enqueue): OptionRow {
  return {
    path,
    type: typeOf(schema, path, enqueue),
    default: schema.default === undefined ? undefined : inlineYaml(schema.default),
    required,
    description: text(schema.description),
    examples: Array.isArray(schema.examples) ? schema.examples.map(inlineYaml) : [],
  };
}

/** A map keyed by names (`<name>`) or a list (`[]`): the schema of one element. */
function elementOf(schema: JsonSchema): { path: string; schema: JsonSchema } | undefined {
  if (isSchema(schema.items)) return { path: "[]", schema: schema.items };
  if (isSchema(schema.patternProperties)) {
    const value = Object.values(schema.patternProperties).find(isSchema);
    if (value !== undefined) return { path: ".<name>", schema: value };
  }
  return undefined;
}

function typeOf(schema: JsonSchema, path: string, enqueue: Enqueue): string {
  const unit = schema[UNIT_KEYWORD];
  if (typeof unit === "string") return unit;
  if (schema.const !== undefined) return `\`${inlineYaml(schema.const)}\``;
  const union = discriminatedUnion(schema);
  if (union !== undefined) {
    enqueue(path, schema);
    return `one of ${[...union.branches.keys()].map((k) => `\`${k}\``).join(", ")}, see \`${path}\``;
  }
  if (Array.isArray(schema.anyOf)) {
    const values = schema.anyOf.map((b) => (isSchema(b) ? b.const : undefined));
    if (values.every((v) => v !== undefined)) {
      return `one of ${values.map((v) => `\`${inlineYaml(v)}\``).join(", ")}`;
    }
  }
  const element = elementOf(schema);
  if (element !== undefined) {
    const inner = element.schema;
    const nested = isComposite(inner);
    const at = `${path}${element.path}`;
    if (nested) enqueue(at, { ...inner, description: text(schema.description) });
    const what = nested ? `${singular(path)}, see \`${at}\`` : typeOf(inner, at, enqueue);
    const limits = [
      typeof schema.minItems === "number" ? `at least ${schema.minItems}` : "",
      typeof schema.minProperties === "number" ? `at least ${schema.minProperties}` : "",
      schema.uniqueItems === true ? "no duplicates" : "",
    ].filter((s) => s !== "");
    const kind = element.path === "[]" ? "list" : "map";
    const keys = element.path === "[]" ? "" : mapKeys(schema);
    return `${kind}${keys} of ${what}${limits.length > 0 ? ` (${limits.join(", ")})` : ""}`;
  }
  if (isSchema(schema.properties)) return "mapping";
  if (schema.pattern === COMPONENT_NAME_PATTERN) return "name";
  const type = typeof schema.type === "string" ? schema.type : "any";
  const bounds = [
    typeof schema.minimum === "number" ? `≥ ${schema.minimum}` : "",
    typeof schema.exclusiveMinimum === "number" ? `> ${schema.exclusiveMinimum}` : "",
    typeof schema.maximum === "number" ? `≤ ${schema.maximum}` : "",
    typeof schema.minLength === "number" && schema.minLength > 0 ? "not empty" : "",
    typeof schema.pattern === "string" ? `matching \`${schema.pattern}\`` : "",
  ].filter((s) => s !== "");
  return bounds.length > 0 ? `${type}, ${bounds.join(", ")}` : type;
}

function mapKeys(schema: JsonSchema): string {
  const patterns = Object.keys(isSchema(schema.patternProperties) ? schema.patternProperties : {});
  return patterns.every((p) => p === "^(.*)$") ? "" : " by name";
}

/** `sources.<name>.interceptors` → `interceptor`: what one item of a list is called. */
function singular(path: string): string {
  const last = path.slice(path.lastIndexOf(".") + 1);
  return last.endsWith("s") ? last.slice(0, -1) : last;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** One Markdown table per variant; `|`, `<` and line breaks escaped for table cells. */
export function renderOptionTables(sections: readonly OptionSection[]): string {
  const out: string[] = [];
  for (const section of sections) {
    out.push(`## \`${section.path}\``, "");
    if (section.description !== "") out.push(cell(capitalize(section.description)), "");
    if (section.tag !== undefined) {
      const names = section.variants.map((v) => `\`${v.name}\``).join(", ");
      out.push(`Chosen by \`${section.tag}\`: ${names}.`, "");
    }
    for (const variant of section.variants) {
      if (variant.name !== undefined) {
        out.push(`### \`${section.path}\` of ${section.tag} \`${variant.name}\``, "");
        if (variant.description !== "") out.push(cell(capitalize(variant.description)), "");
      }
      out.push("| option | type | default | description |", "| --- | --- | --- | --- |");
      for (const r of variant.rows) {
        const fallback = r.required ? "required" : "";
        const def = r.default === undefined ? fallback : `\`${r.default}\``;
        const examples =
          r.examples.length === 0
            ? ""
            : ` Example${r.examples.length > 1 ? "s" : ""}: ${r.examples.map((e) => `\`${e}\``).join(", ")}.`;
        out.push(
          `| \`${r.path}\` | ${cell(r.type)} | ${cell(def)} | ${cell(sentence(r.description))}${cell(examples)} |`,
        );
      }
      out.push("");
    }
  }
  return out.join("\n");
}

function cell(value: string): string {
  // Inside backticks `<` is shown as is; elsewhere it would start an HTML tag.
  return value
    .split(/(`[^`]*`)/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/</g, "&lt;").replace(/>/g, "&gt;")))
    .join("")
    .replace(/\|/g, "\\|")
    .replace(/\n/g, " ");
}

function sentence(value: string): string {
  return value === "" || /[.!?]$/.test(value) ? value : `${value}.`;
}

function capitalize(value: string): string {
  const done = value.charAt(0).toUpperCase() + value.slice(1);
  return /[.!?]$/.test(done) ? done : `${done}.`;
}
