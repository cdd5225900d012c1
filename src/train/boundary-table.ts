/**
 * A crop's boundary table: one byte for every label voxel its samples can cover, telling which of
 * the voxel's 6 neighbours carry another id and whether its own id is 0. A sample's boundary
 * target then comes from one byte per voxel, gathered from the table, instead of its ids (8 bytes
 * each for uint64 labels) compared with every neighbour: the labels are read and compared once per
 * crop, not once per sample. Exactly boundaryInto's result: a voxel is interior when its id is
 * non-zero and equal to each neighbour inside the sample (the neighbours outside the sample, which
 * boundaryInto ignores, are masked out per position).
 *
 * Tables belong to a training dataset's batch maker (one BoundaryTables per thread) and go with
 * it: `release()` (the dataset's `close()`) or its garbage collection gives their bytes back. A
 * table takes its bytes from its labels' memory budget (`Volume.reserveBytes`, the chunk cache's
 * cap): labels that offer none, or a table that does not fit, are done sample by sample. A crop's
 * table is built once its samples have covered as many voxels as the table has: until then each
 * sample is done from its ids, which costs about as much per voxel as building the table, so the
 * first batches over hundreds of crops are not held up building tables that few samples use, and
 * no more than twice the work of the cheaper choice is ever spent.
 */
import { roi, roiVoxelShape, type Roi } from '../roi.js';
import { cOrderStrides, copyBox } from '../zarr/gather.js';
import { newStoredArray } from '../zarr/volume.js';
import type { Crop, LabelArray, Volume } from '../types.js';
import type { Scatter } from './augment.js';
import { exactFloat64, idWords } from './targets.js';

/** Neighbour bits (set: that neighbour's id differs) and the zero-id bit. */
const X_LOW = 1,
  X_HIGH = 2,
  Y_LOW = 4,
  Y_HIGH = 8,
  Z_LOW = 16,
  Z_HIGH = 32,
  ZERO = 64;

/** Ids read at a time while building: planes of the table region, about this many bytes. */
const SLAB_BYTES = 16 * 2 ** 20;

/** Budgets of collected BoundaryTables given back. */
const returned = new FinalizationRegistry<Set<() => void>>((releases) => {
  for (const release of releases) release();
});

interface Entry {
  /** Output voxels sampled from the crop so far. */
  sampled: number;
  /** Voxels of the crop's table (0: none can be built). */
  voxels: number;
  table: Promise<BoundaryTable | null> | null;
}

/** The boundary tables of one batch maker: built lazily per crop, released together. */
export class BoundaryTables {
  private entries = new Map<Crop, Entry>();
  /** How to give back each table's budget. */
  private readonly releases = new Set<() => void>();
  private readonly outVoxels: number;

  /**
   * `buildAfter`: a crop's table is built once its samples have covered this many times its
   * voxels (0: at its first sample).
   */
  constructor(
    private readonly output: readonly number[],
    private readonly buildAfter = 1,
  ) {
    this.outVoxels = output.reduce((a, b) => a * b, 1);
    returned.register(this, this.releases, this);
  }

  /**
   * The crop's table for one more sample: null while building it does not pay yet (or it cannot
   * be built), else the table, built on the first call that needs it.
   */
  forSample(crop: Crop): Promise<BoundaryTable | null> | null {
    let entry = this.entries.get(crop);
    if (!entry) {
      entry = { sampled: 0, voxels: tableVoxels(crop, this.output), table: null };
      this.entries.set(crop, entry);
    }
    if (entry.table) return entry.table;
    if (entry.voxels === 0) return null;
    if (entry.sampled < this.buildAfter * entry.voxels) {
      entry.sampled += this.outVoxels;
      return null;
    }
    entry.table = this.build(crop, entry.voxels);
    return entry.table;
  }

  /** Tables held now (built or being built). */
  get size(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.table) n++;
    return n;
  }

  /** Drops every table and gives its bytes back; tables are built again as samples need them. */
  release(): void {
    for (const release of this.releases) release();
    this.releases.clear();
    this.entries = new Map();
  }

  private async build(crop: Crop, voxels: number): Promise<BoundaryTable | null> {
    const release = crop.labels.reserveBytes?.(voxels) ?? null;
    if (!release) return null;
    this.releases.add(release);
    try {
      return await BoundaryTable.build(crop, this.output);
    } catch (error) {
      release();
      this.releases.delete(release);
      throw error;
    }
  }
}

/** Voxels of the crop's table for `output` boxes, or 0 when its labels cannot have one. */
function tableVoxels(crop: Crop, output: readonly number[]): number {
  const labels = crop.labels;
  const vs = crop.voxelSize;
  if (labels.reserveBytes === undefined || labels.channels !== 1) return 0;
  if (vs.length !== 3 || labels.voxelSize.some((v, i) => v !== vs[i])) return 0;
  const voxels = roiVoxelShape(labels.roi, vs).map((n, i) => n + output[i]! - 1);
  if (!voxels.every(Number.isInteger)) return 0;
  return voxels.reduce((a, b) => a * b, 1);
}

export class BoundaryTable {
  private readonly strides: number[];

  private constructor(
    readonly bytes: Uint8Array,
    /** The region covered (world units, on the labels' grid). */
    readonly region: Roi,
    readonly shape: readonly number[],
    private readonly voxelSize: readonly number[],
  ) {
    this.strides = cOrderStrides(shape);
  }

  /**
   * The table of every output box of `output` label voxels centred in the crop's labels region
   * (as CropSampler draws them); its size is `tableVoxels` (BoundaryTables checks that it can
   * have one and reserves its bytes).
   */
  static async build(crop: Crop, output: readonly number[]): Promise<BoundaryTable> {
    const vs = crop.voxelSize;
    const { offset } = crop.labels.roi;
    // Centres c = 0 … n − 1 (label voxels, as CropSampler); box [c − ⌊out/2⌋, c − ⌊out/2⌋ + out).
    const voxels = roiVoxelShape(crop.labels.roi, vs).map((n, i) => n + output[i]! - 1);
    const begin = offset.map((o, i) => o - Math.floor(output[i]! / 2) * vs[i]!);
    const region = roi(
      begin,
      voxels.map((n, i) => n * vs[i]!),
    );
    return new BoundaryTable(await encode(crop.labels, region, voxels), region, voxels, vs);
  }

  /**
   * The table's bytes over `box` (world units) into `out`, or false when the box is not a box
   * of the table's voxels (then the sample is done from its ids).
   */
  gather(box: Roi, out: Uint8Array): boolean {
    const voxels = (v: number[]) => v.map((x) => Math.round(x));
    const exact = (v: number[]) => v.every((x) => Math.abs(x - Math.round(x)) < 1e-6);
    const from = box.offset.map((o, i) => (o - this.region.offset[i]!) / this.voxelSize[i]!);
    const size = box.shape.map((s, i) => s / this.voxelSize[i]!);
    if (!exact(from) || !exact(size)) return false;
    const at = voxels(from);
    const count = voxels(size);
    if (at.some((a, i) => a < 0 || a + count[i]! > this.shape[i]!) || out.length !== count[0]! * count[1]! * count[2]!)
      return false;
    copyBox(this.bytes, this.strides, at, out, cOrderStrides(count), [0, 0, 0], count);
    return true;
  }
}

/** Reads the labels over `region` slab by slab along z and encodes each voxel's byte. */
async function encode(labels: Volume, region: Roi, voxels: readonly number[]): Promise<Uint8Array> {
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
    const { words, per } = idWords(ids as LabelArray);
    // 64-bit ids as float64 where that is exact (as boundaryInto): one comparison per pair.
    const w = per === 2 ? exactFloat64(words as Uint32Array) : words;
    if (w) encodeSlab(w, hi - lo, Y, X, z0 - lo, z1 - lo, out, z0 * plane);
    else encodeSlabPairs(words as Uint32Array, hi - lo, Y, X, z0 - lo, z1 - lo, out, z0 * plane);
  }
  return out;
}

/** Planes [a, b) of a slab of P planes of ids (one element each) → their bytes at out[into…]. */
function encodeSlab(
  w: ArrayLike<number>,
  P: number,
  Y: number,
  X: number,
  a: number,
  b: number,
  out: Uint8Array,
  into: number,
): void {
  const plane = Y * X;
  for (let p = a, o = into; p < b; p++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0, i = p * plane + y * X; x < X; x++, i++, o++) {
        const v = w[i]!;
        let flags = v === 0 ? ZERO : 0;
        if (x > 0 && w[i - 1] !== v) flags |= X_LOW;
        if (x < X - 1 && w[i + 1] !== v) flags |= X_HIGH;
        if (y > 0 && w[i - X] !== v) flags |= Y_LOW;
        if (y < Y - 1 && w[i + X] !== v) flags |= Y_HIGH;
        if (p > 0 && w[i - plane] !== v) flags |= Z_LOW;
        if (p < P - 1 && w[i + plane] !== v) flags |= Z_HIGH;
        out[o] = flags;
      }
    }
  }
}

/** encodeSlab for 64-bit ids compared as pairs of 32-bit words. */
function encodeSlabPairs(
  w: Uint32Array,
  P: number,
  Y: number,
  X: number,
  a: number,
  b: number,
  out: Uint8Array,
  into: number,
): void {
  const plane = Y * X;
  const differs = (i: number, j: number) => w[2 * i] !== w[2 * j] || w[2 * i + 1] !== w[2 * j + 1];
  for (let p = a, o = into; p < b; p++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0, i = p * plane + y * X; x < X; x++, i++, o++) {
        let flags = (w[2 * i]! | w[2 * i + 1]!) === 0 ? ZERO : 0;
        if (x > 0 && differs(i, i - 1)) flags |= X_LOW;
        if (x < X - 1 && differs(i, i + 1)) flags |= X_HIGH;
        if (y > 0 && differs(i, i - X)) flags |= Y_LOW;
        if (y < Y - 1 && differs(i, i + X)) flags |= Y_HIGH;
        if (p > 0 && differs(i, i - plane)) flags |= Z_LOW;
        if (p < P - 1 && differs(i, i + plane)) flags |= Z_HIGH;
        out[o] = flags;
      }
    }
  }
}

/**
 * The boundary target and its mask into ys from a sample's table bytes (`flags`, [z, y, x] =
 * `shape`), as boundaryScatterInto from its ids: voxel q writes its interior flag to
 * ys[offset + scatter(q)] and its known flag (`known` null: all known) to the element after.
 */
export function boundaryFromTableInto(
  flags: Uint8Array,
  known: Uint8Array | null,
  shape: readonly number[],
  scatter: Scatter,
  ys: Float32Array,
  offset: number,
): void {
  const [Z, Y, X] = shape as [number, number, number];
  const [oz, oy, ox] = scatter.steps as [number, number, number];
  for (let z = 0, q = 0; z < Z; z++) {
    // The neighbours that lie inside the sample, and the zero-id bit.
    const zBits = ZERO | (z > 0 ? Z_LOW : 0) | (z < Z - 1 ? Z_HIGH : 0);
    for (let y = 0; y < Y; y++, q += X) {
      const bits = zBits | (y > 0 ? Y_LOW : 0) | (y < Y - 1 ? Y_HIGH : 0);
      const o = offset + scatter.base + z * oz + y * oy;
      // Two call sites: inlined, the one with a literal null drops the per-voxel mask test.
      if (known === null) tableRow(flags, q, X, bits, null, ys, o, ox);
      else tableRow(flags, q, X, bits, known, ys, o, ox);
    }
  }
}

function tableRow(
  flags: Uint8Array,
  q: number,
  X: number,
  bits: number,
  known: Uint8Array | null,
  ys: Float32Array,
  o: number,
  ox: number,
): void {
  const inner = bits | X_LOW | X_HIGH;
  for (let x = 0; x < X; x++, q++, o += ox) {
    const m = x === 0 ? (X > 1 ? bits | X_HIGH : bits) : x === X - 1 ? bits | X_LOW : inner;
    ys[o] = (flags[q]! & m) === 0 ? 1 : 0;
    ys[o + 1] = known === null || known[q] !== 0 ? 1 : 0;
  }
}
