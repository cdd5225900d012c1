/**
 * A crop's boundary table: the boundary flags (targets/boundary.ts: which of a voxel's 6
 * neighbours carry another id, and whether its own id is 0) of every label voxel its samples can
 * cover, one byte each. A sample's boundary target then comes from its box's bytes (interiorInto
 * masks out the neighbours outside the sample) instead of its ids (8 bytes each for uint64 labels)
 * compared with every neighbour: the labels are read and compared once per crop, not per sample.
 */
import { roi, type Roi } from '../roi.js';
import { newStoredArray, type ZarrVolume } from '../zarr/volume.js';
import type { Crop, LabelArray } from '../types.js';
import { cropTable, gatherBox, type TableRegion } from './crop-table.js';
import { boundaryFlags, idWords } from './targets.js';

/** Ids read at a time while building: planes of the table region, about this many bytes. */
const SLAB_BYTES = 16 * 2 ** 20;

export class BoundaryTable {
  private constructor(
    readonly bytes: Uint8Array,
    private readonly where: TableRegion,
  ) {}

  /** The region covered (world units, on the labels' grid). */
  get region(): Roi {
    return this.where.region;
  }

  /**
   * The table of every output box of `output` label voxels centred in the crop's labels region
   * (as CropSampler draws them), or null when the crop is not read from zarr or the table does
   * not fit in its container's cache cap.
   */
  static forCrop(crop: Crop, output: readonly number[]): Promise<BoundaryTable | null> {
    return cropTable(crop, output, 'boundary', async (where) => {
      const bytes = where.voxels.reduce((a, b) => a * b, 1);
      if (!where.labels.reserveCache(bytes)) return null;
      return new BoundaryTable(await encode(where.labels, where.region, where.voxels), where);
    });
  }

  /** The table's bytes over `box` (world units) into `out`, or false when the box is not the table's. */
  gather(box: Roi, out: Uint8Array): boolean {
    return gatherBox(this.bytes, 1, this.where, box, out);
  }
}

/** Reads the labels over `region` slab by slab along z and encodes each voxel's byte. */
async function encode(labels: ZarrVolume, region: Roi, voxels: readonly number[]): Promise<Uint8Array> {
  const [Z, Y, X] = voxels as [number, number, number];
  const vz = labels.voxelSize[0]!;
  const plane = Y * X;
  const out = new Uint8Array(Z * plane);
  const slab = Math.max(1, Math.floor(SLAB_BYTES / (plane * newStoredArray(labels.dtype, 0).BYTES_PER_ELEMENT)) - 2);
  for (let z0 = 0; z0 < Z; z0 += slab) {
    const z1 = Math.min(Z, z0 + slab);
    // One plane more on each side (where the region has one): the z-neighbours.
    const lo = Math.max(0, z0 - 1),
      hi = Math.min(Z, z1 + 1);
    const ids = await labels.read(
      roi(
        [region.offset[0]! + lo * vz, region.offset[1]!, region.offset[2]!],
        [(hi - lo) * vz, ...region.shape.slice(1)],
      ),
    );
    boundaryFlags(idWords(ids as LabelArray), [hi - lo, Y, X], out, { from: z0 - lo, to: z1 - lo, into: z0 * plane });
  }
  return out;
}
