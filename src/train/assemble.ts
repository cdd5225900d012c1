/**
 * Fused sample assembly: one sample's stored arrays → its slot of the batch buffers, in one pass
 * per array. Raw: read → normalize → mirror/transpose → intensity/gamma → xs. Labels: the target
 * and its mask straight into ys (target ⊕ mask on the channel axis), through the targets'
 * definitions (targets/). 64-bit ids are handled as pairs of 32-bit words; the boundary and
 * distance targets are computed before the remap (they do not change under mirroring or
 * transposing) and scattered into place, from the crop's table when it has one; crops without a
 * stored mask whose patch lies inside the labels skip all mask work. Raw and labels have their
 * own grids (input and output shapes, each with its own remap), so different voxel sizes or a
 * general coordinate map can replace `remapOf` per grid.
 *
 * The functions here are pure apart from the scratch buffers they reuse between samples; they
 * run the same in the main thread and in the workers (train/workers/), so both give the same bytes.
 */
import { OptionsError } from '../errors.js';
import { roiContains, roiGrow, type Roi } from '../roi.js';
import type { Crop, CropSample, DType, LabelArray, StoredArray, VolumePiece } from '../types.js';
import { knownMask } from '../zarr/crop.js';
import { normalizeRaw } from '../zarr/normalize.js';
import { newStoredArray } from '../zarr/volume.js';
import type { SamplePlan } from './sampler.js';
import type { BoundaryTable } from './boundary-table.js';
import type { DistanceTable } from './distance-table.js';
import type { Box } from './edt.js';
import { remapInto, remapOf, scatterOf, type AugmentPlan, type Remap } from './augment.js';
import {
  affinitiesInto,
  boundaryFlags,
  concatTargetMaskInto,
  DEFAULT_AFFINITY_OFFSETS,
  idWords,
  interiorInto,
  makeTarget,
  semanticInto,
  type TargetFn,
  type TargetKind,
  type TargetOptions,
} from './targets.js';
import { distanceInto, distanceValues, type DistanceValues, type ResolvedDistance } from './targets/distance.js';
import { applyBlur, applyDefects, type ArtifactPatch } from './defects.js';
import { applyShift, shiftedBox, shiftLabels, type ShiftPlan } from './shift.js';

/** What every sample of a batch shares. */
export interface BatchLayout {
  /** Raw patch shape [z, y, x] (raw voxels) and its channels. */
  input: readonly number[];
  channels: number;
  /** Labels/target patch shape [z, y, x] (label voxels). */
  output: readonly number[];
  target: TargetKind | TargetFn;
  targetOptions: TargetOptions;
  /** The distance target's options, checked (target 'distance'). */
  distance: ResolvedDistance | null;
  /** Target channels C and mask channels M: ys has C + M channels. */
  targetChannels: number;
  maskChannels: number;
}

/** Label voxels of context a target needs around a sample, per axis (null: none). */
export type TargetContext = readonly number[] | null;

/** A window of labels around a sample's box (targets that look beyond the sample: distance). */
export interface LabelWindow {
  labels: LabelArray;
  /** 1 known, 0 unknown, over the window. */
  known: Uint8Array;
  /** [z, y, x] of the window. */
  shape: number[];
  /** The sample's box inside the window. */
  box: Box;
}

/** How readStored reads a sample. */
export interface ReadHow {
  /** The crop's tables the target may come from. */
  tables?: SampleTables;
  /** Label voxels of context the target needs around the sample (its labels window). */
  context?: TargetContext;
  /** Section shifts (augment.shift). */
  shift?: ShiftPlan | null;
  /** False: raw is always gathered into one array (an elastic read interpolates it). Default true. */
  rawInPlace?: boolean;
}

/** The crop tables a sample may be read through. */
export interface SampleTables {
  boundary?: BoundaryTable | null;
  distance?: DistanceTable | null;
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
  /**
   * [z, y, x] over the output shape; null when `boundary` or `distance` holds the sample's table
   * values, or `window` its ids with context.
   */
  labels: LabelArray | null;
  /** The sample's bytes of its crop's boundary table (boundary-table.ts), [z, y, x] over the output shape. */
  boundary?: Uint8Array;
  /** The sample's values of its crop's distance table (distance-table.ts). */
  distance?: DistanceValues;
  /** The sample's ids with context around it (distance target without a table). */
  window?: LabelWindow;
  /** The labels' voxel size. */
  voxelSize: readonly number[];
  /** Raw's voxel size. */
  rawVoxelSize: readonly number[];
  /** The patches of the sample's artifact sections (augment.defect.artifacts), in section order. */
  artifacts?: ArtifactPatch[];
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
 * The window of labels around a sample's labels box `box` (world units) with `context` voxels on
 * each side, clipped to the labels' region grown by a voxel (outside it every id is 0 and every
 * voxel unknown: nothing there changes a target).
 */
export function contextWindow(
  box: Roi,
  labelsRegion: Roi,
  voxelSize: readonly number[],
  context: readonly number[],
): { roi: Roi; box: Box } {
  const lo = box.offset.map((o, i) => {
    const edge = labelsRegion.offset[i]! - voxelSize[i]!;
    return Math.min(o, Math.max(o - context[i]! * voxelSize[i]!, edge));
  });
  const hi = box.offset.map((o, i) => {
    const end = o + box.shape[i]!;
    const edge = labelsRegion.offset[i]! + labelsRegion.shape[i]! + voxelSize[i]!;
    return Math.max(end, Math.min(end + context[i]! * voxelSize[i]!, edge));
  });
  return {
    roi: { offset: lo, shape: hi.map((h, i) => h - lo[i]!) },
    box: {
      offset: box.offset.map((o, i) => (o - lo[i]!) / voxelSize[i]!),
      shape: box.shape.map((s, i) => s / voxelSize[i]!),
    },
  };
}

/** The box's voxels of a window array (as a new array of the same type). */
function windowBox<T extends LabelArray | Uint8Array>(values: T, window: readonly number[], box: Box): T {
  const [, Y, X] = window as [number, number, number];
  const [bz, by, bx] = box.offset as [number, number, number];
  const [nz, ny, nx] = box.shape as [number, number, number];
  const out = new (values.constructor as new (n: number) => T)(nz * ny * nx);
  for (let z = 0, o = 0; z < nz; z++)
    for (let y = 0; y < ny; y++, o += nx) {
      const from = ((bz + z) * Y + by + y) * X + bx;
      (out as Uint8Array).set((values as Uint8Array).subarray(from, from + nx), o);
    }
  return out;
}

/** A sample's labels window (the distance target's context) and its known mask over the sample's box. */
async function readWindow(
  crop: Crop,
  labelsBox: Roi,
  context: readonly number[],
): Promise<{ window: LabelWindow; mask: Uint8Array }> {
  const vs = crop.voxelSize;
  const { roi: region, box } = contextWindow(labelsBox, crop.labels.roi, vs, context);
  const shape = region.shape.map((s, i) => s / vs[i]!);
  const [labels, known] = await Promise.all([crop.labels.read(region), crop.readMask(region)]);
  return { window: { labels: labels as LabelArray, known, shape, box }, mask: windowBox(known, shape, box) };
}

/**
 * Reads a sample's raw and labels regions (world ROIs); a crop from openDataSplit skips the float
 * copy. A target that needs `context` around the sample gets the labels window instead of the
 * labels, unless the crop's distance table has the sample; with section shifts, the shifted read.
 */
export async function readStored(
  crop: Crop,
  rois: { raw: Roi; labels: Roi },
  pool: Pick<BufferPool, 'take'> = new BufferPool(),
  how: ReadHow = {},
): Promise<StoredSample> {
  const { tables = {}, context = null, shift = null, rawInPlace = true } = how;
  if (shift) return readShifted(crop, rois, context, shift);
  const pooled: { dtype: DType; array: StoredArray }[] = [];
  const take = (dtype: DType, n: number) => {
    const array = pool.take(dtype, n);
    pooled.push({ dtype, array });
    return array;
  };
  if (crop.storedRawScale === undefined && context === null) {
    const s = await crop.read(rois.raw, rois.labels);
    return { raw: s.raw, rawScale: 1, labels: s.labels, mask: s.mask, ...voxelSizes(crop) };
  }
  const [raw, labels] = await Promise.all([
    readRaw(crop, rois.raw, take, rawInPlace),
    context === null
      ? readLabels(crop, rois.labels, take, tables.boundary ?? null)
      : readContext(crop, rois.labels, context, tables.distance ?? null),
  ]);
  return { ...raw, ...labels, ...voxelSizes(crop), pooled };
}

function voxelSizes(crop: Crop): Pick<StoredSample, 'voxelSize' | 'rawVoxelSize'> {
  return { voxelSize: crop.voxelSize, rawVoxelSize: crop.raw.voxelSize };
}

/**
 * A sample read through section shifts (augment.shift): raw and labels (or the labels window)
 * read over the regions their shifted planes come from, then cut out plane by plane. Tables are
 * not used (they hold the unshifted labels).
 */
async function readShifted(
  crop: Crop,
  rois: { raw: Roi; labels: Roi },
  context: TargetContext,
  shift: ShiftPlan,
): Promise<StoredSample> {
  const rawVs = crop.raw.voxelSize,
    vs = crop.voxelSize;
  const rawRead = shiftedBox(shift, rois.raw, rawVs);
  // The labels' region as shifted planes can carry it: grown by the largest shift in y and x.
  const reach = [0, 1].map((a) => Math.max(...shift.shifts.map((s) => Math.abs(s[a]!))));
  const labelsRegion = roiGrow(crop.labels.roi, [0, ...reach]);
  const window = context ? contextWindow(rois.labels, labelsRegion, vs, context) : null;
  const box = window ? window.roi : rois.labels;
  const labelsRead = shiftedBox(shift, box, vs);
  const [raw, labels, known] = await Promise.all([
    readRaw(crop, rawRead, (dtype, n) => newStoredArray(dtype, n), false),
    crop.labels.read(labelsRead) as Promise<LabelArray>,
    crop.readMask(labelsRead),
  ]);
  if (!ArrayBuffer.isView(raw.raw)) throw new Error('readShifted: raw read in place');
  const shiftedIds = shiftLabels(shift, labels, labelsRead, box, vs);
  const shiftedKnown = applyShift(shift, known, labelsRead, box, vs, 1);
  const sample = {
    raw: applyShift(shift, raw.raw, rawRead, rois.raw, rawVs, crop.raw.channels),
    rawScale: raw.rawScale,
    ...voxelSizes(crop),
  };
  if (!window) return { ...sample, labels: shiftedIds, mask: shiftedKnown };
  const shape = box.shape.map((s, i) => s / vs[i]!);
  return {
    ...sample,
    labels: null,
    mask: windowBox(shiftedKnown, shape, window.box),
    window: { labels: shiftedIds, known: shiftedKnown, shape, box: window.box },
  };
}

type Take = (dtype: DType, n: number) => StoredArray;

/** Raw as stored (8- and 16-bit raw of one channel: its chunks, in place), with its scale. */
async function readRaw(
  crop: Crop,
  region: Roi,
  take: Take,
  inPlace = true,
): Promise<Pick<StoredSample, 'raw' | 'rawScale'>> {
  const scale = crop.storedRawScale;
  if (scale === undefined) return { raw: await crop.readRaw(region), rawScale: 1 };
  const voxels = region.shape.reduce((n, s, i) => (n * s) / crop.raw.voxelSize[i]!, crop.raw.channels);
  const raw =
    inPlace && readsInPlace(crop.raw, voxels)
      ? await crop.raw.pieces!(region).then((p) => ({ dtype: crop.raw.dtype, length: voxels, ...p }) as RawPieces)
      : await crop.raw.read(region, take(crop.raw.dtype, voxels));
  const wide = raw instanceof BigInt64Array || raw instanceof BigUint64Array;
  return {
    raw: wide ? normalizeRaw(raw, { scale, description: '' }) : (raw as StoredSample['raw']),
    rawScale: wide ? 1 : scale,
  };
}

/** The ids and known mask over the sample's box (or, with a boundary table, its bytes instead of the ids). */
async function readLabels(
  crop: Crop,
  box: Roi,
  take: Take,
  table: BoundaryTable | null,
): Promise<Pick<StoredSample, 'labels' | 'mask' | 'boundary'>> {
  if (crop.storedRawScale === undefined) throw new Error('readLabels: a crop offering storedRawScale');
  const vs = crop.labels.voxelSize;
  const n = box.shape.reduce((a, s, i) => (a * s) / vs[i]!, 1);
  // The boundary target from the crop's table when there is one: the ids are not read.
  const tableBytes = table ? (take('uint8', n) as Uint8Array) : null;
  const boundary = tableBytes && table!.gather(box, tableBytes) ? tableBytes : undefined;
  const [labels, stored] = await Promise.all([
    boundary ? null : crop.labels.read(box, take(crop.labels.dtype, n)),
    crop.mask ? crop.mask.read(box, take(crop.mask.dtype, n)) : null,
  ]);
  const shape = box.shape.map((s, i) => s / vs[i]!);
  // Inside the labels, no stored mask means all known. A uint8 mask is used as read (non-zero
  // known) inside the labels, or anywhere when the mask lies within the labels (zero outside it).
  const inside = roiContains(crop.labels.roi, box);
  const maskWithin = crop.mask !== null && roiContains(crop.labels.roi, crop.mask.roi);
  const mask =
    (inside && stored === null) || (stored instanceof Uint8Array && (inside || maskWithin))
      ? stored
      : knownMask(box, crop.labels.roi, vs, shape, stored, take('uint8', n) as Uint8Array);
  return { labels: labels as LabelArray | null, mask, ...(boundary ? { boundary } : {}) };
}

/** The known mask over the sample's box and its distance-table values, or its labels window. */
async function readContext(
  crop: Crop,
  box: Roi,
  context: readonly number[],
  table: DistanceTable | null,
): Promise<Pick<StoredSample, 'labels' | 'mask' | 'distance' | 'window'>> {
  const n = box.shape.reduce((a, s, i) => (a * s) / crop.voxelSize[i]!, 1);
  const distance = table ? tableValues(table, box, n) : null;
  if (distance) return { labels: null, mask: await crop.readMask(box), distance };
  const { window, mask } = await readWindow(crop, box, context);
  return { labels: null, mask, window };
}

/** A sample's values from its crop's distance table, or null when the box is not the table's. */
function tableValues(table: DistanceTable, box: Roi, n: number): DistanceValues | null {
  const out: DistanceValues = {
    values: new Float32Array(n * table.channels),
    masked: table.masked ? new Uint8Array(n * table.channels) : null,
  };
  return table.gather(box, out) ? out : null;
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
export function canFuse(crop: Crop, plan: Pick<SamplePlan, 'elastic' | 'rawAugment'>): boolean {
  if (plan.rawAugment) return false;
  return crop.storedRawScale !== undefined || !plan.elastic;
}

/**
 * Sample `b` of a batch from the sampler's finished sample (augmented, normalized): xs, and target
 * ⊕ mask into ys. With a target `context`, the sample's labels and mask cover the output box grown
 * by it on each side (label voxels of size `voxelSize`).
 */
export function writeSampleSteps(
  sample: CropSample,
  layout: BatchLayout,
  xs: Float32Array,
  ys: Float32Array,
  b: number,
  voxelSize: readonly number[],
): void {
  const C = layout.targetChannels,
    M = layout.maskChannels;
  xs.set(sample.raw, b * sample.raw.length);
  const outVoxels = layout.output.reduce((a, v) => a * v, 1);
  const offset = b * outVoxels * (C + M);
  if (layout.target === 'distance') {
    const shape = sample.labelShape;
    const box = { offset: shape.map((s, i) => (s - layout.output[i]!) / 2), shape: layout.output };
    const values = distanceValues(idWords(sample.labels), sample.mask, shape, box, voxelSize, layout.distance!);
    const scatter = scatterOf(layout.output, C + M, null);
    distanceInto(values, windowBox(sample.mask, shape, box), C, outVoxels, layout.output, scatter, ys, offset);
    return;
  }
  const t = makeTarget(layout.target, sample.labels, sample.mask, sample.labelShape, layout.targetOptions);
  if (t.channels !== C || t.maskChannels !== M) {
    throw new OptionsError(`the target gave ${t.channels}+${t.maskChannels} channels, earlier samples ${C}+${M}`);
  }
  concatTargetMaskInto(t.target, C, t.mask, M, ys, offset);
}

/** Scratch buffers reused from sample to sample (one set per thread: writeSample is synchronous). */
export class Scratch {
  private bytes1 = new Uint8Array(0);
  private bytes2 = new Uint8Array(0);
  private words = new Uint32Array(0);
  private lut = new Float32Array(0);
  mask(n: number): Uint8Array {
    if (this.bytes2.length < n) this.bytes2 = new Uint8Array(n);
    return this.bytes2.subarray(0, n);
  }
  flags(n: number): Uint8Array {
    if (this.bytes1.length < n) this.bytes1 = new Uint8Array(n);
    return this.bytes1.subarray(0, n);
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

/**
 * Writes sample `b` of a batch: xs[b] (raw: remapped, intensity, then blur and defects) and ys[b]
 * (target ⊕ mask).
 */
export function writeSample(
  sample: StoredSample,
  { augment: plan, blur, defect }: Pick<SamplePlan, 'augment' | 'blur' | 'defect'>,
  layout: BatchLayout,
  { xs, ys }: { xs: Float32Array; ys: Float32Array },
  b: number,
  scratch: Scratch,
): void {
  const { input, output, channels } = layout;
  const inVoxels = input[0]! * input[1]! * input[2]!;
  const outVoxels = output[0]! * output[1]! * output[2]!;
  const labelValues = sample.window
    ? sample.window.box.shape.reduce((a, v) => a * v, 1)
    : sample.distance
      ? sample.distance.values.length / layout.targetChannels
      : (sample.labels ?? sample.boundary)?.length;
  if (sample.raw.length !== inVoxels * channels || labelValues !== outVoxels) {
    throw new Error(
      `writeSample: got ${sample.raw.length} raw and ${labelValues} label values for ` +
        `[${input.join(', ')}] × ${channels} and [${output.join(', ')}]`,
    );
  }
  writeTarget(sample, plan, layout, ys, b * outVoxels * (layout.targetChannels + layout.maskChannels), scratch);
  const rawMap = remapOf(input, channels, plan);
  const at = b * inVoxels * channels;
  writeRaw(sample, channels, rawMap, plan, { out: xs, offset: at }, scratch);
  const shape = [...rawMap.shape, channels];
  if (blur) applyBlur(blur, xs, at, shape, sample.rawVoxelSize);
  if (defect) applyDefects(defect, xs, at, shape, sample.artifacts);
}

/** A sample's target ⊕ mask into ys at `offset`, through its target's definition (targets/). */
function writeTarget(
  sample: StoredSample,
  plan: AugmentPlan | null,
  layout: BatchLayout,
  ys: Float32Array,
  offset: number,
  scratch: Scratch,
): void {
  const { output, target } = layout;
  const outVoxels = output[0]! * output[1]! * output[2]!;
  const C = layout.targetChannels;
  const W = C + layout.maskChannels;
  // Boundary and distance do not depend on the orientation: computed as read, scattered into place.
  if (target === 'boundary') {
    let flags = sample.boundary;
    if (!flags) {
      flags = scratch.flags(outVoxels);
      boundaryFlags(idWords(sample.labels!), output, flags);
    }
    interiorInto(flags, sample.mask, output, scatterOf(output, 2, plan), ys, offset);
    return;
  }
  if (target === 'distance') {
    const w = sample.window;
    const values =
      sample.distance ??
      distanceValues(idWords(w!.labels), w!.known, w!.shape, w!.box, sample.voxelSize, layout.distance!);
    distanceInto(values, sample.mask, C, outVoxels, output, scatterOf(output, W, plan), ys, offset);
    return;
  }
  // The other targets depend on the orientation: remap the ids and the mask first.
  if (!sample.labels) throw new Error(`writeSample: a sample without ids for target ${String(target)}`);
  const labelMap = remapOf(output, 1, plan);
  const { words, per } = idWords(sample.labels);
  const ids = scratch.ids(outVoxels * per);
  remapInto(words as Uint32Array, ids, remapOf(output, per, plan), per);
  let mask: Uint8Array | null = null;
  if (sample.mask) {
    mask = scratch.mask(outVoxels);
    remapInto(sample.mask, mask, labelMap, 1);
  }
  const shape = labelMap.shape;
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
    writeUserTarget(target, { original: sample.labels, ids, per }, mask, shape, layout, { out: ys, offset });
  }
}

/** A sample's raw (C channels) normalized, remapped and intensity-augmented into xs at `offset`. */
function writeRaw(
  { raw: src, rawScale: scale }: Pick<StoredSample, 'raw' | 'rawScale'>,
  C: number,
  map: Remap,
  plan: AugmentPlan | null,
  { out: xs, offset }: { out: Float32Array; offset: number },
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

/**
 * xs[p + x] = lut[src[q + x · sx]] for x = 0 … n − 1.
 *
 * (params: the per-row kernel of the raw lookup: scalar arguments keep it allocation-free)
 */
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

/**
 * A user TargetFn on the remapped labels (`ids`, `per` 32-bit words an id, given back in the type
 * of `original`), its result interleaved into ys at `offset`.
 */
function writeUserTarget(
  fn: TargetFn,
  { original, ids, per }: { original: LabelArray; ids: Uint32Array; per: number },
  mask: Uint8Array | null,
  shape: readonly number[],
  layout: BatchLayout,
  { out: ys, offset }: { out: Float32Array; offset: number },
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
