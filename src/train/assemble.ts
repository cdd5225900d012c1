/**
 * Fused sample assembly: one sample's stored arrays → its slot of the batch buffers, in one pass
 * per array. Raw: read → normalize → mirror/transpose → intensity/gamma → xs. Labels: the target
 * and its mask straight into ys (target ⊕ mask on the channel axis). 64-bit ids are handled as
 * pairs of 32-bit words; the boundary target is computed before the remap (it does not change
 * under mirroring or transposing); crops without a stored mask whose patch lies inside the labels
 * skip all mask work. Raw and labels have their own grids (input and output shapes, each with its
 * own remap), so different voxel sizes or a general coordinate map can replace `remapOf` per grid.
 *
 * The functions here are pure apart from the scratch buffers they reuse between samples; they
 * run the same in the main thread and in the workers (train/workers/), so both give the same bytes.
 */
import { OptionsError } from '../errors.js';
import { roiContains, type Roi } from '../roi.js';
import type { Crop, CropSample, DType, LabelArray, StoredArray, VolumePiece } from '../types.js';
import { knownMask } from '../zarr/crop.js';
import { normalizeRaw } from '../zarr/normalize.js';
import { newStoredArray } from '../zarr/volume.js';
import type { SamplePlan } from './sampler.js';
import { boundaryFromTableInto, type BoundaryTable } from './boundary-table.js';
import { remapInto, remapOf, scatterOf, type AugmentPlan, type Remap } from './augment.js';
import {
  affinitiesInto,
  boundaryScatterInto,
  concatTargetMaskInto,
  DEFAULT_AFFINITY_OFFSETS,
  idWords,
  makeTarget,
  semanticInto,
  type TargetFn,
  type TargetKind,
  type TargetOptions,
} from './targets.js';

/** What every sample of a batch shares. */
export interface BatchLayout {
  /** Raw patch shape [z, y, x] (raw voxels) and its channels. */
  input: readonly number[];
  channels: number;
  /** Labels/target patch shape [z, y, x] (label voxels). */
  output: readonly number[];
  target: TargetKind | TargetFn;
  targetOptions: TargetOptions;
  /** Target channels C and mask channels M: ys has C + M channels. */
  targetChannels: number;
  maskChannels: number;
}

/** One sample's arrays as read, before normalization and augmentation. */
export interface StoredSample {
  /**
   * [z, y, x, c] over the input shape; multiplied by `rawScale` to normalize. Or, for 8- and
   * 16-bit raw of one channel in patches that use the lookup table, the chunks it comes from,
   * read in place (no gathered copy).
   */
  raw: Exclude<StoredArray, BigInt64Array | BigUint64Array> | RawPieces;
  rawScale: number;
  /** [z, y, x] over the output shape; null when `boundary` holds the sample's boundary-table bytes instead. */
  labels: LabelArray | null;
  /** The sample's bytes of its crop's boundary table (boundary-table.ts), [z, y, x] over the output shape. */
  boundary?: Uint8Array;
  /** Non-zero known, 0 unknown; null when every voxel is known. */
  mask: Uint8Array | null;
  /** Buffers taken from a BufferPool, to give back once the sample is written. */
  pooled?: { dtype: DType; array: StoredArray }[];
}

/** Raw read in place: the chunks' boxes of a [z, y, x] patch (Volume.pieces). */
export interface RawPieces {
  dtype: 'uint8' | 'uint16';
  /** Voxels of the patch. */
  length: number;
  pieces: VolumePiece[];
  /** Whether the patch lies within the array (else the rest is zeros). */
  inside: boolean;
  fillValue: number;
}

/**
 * Typed arrays handed back after use and handed out again (the read buffers of one sample:
 * fewer fresh allocations, less garbage collection). Keeps a few arrays per dtype and length.
 */
export class BufferPool {
  private readonly free = new Map<string, StoredArray[]>();
  /** `keep`: at most this many idle arrays per dtype and length. */
  constructor(private readonly keep = 16) {}
  /** An idle array of this dtype and length, or a new one from `make` (default: a fresh typed array). */
  take(dtype: DType, length: number, make: () => StoredArray = () => newStoredArray(dtype, length)): StoredArray {
    return this.free.get(`${dtype}:${length}`)?.pop() ?? make();
  }
  give(dtype: DType, array: StoredArray): void {
    const key = `${dtype}:${array.length}`;
    const list = this.free.get(key) ?? [];
    if (list.length < this.keep) list.push(array);
    this.free.set(key, list);
  }
}

/** Returns a sample's read buffers to the pool once it has been written into the batch. */
export function releaseStored(sample: StoredSample, pool: BufferPool): void {
  for (const { dtype, array } of sample.pooled ?? []) pool.give(dtype, array);
}

/**
 * Reads a sample's raw and labels regions (world ROIs); a crop offering `storedRawScale` (one
 * from openDataSplit) skips the float copy. `rawInPlace` false: raw is always gathered into one
 * array (an elastic read interpolates it).
 */
export async function readStored(
  crop: Crop,
  rois: { raw: Roi; labels: Roi },
  pool: Pick<BufferPool, 'take'> = new BufferPool(),
  table: BoundaryTable | null = null,
  rawInPlace = true,
): Promise<StoredSample> {
  const scale = crop.storedRawScale;
  if (scale === undefined) {
    const s = await crop.read(rois.raw, rois.labels);
    return { raw: s.raw, rawScale: 1, labels: s.labels, mask: s.mask };
  }
  const size = (r: Roi, vs: readonly number[], c = 1) => r.shape.reduce((n, s, i) => (n * s) / vs[i]!, c);
  const pooled: { dtype: DType; array: StoredArray }[] = [];
  const take = (dtype: DType, n: number) => {
    const array = pool.take(dtype, n);
    pooled.push({ dtype, array });
    return array;
  };
  const labelsVoxelSize = crop.labels.voxelSize;
  const n = size(rois.labels, labelsVoxelSize);
  const rawVoxels = size(rois.raw, crop.raw.voxelSize, crop.raw.channels);
  // The boundary target from the crop's table when there is one: the ids are not read.
  const tableBytes = table ? (take('uint8', n) as Uint8Array) : null;
  const boundary = tableBytes && table!.gather(rois.labels, tableBytes) ? tableBytes : undefined;
  const [raw, labels, stored] = await Promise.all([
    rawInPlace && readsInPlace(crop.raw, rawVoxels)
      ? crop.raw.pieces!(rois.raw).then((p) => ({ dtype: crop.raw.dtype, length: rawVoxels, ...p }) as RawPieces)
      : crop.raw.read(rois.raw, take(crop.raw.dtype, rawVoxels)),
    boundary ? null : crop.labels.read(rois.labels, take(crop.labels.dtype, n)),
    crop.mask ? crop.mask.read(rois.labels, take(crop.mask.dtype, n)) : null,
  ]);
  const shape = rois.labels.shape.map((s, i) => s / labelsVoxelSize[i]!);
  // Inside the labels, no stored mask means all known. A uint8 mask is used as read (non-zero
  // known) inside the labels, or anywhere when the mask lies within the labels (zero outside it).
  const inside = roiContains(crop.labels.roi, rois.labels);
  const maskWithin = crop.mask !== null && roiContains(crop.labels.roi, crop.mask.roi);
  const mask =
    (inside && stored === null) || (stored instanceof Uint8Array && (inside || maskWithin))
      ? stored
      : knownMask(rois.labels, crop.labels.roi, labelsVoxelSize, shape, stored, take('uint8', n) as Uint8Array);
  const wide = raw instanceof BigInt64Array || raw instanceof BigUint64Array;
  return {
    raw: wide ? normalizeRaw(raw, { scale, description: '' }) : (raw as StoredSample['raw']),
    rawScale: wide ? 1 : scale,
    labels: labels as LabelArray | null,
    ...(boundary ? { boundary } : {}),
    mask,
    pooled,
  };
}

/** Lookup-table sizes of the raw dtypes read through one (8- and 16-bit). */
const TABLE_SIZES: Partial<Record<DType, number>> = { uint8: 256, uint16: 65536 };

/**
 * Whether raw of `voxels` values is read in place (RawPieces): a volume offering `pieces`, one
 * channel, 3 axes, 8 or 16 bits, and enough voxels for the lookup table (writeRaw then reads
 * each chunk once, through the table).
 */
function readsInPlace(volume: Crop['raw'], voxels: number): boolean {
  const table = TABLE_SIZES[volume.dtype];
  return (
    volume.pieces !== undefined &&
    table !== undefined &&
    volume.shape.length === 3 &&
    volume.voxelSize.length === 3 &&
    2 * table <= voxels
  );
}

/**
 * Whether the fused path reads this sample exactly as the sampler would: no raw noise or
 * scale/shift; with an elastic deformation, only a crop offering `storedRawScale` (its source
 * read into reused buffers, train/elastic-read.ts). Other samples take the sampler's
 * step-by-step read (`writeSampleSteps`).
 */
export function canFuse(crop: Crop, plan: SamplePlan): boolean {
  if (plan.rawAugment) return false;
  return crop.storedRawScale !== undefined || !plan.elastic;
}

/** Sample `b` of a batch from the sampler's finished sample (augmented, normalized): xs, and target ⊕ mask into ys. */
export function writeSampleSteps(
  sample: CropSample,
  layout: BatchLayout,
  xs: Float32Array,
  ys: Float32Array,
  b: number,
): void {
  const C = layout.targetChannels,
    M = layout.maskChannels;
  xs.set(sample.raw, b * sample.raw.length);
  const t = makeTarget(layout.target, sample.labels, sample.mask, sample.labelShape, layout.targetOptions);
  if (t.channels !== C || t.maskChannels !== M) {
    throw new OptionsError(`the target gave ${t.channels}+${t.maskChannels} channels, earlier samples ${C}+${M}`);
  }
  concatTargetMaskInto(t.target, C, t.mask, M, ys, (b * t.target.length * (C + M)) / C);
}

/** Scratch buffers reused from sample to sample (one set per thread: writeSample is synchronous). */
export class Scratch {
  private bytes2 = new Uint8Array(0);
  private words = new Uint32Array(0);
  private lut = new Float32Array(0);
  mask(n: number): Uint8Array {
    if (this.bytes2.length < n) this.bytes2 = new Uint8Array(n);
    return this.bytes2.subarray(0, n);
  }
  /** `value(v)` for v = 0 … n − 1. */
  table(n: number, value: (v: number) => number): Float32Array {
    if (this.lut.length !== n) this.lut = new Float32Array(n);
    for (let v = 0; v < n; v++) this.lut[v] = value(v);
    return this.lut;
  }
  ids(n: number): Uint32Array {
    if (this.words.length < n) this.words = new Uint32Array(n);
    return this.words.subarray(0, n);
  }
}

/** Writes sample `b` of a batch: xs[b] (raw) and ys[b] (target ⊕ mask). */
export function writeSample(
  sample: StoredSample,
  plan: AugmentPlan | null,
  layout: BatchLayout,
  xs: Float32Array,
  ys: Float32Array,
  b: number,
  scratch: Scratch,
): void {
  const { input, output, channels } = layout;
  const inVoxels = input[0]! * input[1]! * input[2]!;
  const outVoxels = output[0]! * output[1]! * output[2]!;
  const W = layout.targetChannels + layout.maskChannels;
  const labelValues = (sample.labels ?? sample.boundary)?.length;
  if (sample.raw.length !== inVoxels * channels || labelValues !== outVoxels) {
    throw new Error(
      `writeSample: got ${sample.raw.length} raw and ${labelValues} label values for ` +
        `[${input.join(', ')}] × ${channels} and [${output.join(', ')}]`,
    );
  }
  const labelMap = remapOf(output, 1, plan);
  const offset = b * outVoxels * W;
  const target = layout.target;
  if (target === 'boundary') {
    const scatter = scatterOf(output, 2, plan);
    if (sample.boundary) boundaryFromTableInto(sample.boundary, sample.mask, output, scatter, ys, offset);
    else boundaryScatterInto(idWords(sample.labels!), sample.mask, output, scatter, ys, offset);
  }
  const rawMap = remapOf(input, channels, plan);
  writeRaw(sample.raw, sample.rawScale, channels, rawMap, plan, xs, b * inVoxels * channels, scratch);
  if (target === 'boundary') return;
  // The other targets depend on the orientation: remap the ids and the mask first.
  if (!sample.labels)
    throw new Error('writeSample: a sample without ids (only boundary-table bytes) for a target other than boundary');
  const { words, per } = idWords(sample.labels);
  const ids = scratch.ids(outVoxels * per);
  remapInto(words as Uint32Array, ids, remapOf(output, per, plan), per);
  let mask: Uint8Array | null = null;
  if (sample.mask) {
    mask = scratch.mask(outVoxels);
    remapInto(sample.mask, mask, labelMap, 1);
  }
  const shape = labelMap.shape;
  const C = layout.targetChannels;
  if (target === 'affinities') {
    const offsets = layout.targetOptions.offsets ?? DEFAULT_AFFINITY_OFFSETS;
    affinitiesInto(
      { words: ids, per },
      mask,
      shape,
      offsets,
      { out: ys, offset, stride: W },
      { out: ys, offset: offset + C, stride: W },
    );
  } else if (target === 'semantic') {
    semanticInto({ words: ids, per }, outVoxels, layout.targetOptions.numClasses!, { out: ys, offset, stride: W });
    for (let v = 0, o = offset + C; v < outVoxels; v++, o += W) ys[o] = mask === null || mask[v] ? 1 : 0;
  } else {
    writeUserTarget(target, sample.labels, ids, per, mask, shape, layout, ys, offset);
  }
}

/** Normalized, remapped, intensity-augmented raw into xs at `offset`. */
function writeRaw(
  src: StoredSample['raw'],
  scale: number,
  C: number,
  map: Remap,
  plan: AugmentPlan | null,
  xs: Float32Array,
  offset: number,
  scratch: Scratch,
): void {
  const [Z, Y, X] = map.shape as [number, number, number];
  const [sz, sy, sx] = map.steps as [number, number, number];
  const mul = plan?.intensity?.scale ?? 1,
    add = plan?.intensity?.shift ?? 0;
  const gamma = plan?.gamma ?? null;
  const adjust = plan !== null && (plan.intensity !== null || gamma !== null);
  const value = (stored: number) => rawValue(stored, scale, adjust, mul, add, gamma);
  // 8- and 16-bit raw: every stored value's result from a table (one lookup per voxel, no pow),
  // when the patch has more voxels than the table has entries.
  if (!ArrayBuffer.isView(src)) {
    lookupPiecesInto(src, scratch.table(TABLE_SIZES[src.dtype]!, value), map, plan, xs, offset);
    return;
  }
  const tableSize = src instanceof Uint8Array ? 256 : src instanceof Uint16Array ? 65536 : 0;
  const lut = tableSize > 0 && 2 * tableSize <= src.length ? scratch.table(tableSize, value) : null;
  if (lut !== null && C === 1) {
    lookupInto(src as Uint8Array | Uint16Array, lut, map, xs, offset);
    return;
  }
  let o = offset;
  if (lut === null && C === 1 && sx === 1) {
    // Rows read in order (float raw as an elastic read gives it, already oriented).
    for (let z = 0; z < Z; z++) {
      for (let y = 0; y < Y; y++) {
        const q = map.base + z * sz + y * sy;
        for (let x = 0; x < X; x++) xs[o++] = rawValue(src[q + x]!, scale, adjust, mul, add, gamma);
      }
    }
    return;
  }
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      let q = map.base + z * sz + y * sy;
      if (lut !== null) {
        const u = src as Uint8Array;
        for (let x = 0; x < X; x++, q += sx) for (let c = 0; c < C; c++) xs[o++] = lut[u[q + c]!]!;
      } else {
        // A top-level function, not the closure: inlined in this loop (float raw, e.g. an elastic read's).
        for (let x = 0; x < X; x++, q += sx)
          for (let c = 0; c < C; c++) xs[o++] = rawValue(src[q + c]!, scale, adjust, mul, add, gamma);
      }
    }
  }
}

/** A stored raw value normalized, then adjusted as applyAugment does on normalized float32 raw (rounded to float32 first). */
function rawValue(
  stored: number,
  scale: number,
  adjust: boolean,
  mul: number,
  add: number,
  gamma: number | null,
): number {
  let v = Math.fround(stored * scale);
  if (!adjust) return v;
  v = v * mul + add;
  // Clipped as applyAugment clips (−0 and NaN kept); cheaper than Math.min(1, Math.max(0, v)).
  v = v < 0 ? 0 : Math.min(v, 1);
  return gamma === null ? v : v ** gamma;
}

/** xs[offset + v] = lut[src[q]] for output voxel v read at q through `map` (one channel). */
function lookupInto(src: Uint8Array | Uint16Array, lut: Float32Array, map: Remap, xs: Float32Array, offset: number) {
  const [Z, Y, X] = map.shape as [number, number, number];
  const [sz, sy, sx] = map.steps as [number, number, number];
  let o = offset;
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      lookupRow(src, map.base + z * sz + y * sy, sx, lut, xs, o, X);
      o += X;
    }
  }
}

/** xs[p + x] = lut[src[q + x · sx]] for x = 0 … n − 1. */
function lookupRow(
  src: Uint8Array | Uint16Array,
  q: number,
  sx: number,
  lut: Float32Array,
  xs: Float32Array,
  p: number,
  n: number,
): void {
  let x = 0;
  // Four voxels an iteration: 20–25 % faster where a row is read in order (measured).
  for (; x + 4 <= n; x += 4, q += 4 * sx, p += 4) {
    xs[p] = lut[src[q]!]!;
    xs[p + 1] = lut[src[q + sx]!]!;
    xs[p + 2] = lut[src[q + 2 * sx]!]!;
    xs[p + 3] = lut[src[q + 3 * sx]!]!;
  }
  for (; x < n; x++, q += sx, p++) xs[p] = lut[src[q]!]!;
}

/**
 * lookupInto over raw read in place: each chunk box written to the part of xs it lands on, in
 * output order (reads through the chunk's strides). Voxels outside the array are stored zeros.
 */
function lookupPiecesInto(
  raw: RawPieces,
  lut: Float32Array,
  map: Remap,
  plan: AugmentPlan | null,
  xs: Float32Array,
  offset: number,
): void {
  const shape = map.shape as [number, number, number];
  if (!raw.inside) xs.fill(lut[0]!, offset, offset + raw.length);
  const outStrides = [shape[1] * shape[2], shape[2], 1];
  for (const { chunk, srcStart, dstStart, count } of raw.pieces) {
    // Output axis i is patch axis a = transpose[i]: its box, and the chunk step along it.
    let base = 0,
      o = offset;
    const n: number[] = [],
      steps: number[] = [];
    for (let i = 0; i < 3; i++) {
      const a = plan?.transpose[i] ?? i;
      const mirrored = plan?.mirror[a] === true;
      const stride = chunk.stride[a]!;
      o += (mirrored ? shape[i]! - dstStart[a]! - count[a]! : dstStart[a]!) * outStrides[i]!;
      base += (srcStart[a]! + (mirrored ? count[a]! - 1 : 0)) * stride;
      n.push(count[a]!);
      steps.push(mirrored ? -stride : stride);
    }
    const [nz, ny, nx] = n as [number, number, number];
    const [sz, sy, sx] = steps as [number, number, number];
    const data = chunk.data as Uint8Array | Uint16Array | null;
    for (let z = 0; z < nz; z++) {
      for (let y = 0, row = o + z * outStrides[0]!; y < ny; y++, row += shape[2]) {
        if (data === null) {
          xs.fill(lut[raw.fillValue]!, row, row + nx);
          continue;
        }
        lookupRow(data, base + z * sz + y * sy, sx, lut, xs, row, nx);
      }
    }
  }
}

/** A user TargetFn on the remapped labels (of their own type), its result interleaved into ys. */
function writeUserTarget(
  fn: TargetFn,
  original: LabelArray,
  ids: Uint32Array,
  per: number,
  mask: Uint8Array | null,
  shape: readonly number[],
  layout: BatchLayout,
  ys: Float32Array,
  offset: number,
): void {
  const n = original.length;
  const labels = new (original.constructor as new (n: number) => LabelArray)(n);
  if (labels.BYTES_PER_ELEMENT < 4) {
    for (let i = 0; i < n; i++) (labels as Uint8Array)[i] = ids[i]!; // one 32-bit word per id: narrow it
  } else {
    new Uint32Array(labels.buffer).set(ids.subarray(0, n * per)); // the words, bit for bit
  }
  const known = mask ? Uint8Array.from(mask, (m) => (m !== 0 ? 1 : 0)) : new Uint8Array(n).fill(1);
  const t = makeTarget(fn, labels, known, shape, layout.targetOptions);
  const C = layout.targetChannels,
    M = layout.maskChannels;
  if (t.channels !== C || t.maskChannels !== M) {
    throw new OptionsError(`the target gave ${t.channels}+${t.maskChannels} channels, earlier samples ${C}+${M}`);
  }
  concatTargetMaskInto(t.target, C, t.mask, M, ys, offset);
}
