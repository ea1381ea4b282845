/**
 * Glob patterns for config filters (measurement names, mount points, devices, interfaces):
 * `*` any run of characters, `?` one character, everything else literal. As in Telegraf's
 * filters, `*` also matches `/`, so `/var*` keeps `/var/lib/docker` too.
 */

export type Matcher = (value: string) => boolean;

const SPECIAL = /[\\^$.|+()[\]{}]/g;

/** One anchored RegExp for any of `patterns`. */
export function globToRegExp(patterns: readonly string[]): RegExp {
  const alternatives = patterns.map((p) =>
    p.replace(SPECIAL, "\\$&").replace(/\*/g, ".*").replace(/\?/g, "."),
  );
  return new RegExp(`^(?:${alternatives.join("|")})$`, "s");
}

/** Whether a value matches any of the patterns; an empty list matches nothing. */
export function compileGlobs(patterns: readonly string[]): Matcher {
  if (patterns.length === 0) return () => false;
  if (patterns.every((p) => !/[*?]/.test(p))) {
    const exact = new Set(patterns);
    return (value) => exact.has(value);
  }
  const re = globToRegExp(patterns);
  return (value) => re.test(value);
}

export interface IncludeExclude {
  include?: readonly string[] | undefined;
  exclude?: readonly string[] | undefined;
}

/**
 * The include/exclude rule of the flow config: empty or absent `include` keeps everything,
 * `exclude` is applied after it.
 */
export function compileIncludeExclude(filter: IncludeExclude | undefined): Matcher {
  const include =
    filter?.include !== undefined && filter.include.length > 0
      ? compileGlobs(filter.include)
      : undefined;
  const exclude =
    filter?.exclude !== undefined && filter.exclude.length > 0
      ? compileGlobs(filter.exclude)
      : undefined;
  if (include === undefined && exclude === undefined) return () => true;
  return (value) =>
    (include === undefined || include(value)) && (exclude === undefined || !exclude(value));
}
