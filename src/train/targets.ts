/**
 * Labels → training targets, over typed arrays.
 *
 * Inputs: `labels` [z, y, x] (instance or class ids, 0 = background, exact for uint64 ids),
 * `mask` [z, y, x] (non-zero = known, 0 = unknown) and `shape` = [z, y, x].
 *
 * Every target function returns a {@link TargetResult}:
 * - `target`: Float32Array, C order [z, y, x, channels] (channels-last);
 * - `mask`: Float32Array, C order [z, y, x, maskChannels], 1 = known, 0 = unknown.
 *
 * Mask channel convention (what `maskedLoss({ maskChannels })` expects):
 * - boundary and semantic targets: `maskChannels = 1`, the input mask, broadcast over all target
 *   channels by the loss;
 * - affinities: `maskChannels = channels`, one mask channel per affinity: affinity k at voxel v is
 *   known only where v and v + offset_k are both inside the volume and both known.
 *
 * The training batch carries `ys = concat(target, mask)` on the channel axis, see
 * {@link concatTargetMask}.
 */
import type { LabelArray } from '../types.js';
import { OptionsError } from '../errors.js';
import type { Scatter } from './augment.js';

export interface TargetResult {
  /** [z, y, x, channels], C order. */
  target: Float32Array;
  channels: number;
  /** [z, y, x, maskChannels], C order; 1 known, 0 unknown. */
  mask: Float32Array;
  /** 1, or `channels` (one per target channel, e.g. affinities). */
  maskChannels: number;
}

export interface TargetOptions {
  /** Affinity neighbourhood, [dz, dy, dx] per channel. Default [[-1,0,0],[0,-1,0],[0,0,-1]]. */
  offsets?: readonly (readonly number[])[];
  /** Number of classes for the semantic target (required for 'semantic'). */
  numClasses?: number;
}

/** A user target: same inputs as the built-ins, returns the same structure. */
export type TargetFn = (
  labels: LabelArray,
  mask: Uint8Array,
  shape: readonly number[],
  options: TargetOptions,
) => TargetResult;

export type TargetKind = 'boundary' | 'affinities' | 'semantic';

export const DEFAULT_AFFINITY_OFFSETS: readonly (readonly number[])[] = Object.freeze([
  Object.freeze([-1, 0, 0]),
  Object.freeze([0, -1, 0]),
  Object.freeze([0, 0, -1]),
]);

/**
 * Ids as unsigned words, without bigint arithmetic in the hot loops: 64-bit ids are two 32-bit
 * words (`per` = 2) of the same buffer, compared word by word.
 */
export interface IdWords {
  words: Uint8Array | Uint16Array | Uint32Array | Int32Array;
  per: 1 | 2;
}

export function idWords(labels: LabelArray): IdWords {
  if (labels instanceof BigUint64Array) {
    return { words: new Uint32Array(labels.buffer, labels.byteOffset, labels.length * 2), per: 2 };
  }
  return { words: labels, per: 1 };
}

function check(fn: string, labels: LabelArray, mask: Uint8Array, shape: readonly number[]): number {
  if (shape.length !== 3 || !shape.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new OptionsError(`${fn}: shape must be [z, y, x] of non-negative integers, got [${shape.join(', ')}]`);
  }
  const n = shape[0]! * shape[1]! * shape[2]!;
  if (labels.length !== n) {
    throw new OptionsError(`${fn}: labels have ${labels.length} elements, shape [${shape.join(', ')}] needs ${n}`);
  }
  if (mask.length !== n) {
    throw new OptionsError(`${fn}: mask has ${mask.length} elements, shape [${shape.join(', ')}] needs ${n}`);
  }
  return n;
}

function maskToFloat(mask: Uint8Array): Float32Array {
  const out = new Float32Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] !== 0 ? 1 : 0;
  return out;
}

/**
 * Cell interiors: 1 where the label is non-zero and no 6-neighbour inside the volume carries a
 * different id (background included), else 0. Neighbours outside the volume are ignored.
 * 1 channel; mask = the input mask (1 channel).
 */
export function boundaryTarget(labels: LabelArray, mask: Uint8Array, shape: readonly number[]): TargetResult {
  const n = check('boundaryTarget', labels, mask, shape);
  const inside = new Uint8Array(n);
  boundaryInto(idWords(labels), shape, inside);
  return { target: Float32Array.from(inside), channels: 1, mask: maskToFloat(mask), maskChannels: 1 };
}

/**
 * The boundary target into `out` (n voxels, 1 = interior). Each pair of 6-neighbours is compared
 * once; a pair with different ids makes both voxels boundary. The result does not change under
 * mirroring or transposing the axes, so it can be computed before augmentation remaps it.
 */
export function boundaryInto({ words, per }: IdWords, shape: readonly number[], out: Uint8Array): void {
  const [Z, Y, X] = shape as [number, number, number];
  const n = Z * Y * X;
  if (per === 1) {
    boundaryOf(words, X, Y * X, n, out);
    return;
  }
  const w = words as Uint32Array;
  const exact = exactFloat64(w);
  if (exact) {
    boundaryOf(exact, X, Y * X, n, out);
    return;
  }
  for (let i = 0; i < n; i++) out[i] = (w[2 * i]! | w[2 * i + 1]!) !== 0 ? 1 : 0;
  const pairs = (from: number, to: number, d: number) => {
    for (let i = from, a = 2 * from, b = 2 * (from + d); i < to; i++, a += 2, b += 2) {
      if (w[a] !== w[b] || w[a + 1] !== w[b + 1]) out[i] = out[i + d] = 0;
    }
  };
  for (let row = 0; row < n; row += X) pairs(row, row + X - 1, 1);
  for (let slab = 0; slab < n; slab += Y * X) pairs(slab, slab + Y * X - X, X);
  pairs(0, n - Y * X, Y * X);
}

/**
 * The boundary target and its mask straight into a batch's ys: voxel q of the ids ([z, y, x] =
 * `shape`) writes its interior flag (as boundaryInto) to ys[offset + scatter(q)] and its known
 * flag (1 when `known[q]` is non-zero; `known` null: all known) to the element after. The ids are
 * read in their own order (measured faster than reading them through a transpose to write ys in
 * order), the x-neighbour of each voxel compared once.
 */
export function boundaryScatterInto(
  ids: IdWords,
  known: Uint8Array | null,
  shape: readonly number[],
  scatter: Scatter,
  ys: Float32Array,
  offset: number,
): void {
  const [Z, Y, X] = shape as [number, number, number];
  const n = Z * Y * X;
  // 64-bit ids read as float64: one load and one comparison per id. Float64 equality is bit
  // equality except for NaN (never equal) and −0 (equal to 0), which only ids from 2^63 − 2^52
  // on read as; boundaryRow reports them (a check on non-interior voxels only) and the sample
  // is done again over word pairs.
  const w = ids.per === 2 ? new Float64Array(ids.words.buffer, ids.words.byteOffset, n) : ids.words;
  const [oz, oy, ox] = scatter.steps as [number, number, number];
  const sz = Y * X;
  let inexact = false;
  for (let z = 0, q = 0; z < Z; z++) {
    // A neighbour outside the volume is read at offset 0 (the voxel itself: always equal).
    const back = z > 0 ? -sz : 0,
      front = z < Z - 1 ? sz : 0;
    for (let y = 0; y < Y; y++, q += X) {
      const up = y > 0 ? -X : 0,
        down = y < Y - 1 ? X : 0;
      const o = offset + scatter.base + z * oz + y * oy;
      // Two call sites: inlined, the one with a literal null drops the per-voxel mask test (measured).
      const rowInexact =
        known === null
          ? boundaryRow(w, q, X, up, down, back, front, null, ys, o, ox)
          : boundaryRow(w, q, X, up, down, back, front, known, ys, o, ox);
      if (rowInexact) inexact = true;
    }
  }
  if (inexact) {
    const inside = new Uint8Array(n);
    boundaryInto(ids, shape, inside);
    scatterFlags(inside, known, shape, scatter, ys, offset);
  }
}

/**
 * One row of boundaryScatterInto: ids from q on, ys from o on in steps of ox. Returns true when
 * the row holds a NaN or −0 (a float64 view of ids whose comparisons are then not exact).
 */
function boundaryRow(
  w: Float64Array | IdWords['words'],
  q: number,
  X: number,
  up: number,
  down: number,
  back: number,
  front: number,
  known: Uint8Array | null,
  ys: Float32Array,
  o: number,
  ox: number,
): boolean {
  let v = w[q]!;
  let samePrevious = true; // no x-neighbour before the row's first voxel
  let inexact = false;
  for (let x = 0; x < X; x++, q++, o += ox) {
    const next = x + 1 < X ? w[q + 1]! : v;
    const sameNext = next === v;
    if (
      v !== 0 &&
      samePrevious &&
      sameNext &&
      w[q + up] === v &&
      w[q + down] === v &&
      w[q + back] === v &&
      w[q + front] === v
    ) {
      ys[o] = 1;
    } else {
      ys[o] = 0;
      if (Number.isNaN(v) || Object.is(v, -0)) inexact = true;
    }
    ys[o + 1] = known === null || known[q] !== 0 ? 1 : 0;
    samePrevious = sameNext;
    v = next;
  }
  return inexact;
}

/** ys[offset + scatter(q)] = flag[q], and the element after = known[q] !== 0 (null: 1). */
function scatterFlags(
  flag: Uint8Array,
  known: Uint8Array | null,
  shape: readonly number[],
  scatter: Scatter,
  ys: Float32Array,
  offset: number,
): void {
  const [Z, Y, X] = shape as [number, number, number];
  const [oz, oy, ox] = scatter.steps as [number, number, number];
  for (let z = 0, q = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0, o = offset + scatter.base + z * oz + y * oy; x < X; x++, q++, o += ox) {
        ys[o] = flag[q]!;
        ys[o + 1] = known === null || known[q] !== 0 ? 1 : 0;
      }
    }
  }
}

/** High word of the smallest uint64 whose float64 reading is infinite or NaN (exponent bits all 1). */
const FLOAT64_EXPONENT_ALL_ONES = 0x7ff00000;

/**
 * 64-bit ids (word pairs) as float64, when that is exact: below 2^63 − 2^52 every id reads as a
 * finite non-negative number, so float64 equality is bit equality (one load per id instead of
 * two). Null when some id is at or above it.
 */
export function exactFloat64(words: Uint32Array): Float64Array | null {
  for (let i = 1; i < words.length; i += 2) if (words[i]! >= FLOAT64_EXPONENT_ALL_ONES) return null;
  return new Float64Array(words.buffer, words.byteOffset, words.length / 2);
}

/**
 * The boundary target over ids compared with `!==` (one element per id), in one pass: a voxel is
 * interior when it is non-zero and equal to each of its 6-neighbours inside the volume (one read
 * of the ids instead of one per axis: the passes are memory-bound).
 */
function boundaryOf(
  w: Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array,
  X: number,
  sz: number,
  n: number,
  out: Uint8Array,
): void {
  const Y = sz / X;
  for (let slab = 0, i = 0; slab < n; slab += sz) {
    const zLow = slab > 0,
      zHigh = slab + sz < n;
    for (let y = 0; y < Y; y++) {
      const yLow = y > 0,
        yHigh = y < Y - 1;
      for (let x = 0; x < X; x++, i++) {
        const v = w[i]!;
        out[i] =
          v !== 0 &&
          (x === 0 || w[i - 1] === v) &&
          (x === X - 1 || w[i + 1] === v) &&
          (!yLow || w[i - X] === v) &&
          (!yHigh || w[i + X] === v) &&
          (!zLow || w[i - sz] === v) &&
          (!zHigh || w[i + sz] === v)
            ? 1
            : 0;
      }
    }
  }
}

/**
 * Affinities: channel k at voxel v is 1 when v and v + offsets[k] are both inside the volume and
 * carry the same non-zero id, else 0. Mask channel k at v is 1 when v + offsets[k] is inside the
 * volume and both voxels are known. `channels = maskChannels = offsets.length`.
 */
export function affinitiesTarget(
  labels: LabelArray,
  mask: Uint8Array,
  shape: readonly number[],
  offsets: readonly (readonly number[])[] = DEFAULT_AFFINITY_OFFSETS,
): TargetResult {
  const n = check('affinitiesTarget', labels, mask, shape);
  if (offsets.length === 0) throw new OptionsError('affinitiesTarget: offsets must not be empty');
  for (const o of offsets) {
    if (o.length !== 3 || !o.every((v) => Number.isInteger(v))) {
      throw new OptionsError(`affinitiesTarget: each offset must be [dz, dy, dx] integers, got [${o.join(', ')}]`);
    }
  }
  const K = offsets.length;
  const target = new Float32Array(n * K);
  const outMask = new Float32Array(n * K);
  affinitiesInto(
    idWords(labels),
    mask,
    shape,
    offsets,
    { out: target, offset: 0, stride: K },
    { out: outMask, offset: 0, stride: K },
  );
  return { target, channels: K, mask: outMask, maskChannels: K };
}

/** Where a per-voxel channel block is written: channel k of voxel i at `out[offset + i·stride + k]`. */
export interface Strided {
  out: Float32Array;
  offset: number;
  stride: number;
}

/**
 * Affinities (see affinitiesTarget) into strided outputs, e.g. straight into a batch's ys.
 * `mask` null: every voxel known. Entries it does not set are left as they are (zero in a fresh array).
 */
export function affinitiesInto(
  { words: w, per }: IdWords,
  mask: Uint8Array | null,
  shape: readonly number[],
  offsets: readonly (readonly number[])[],
  target: Strided,
  maskOut: Strided,
): void {
  const [Z, Y, X] = shape as [number, number, number];
  const t = target.out,
    m = maskOut.out;
  for (let k = 0; k < offsets.length; k++) {
    const [dz, dy, dx] = offsets[k] as [number, number, number];
    const delta = (dz * Y + dy) * X + dx;
    const z0 = Math.max(0, -dz),
      z1 = Math.min(Z, Z - dz);
    const y0 = Math.max(0, -dy),
      y1 = Math.min(Y, Y - dy);
    const x0 = Math.max(0, -dx),
      x1 = Math.min(X, X - dx);
    for (let z = z0; z < z1; z++) {
      for (let y = y0; y < y1; y++) {
        const row = (z * Y + y) * X;
        for (let x = x0; x < x1; x++) {
          const i = row + x;
          const j = i + delta;
          const same =
            per === 1
              ? w[i] !== 0 && w[i] === w[j]
              : (w[2 * i]! | w[2 * i + 1]!) !== 0 && w[2 * i] === w[2 * j] && w[2 * i + 1] === w[2 * j + 1];
          if (same) t[target.offset + i * target.stride + k] = 1;
          if (mask === null || (mask[i] !== 0 && mask[j] !== 0)) m[maskOut.offset + i * maskOut.stride + k] = 1;
        }
      }
    }
  }
}

/**
 * One-hot class ids over `numClasses` channels (class 0, background, is channel 0).
 * A label ≥ numClasses (or negative) anywhere in the volume throws. Mask: 1 channel.
 */
export function semanticTarget(
  labels: LabelArray,
  mask: Uint8Array,
  shape: readonly number[],
  numClasses: number,
): TargetResult {
  const n = check('semanticTarget', labels, mask, shape);
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new OptionsError(`semanticTarget: numClasses must be a positive integer, got ${numClasses}`);
  }
  const target = new Float32Array(n * numClasses);
  semanticInto(idWords(labels), n, numClasses, { out: target, offset: 0, stride: numClasses });
  return { target, channels: numClasses, mask: maskToFloat(mask), maskChannels: 1 };
}

/** One-hot classes (see semanticTarget) of `n` voxels into a strided output; throws on a bad id. */
export function semanticInto({ words: w, per }: IdWords, n: number, numClasses: number, target: Strided): void {
  const t = target.out;
  for (let i = 0; i < n; i++) {
    const l = per === 1 ? w[i]! : w[2 * i + 1] === 0 ? w[2 * i]! : -1;
    if (!(l >= 0 && l < numClasses)) {
      const id = per === 1 ? BigInt(w[i]!) : (BigInt(w[2 * i + 1]!) << 32n) | BigInt(w[2 * i]!);
      throw new OptionsError(
        `semanticTarget: label ${id} is not a class id for numClasses = ${numClasses} ` +
          `(class ids must be in [0, ${numClasses - 1}])`,
      );
    }
    t[target.offset + i * target.stride + l] = 1;
  }
}

/** Dispatch on the target kind (or call a user TargetFn, whose result is validated). */
export function makeTarget(
  kind: TargetKind | TargetFn,
  labels: LabelArray,
  mask: Uint8Array,
  shape: readonly number[],
  options: TargetOptions = {},
): TargetResult {
  if (typeof kind === 'function') {
    const r = kind(labels, mask, shape, options);
    validateResult(r, shape);
    return r;
  }
  switch (kind) {
    case 'boundary':
      return boundaryTarget(labels, mask, shape);
    case 'affinities':
      return affinitiesTarget(labels, mask, shape, options.offsets ?? DEFAULT_AFFINITY_OFFSETS);
    case 'semantic':
      if (options.numClasses === undefined) {
        throw new OptionsError("makeTarget: the 'semantic' target needs options.numClasses");
      }
      return semanticTarget(labels, mask, shape, options.numClasses);
    default:
      throw new OptionsError(
        `makeTarget: unknown target '${String(kind)}' (expected 'boundary', 'affinities', 'semantic' or a function)`,
      );
  }
}

/**
 * Channel counts of a built-in target without computing it (e.g. to size a model's output).
 * Returns null for a user TargetFn (unknown until it runs).
 */
export function targetChannels(
  kind: TargetKind | TargetFn,
  options: TargetOptions = {},
): { channels: number; maskChannels: number } | null {
  if (typeof kind === 'function') return null;
  switch (kind) {
    case 'boundary':
      return { channels: 1, maskChannels: 1 };
    case 'affinities': {
      const k = (options.offsets ?? DEFAULT_AFFINITY_OFFSETS).length;
      return { channels: k, maskChannels: k };
    }
    case 'semantic':
      if (options.numClasses === undefined) {
        throw new OptionsError("targetChannels: the 'semantic' target needs options.numClasses");
      }
      return { channels: options.numClasses, maskChannels: 1 };
    default:
      throw new OptionsError(`targetChannels: unknown target '${String(kind)}'`);
  }
}

/**
 * `ys` for fitDataset: target ⊕ mask on the channel axis, [z, y, x, channels + maskChannels]
 * (the layout `maskedLoss({ maskChannels })` splits again).
 */
export function concatTargetMask(r: TargetResult): Float32Array {
  const out = new Float32Array((r.target.length / r.channels) * (r.channels + r.maskChannels));
  concatTargetMaskInto(r.target, r.channels, r.mask, r.maskChannels, out, 0);
  return out;
}

/** target ⊕ mask on the channel axis into `out` from `offset` on (one sample's slot of a batch's ys). */
export function concatTargetMaskInto(
  target: Float32Array,
  C: number,
  mask: Float32Array,
  M: number,
  out: Float32Array,
  offset: number,
): void {
  const W = C + M;
  const n = target.length / C;
  for (let v = 0; v < n; v++) {
    const o = offset + v * W;
    for (let c = 0; c < C; c++) out[o + c] = target[v * C + c]!;
    for (let c = 0; c < M; c++) out[o + C + c] = mask[v * M + c]!;
  }
}

function validateResult(r: TargetResult, shape: readonly number[]): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const bad = (what: string): never => {
    throw new OptionsError(`makeTarget: the target function returned ${what}`);
  };
  if (r === null || typeof r !== 'object') bad('no result object');
  if (!(r.target instanceof Float32Array) || !(r.mask instanceof Float32Array)) {
    bad('target/mask that are not Float32Arrays');
  }
  if (!Number.isInteger(r.channels) || r.channels < 1) bad(`channels = ${r.channels}`);
  if (!Number.isInteger(r.maskChannels) || r.maskChannels < 1) bad(`maskChannels = ${r.maskChannels}`);
  if (r.maskChannels !== 1 && r.maskChannels !== r.channels) {
    bad(`maskChannels = ${r.maskChannels}; it must be 1 or channels (${r.channels})`);
  }
  if (r.target.length !== n * r.channels) {
    bad(
      `a target of ${r.target.length} elements; [${shape.join(', ')}] × ${r.channels} channels needs ${n * r.channels}`,
    );
  }
  if (r.mask.length !== n * r.maskChannels) {
    bad(
      `a mask of ${r.mask.length} elements; [${shape.join(', ')}] × ${r.maskChannels} channels needs ${n * r.maskChannels}`,
    );
  }
}
