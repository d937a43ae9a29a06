/**
 * The known name closest to a misspelled one, for "did you mean ...?": the fewest single-letter
 * insertions, deletions, substitutions and swaps of two neighbours (optimal string alignment
 * distance, letter case ignored), when that is small for the name's length: at most one edit up
 * to five letters, two up to eight, three beyond. A name that only differs in case is always
 * suggested. Ties go to the name listed first; nothing close enough gives undefined.
 */
export function nearestName(misspelled: string, known: readonly string[]): string | undefined {
  const wanted = misspelled.toLowerCase();
  const allowed = misspelled.length <= 5 ? 1 : misspelled.length <= 8 ? 2 : 3;
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    if (name === misspelled) continue;
    const distance = editDistance(wanted, name.toLowerCase());
    if (distance <= allowed && (best === undefined || distance < best.distance)) {
      best = { name, distance };
    }
  }
  return best?.name;
}

/** Optimal string alignment distance between `a` and `b` (Damerau-Levenshtein without reuse). */
export function editDistance(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  // rows[i][j]: distance between the first i characters of `left` and the first j of `right`.
  const rows = Array.from({ length: left.length + 1 }, (_row, i) =>
    Array.from({ length: right.length + 1 }, (_cell, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= left.length; i++) {
    for (let j = 1; j <= right.length; j++) {
      const substitution = left[i - 1] === right[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(
        rows[i - 1][j] + 1,
        rows[i][j - 1] + 1,
        rows[i - 1][j - 1] + substitution,
      );
      if (i > 1 && j > 1 && left[i - 1] === right[j - 2] && left[i - 2] === right[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
      }
    }
  }
  return rows[left.length][right.length];
}
