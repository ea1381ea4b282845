import type { TSchema } from "@sinclair/typebox";
import { Ajv, type Options } from "ajv";
import standalone from "ajv/dist/standalone/index.js";
import { discriminatedUnion, isSchema, type JsonSchema } from "./schema-walk.js";
import { UNIT_KEYWORD } from "./units.js";
import { type ConfigValidator, validatorFrom } from "./validator.js";

// Ajv itself: compiles a config schema, at a program's start (compileConfigSchema) or at build
// time into a module of its own (standaloneValidatorCode). The run-time half is ./validator.ts.
export {
  type ConfigValidator,
  coerceSubstituted,
  convertUnits,
  deepFreeze,
  hintFor,
  inlineYaml,
} from "./validator.js";

function configAjv(options: Options = {}): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    // Ajv only applies defaults inside a union when it knows the branch: see forAjv.
    discriminator: true,
    // parentSchema on each error: descriptions, keys and unions for the messages.
    verbose: true,
    strict: true,
    // `anyOf: [string pattern, number]` beside `type` is how units are written; fine as is.
    strictTypes: false,
    ...options,
  });
  ajv.addKeyword({
    keyword: UNIT_KEYWORD,
    metaSchema: { enum: ["duration", "size"] },
  });
  return ajv;
}

/** Compiles `schema` now: ~0.2 s for the agent's, at every start of a program that does this. */
export function compileConfigSchema(schema: TSchema): ConfigValidator {
  return validatorFrom(schema, configAjv().compile(forAjv(schema as unknown as JsonSchema)));
}

/**
 * The validate function of `schema` as the source of an ES module (`export default`), which
 * `validatorFrom(schema, module.default)` turns into the same ConfigValidator as
 * compileConfigSchema(schema) without Ajv's compiler at run time. It imports Ajv's two small
 * run-time helpers (`ajv/dist/runtime/*`), which a bundle includes.
 */
export function standaloneValidatorCode(schema: TSchema): string {
  const ajv = configAjv({ code: { source: true, esm: true } });
  // A CommonJS module: its default import is module.exports, whose .default is the function.
  const code = standalone.default(ajv, ajv.compile(forAjv(schema as unknown as JsonSchema)));
  // Ajv's ESM output still loads its helpers with require(), which an ES module does not have.
  let n = 0;
  const imports: string[] = [];
  const body = code.replace(
    /require\("(ajv\/dist\/runtime\/[\w-]+)"\)/g,
    (_all: string, specifier: string) => {
      const name = `runtime${n++}`;
      imports.push(`import ${name} from "${specifier}.js";`);
      return name;
    },
  );
  if (/\brequire\(/.test(body)) throw new Error("standalone validator: an unexpected require()");
  return `${imports.join("\n")}\n${body}`;
}

/**
 * A copy of the schema for Ajv in which unions of objects with a `type` tag are `oneOf` with a
 * `discriminator`: equivalent for valid data (the tags differ), but Ajv then validates only the
 * branch the tag names, so its errors are those of that branch, and applies its defaults.
 */
function forAjv(schema: JsonSchema): JsonSchema {
  const copy = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(copy);
    if (!isSchema(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = copy(value);
    const union = discriminatedUnion(node);
    if (union !== undefined && Array.isArray(out.anyOf)) {
      out.oneOf = out.anyOf;
      delete out.anyOf;
      out.type = "object";
      out.discriminator = { propertyName: union.tag };
    }
    return out;
  };
  return copy(schema) as JsonSchema;
}
