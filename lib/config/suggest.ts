/** Edit distance (insert, delete, substitute, swap of neighbours) between two short strings. */
export function editDistance(a: string, b: string): number {
  // Optimal string alignment: a transposed pair ("capcaity") counts as one edit, as people see it.
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  const at = (i: number, j: number) => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return at(rows - 1, cols - 1);
}

/**
 * The candidate closest to `input`, if it is close enough to be a plausible typo: at most a
 * third of the longer word's letters differ (so "capcity" → "capacity", but "x" → nothing);
 * else one that starts the other ("memory" → "mem").
 */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  const needle = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(needle, candidate.toLowerCase());
    const limit = Math.max(1, Math.floor(Math.max(needle.length, candidate.length) / 3));
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined || needle.length < 3) return best;
  // A longer or shorter form of a name ("memory" for "mem") is no typo, but as plausible.
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    if (c.length >= 3 && (needle.startsWith(c) || c.startsWith(needle))) return candidate;
  }
  return undefined;
}

/** `did you mean "capacity"?`, or the list of what is valid when nothing is close. */
export function suggestion(input: string, candidates: readonly string[], what = "valid"): string {
  const near = closest(input, candidates);
  const list = candidates.map((c) => JSON.stringify(c)).join(", ");
  if (near !== undefined) return `did you mean ${JSON.stringify(near)}?`;
  return candidates.length === 0 ? `there are none yet` : `${what}: ${list}`;
}
