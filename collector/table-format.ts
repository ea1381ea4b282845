/**
 * Plain-text tables and durations for the collector's terminal output (status, report). Small on
 * purpose: fixed-width columns are all a cron mail or a terminal needs.
 */

export interface TableColumn {
  header: string;
  /** Numbers read best right-aligned, so that their digits line up. */
  align?: "left" | "right";
}

/** A row of cells, one per column; `"rule"` draws a dashed line (e.g. above a total line). */
export type TableRow = readonly string[] | "rule";

/**
 * Columns padded to their widest cell and separated by two spaces, header underlined.
 * Trailing spaces are trimmed, so that a last column of free text does not pad every line.
 */
export function formatTable(columns: readonly TableColumn[], rows: readonly TableRow[]): string {
  const widths = columns.map((col, index) =>
    Math.max(
      col.header.length,
      ...rows.map((row) => (row === "rule" ? 0 : (row[index]?.length ?? 0))),
    ),
  );
  const line = (cells: readonly string[]) =>
    columns
      .map((col, index) => {
        const cell = cells[index] ?? "";
        const width = widths[index] ?? 0;
        return col.align === "right" ? cell.padStart(width) : cell.padEnd(width);
      })
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const header = line(columns.map((col) => col.header));
  return [header, rule, ...rows.map((row) => (row === "rule" ? rule : line(row)))].join("\n");
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A length of time as people say it: "45 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function formatDuration(ms: number): string {
  if (ms < MINUTE) return `${Math.floor(ms / 1000)} s`;
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min`;
  if (ms < DAY) {
    const minutes = Math.floor((ms % HOUR) / MINUTE);
    return `${Math.floor(ms / HOUR)} h${minutes > 0 ? ` ${minutes} min` : ""}`;
  }
  const hours = Math.floor((ms % DAY) / HOUR);
  return `${Math.floor(ms / DAY)} d${hours > 0 ? ` ${hours} h` : ""}`;
}

/** "3 min ago", "never" for no time; a time after `now` (a skewed clock) says so. */
export function formatAgo(at: number | undefined, now: number): string {
  if (at === undefined) return "never";
  const ms = now - at;
  if (ms < 0) return `${formatDuration(-ms)} in the future`;
  if (ms < 1000) return "just now";
  return `${formatDuration(ms)} ago`;
}
