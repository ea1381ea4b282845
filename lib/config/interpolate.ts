import { isMap, isScalar, isSeq, type Node } from "yaml";
import type { ConfigIssue, ConfigPath, PathSegment } from "./issues.js";
import type { YamlSource } from "./yaml.js";

/** Where the variables come from: process.env, or a plain object in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

export type Interpolated =
  | { ok: true; value: string; substituted: boolean }
  | { ok: false; message: string; hint: string };

const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
const FORMS = "write ${NAME} or ${NAME:-default}, and $${ for a literal ${";

/**
 * Replaces `${NAME}` by the variable's value and `${NAME:-default}` by the value, or the default
 * when the variable is unset or empty (as the shell and docker compose do). `$${` is a literal
 * `${`. A default ends at the first `}` and is not itself interpolated.
 */
export function interpolateString(text: string, env: Env): Interpolated {
  let out = "";
  let substituted = false;
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("$${", i)) {
      out += "${";
      i += 3;
      continue;
    }
    if (!text.startsWith("${", i)) {
      out += text[i];
      i += 1;
      continue;
    }
    const end = text.indexOf("}", i + 2);
    if (end < 0) {
      return { ok: false, message: `unterminated "\${" in ${JSON.stringify(text)}`, hint: FORMS };
    }
    const expression = text.slice(i + 2, end);
    const match = NAME_AND_DEFAULT.exec(expression);
    if (match === null) {
      return { ok: false, message: `malformed "\${${expression}}"`, hint: FORMS };
    }
    const [, name = "", fallback] = match;
    const value = env[name];
    if (fallback !== undefined && (value === undefined || value === "")) out += fallback;
    else if (value !== undefined) out += value;
    else {
      return {
        ok: false,
        message: `environment variable ${name} is not set`,
        hint: `set ${name}, or give a default: \${${name}:-value}`,
      };
    }
    substituted = true;
    i = end + 1;
  }
  return { ok: true, value: out, substituted };
}

export interface DocumentInterpolation {
  /** One per string value that could not be interpolated, at that value. */
  issues: ConfigIssue[];
  /** The values into which a variable or default was substituted (candidates for coercion). */
  substituted: ConfigPath[];
}

/**
 * Interpolates every string value of the parsed document in place, before validation, so that
 * positions stay those of the file. Keys are left alone: names must be readable in the file.
 */
export function interpolateDocument(source: YamlSource, env: Env): DocumentInterpolation {
  const issues: ConfigIssue[] = [];
  const substituted: ConfigPath[] = [];
  const walk = (node: Node | null, path: PathSegment[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key)) walk(pair.value as Node | null, [...path, String(pair.key.value)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        walk(item as Node | null, [...path, index]);
      });
    } else if (isScalar(node) && typeof node.value === "string" && node.value.includes("${")) {
      const result = interpolateString(node.value, env);
      if (!result.ok) {
        issues.push(source.issue({ kind: "env", path, at: "value", ...result }));
        return;
      }
      node.value = result.value;
      if (result.substituted) substituted.push(path);
    }
  };
  walk(source.doc.contents, []);
  return { issues, substituted };
}
