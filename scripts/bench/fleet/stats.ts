/** Latencies in seconds, kept in 0.1 s bins up to an hour (the polls' resolution is coarser). */
export class Histogram {
  private readonly bins = new Uint32Array(36_001);
  count = 0;
  max = Number.NEGATIVE_INFINITY;
  min = Number.POSITIVE_INFINITY;
  private sum = 0;

  add(seconds: number): void {
    const bin = Math.min(this.bins.length - 1, Math.max(0, Math.round(seconds * 10)));
    this.bins[bin] = (this.bins[bin] ?? 0) + 1;
    this.count += 1;
    this.sum += seconds;
    if (seconds > this.max) this.max = seconds;
    if (seconds < this.min) this.min = seconds;
  }

  /** The q-quantile (0–1), to the bin. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.bins.length; i++) {
      seen += this.bins[i] ?? 0;
      if (seen >= rank) return i / 10;
    }
    return this.max;
  }

  mean(): number {
    return this.count === 0 ? Number.NaN : this.sum / this.count;
  }
}

export interface Summary {
  count: number;
  p50: number;
  p95: number;
  max: number;
}

export const summarize = (h: Histogram): Summary => ({
  count: h.count,
  p50: h.quantile(0.5),
  p95: h.quantile(0.95),
  max: h.count === 0 ? Number.NaN : h.max,
});

export const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en") : "n/a");
export const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
export const seconds = (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)} s` : "n/a");
export const plural = (n: number, what: string) => `${int(n)} ${what}${n === 1 ? "" : "s"}`;

/** Left-aligned first column, right-aligned others: the printed tables. */
export function textTable(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map(
      (r) =>
        `  ${r
          .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
          .join("   ")
          .trimEnd()}`,
    )
    .join("\n");
}

export function markdownTable(rows: string[][]): string {
  const [head, ...body] = rows;
  if (head === undefined) return "";
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...body.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}
