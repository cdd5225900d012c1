/**
 * A crop's distance table: the distance target (targets/distance.ts) of every label voxel its
 * samples can cover, per class channel (float32), and DaCapo's distance mask with
 * `maskDistances` (one byte per channel), computed once per crop. A sample's target is then a
 * copy of its box (the EDT over the sample and its context is the costly part); the values are
 * exactly those computed sample by sample (both come from `distanceValues`, exact integers).
 * Built slab by slab along z from windows that hold every boundary within reach.
 */
import { roi, type Roi } from '../roi.js';
import type { Crop, LabelArray } from '../types.js';
import { cropTable, gatherBox, type TableRegion } from './crop-table.js';
import {
  checkDistanceOptions,
  distanceContext,
  distanceValues,
  type DistanceOptions,
  type DistanceValues,
} from './targets/distance.js';
import { idWords } from './targets.js';

/** Voxels of labels read (and transformed) at a time while building. */
const WINDOW_VOXELS = 8 * 2 ** 20;

export class DistanceTable {
  private constructor(
    readonly values: Float32Array,
    readonly masked: Uint8Array | null,
    readonly channels: number,
    private readonly where: TableRegion,
  ) {}

  /** The region covered (world units, on the labels' grid). */
  get region(): Roi {
    return this.where.region;
  }

  /**
   * The table of every output box of `output` label voxels centred in the crop's labels region,
   * or null when the crop is not read from zarr or the table does not fit in its cache cap.
   */
  static forCrop(crop: Crop, output: readonly number[], options: DistanceOptions): Promise<DistanceTable | null> {
    const resolved = checkDistanceOptions(options);
    const key = `distance:${JSON.stringify(options, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`;
    return cropTable(crop, output, key, async (where) => {
      const n = where.voxels.reduce((a, b) => a * b, 1);
      const C = resolved.channels;
      if (!where.labels.reserveCache(n * C * (resolved.maskDistances ? 5 : 4))) return null;
      const values = new Float32Array(n * C);
      const masked = resolved.maskDistances ? new Uint8Array(n * C) : null;
      const context = distanceContext(where.voxelSize, options)[0]!;
      const [Z, Y, X] = where.voxels as [number, number, number];
      // Slabs of the region along z, each with `context` planes on either side (y and x whole,
      // grown by the voxel that holds the faces on the labels' edge).
      const slab = Math.max(1, Math.floor(WINDOW_VOXELS / ((Y + 2) * (X + 2))) - 2 * context);
      for (let z0 = 0; z0 < Z; z0 += slab) {
        const z1 = Math.min(Z, z0 + slab);
        const w0 = Math.max(-1, z0 - context),
          w1 = Math.min(Z + 1, z1 + context);
        const got = await slabValues(where, [w0, w1], [z0, z1], resolved);
        values.set(got.values, z0 * Y * X * C);
        masked?.set(got.masked!, z0 * Y * X * C);
      }
      return new DistanceTable(values, masked, C, where);
    });
  }

  /** The table's values (and distance mask) over `box` into `out`, or false when the box is not the table's. */
  gather(box: Roi, out: DistanceValues): boolean {
    if (!gatherBox(this.values, this.channels, this.where, box, out.values)) return false;
    return (
      this.masked === null ||
      (out.masked !== null && gatherBox(this.masked, this.channels, this.where, box, out.masked))
    );
  }
}

/** The values of planes [z0, z1) of the table region from the window of planes [w0, w1). */
async function slabValues(
  where: TableRegion,
  [w0, w1]: [number, number],
  [z0, z1]: [number, number],
  resolved: ReturnType<typeof checkDistanceOptions>,
): Promise<DistanceValues> {
  const vs = where.voxelSize;
  const [, Y, X] = where.voxels as [number, number, number];
  const { offset } = where.region;
  const window = roi(
    [offset[0]! + w0 * vs[0]!, offset[1]! - vs[1]!, offset[2]! - vs[2]!],
    [(w1 - w0) * vs[0]!, (Y + 2) * vs[1]!, (X + 2) * vs[2]!],
  );
  const [labels, known] = await Promise.all([where.crop.labels.read(window), where.crop.readMask(window)]);
  return distanceValues(
    idWords(labels as LabelArray),
    known,
    [w1 - w0, Y + 2, X + 2],
    { offset: [z0 - w0, 1, 1], shape: [z1 - z0, Y, X] },
    vs,
    resolved,
  );
}
