/**
 * Seeded augmentation with identical geometry on raw ([z, y, x, c]), labels ([z, y, x]) and mask
 * ([z, y, x]).
 *
 * `planAugment` draws every random number up front (always the same count, whatever the options),
 * so a plan is a function of the rng's stream alone; `applyAugment` is pure and returns new arrays
 * (the inputs are never modified).
 *
 * Geometry (as gunpowder's SimpleAugment): mirror along spatial axes, and transpose spatial axes
 * among each other. Raw may be larger than labels (context) as long as both are centred on the
 * same point: each array is flipped/transposed about its own centre, which keeps them aligned when
 * - mirroring an axis: (rawShape − labelShape) is even on that axis. When it is odd, the centres
 *   are half a voxel apart, and that axis is never mirrored (silently, even if asked for);
 * - transposing axes a and b: they have the same voxel size and the same extent in raw AND in
 *   labels (so the context is the same on both axes).
 * Intensity (raw only): raw · scale + shift, then clipped to [0, 1]; gamma: raw clipped to [0, 1],
 * then raw^gamma. Labels and mask only get the geometry. Label arrays keep their type.
 */
import type { LabelArray } from '../types.js';
import type { Rng } from './random.js';
import { OptionsError } from '../errors.js';

export interface AugmentOptions {
  /** Mirror axes at random (p = 0.5 each): true (default) for all, false for none, or per axis. */
  mirror?: boolean | boolean[];
  /** Randomly permute spatial axes that can be transposed (see module doc). Default true. */
  transpose?: boolean;
  /**
   * raw · scale + shift, then clipped to [0, 1]; scale and shift uniform in the given ranges
   * (a missing range means no change: scale [1, 1], shift [0, 0]). Default false (off).
   */
  intensity?: { scale?: [number, number]; shift?: [number, number] } | false;
  /** raw^gamma with gamma uniform in [low, high] (> 0), after clipping raw to [0, 1]. Default false. */
  gamma?: [number, number] | false;
}

/** What an option left out means (the run config's effective augment is filled with these). */
export const AUGMENT_DEFAULTS = { mirror: true, transpose: true, intensity: false, gamma: false } as const;

export interface AugmentPlan {
  /** Per spatial axis of the input: flip it. */
  readonly mirror: readonly boolean[];
  /** Output axis i is input axis transpose[i] (a permutation of the spatial axes). */
  readonly transpose: readonly number[];
  /** null: no intensity change (and no clipping unless gamma is set). */
  readonly intensity: { readonly scale: number; readonly shift: number } | null;
  /** null: no gamma. */
  readonly gamma: number | null;
}

export interface AugmentSample<L extends LabelArray = LabelArray> {
  raw: Float32Array;
  /** [z, y, x, c] */
  rawShape: number[];
  labels: L;
  mask: Uint8Array;
  /** [z, y, x] */
  labelShape: number[];
}

/**
 * Draws an augmentation plan.
 * @param shape the spatial shape of the sample ([z, y, x]), or several spatial shapes that the
 *   plan must suit together, e.g. `[labelShape, rawShape.slice(0, 3)]` when raw has context:
 *   an axis is mirrorable only when all shapes have the same parity on it, and two axes are
 *   transposable only when every shape has equal extents on them (and their voxel sizes agree).
 * @param voxelSize per spatial axis; or several (raw's and the labels' when they differ): two axes
 *   are transposable only when they agree in every one.
 */
export function planAugment(
  rng: Rng,
  options: AugmentOptions,
  shape: readonly number[] | readonly (readonly number[])[],
  voxelSizeIn: readonly number[] | readonly (readonly number[])[],
): AugmentPlan {
  const voxelSizes: readonly (readonly number[])[] = Array.isArray(voxelSizeIn[0])
    ? (voxelSizeIn as readonly (readonly number[])[])
    : [voxelSizeIn as readonly number[]];
  const voxelSize = voxelSizes[0]!;
  const shapes: readonly (readonly number[])[] =
    shape.length > 0 && Array.isArray(shape[0])
      ? (shape as readonly (readonly number[])[])
      : [shape as readonly number[]];
  const d = voxelSize.length;
  if (d === 0) throw new OptionsError('planAugment: voxelSize is empty');
  for (const s of shapes) {
    if (s.length !== d || !s.every((v) => Number.isInteger(v) && v >= 0)) {
      throw new OptionsError(`planAugment: shape [${s.join(', ')}] does not match voxelSize [${voxelSize.join(', ')}]`);
    }
  }
  const mirrorOpt = options.mirror ?? AUGMENT_DEFAULTS.mirror;
  if (Array.isArray(mirrorOpt) && mirrorOpt.length !== d) {
    throw new OptionsError(`augment.mirror has ${mirrorOpt.length} entries, expected one per spatial axis (${d})`);
  }
  const intensity = options.intensity ?? AUGMENT_DEFAULTS.intensity;
  const gammaRange = options.gamma ?? AUGMENT_DEFAULTS.gamma;
  const scaleRange = intensity ? (intensity.scale ?? [1, 1]) : [1, 1];
  const shiftRange = intensity ? (intensity.shift ?? [0, 0]) : [0, 0];
  checkRange('intensity.scale', scaleRange);
  checkRange('intensity.shift', shiftRange);
  if (gammaRange) {
    checkRange('gamma', gammaRange);
    if (!(gammaRange[0] > 0)) throw new OptionsError(`augment.gamma must be > 0, got [${gammaRange.join(', ')}]`);
  }

  // Fixed number of draws, in a fixed order: d mirror coins, d − 1 shuffle numbers, scale, shift, gamma.
  const mirrorDraws = Array.from({ length: d }, () => rng.next());
  const shuffleDraws = Array.from({ length: d - 1 }, () => rng.next());
  const uScale = rng.next(),
    uShift = rng.next(),
    uGamma = rng.next();

  const mirror = mirrorDraws.map((u, a) => {
    const wanted = Array.isArray(mirrorOpt) ? mirrorOpt[a]! : mirrorOpt;
    const evenContext = shapes.every((s) => (s[a]! - shapes[0]![a]!) % 2 === 0);
    return wanted && evenContext && u < 0.5;
  });

  const transpose = Array.from({ length: d }, (_, i) => i);
  if (options.transpose ?? AUGMENT_DEFAULTS.transpose) {
    // Group axes that are interchangeable; shuffle each group (Fisher–Yates).
    const groups = new Map<string, number[]>();
    for (let a = 0; a < d; a++) {
      const key = [...voxelSizes.map((v) => v[a]), ...shapes.map((s) => s[a])].join(',');
      const g = groups.get(key);
      if (g) g.push(a);
      else groups.set(key, [a]);
    }
    let k = 0;
    for (const g of groups.values()) {
      const order = [...g];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(shuffleDraws[k++]! * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      g.forEach((axis, i) => {
        transpose[axis] = order[i]!;
      });
    }
  }

  return {
    mirror,
    transpose,
    intensity: intensity ? { scale: lerp(scaleRange, uScale), shift: lerp(shiftRange, uShift) } : null,
    gamma: gammaRange ? lerp(gammaRange, uGamma) : null,
  };
}

function checkRange(name: string, r: readonly number[]): void {
  if (!Array.isArray(r) || r.length !== 2 || !r.every((v) => Number.isFinite(v)) || r[0]! > r[1]!) {
    throw new OptionsError(
      `augment.${name} must be [low, high] finite numbers with low ≤ high, got ${JSON.stringify(r)}`,
    );
  }
}

function lerp(r: readonly number[], u: number): number {
  return r[0]! + (r[1]! - r[0]!) * u;
}

/**
 * Applies a plan to one sample. Returns new arrays (inputs untouched); shapes are transposed
 * accordingly. Throws when the sample's shapes don't suit the plan (a transposed pair of axes with
 * different extents, or a mirrored axis with odd raw/label context).
 */
export function applyAugment<L extends LabelArray>(plan: AugmentPlan, sample: AugmentSample<L>): AugmentSample<L> {
  const d = plan.transpose.length;
  const { raw, rawShape, labels, mask, labelShape } = sample;
  if (rawShape.length !== d + 1 || labelShape.length !== d) {
    throw new OptionsError(
      `applyAugment: expected rawShape [${d} spatial axes, c] and labelShape [${d} spatial axes], ` +
        `got [${rawShape.join(', ')}] and [${labelShape.join(', ')}]`,
    );
  }
  const channels = rawShape[d]!;
  const rawSpatial = rawShape.slice(0, d);
  const nRaw = rawShape.reduce((a, b) => a * b, 1);
  const nLab = labelShape.reduce((a, b) => a * b, 1);
  if (raw.length !== nRaw)
    throw new OptionsError(`applyAugment: raw has ${raw.length} elements, rawShape needs ${nRaw}`);
  if (labels.length !== nLab)
    throw new OptionsError(`applyAugment: labels have ${labels.length} elements, labelShape needs ${nLab}`);
  if (mask.length !== nLab)
    throw new OptionsError(`applyAugment: mask has ${mask.length} elements, labelShape needs ${nLab}`);
  for (let i = 0; i < d; i++) {
    const a = plan.transpose[i]!;
    if (rawSpatial[i] !== rawSpatial[a] || labelShape[i] !== labelShape[a]) {
      throw new OptionsError(
        `applyAugment: the plan transposes axes ${i} and ${a}, whose extents differ ` +
          `(raw [${rawSpatial.join(', ')}], labels [${labelShape.join(', ')}])`,
      );
    }
    if (plan.mirror[i] && (rawSpatial[i]! - labelShape[i]!) % 2 !== 0) {
      throw new OptionsError(
        `applyAugment: the plan mirrors axis ${i}, where raw and labels differ by an odd number of voxels`,
      );
    }
  }

  const outRaw = remap(raw, rawSpatial, channels, plan);
  const outLabels = remap(labels, labelShape, 1, plan);
  const outMask = remap(mask, labelShape, 1, plan);

  const g = plan.gamma;
  if (plan.intensity !== null || g !== null) {
    const scale = plan.intensity?.scale ?? 1,
      shift = plan.intensity?.shift ?? 0;
    for (let i = 0; i < outRaw.length; i++) {
      let v = outRaw[i]! * scale + shift;
      v = v < 0 ? 0 : Math.min(v, 1);
      if (g !== null) v = v ** g;
      outRaw[i] = v;
    }
  }

  return {
    raw: outRaw,
    rawShape: [...plan.transpose.map((a) => rawSpatial[a]!), channels],
    labels: outLabels,
    mask: outMask,
    labelShape: plan.transpose.map((a) => labelShape[a]!),
  };
}

/**
 * Where each output voxel of a mirrored/transposed C-order [spatial..., channels] array comes
 * from: output voxel (i_0, ..., i_{d-1}) reads source element `base + Σ i_a · steps[a]` (channel 0;
 * channels follow contiguously). The one geometry that `applyAugment` and the fused batch
 * assembly (train/assemble.ts) share.
 */
export interface Remap {
  /** Output spatial shape. */
  readonly shape: readonly number[];
  readonly base: number;
  /** Source step per output axis, in elements (negative on mirrored axes). */
  readonly steps: readonly number[];
}

export function remapOf(
  shape: readonly number[],
  channels: number,
  plan: Pick<AugmentPlan, 'mirror' | 'transpose'> | null,
): Remap {
  const d = shape.length;
  const inStride = new Array<number>(d);
  let s = channels;
  for (let a = d - 1; a >= 0; a--) {
    inStride[a] = s;
    s *= shape[a]!;
  }
  if (plan === null) return { shape: [...shape], base: 0, steps: inStride };
  let base = 0;
  for (let a = 0; a < d; a++) if (plan.mirror[a]) base += (shape[a]! - 1) * inStride[a]!;
  return {
    shape: plan.transpose.map((a) => shape[a]!),
    base,
    steps: plan.transpose.map((a) => (plan.mirror[a] ? -inStride[a]! : inStride[a]!)),
  };
}

/**
 * The inverse of a Remap: where each source voxel goes. Source voxel (j_0, ..., j_{d-1}) of a
 * C-order [spatial..., channels] array lands at output element `base + Σ j_a · steps[a]`
 * (channel 0; channels follow contiguously), for writing in the source's order.
 */
export interface Scatter {
  readonly base: number;
  /** Output step per source axis, in elements (negative on mirrored axes). */
  readonly steps: readonly number[];
}

export function scatterOf(
  shape: readonly number[],
  channels: number,
  plan: Pick<AugmentPlan, 'mirror' | 'transpose'> | null,
): Scatter {
  const d = shape.length;
  const transpose = plan?.transpose ?? shape.map((_, a) => a);
  const steps = new Array<number>(d);
  let base = 0;
  // Output axis i is source axis transpose[i]; its stride in the output, C order.
  for (let i = d - 1, stride = channels; i >= 0; i--) {
    const a = transpose[i]!;
    if (plan?.mirror[a]) {
      steps[a] = -stride;
      base += (shape[a]! - 1) * stride;
    } else {
      steps[a] = stride;
    }
    stride *= shape[a]!;
  }
  return { base, steps };
}

type Words = Uint8Array | Uint16Array | Uint32Array;

/** Mirror + transpose of a C-order [spatial..., channels] array into a new array of the same type. */
function remap<T extends LabelArray | Float32Array>(
  src: T,
  shape: readonly number[],
  channels: number,
  plan: AugmentPlan,
): T {
  const dst = new (src.constructor as new (n: number) => T)(src.length);
  if (src.length === 0) return dst;
  // Elements are moved as unsigned words (64-bit ids as two 32-bit words: no BigInt per voxel).
  const per = src.BYTES_PER_ELEMENT === 8 ? 2 : 1;
  const view = (a: T): Words | Float32Array =>
    a instanceof Float32Array
      ? a
      : a.BYTES_PER_ELEMENT === 1
        ? new Uint8Array(a.buffer, a.byteOffset, a.length)
        : a.BYTES_PER_ELEMENT === 2
          ? new Uint16Array(a.buffer, a.byteOffset, a.length)
          : new Uint32Array(a.buffer, a.byteOffset, a.length * per);
  remapInto(view(src), view(dst), remapOf(shape, channels * per, plan), channels * per);
  return dst;
}

/** Writes the remapped `src` into `dst` (C order over the output shape, `channels` per voxel). */
export function remapInto(src: Words | Float32Array, dst: Words | Float32Array, map: Remap, channels: number): void {
  const d = map.shape.length;
  const outShape = map.shape;
  const step = map.steps;
  const last = d - 1;
  const nx = outShape[last]!,
    stepX = step[last]!;
  const rowLen = nx * channels;
  const n = outShape.reduce((a, b) => a * b, 1) * channels;
  const contiguous = stepX === channels; // the last axis is neither transposed nor mirrored
  const counter = new Array<number>(d).fill(0);
  const out = dst as Uint32Array,
    from = src as Uint32Array;
  let p = map.base;
  for (let o = 0; o < n; o += rowLen) {
    if (contiguous) {
      for (let k = 0; k < rowLen; k++) out[o + k] = from[p + k]!;
    } else if (channels === 1) {
      let q = p;
      for (let x = 0; x < nx; x++, q += stepX) out[o + x] = from[q]!;
    } else {
      let q = p,
        w = o;
      for (let x = 0; x < nx; x++, q += stepX) for (let c = 0; c < channels; c++) out[w++] = from[q + c]!;
    }
    // Advance the odometer over the output axes before the last one.
    for (let i = last - 1; i >= 0; i--) {
      p += step[i]!;
      if (++counter[i]! < outShape[i]!) break;
      counter[i] = 0;
      p -= step[i]! * outShape[i]!;
    }
  }
}
