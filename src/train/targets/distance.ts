/**
 * The distance target, as DaCapo's DistanceTask computes it (`distance_predictor.py`): per class
 * channel, the boundaries lie between face-adjacent voxels of which one is in the class and the
 * other not (DaCapo's doubled grid), the distance is the Euclidean distance in world units from a
 * voxel centre to the nearest such face (so ±voxel/2 next to a boundary), positive in the class and
 * negative outside it, squashed by tanh(d / scaleFactor) — computed in float32 as numpy does.
 * With `maskDistances`, DaCapo's rule for the values the unknown region could change: a voxel is
 * unknown for that channel when min(|t| + 0.05, 0.8) ≥ tanh(b / scaleFactor), b being DaCapo's
 * distance to the nearest unknown voxel (an EDT on the voxel grid with sampling voxel/2, i.e. half
 * the world distance).
 *
 * One definition for every path: a crop's labels are read as zero outside their region and its
 * mask as unknown there, and the target of a voxel is computed over the crop as a whole (the limit
 * of DaCapo's computation over ever larger padded samples): values never depend on where a sample
 * was cut. `distanceValues` computes a box of it from a window of labels around the box that holds
 * every boundary that can change a value inside (beyond `distanceContext` from a voxel, tanh is 1
 * in float32); `distanceTarget` is the same over a whole array. Distances are exact (exact integer
 * arithmetic, edt.ts), so the same voxel gets the same bytes from any window, orientation or path.
 *
 * DaCapo's special case for a sample without any boundary (± half its smallest extent) depends on
 * the sample's size; here no boundary within reach means the distance is beyond tanh's range: ±1.
 */
import { OptionsError } from '../../errors.js';
import type { LabelArray } from '../../types.js';
import type { Scatter } from '../augment.js';
import { faceDistances, voxelDistances, type Box } from '../edt.js';
import { checkTargetInputs, idSet, idWords, inSet, type IdSet, type IdWords, type LabelId } from './ids.js';

export type { LabelId };

export interface DistanceOptions {
  /**
   * The label ids of each channel's class: an id or a list of ids per channel. Default: one
   * channel, every id but 0.
   */
  classes?: readonly (LabelId | readonly LabelId[])[];
  /** tanh(d / scaleFactor), world units (DaCapo's `scale_factor`). */
  scaleFactor: number;
  /**
   * DaCapo's `clip_distance` (world units): used by the distance scores (false distances clipped
   * to it), not by the target, as in DaCapo's BinarySegmentationEvaluator.
   */
  clipDistance?: number;
  /** DaCapo's `tol_distance` (world units): the scores' precision and recall with this tolerance. */
  tolDistance?: number;
  /** DaCapo's `mask_distances` (default true, as DaCapo's): one mask channel per class. */
  maskDistances?: boolean;
}

/** The options checked: each class as the 32-bit word pairs of its ids (null: every id but 0). */
export interface ResolvedDistance {
  classes: IdSet[] | null;
  channels: number;
  scaleFactor: number;
  maskDistances: boolean;
}

export function checkDistanceOptions(options: DistanceOptions | undefined): ResolvedDistance {
  if (!options || typeof options !== 'object') {
    throw new OptionsError("target 'distance' needs distance options: { scaleFactor, classes?, maskDistances? }");
  }
  const s = options.scaleFactor;
  if (typeof s !== 'number' || !(s > 0) || !Number.isFinite(s)) {
    throw new OptionsError(`distance.scaleFactor must be a positive number (world units), got ${JSON.stringify(s)}`);
  }
  for (const key of ['clipDistance', 'tolDistance'] as const) {
    const v = options[key];
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && Number.isFinite(v))) {
      throw new OptionsError(`distance.${key} must be a number ≥ 0 (world units), got ${JSON.stringify(v)}`);
    }
  }
  const mask = options.maskDistances ?? true;
  if (typeof mask !== 'boolean') throw new OptionsError(`distance.maskDistances must be true or false, got ${mask}`);
  let classes: ResolvedDistance['classes'] = null;
  if (options.classes !== undefined) {
    if (!Array.isArray(options.classes) || options.classes.length === 0) {
      throw new OptionsError(`distance.classes must list at least one class, got ${JSON.stringify(options.classes)}`);
    }
    classes = options.classes.map((c, k) => {
      const set = idSet((Array.isArray(c) ? c : [c]) as readonly unknown[]);
      if (set === null) {
        throw new OptionsError(
          `distance.classes[${k}] must be a label id or a non-empty list of ids (integers ≥ 0 below 2^64; ` +
            `above 2^53 as a bigint or a decimal string), got ${JSON.stringify(c, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`,
        );
      }
      return set;
    });
  }
  return { classes, channels: classes?.length ?? 1, scaleFactor: s, maskDistances: mask };
}

/** A name per channel: its ids joined by '+' ('fg' for the default channel). */
export function distanceClassNames(options: DistanceOptions): string[] {
  if (options.classes === undefined) return ['fg'];
  return options.classes.map((c) => (Array.isArray(c) ? c.map(String).join('+') : String(c)));
}

/** Smallest float32 x with fround(tanh(x)) = 1 (found once, by bisection over float32 values). */
const TANH_ONE = (() => {
  let lo = 1,
    hi = 20;
  for (let i = 0; i < 200; i++) {
    const mid = Math.fround((lo + hi) / 2);
    if (mid === lo || mid === hi) break;
    if (Math.fround(Math.tanh(mid)) === 1) hi = mid;
    else lo = mid;
  }
  return hi;
})();

/** DaCapo's distance-mask rule: masked when min(|t| + EPSILON, THRESHOLD) ≥ tanh(b / s). */
const EPSILON = Math.fround(0.05);
const THRESHOLD = Math.fround(0.8);

/**
 * Caps of the two squared distances (see edt.ts: 4 × squared world distance to a face; squared
 * world distance to an unknown voxel): at or beyond them a value no longer changes.
 */
function caps(scaleFactor: number): { face: number; unknown: number } {
  // d ≥ TANH_ONE · s (with room for the two float32 roundings of d / s): tanh(d / s) is 1.
  const reach = TANH_ONE * scaleFactor * (1 + 2 ** -20);
  // b / s ≥ 1.1 (b: world distance to the nearest unknown voxel): tanh > 0.8005 > THRESHOLD, never masked.
  const unknown = 1.1 * scaleFactor;
  return { face: Math.ceil(4 * reach * reach), unknown: Math.ceil(unknown * unknown) };
}

/**
 * Voxels of labels needed on each side of a box (label voxel size `voxelSize`) for its distance
 * target to be the crop's: every face and unknown voxel that can change a value inside lies within.
 */
export function distanceContext(voxelSize: readonly number[], options: DistanceOptions): number[] {
  const cap = caps(checkDistanceOptions(options).scaleFactor);
  const reach = Math.max(Math.sqrt(cap.face) / 2, Math.sqrt(cap.unknown));
  return voxelSize.map((v) => Math.ceil(reach / v));
}

/** The box's voxels of a window array, as a new array. */
function boxOf(values: Uint8Array, window: readonly number[], box: Box): Uint8Array {
  const [, Y, X] = window as [number, number, number];
  const [bz, by, bx] = box.offset as [number, number, number];
  const [nz, ny, nx] = box.shape as [number, number, number];
  const out = new Uint8Array(nz * ny * nx);
  for (let z = 0, o = 0; z < nz; z++)
    for (let y = 0; y < ny; y++, o += nx) {
      const from = ((bz + z) * Y + by + y) * X + bx;
      out.set(values.subarray(from, from + nx), o);
    }
  return out;
}

/** The target's values over a box: [box voxels, channels], and DaCapo's distance mask (1 = masked) or null. */
export interface DistanceValues {
  values: Float32Array;
  masked: Uint8Array | null;
}

/**
 * The distance target over `box` of a window of ids (`window` = [z, y, x]) and its known mask
 * (non-zero known; null: all known), at label voxel size `voxelSize`. Exact for the crop when the
 * window holds the box grown by `distanceContext` (clipped to the labels' region grown by a voxel,
 * outside which nothing changes).
 */
export function distanceValues(
  ids: IdWords,
  known: Uint8Array | null,
  window: readonly number[],
  box: Box,
  voxelSize: readonly number[],
  options: ResolvedDistance,
): DistanceValues {
  const n = window[0]! * window[1]! * window[2]!;
  const boxVoxels = box.shape[0]! * box.shape[1]! * box.shape[2]!;
  const C = options.channels;
  const cap = caps(options.scaleFactor);
  const s = Math.fround(options.scaleFactor);
  const values = new Float32Array(boxVoxels * C);
  for (let c = 0; c < C; c++) {
    const inside = inSet(ids, n, options.classes?.[c] ?? null);
    const face = faceDistances(inside, window, box, voxelSize, cap.face);
    const insideBox = boxOf(inside, window, box);
    for (let v = 0; v < boxVoxels; v++) {
      const e = face[v]!;
      const sign = insideBox[v] !== 0;
      if (e >= cap.face) {
        values[v * C + c] = sign ? 1 : -1;
        continue;
      }
      // As DaCapo in numpy: scipy's float64 distance to float32, signed, / scale in float32, tanh.
      const d = Math.fround(Math.sqrt(e) / 2);
      values[v * C + c] = Math.fround(Math.tanh(Math.fround((sign ? d : -d) / s)));
    }
  }
  if (!options.maskDistances) return { values, masked: null };
  const unknown = new Uint8Array(n);
  if (known) for (let i = 0; i < n; i++) unknown[i] = known[i] === 0 ? 1 : 0;
  const near = voxelDistances(unknown, window, box, voxelSize, cap.unknown);
  const masked = new Uint8Array(boxVoxels * C);
  for (let v = 0; v < boxVoxels; v++) {
    const e = near[v]!;
    if (e >= cap.unknown) continue;
    // DaCapo's create_distance_mask: an EDT of the known mask with sampling = the voxel size.
    const limit = Math.tanh(Math.sqrt(e) / options.scaleFactor);
    for (let c = 0; c < C; c++) {
      const t = Math.abs(values[v * C + c]!);
      if (Math.min(Math.fround(t + EPSILON), THRESHOLD) >= limit) masked[v * C + c] = 1;
    }
  }
  return { values, masked };
}

/**
 * The distance target (and its mask) of voxel q of a box written to ys[offset + scatter(q) + c]:
 * C target channels then the mask channels — one per class when `masked` is given (known and not
 * distance-masked), else one (known). `known` null: all known.
 *
 * (params: the (…, scatter, ys, offset) tail every target writer shares; called per box with scalars)
 */
export function distanceInto(
  { values, masked }: DistanceValues,
  known: Uint8Array | null,
  C: number,
  boxVoxels: number,
  shape: readonly number[],
  scatter: Scatter,
  ys: Float32Array,
  offset: number,
): void {
  const [Z, Y, X] = shape as [number, number, number];
  const [oz, oy, ox] = scatter.steps as [number, number, number];
  if (Z * Y * X !== boxVoxels) throw new Error(`distanceInto: ${boxVoxels} values for [${shape.join(', ')}]`);
  for (let z = 0, q = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0, o = offset + scatter.base + z * oz + y * oy; x < X; x++, q++, o += ox) {
        const k = known === null || known[q] !== 0 ? 1 : 0;
        for (let c = 0; c < C; c++) ys[o + c] = values[q * C + c]!;
        if (masked === null) ys[o + C] = k;
        else for (let c = 0; c < C; c++) ys[o + C + c] = k !== 0 && masked[q * C + c] === 0 ? 1 : 0;
      }
    }
  }
}

/** Target and mask channels of the distance target. */
export function distanceChannels(options: DistanceOptions): { channels: number; maskChannels: number } {
  const r = checkDistanceOptions(options);
  return { channels: r.channels, maskChannels: r.maskDistances ? r.channels : 1 };
}

/**
 * The distance target of a whole array ([z, y, x] = `shape`, label voxel size `voxelSize`), seen
 * as surrounded by background and unknown voxels (as a crop's reads are outside its region):
 * target [z, y, x, channels], mask [z, y, x, channels] (maskDistances) or [z, y, x, 1].
 */
export function distanceTarget(
  labels: LabelArray,
  mask: Uint8Array,
  shape: readonly number[],
  options: DistanceOptions & { voxelSize: readonly number[] },
): { target: Float32Array; channels: number; mask: Float32Array; maskChannels: number } {
  const n = checkTargetInputs('distanceTarget', labels, mask, shape);
  const resolved = checkDistanceOptions(options);
  const vs = options.voxelSize;
  if (vs.length !== 3 || !vs.every((v) => Number.isInteger(v) && v > 0)) {
    throw new OptionsError(`distanceTarget: voxelSize must be 3 positive integers, got [${vs.join(', ')}]`);
  }
  // A ring of one background, unknown voxel: the faces on the array's edge, the unknown beyond it.
  const window = shape.map((s) => s + 2);
  const [Z, Y, X] = shape as [number, number, number];
  const wn = window[0]! * window[1]! * window[2]!;
  const { words, per } = idWords(labels);
  const ids = new (words.constructor as new (n: number) => typeof words)(wn * per);
  const known = new Uint8Array(wn);
  for (let z = 0, i = 0; z < Z; z++)
    for (let y = 0; y < Y; y++) {
      const w = ((z + 1) * window[1]! + y + 1) * window[2]! + 1;
      ids.set(words.subarray(i * per, (i + X) * per), w * per);
      for (let x = 0; x < X; x++, i++) known[w + x] = mask[i] !== 0 ? 1 : 0;
    }
  const result = distanceValues({ words: ids, per }, known, window, { offset: [1, 1, 1], shape }, vs, resolved);
  const C = resolved.channels;
  const M = resolved.maskDistances ? C : 1;
  const out = new Float32Array(n * M);
  for (let v = 0; v < n; v++) {
    const k = mask[v] !== 0 ? 1 : 0;
    if (result.masked === null) out[v] = k;
    else for (let c = 0; c < C; c++) out[v * C + c] = k !== 0 && result.masked![v * C + c] === 0 ? 1 : 0;
  }
  return { target: result.values, channels: C, mask: out, maskChannels: M };
}
