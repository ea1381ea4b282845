import { DURATION_PATTERN, SIZE_PATTERN } from "./types.js";

export type Unit = "duration" | "size";

/** The keyword that marks a unit value in the schema (see Duration and Size in types.ts). */
export const UNIT_KEYWORD = "x-hostflow-unit";

export const UNIT_FORMS: Readonly<Record<Unit, string>> = {
  duration: "a number and a unit: 500ms, 10s, 5m, 1h, 7d; a bare number is milliseconds",
  size: "a number and a unit: 512MiB, 64KB, 1GiB; units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB; a bare number is bytes",
};

const MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const BYTES: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

const durationRe = new RegExp(DURATION_PATTERN);
const sizeRe = new RegExp(SIZE_PATTERN);

/**
 * A validated unit value as a number: milliseconds or bytes, rounded to a whole number (so
 * `1.5s` is 1500 and `0.5KiB` is 512). Returns undefined for what the schema would reject.
 */
export function unitValue(unit: Unit, value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  const match = (unit === "duration" ? durationRe : sizeRe).exec(value);
  if (match === null) return undefined;
  const amount = Number.parseFloat(value);
  const suffix = value.trim().replace(/^[\d.]+\s*/, "");
  const factor = unit === "duration" ? MS[suffix] : BYTES[suffix === "" ? "B" : suffix];
  return factor === undefined ? undefined : Math.round(amount * factor);
}

export function parseDuration(value: string | number): number | undefined {
  return unitValue("duration", value);
}

export function parseSize(value: string | number): number | undefined {
  return unitValue("size", value);
}
