/**
 * Labels → training targets: the built-in targets and the structure they share. Each target is
 * defined once, in its module under targets/ (boundary, affinities, semantic, distance); the
 * fused batch assembly (assemble.ts), the step-by-step path and the crop tables
 * (boundary-table.ts, distance-table.ts) write through those definitions, and test/train/
 * targets-agree.test.ts checks every path against the whole-array functions here.
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
 *   known only where v and v + offset_k are both inside the volume and both known;
 * - distance: one per class with `maskDistances` (DaCapo's distance mask), else 1.
 *
 * The training batch carries `ys = concat(target, mask)` on the channel axis, see
 * {@link concatTargetMask}.
 */
import type { LabelArray } from '../types.js';
import { OptionsError } from '../errors.js';
import { affinitiesTarget, DEFAULT_AFFINITY_OFFSETS } from './targets/affinities.js';
import { boundaryTarget } from './targets/boundary.js';
import { distanceChannels, distanceTarget, type DistanceOptions } from './targets/distance.js';
import { semanticTarget } from './targets/semantic.js';

export { DEFAULT_AFFINITY_OFFSETS, affinitiesInto, affinitiesTarget } from './targets/affinities.js';
export { boundaryFlags, boundaryTarget, interiorInto } from './targets/boundary.js';
export {
  distanceClassNames,
  distanceTarget,
  type DistanceOptions,
  type LabelId,
} from './targets/distance.js';
export { semanticInto, semanticTarget } from './targets/semantic.js';
export { exactFloat64, idWords, type IdWords, type Strided } from './targets/ids.js';

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
  /** The distance target's options (required for 'distance'). */
  distance?: DistanceOptions;
  /** Label voxel size [z, y, x] (world units): the distance target's is in world units. */
  voxelSize?: readonly number[];
}

/** A user target: same inputs as the built-ins, returns the same structure. */
export type TargetFn = (
  labels: LabelArray,
  mask: Uint8Array,
  shape: readonly number[],
  options: TargetOptions,
) => TargetResult;

export type TargetKind = 'boundary' | 'affinities' | 'semantic' | 'distance';

export const TARGET_KINDS: readonly TargetKind[] = ['boundary', 'affinities', 'semantic', 'distance'];

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
    case 'distance':
      if (options.distance === undefined || options.voxelSize === undefined) {
        throw new OptionsError("makeTarget: the 'distance' target needs options.distance and options.voxelSize");
      }
      return distanceTarget(labels, mask, shape, { ...options.distance, voxelSize: options.voxelSize });
    default:
      throw new OptionsError(
        `makeTarget: unknown target '${String(kind)}' (expected ${TARGET_KINDS.map((k) => `'${k}'`).join(', ')} or a function)`,
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
    case 'distance':
      return distanceChannels(options.distance as DistanceOptions);
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
