/**
 * Offsets from coordinate transforms (OME-NGFF translations, COSEM's `translate`) onto the voxel
 * grid. Transforms place voxel centres; a level made by averaging 2×2×2 voxels has its centres
 * half a finer voxel off the coarser grid (s0 at 4 nm with translate 0 gives s1 at 8 nm with
 * translate 2, s2 at 16 nm with translate 6). Each such offset is read as the multiple of the voxel
 * size nearest to it, ties going down: the grid position whose voxels cover the same world region
 * as the finer level's, which is what the level was averaged from. The shift (under half a voxel)
 * is reported, never silently applied to data read at the stated offset.
 */
export interface GridOffset {
  offset: number[];
  /** Says how the offset was moved onto the grid; null when it already lay on it. */
  note: string | null;
}

export function gridOffset(translate: readonly number[], voxelSize: readonly number[], what: string): GridOffset {
  // `|| 0`: no negative zero.
  const offset = translate.map((t, i) => Math.ceil(t / voxelSize[i]! - 0.5) * voxelSize[i]! || 0);
  const moved = offset.some((o, i) => o !== translate[i]);
  return {
    offset,
    note: moved
      ? `${what} [${translate.join(', ')}] lies off the [${voxelSize.join(', ')}] voxel grid (a downsampled ` +
        `level's half-voxel shift): read as offset [${offset.join(', ')}], the nearest grid position`
      : null,
  };
}
