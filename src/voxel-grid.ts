/**
 * Voxel grids of arrays that cover the same world region at different voxel sizes (raw at 4 nm,
 * labels at 2 nm, ...). Supported: per axis, one voxel size is an integer multiple of the other.
 * Pure functions over voxel sizes and world positions (integers, world units).
 */

/** Per axis: one of `a[i]`, `b[i]` is an integer multiple of the other. */
export function isIntegerRatio(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v % b[i]! === 0 || b[i]! % v === 0);
}

/** The coarser voxel size per axis (for integer ratios: the grid every one of them lies on). */
export function coarserGrid(...sizes: (readonly number[])[]): number[] {
  return sizes[0]!.map((_, i) => Math.max(...sizes.map((s) => s[i]!)));
}

/**
 * Begin (world) of an input box of `inExtent` around an output box that begins at `outBegin` and
 * spans `outExtent`, on the input's voxel grid `inVoxel`: the centred position, rounded to the
 * nearest grid position (ties upward). With equal voxel sizes and an odd number of context voxels
 * that puts the extra voxel after the output. As long as the output begins always at the same
 * phase of the input grid (samples centred on the coarser grid), the input lies at the same
 * place relative to the output in every sample.
 */
export function contextBegin(
  outBegin: readonly number[],
  outExtent: readonly number[],
  inExtent: readonly number[],
  inVoxel: readonly number[],
): number[] {
  return outBegin.map((b, i) => {
    const v = inVoxel[i]!;
    // floor((b - (inExtent - outExtent) / 2) / v + 1/2) · v, in integers.
    return Math.floor((2 * b - inExtent[i]! + outExtent[i]! + v) / (2 * v)) * v;
  });
}
