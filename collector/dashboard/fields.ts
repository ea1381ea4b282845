/**
 * The fields the dashboard draws, in one place: the Hive query of a host's charts selects them,
 * and the live tail keeps only them (a host sends ~150 fields every 10 s; the page shows ~15).
 */

export interface ChartField {
  measurement: "cpu" | "mem" | "disk" | "diskio" | "net";
  fields: readonly string[];
  /**
   * A counter is drawn as a rate between the last values of consecutive windows; a gauge as the
   * window's average.
   */
  counter: boolean;
}

export const CHART_FIELDS: readonly ChartField[] = [
  { measurement: "cpu", fields: ["usage_idle"], counter: false },
  { measurement: "mem", fields: ["used_percent"], counter: false },
  { measurement: "disk", fields: ["used_percent"], counter: false },
  { measurement: "diskio", fields: ["read_bytes", "write_bytes"], counter: true },
  { measurement: "net", fields: ["bytes_recv", "bytes_sent"], counter: true },
];

/** Only cpu-total's CPU is drawn (and judged); per-core samples are left out. */
export const CPU_TOTAL = "cpu-total";

const BY_MEASUREMENT = new Map(CHART_FIELDS.map((f) => [f.measurement as string, f]));

export function chartField(measurement: string): ChartField | undefined {
  return BY_MEASUREMENT.get(measurement);
}

/** The WHERE clause that selects the chart fields, e.g. `(measurement = 'cpu' AND field = 'usage_idle') OR …`. */
export function chartFieldsSql(): string {
  return CHART_FIELDS.map(({ measurement, fields }) => {
    const field =
      fields.length === 1
        ? `field = '${fields[0]}'`
        : `field IN (${fields.map((f) => `'${f}'`).join(", ")})`;
    return `(measurement = '${measurement}' AND ${field})`;
  }).join(" OR ");
}

/**
 * One window of one field, as the charts' Hive query returns it; the live tail makes the same
 * rows, so that both go through one chart builder.
 */
export interface WindowRow extends Record<string, unknown> {
  measurement: string;
  /** Canonical JSON of the tags without host (aggregate.ts canonicalTags). */
  tags: string;
  field: string;
  /** Epoch ms. */
  window_start: number;
  average: number;
  last_val: number;
  last_ts: number;
}
