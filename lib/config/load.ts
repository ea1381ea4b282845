import { type Env, interpolateDocument } from "./interpolate.js";
import { ConfigError, type ConfigIssue, sortIssues } from "./issues.js";
import { type ConfigValidator, coerceSubstituted, convertUnits, deepFreeze } from "./validator.js";
import { parseYaml, readYamlFile, type YamlSource } from "./yaml.js";

/** What a program adds to the generic load: its schema, its own checks, its dynamic defaults. */
/** T: the schema's type; R: what `complete` makes of it (T when there is nothing to add). */
export interface ConfigSpec<T, R = T> {
  validator: ConfigValidator;
  /**
   * Checks the schema cannot express (names that refer to other components …). Runs even when
   * the schema found errors, so that all problems are reported at once: it gets the data as far
   * as it goes (defaults applied, units converted where valid) and must not trust its shape.
   */
  check?: (data: unknown, source: YamlSource) => ConfigIssue[];
  /** Defaults that depend on other values or on the machine; the data is valid here. */
  complete?: (config: T) => R;
}

export interface LoadedConfig<T> {
  file: string;
  /** Valid, with every default applied and units as numbers; deep-frozen. */
  config: T;
  /** Problems that do not stop the program (a channel nothing feeds …), in file order. */
  warnings: readonly ConfigIssue[];
}

/**
 * Reads, interpolates, validates and completes a config file. Synchronous: it runs once at
 * start-up, before anything else could use the event loop. Throws HF_CONFIG_READ (a
 * HostflowError), HF_CONFIG_PARSE or HF_CONFIG_INVALID (ConfigError, with every issue).
 */
export function loadConfigFile<T, R = T>(
  file: string,
  spec: ConfigSpec<T, R>,
  env: Env,
): LoadedConfig<R> {
  return loadConfigSource(readYamlFile(file), spec, env);
}

/** As loadConfigFile, for text that did not come from a file (stdin, tests). */
export function loadConfigText<T, R = T>(
  text: string,
  file: string,
  spec: ConfigSpec<T, R>,
  env: Env,
): LoadedConfig<R> {
  return loadConfigSource(parseYaml(text, file), spec, env);
}

function loadConfigSource<T, R>(
  source: YamlSource,
  spec: ConfigSpec<T, R>,
  env: Env,
): LoadedConfig<R> {
  const { schema } = spec.validator;
  const interpolation = interpolateDocument(source, env);
  const data = source.toJS();
  coerceSubstituted(schema, data, interpolation.substituted);
  // A value whose variable is not set fails the schema too; one issue per cause is enough.
  const unset = new Set(interpolation.issues.map((i) => i.path));
  const schemaIssues = spec.validator
    .validate(source, data)
    .filter((i) => ![...unset].some((p) => i.path === p || i.path.startsWith(`${p}.`)));
  const converted = convertUnits(schema, data);
  const checkIssues = spec.check?.(converted, source) ?? [];
  const issues = [...interpolation.issues, ...schemaIssues, ...checkIssues];
  const errors = issues.filter((i) => i.severity === "error");
  if (errors.length > 0) throw new ConfigError("HF_CONFIG_INVALID", source.file, errors);
  const config = spec.complete ? spec.complete(converted as T) : (converted as R);
  return {
    file: source.file,
    config: deepFreeze(config),
    warnings: Object.freeze(sortIssues(issues.filter((i) => i.severity === "warning"))),
  };
}
