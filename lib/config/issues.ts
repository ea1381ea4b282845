import { HostflowError } from "../errors.js";

/** A key of a mapping or an index of a list: one step of a path into the config. */
export type PathSegment = string | number;
export type ConfigPath = readonly PathSegment[];

/**
 * What kind of problem an issue is, for programs (the CLI's `validate`, tests) that must not
 * tell issues apart by their message text.
 */
export type IssueKind =
  | "syntax" // not YAML
  | "env" // ${VAR} not set or malformed
  | "unknown_key"
  | "missing_key"
  | "unknown_type" // a component `type` not in the registry's list
  | "invalid_value"
  | "reference" // names a component that does not exist or does not fit
  | "conflict" // settings that exclude each other
  | "unused"; // a component nothing reads from or writes to

export interface ConfigIssue {
  severity: "error" | "warning";
  kind: IssueKind;
  file: string;
  /** 1-based; of the key for unknown and missing keys, of the value for bad values. */
  line: number;
  column: number;
  /** The key path as an operator reads it: `sinks.kafka.batch_size`, `sources.host.channels[0]`. */
  path: string;
  message: string;
  hint?: string;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `sinks.kafka.batch_size`, `sources.host.channels[1]`, `tags["app.tier"]`. */
export function formatPath(path: ConfigPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Errors first, then in file order, so the output reads top to bottom. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort(
    (a, b) =>
      (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1) ||
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      a.column - b.column,
  );
}

/** One line: `conf/agent.yaml:12:5: sinks.kafka.batch_size: must be >= 1 (hint: …)`. */
export function formatIssue(issue: ConfigIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}: `;
  const severity = issue.severity === "warning" ? "warning: " : "";
  const path = issue.path === "" ? "" : `${issue.path}: `;
  const hint = issue.hint === undefined ? "" : ` (hint: ${issue.hint})`;
  return `${where}${severity}${path}${issue.message}${hint}`;
}

/** One issue per line, in file order. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return sortIssues(issues).map(formatIssue).join("\n");
}

/**
 * A config file that does not parse (HF_CONFIG_PARSE) or does not validate (HF_CONFIG_INVALID),
 * with every problem found, not just the first. The message holds them all, one per line, so
 * the CLIs' one-line error report (`HF_CONFIG_INVALID: …`) shows them without knowing this class.
 */
export class ConfigError extends HostflowError {
  readonly file: string;
  /** The errors, in file order (warnings are not here: see the loader's result). */
  readonly issues: readonly ConfigIssue[];

  constructor(
    code: "HF_CONFIG_PARSE" | "HF_CONFIG_INVALID",
    file: string,
    issues: readonly ConfigIssue[],
  ) {
    const sorted = Object.freeze(sortIssues(issues));
    const count = sorted.length === 1 ? "1 error" : `${sorted.length} errors`;
    const what = code === "HF_CONFIG_PARSE" ? "is not valid YAML" : "is invalid";
    super(code, `${file} ${what} (${count}):\n${formatIssues(sorted)}`, {
      context: { file, issues: sorted.length },
    });
    this.file = file;
    this.issues = sorted;
  }

  formatIssues(): string {
    return formatIssues(this.issues);
  }
}

export function isConfigError(error: unknown): error is ConfigError {
  return error instanceof ConfigError;
}
