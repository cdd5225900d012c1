/** Comparing results of two backends. */

/** max |a − b| / max |b|: the error relative to the reference's scale (0 for two zero tensors). */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let scale = 0;
  let d = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    const diff = Math.abs(a[i]! - b[i]!);
    d = Number.isNaN(diff) ? Number.POSITIVE_INFINITY : Math.max(d, diff);
  }
  return scale === 0 ? d : d / scale;
}
