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
 * Equality and non-zero tests on ids without bigint arithmetic in the hot loops: 64-bit ids are
 * compared as two 32-bit words through a Uint32Array view of the same buffer.
 */
interface IdOps {
  same(i: number, j: number): boolean;
  nonZero(i: number): boolean;
}

function idOps(labels: LabelArray): IdOps {
  if (labels instanceof BigUint64Array) {
    const w = new Uint32Array(labels.buffer, labels.byteOffset, labels.length * 2);
    return {
      same: (i, j) => w[2 * i] === w[2 * j] && w[2 * i + 1] === w[2 * j + 1],
      nonZero: (i) => (w[2 * i]! | w[2 * i + 1]!) !== 0,
    };
  }
  const a = labels;
  return { same: (i, j) => a[i] === a[j], nonZero: (i) => a[i] !== 0 };
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
  const [Z, Y, X] = shape as [number, number, number];
  const { same, nonZero } = idOps(labels);
  const target = new Float32Array(n);
  const sz = Y * X;
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      const row = z * sz + y * X;
      for (let x = 0; x < X; x++) {
        const i = row + x;
        if (!nonZero(i)) continue;
        if (x > 0 && !same(i, i - 1)) continue;
        if (x < X - 1 && !same(i, i + 1)) continue;
        if (y > 0 && !same(i, i - X)) continue;
        if (y < Y - 1 && !same(i, i + X)) continue;
        if (z > 0 && !same(i, i - sz)) continue;
        if (z < Z - 1 && !same(i, i + sz)) continue;
        target[i] = 1;
      }
    }
  }
  return { target, channels: 1, mask: maskToFloat(mask), maskChannels: 1 };
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
  const [Z, Y, X] = shape as [number, number, number];
  const K = offsets.length;
  const { same, nonZero } = idOps(labels);
  const target = new Float32Array(n * K);
  const outMask = new Float32Array(n * K);
  for (let k = 0; k < K; k++) {
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
          const o = i * K + k;
          if (nonZero(i) && same(i, j)) target[o] = 1;
          if (mask[i] !== 0 && mask[j] !== 0) outMask[o] = 1;
        }
      }
    }
  }
  return { target, channels: K, mask: outMask, maskChannels: K };
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
  const fail = (l: number | bigint): never => {
    throw new OptionsError(
      `semanticTarget: label ${l} is not a class id for numClasses = ${numClasses} ` +
        `(class ids must be in [0, ${numClasses - 1}])`,
    );
  };
  if (labels instanceof BigUint64Array) {
    const limit = BigInt(numClasses);
    for (let i = 0; i < n; i++) {
      const l = labels[i]!;
      if (l >= limit) fail(l);
      target[i * numClasses + Number(l)] = 1;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const l = labels[i]!;
      if (l >= numClasses || l < 0) fail(l);
      target[i * numClasses + l] = 1;
    }
  }
  return { target, channels: numClasses, mask: maskToFloat(mask), maskChannels: 1 };
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
  const C = r.channels,
    M = r.maskChannels,
    W = C + M;
  const n = r.target.length / C;
  const out = new Float32Array(n * W);
  for (let i = 0; i < n; i++) {
    const o = i * W;
    for (let c = 0; c < C; c++) out[o + c] = r.target[i * C + c]!;
    for (let c = 0; c < M; c++) out[o + C + c] = r.mask[i * M + c]!;
  }
  return out;
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
