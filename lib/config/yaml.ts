import { readFileSync } from "node:fs";
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  type YAMLError,
} from "yaml";
import { HostflowError } from "../errors.js";
import {
  ConfigError,
  type ConfigIssue,
  type ConfigPath,
  formatPath,
  type IssueKind,
} from "./issues.js";

export interface Position {
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
}

/** Where to point for a path: at the key (unknown, missing keys) or at the value (bad values). */
export type Anchor = "key" | "value";

export interface IssueSpec {
  kind: IssueKind;
  path: ConfigPath;
  at: Anchor;
  message: string;
  hint?: string | undefined;
  severity?: "error" | "warning";
}

/**
 * A parsed YAML file that still knows where every key and value came from, so that a problem
 * found in the plain data (by a path such as /sinks/kafka/batch_size) is reported at
 * file:line:column.
 */
export interface YamlSource {
  /** The file name as given: what issues show. */
  readonly file: string;
  /** The document, kept to look up positions; interpolation rewrites its scalars in place. */
  readonly doc: Document.Parsed;
  position(offset: number): Position;
  /**
   * The position of the node at `path`. When the path leads past what the file holds (a key
   * that is missing, or one added by a default), the deepest key that exists.
   */
  locate(path: ConfigPath, at: Anchor): Position;
  /** Whether the file itself writes this path (not a default). */
  has(path: ConfigPath): boolean;
  issue(spec: IssueSpec): ConfigIssue;
  /** The plain data: mappings, lists, strings, numbers, booleans, null. */
  toJS(): unknown;
}

/** Reads and parses a YAML config file; HF_CONFIG_READ or HF_CONFIG_PARSE (a ConfigError). */
export function readYamlFile(file: string): YamlSource {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "unreadable";
    throw new HostflowError(
      "HF_CONFIG_READ",
      `cannot read ${file}: ${reason} (${(error as Error).message})`,
      { cause: error, context: { file } },
    );
  }
  return parseYaml(text, file);
}

const SYNTAX_HINTS: Readonly<Record<string, string>> = {
  TAB_AS_INDENT: "indent with spaces; YAML does not allow tabs there",
  DUPLICATE_KEY: "each key may appear once in a mapping; remove or merge the other one",
  MULTIPLE_DOCS: "a config file holds one document; remove the `---` line",
};

/** Parses YAML text; duplicate keys and syntax errors throw a ConfigError (HF_CONFIG_PARSE). */
export function parseYaml(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    keepSourceTokens: false,
  });
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const syntaxIssue = (error: YAMLError): ConfigIssue => {
    const { line, column } = position(error.pos[0]);
    const hint = SYNTAX_HINTS[error.code];
    const message =
      error.code === "DUPLICATE_KEY" ? duplicateKeyMessage(text, error) : lowerFirst(error.message);
    return {
      severity: "error",
      kind: "syntax",
      file,
      line,
      column,
      path: "",
      message,
      ...(hint === undefined ? {} : { hint }),
    };
  };
  if (doc.errors.length > 0) {
    throw new ConfigError("HF_CONFIG_PARSE", file, doc.errors.map(syntaxIssue));
  }

  const find = (path: ConfigPath) => findNode(doc, path);
  const locate = (path: ConfigPath, at: Anchor): Position => {
    const found = find(path);
    const atValue = at === "value" && (found.complete || found.pastScalar === true);
    const node = atValue ? found.node : (found.key ?? found.node);
    const offset = node?.range?.[0];
    return offset === undefined ? { line: 1, column: 1 } : position(offset);
  };
  return {
    file,
    doc,
    position,
    locate,
    has: (path) => find(path).complete,
    issue: (spec) => {
      const { line, column } = locate(spec.path, spec.at);
      return {
        severity: spec.severity ?? "error",
        kind: spec.kind,
        file,
        line,
        column,
        path: formatPath(spec.path),
        message: spec.message,
        ...(spec.hint === undefined ? {} : { hint: spec.hint }),
      };
    },
    toJS: () => doc.toJS({ maxAliasCount: 1000 }) as unknown,
  };
}

interface Found {
  /** The value node reached: the one at the path when complete, else the deepest. */
  node: Node | null;
  /** The key node of the last mapping entry on the way (lists have none). */
  key: Node | null;
  complete: boolean;
  /** The path went on past a plain value (a list made from one variable's value). */
  pastScalar?: boolean;
}

function findNode(doc: Document.Parsed, path: ConfigPath): Found {
  let node = resolve(doc, doc.contents);
  let key: Node | null = null;
  for (const [index, segment] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isScalar(p.key) && String(p.key.value) === String(segment),
      );
      if (pair === undefined) return { node, key, complete: false };
      key = pair.key as Node;
      node = resolve(doc, pair.value as Node | null);
      // `key:` with nothing after it: point at the key, there is no value to point at.
      if (node === null || isEmpty(node)) {
        return { node: key, key, complete: index === path.length - 1 };
      }
    } else if (isSeq(node) && typeof segment === "number" && segment < node.items.length) {
      node = resolve(doc, node.items[segment] as Node | null);
      key = node;
    } else {
      return { node, key, complete: false, pastScalar: isScalar(node) };
    }
  }
  return { node, key: key ?? node, complete: true };
}

function isEmpty(node: Node): boolean {
  return isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1];
}

function resolve(doc: Document.Parsed, node: Node | null): Node | null {
  return isAlias(node) ? ((node.resolve(doc) as Node | undefined) ?? node) : node;
}

function duplicateKeyMessage(text: string, error: YAMLError): string {
  const key = /^\s*("[^"]*"|'[^']*'|[^:#\n]+?)\s*:/.exec(text.slice(error.pos[0]))?.[1];
  return key === undefined ? "duplicate key" : `duplicate key ${JSON.stringify(unquote(key))}`;
}

function unquote(key: string): string {
  return /^["'].*["']$/.test(key) ? key.slice(1, -1) : key;
}

function lowerFirst(message: string): string {
  return message.charAt(0).toLowerCase() + message.slice(1);
}
