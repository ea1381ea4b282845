import { pino } from "pino";

export type Logger = pino.Logger;
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The structured logger every hostflow process uses: JSON lines on stderr (stdout stays free
 * for command output), level from the caller or HOSTFLOW_LOG_LEVEL.
 */
export function createLogger(
  name: string,
  level: LogLevel = (process.env.HOSTFLOW_LOG_LEVEL as LogLevel | undefined) ?? "info",
): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination(2));
}
