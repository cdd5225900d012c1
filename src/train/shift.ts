/**
 * Section misalignment, as gunpowder's ShiftAugment: along z, each section of the sample is
 * shifted in y and x. Per section (of the sample's raw ∪ labels region, in steps of the coarser
 * voxel size along z), with probability `probSlip` that section alone slips by N(0, sigma) (world
 * units per axis, rounded to the coarser voxel size), with probability `probShift` it and every
 * later section shift by such an amount; raw, labels and mask move together (a voxel at world
 * (z, y, x) takes the value at (z, y − s_y(z), x − s_x(z)) of the crop). Sections of a target's
 * context beyond the sample take the shift of the nearest end section.
 *
 * `planShift` draws 3 numbers per section (the same count for a given sample shape); `shiftedBox`
 * gives the region to read for a box, `applyShift` cuts the box out of that read, plane by plane.
 */
import { OptionsError } from '../errors.js';
import { roi, type Roi } from '../roi.js';
import type { LabelArray } from '../types.js';
import type { Rng } from './random.js';

export interface ShiftOptions {
  /** Probability of a section slipping alone (gunpowder's `prob_slip`). */
  probSlip?: number;
  /** Probability of a section and all after it shifting (`prob_shift`). */
  probShift?: number;
  /** Standard deviation of a slip or shift, world units: one for y and x, or [y, x]. */
  sigma: number | readonly [number, number];
  /** Probability of shifting a sample at all (gunpowder's `p`, default 1). */
  probability?: number;
}

export interface ShiftPlan {
  /** World z of section 0 and the sections' thickness (world units). */
  readonly z0: number;
  readonly step: number;
  /** Per section, the (y, x) shift in world units. */
  readonly shifts: readonly (readonly [number, number])[];
}

/** One draw per section picks a slip, a shift or neither: their probabilities add up to at most 1. */
export function slipAndShiftFit(options: { probSlip?: number; probShift?: number }): boolean {
  return (options.probSlip ?? 0) + (options.probShift ?? 0) <= 1;
}

export function checkShiftOptions(
  options: ShiftOptions,
): Required<Omit<ShiftOptions, 'sigma'>> & { sigma: [number, number] } {
  if (!options || typeof options !== 'object')
    throw new OptionsError(`augment.shift must be an object, got ${JSON.stringify(options)}`);
  const p = (name: string, v: unknown, fallback: number) => {
    const x = v === undefined ? fallback : v;
    if (typeof x !== 'number' || !(x >= 0 && x <= 1)) {
      throw new OptionsError(`augment.shift.${name} must be a probability in [0, 1], got ${JSON.stringify(v)}`);
    }
    return x;
  };
  const probSlip = p('probSlip', options.probSlip, 0);
  const probShift = p('probShift', options.probShift, 0);
  if (!slipAndShiftFit({ probSlip, probShift }))
    throw new OptionsError('augment.shift: probSlip + probShift must not exceed 1');
  const s = options.sigma;
  const sigma = (typeof s === 'number' ? [s, s] : Array.isArray(s) ? [...s] : []) as number[];
  if (sigma.length !== 2 || !sigma.every((v) => Number.isFinite(v) && v >= 0)) {
    throw new OptionsError(
      `augment.shift.sigma must be a number ≥ 0 or [y, x] (world units), got ${JSON.stringify(s)}`,
    );
  }
  return { probSlip, probShift, sigma: [sigma[0]!, sigma[1]!], probability: p('probability', options.probability, 1) };
}

function gaussian(rng: Rng): number {
  const u1 = 1 - rng.next();
  const u2 = rng.next();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * Draws the shifts of the sections of `region` (world units, the sample's raw ∪ labels box) whose
 * voxel size along each axis is `grid` (the coarser of raw's and the labels'): 1 + 5 · sections
 * draws.
 */
export function planShift(rng: Rng, options: ShiftOptions, region: Roi, grid: readonly number[]): ShiftPlan | null {
  const o = checkShiftOptions(options);
  const apply = rng.next() < o.probability;
  const sections = Math.max(1, Math.round(region.shape[0]! / grid[0]!));
  const shifts: [number, number][] = [];
  let base: [number, number] = [0, 0];
  for (let k = 0; k < sections; k++) {
    const r = rng.next();
    // rint as numpy (ties to even) of N(0, sigma / grid), in grid steps.
    const slip = [1, 2].map((a, i) => roundHalfEven((gaussian(rng) * o.sigma[i]!) / grid[a]!) * grid[a]!) as [
      number,
      number,
    ];
    if (r <= o.probSlip) shifts.push([base[0] + slip[0], base[1] + slip[1]]);
    else if (r <= o.probSlip + o.probShift) {
      base = [base[0] + slip[0], base[1] + slip[1]];
      shifts.push(base);
    } else shifts.push(base);
  }
  if (!apply) return null;
  return { z0: region.offset[0]!, step: grid[0]!, shifts };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The (y, x) shift of the section holding world z (the nearest end section beyond them). */
function shiftAt(plan: ShiftPlan, z: number): readonly [number, number] {
  const k = Math.min(plan.shifts.length - 1, Math.max(0, Math.floor((z - plan.z0) / plan.step)));
  return plan.shifts[k]!;
}

/** The region to read so that every plane of `box` can be cut out of it shifted. */
export function shiftedBox(plan: ShiftPlan, box: Roi, voxelSize: readonly number[]): Roi {
  let lo = [Infinity, Infinity],
    hi = [-Infinity, -Infinity];
  for (let z = 0; z < box.shape[0]! / voxelSize[0]!; z++) {
    const s = shiftAt(plan, box.offset[0]! + z * voxelSize[0]!);
    lo = lo.map((v, i) => Math.min(v, s[i]!));
    hi = hi.map((v, i) => Math.max(v, s[i]!));
  }
  return roi(
    [box.offset[0]!, box.offset[1]! - hi[0]!, box.offset[2]! - hi[1]!],
    [box.shape[0]!, box.shape[1]! + hi[0]! - lo[0]!, box.shape[2]! + hi[1]! - lo[1]!],
  );
}

type Plain = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float32Array | Float64Array | Int8Array | Int16Array;

/**
 * `box` cut out of `values` (read over `read` = shiftedBox(plan, box, voxelSize); `per` elements
 * a voxel — channels, or the two words of a 64-bit id), each plane shifted: a new array of the
 * same type.
 */
export function applyShift<T extends Plain>(
  plan: ShiftPlan,
  values: T,
  read: Roi,
  box: Roi,
  voxelSize: readonly number[],
  per: number,
): T {
  const [Z, Y, X] = box.shape.map((s, i) => s / voxelSize[i]!) as [number, number, number];
  const [RY, RX] = [read.shape[1]! / voxelSize[1]!, read.shape[2]! / voxelSize[2]!];
  const out = new (values.constructor as new (n: number) => T)(Z * Y * X * per);
  const row = X * per;
  for (let z = 0; z < Z; z++) {
    const s = shiftAt(plan, box.offset[0]! + z * voxelSize[0]!);
    const y0 = (box.offset[1]! - s[0] - read.offset[1]!) / voxelSize[1]!;
    const x0 = (box.offset[2]! - s[1] - read.offset[2]!) / voxelSize[2]!;
    for (let y = 0; y < Y; y++) {
      const from = ((z * RY + y0 + y) * RX + x0) * per;
      out.set(values.subarray(from, from + row) as unknown as ArrayLike<number>, (z * Y + y) * row);
    }
  }
  return out;
}

/** applyShift for label ids (64-bit ids moved as word pairs). */
export function shiftLabels(
  plan: ShiftPlan,
  labels: LabelArray,
  read: Roi,
  box: Roi,
  voxelSize: readonly number[],
): LabelArray {
  if (!(labels instanceof BigUint64Array)) return applyShift(plan, labels, read, box, voxelSize, 1);
  const words = new Uint32Array(labels.buffer, labels.byteOffset, labels.length * 2);
  return new BigUint64Array(applyShift(plan, words, read, box, voxelSize, 2).buffer);
}
