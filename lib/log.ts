import { createRequire } from "node:module";
import { pino } from "pino";

export type Logger = pino.Logger;
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** json: one JSON object a line, for files and log shippers; pretty: lines for people. */
export const LOG_FORMATS = ["auto", "json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

let processFormat: LogFormat | undefined;

/**
 * The format of this process's loggers, from the CLI's --log-format; before that (or without
 * it) HOSTFLOW_LOG_FORMAT, else auto: pretty when stderr is a terminal, JSON otherwise.
 */
export function setLogFormat(format: LogFormat): void {
  processFormat = format;
}

function resolvedFormat(): "json" | "pretty" {
  const format = processFormat ?? (process.env.HOSTFLOW_LOG_FORMAT as LogFormat | undefined);
  if (format === "json" || format === "pretty") return format;
  return process.stderr.isTTY ? "pretty" : "json";
}

/**
 * The structured logger every hostflow process uses, on stderr (stdout stays free for command
 * output); level from the caller or HOSTFLOW_LOG_LEVEL.
 */
export function createLogger(
  name: string,
  level: LogLevel = (process.env.HOSTFLOW_LOG_LEVEL as LogLevel | undefined) ?? "info",
): Logger {
  const options = { name, level, base: { pid: process.pid } };
  if (resolvedFormat() === "json") return pino(options, pino.destination(2));
  // Loaded only for people: a service's logs stay JSON and its process stays small.
  const pretty = createRequire(import.meta.url)("pino-pretty") as typeof import("pino-pretty");
  const format = pretty.prettyFactory({
    singleLine: true,
    ignore: "pid,hostname",
    translateTime: "HH:MM:ss",
  });
  // On a terminal a line starts by clearing what a progress bar left on the current line.
  const clear = process.stderr.isTTY ? "\r\x1b[K" : "";
  return pino(options, { write: (line: string) => process.stderr.write(clear + format(line)) });
}
