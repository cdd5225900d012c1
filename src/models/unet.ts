/**
 * A 3D U-Net for tf.layers, channels-last ([b, z, y, x, c]), isotropic or anisotropic: per-level
 * pooling factors and kernel sizes as DaCapo's CNNectome U-Net (`downsample_factors`,
 * `kernel_size_down/up`) and nnU-Net plan them for serial-section data. Up-sampling and cropping
 * are the custom layers of `layers.ts` (registered for loading checkpoints when imported);
 * convolutions are `PatchConv3D` (`conv3d.ts`): fast and correct on the wasm backend.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import { PatchConv3D } from './conv3d.js';
import { Cropping3D, MaxPool3D, UpSampling3D } from './layers.js';

export type Padding = 'same' | 'valid';
export type FinalActivation = 'sigmoid' | 'softmax' | 'linear';
/** Per axis [z, y, x]. */
export type Triple = [number, number, number];

/** Geometry options: what decides the shapes (those of unet3d). */
export interface UNetSizeOptions {
  /**
   * Pooling factors [z, y, x] of each level, from the finest down (DaCapo's CNNectome U-Net
   * `downsample_factors`), e.g. `[[1, 2, 2], [1, 2, 2], [2, 2, 2]]` for serial sections 8–12×
   * coarser in z. Its length is the depth. Default: `depth` × [2, 2, 2].
   */
  downsampleFactors?: readonly (readonly number[])[] | readonly number[];
  /** Number of downsamplings (default: the length of downsampleFactors, else 2). */
  depth?: number;
  /**
   * Kernel size of the convolutions of each level, from the finest to the bottom (depth + 1
   * entries; the up path of a level uses its level's): an odd number (cubic) or [kz, ky, kx],
   * e.g. `[[1, 3, 3], [1, 3, 3], 3]` for in-plane convolutions where sections are thick. Default 3.
   */
  kernelSizes?: readonly (number | readonly number[])[];
  /** 'same' keeps the spatial shape; 'valid' shrinks it (`modelOutputShape(model)` gives the result). Default 'same'. */
  padding?: Padding;
  /** Convolutions per block. Default 2. */
  convsPerBlock?: number;
  /**
   * Output voxels per input voxel per axis [z, y, x], for labels finer than raw (DaCapo's
   * `upsample_factors`): the output is upsampled (nearest) and refined by one more block of
   * convolutions, so its voxel size is the input's / factor — e.g. [2, 2, 2] for raw at 4 nm and
   * labels at 2 nm. Default [1, 1, 1].
   */
  outputUpsample?: readonly number[];
  /**
   * Input voxels per output voxel per axis, for labels coarser than raw: the output is
   * max-pooled by these factors before the final 1×1×1 convolution. Default [1, 1, 1]. Not with
   * outputUpsample.
   */
  outputDownsample?: readonly number[];
  /** @deprecated the name of `outputUpsample` before per-level factors existed. */
  upsampleFactors?: readonly number[];
}

export interface UNetOptions extends UNetSizeOptions {
  /** [z, y, x, c] of one sample. */
  inputShape: [number, number, number, number];
  outputChannels: number;
  /** Filters of the first level. Default 8. */
  baseFilters?: number;
  /** Filters grow by this factor at each level (DaCapo's `fmap_inc_factor`): level l has baseFilters · fmapIncFactor^l. Default 2. */
  fmapIncFactor?: number;
  /** Default 'sigmoid'. */
  finalActivation?: FinalActivation;
  /** Model name. Default 'unet3d'. */
  name?: string;
  /** Seed for the initial weights (each layer gets seed + its index); random when absent. */
  seed?: number;
}

/** The geometry of a U-Net, every option checked and filled in. */
export interface UNetGeometry {
  downsampleFactors: Triple[];
  kernelSizes: Triple[];
  padding: Padding;
  convsPerBlock: number;
  outputUpsample: Triple;
  outputDownsample: Triple;
}

const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number');

function triple(what: string, v: unknown, check: (x: number) => boolean, rule: string): Triple {
  if (!isNumbers(v) || v.length !== 3 || !v.every(check)) {
    throw new OptionsError(`unet3d: ${what} must be ${rule} [z, y, x], got ${JSON.stringify(v)}`);
  }
  return [v[0]!, v[1]!, v[2]!];
}

const positive = (x: number) => Number.isInteger(x) && x >= 1;
const odd = (x: number) => positive(x) && x % 2 === 1;

/**
 * The checked geometry of `options`. The names of the first release still work, with a
 * deprecation message through `warn`: `upsampleFactors` is `outputUpsample`, and
 * `downsampleFactors` given as one factor per axis ([1, 2, 2]) is `outputDownsample`.
 */
export function unetGeometry(options: UNetSizeOptions, warn: (m: string) => void = console.warn): UNetGeometry {
  let { downsampleFactors, outputUpsample, outputDownsample } = options;
  if (options.upsampleFactors !== undefined) {
    if (outputUpsample !== undefined) throw new OptionsError('unet3d: give outputUpsample, not also upsampleFactors');
    warn('unet3d: upsampleFactors is deprecated; it is now called outputUpsample');
    outputUpsample = options.upsampleFactors;
  }
  if (isNumbers(downsampleFactors) && downsampleFactors.length > 0) {
    if (downsampleFactors.length !== 3 || outputDownsample !== undefined) {
      throw new OptionsError(
        `unet3d: downsampleFactors lists each level's pooling factors [z, y, x], e.g. [[1, 2, 2], [2, 2, 2]]; got ${JSON.stringify(downsampleFactors)}`,
      );
    }
    warn(
      `unet3d: downsampleFactors [${downsampleFactors.join(', ')}] (one factor per axis) is deprecated: the ` +
        "output's downsampling is now outputDownsample; downsampleFactors lists each level's pooling factors",
    );
    outputDownsample = downsampleFactors;
    downsampleFactors = undefined;
  }
  const givenDepth = options.depth;
  if (givenDepth !== undefined && (!Number.isInteger(givenDepth) || givenDepth < 0)) {
    throw new OptionsError(`unet3d: depth must be an integer ≥ 0, got ${givenDepth}`);
  }
  const levels = downsampleFactors as readonly (readonly number[])[] | undefined;
  if (levels !== undefined && !Array.isArray(levels)) {
    throw new OptionsError(`unet3d: downsampleFactors must be a list of [z, y, x], got ${JSON.stringify(levels)}`);
  }
  if (levels !== undefined && givenDepth !== undefined && levels.length !== givenDepth) {
    throw new OptionsError(
      `unet3d: depth must match the levels of downsampleFactors: depth ${givenDepth}, ${levels.length} level(s)`,
    );
  }
  const depth = levels?.length ?? givenDepth ?? 2;
  const factors = (levels ?? Array.from({ length: depth }, () => [2, 2, 2])).map((f, l) =>
    triple(`downsampleFactors[${l}]`, f, positive, '3 positive integers'),
  );
  const kernels = options.kernelSizes ?? Array.from({ length: depth + 1 }, () => 3);
  if (!Array.isArray(kernels) || kernels.length !== depth + 1) {
    throw new OptionsError(
      `unet3d: kernelSizes needs one kernel size per level, ${depth + 1} for depth ${depth} (the bottom included), got ${JSON.stringify(kernels)}`,
    );
  }
  const kernelSizes = kernels.map((k, l) =>
    triple(`kernelSizes[${l}]`, typeof k === 'number' ? [k, k, k] : k, odd, 'an odd number or 3 odd numbers'),
  );
  const padding = options.padding ?? 'same';
  if (padding !== 'same' && padding !== 'valid')
    throw new OptionsError(`unet3d: padding must be 'same' or 'valid', got ${String(padding)}`);
  const convsPerBlock = options.convsPerBlock ?? 2;
  if (!positive(convsPerBlock))
    throw new OptionsError(`unet3d: convsPerBlock must be a positive integer, got ${convsPerBlock}`);
  const up = triple('outputUpsample', outputUpsample ?? [1, 1, 1], positive, '3 positive integers');
  const down = triple('outputDownsample', outputDownsample ?? [1, 1, 1], positive, '3 positive integers');
  if (up.some((u) => u > 1) && down.some((d) => d > 1)) {
    throw new OptionsError('unet3d: give outputUpsample or outputDownsample, not both');
  }
  return {
    downsampleFactors: factors,
    kernelSizes,
    padding,
    convsPerBlock,
    outputUpsample: up,
    outputDownsample: down,
  };
}

/** Output size along `axis` for an input of `size` voxels, or null when that input does not fit. */
function axisOutputSize(size: number, g: UNetGeometry, axis: number): number | null {
  const shrink = (level: number) => (g.padding === 'valid' ? g.convsPerBlock * (g.kernelSizes[level]![axis]! - 1) : 0);
  const depth = g.downsampleFactors.length;
  let s = size;
  for (let l = 0; l < depth; l++) {
    const f = g.downsampleFactors[l]![axis]!;
    s -= shrink(l);
    if (s <= 0 || s % f !== 0) return null;
    s /= f;
  }
  s -= shrink(depth);
  if (s <= 0) return null;
  for (let l = depth - 1; l >= 0; l--) {
    s = s * g.downsampleFactors[l]![axis]! - shrink(l);
    if (s <= 0) return null;
  }
  const up = g.outputUpsample[axis]!;
  if (up > 1) {
    s = s * up - shrink(0);
    if (s <= 0) return null;
  }
  const down = g.outputDownsample[axis]!;
  if (s % down !== 0) return null;
  return s / down;
}

/**
 * Spatial output shape of `unet3d` for an input of `input` voxels [z, y, x]; per axis null when
 * that input size does not fit (a size to pool that is not a multiple of its factor, or not positive).
 */
export function unetOutputShape(input: readonly number[], options: UNetSizeOptions = {}): (number | null)[] {
  const g = unetGeometry(options, () => undefined);
  return input.map((s, a) => axisOutputSize(s, g, a));
}

/** The smallest input shape ≥ `minShape` (per axis) that `unet3d` accepts. */
export function unetValidInputShape(minShape: readonly number[], options: UNetSizeOptions = {}): number[] {
  const g = unetGeometry(options, () => undefined);
  return minShape.map((m, a) => {
    for (let s = Math.max(1, Math.ceil(m)); ; s++) if (axisOutputSize(s, g, a) != null) return s;
  });
}

/**
 * A 3D U-Net: per level a block of conv (kernelSizes) + relu, max-pooling by that level's
 * downsampleFactors, nearest upsampling back by the same factors, concatenated skips.
 * (long: the option checks and the layer graph read top to bottom like the architecture.)
 */
export function unet3d(options: UNetOptions): tf.LayersModel {
  const {
    inputShape,
    outputChannels,
    baseFilters = 8,
    fmapIncFactor = 2,
    finalActivation = 'sigmoid',
    name = 'unet3d',
    seed,
  } = options;
  const g = unetGeometry(options);
  const { padding, convsPerBlock } = g;
  const depth = g.downsampleFactors.length;
  let layerIndex = 0;
  const nextSeed = () => (seed === undefined ? undefined : seed + layerIndex++);
  if (inputShape.length !== 4 || inputShape.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new OptionsError(
      `unet3d: inputShape must be [z, y, x, c] positive integers, got ${JSON.stringify(inputShape)}`,
    );
  }
  if (!Number.isInteger(outputChannels) || outputChannels < 1) {
    throw new OptionsError(`unet3d: outputChannels must be a positive integer, got ${outputChannels}`);
  }
  if (!Number.isInteger(baseFilters) || baseFilters < 1) {
    throw new OptionsError(`unet3d: baseFilters must be a positive integer, got ${baseFilters}`);
  }
  if (!(typeof fmapIncFactor === 'number' && fmapIncFactor >= 1)) {
    throw new OptionsError(`unet3d: fmapIncFactor must be a number ≥ 1, got ${fmapIncFactor}`);
  }
  if (!['sigmoid', 'softmax', 'linear'].includes(finalActivation)) {
    throw new OptionsError(
      `unet3d: finalActivation must be 'sigmoid', 'softmax' or 'linear', got ${String(finalActivation)}`,
    );
  }
  for (let a = 0; a < 3; a++) {
    if (axisOutputSize(inputShape[a]!, g, a) == null) {
      let ok = inputShape[a]!;
      while (axisOutputSize(ok, g, a) == null) ok++;
      const product = g.downsampleFactors.reduce((p, f) => p * f[a]!, 1);
      const down = g.outputDownsample[a]!;
      throw new OptionsError(
        `unet3d: input size ${inputShape[a]} along axis ${'zyx'[a]} does not fit ${depth} levels pooling ` +
          `${g.downsampleFactors.map((f) => f[a]).join('×') || 'nothing'} along ${'zyx'[a]} with '${padding}' padding ` +
          `(each size to pool must be a multiple of its factor${padding === 'same' ? `: a multiple of ${product}` : ''}` +
          `${down > 1 ? `, the output a multiple of ${down}` : ''}); the next size that fits is ${ok}`,
      );
    }
  }
  const filtersAt = (level: number) => Math.round(baseFilters * fmapIncFactor ** level);

  const input = tf.input({ shape: inputShape, name: `${name}_input` });
  const block = (
    x: tf.SymbolicTensor | tf.SymbolicTensor[],
    filters: number,
    kernelSize: Triple,
    tag: string,
  ): tf.SymbolicTensor => {
    let y = x;
    for (let i = 0; i < convsPerBlock; i++) {
      y = new PatchConv3D({
        filters,
        // A cubic kernel stays a number in the saved config (as every checkpoint before had it).
        kernelSize: kernelSize.every((k) => k === kernelSize[0]) ? kernelSize[0] : kernelSize,
        padding,
        activation: 'relu',
        kernelInitializer: 'heNormal',
        seed: nextSeed(),
        name: `${name}_${tag}_conv${i}`,
      }).apply(y) as tf.SymbolicTensor;
    }
    return y as tf.SymbolicTensor;
  };

  const skips: tf.SymbolicTensor[] = [];
  let x: tf.SymbolicTensor = input;
  for (let l = 0; l < depth; l++) {
    x = block(x, filtersAt(l), g.kernelSizes[l]!, `down${l}`);
    skips.push(x);
    x = new MaxPool3D({ poolSize: pool(g.downsampleFactors[l]!), name: `${name}_pool${l}` }).apply(
      x,
    ) as tf.SymbolicTensor;
  }
  x = block(x, filtersAt(depth), g.kernelSizes[depth]!, 'bottom');
  for (let l = depth - 1; l >= 0; l--) {
    x = new UpSampling3D({ size: pool(g.downsampleFactors[l]!), name: `${name}_up${l}` }).apply(x) as tf.SymbolicTensor;
    let skip = skips[l]!;
    const diff = [1, 2, 3].map((a) => skip.shape[a]! - x.shape[a]!);
    if (diff.some((d) => d < 0)) {
      throw new Error(`unet3d: internal shape mismatch at level ${l}: skip ${skip.shape} vs up ${x.shape}`);
    }
    if (diff.some((d) => d > 0)) {
      skip = new Cropping3D({
        cropping: diff.map((d) => [Math.floor(d / 2), d - Math.floor(d / 2)]),
        name: `${name}_crop${l}`,
      }).apply(skip) as tf.SymbolicTensor;
    }
    // conv(concat(skip, up)) as one layer over both inputs (see PatchConv3D).
    x = block([skip, x], filtersAt(l), g.kernelSizes[l]!, `up${l}`);
  }
  if (g.outputUpsample.some((u) => u > 1)) {
    // DaCapo's upsample_factors: to the finer output voxel size, then convolutions there.
    x = new UpSampling3D({ size: g.outputUpsample, name: `${name}_upsample` }).apply(x) as tf.SymbolicTensor;
    x = block(x, filtersAt(0), g.kernelSizes[0]!, 'upsampled');
  }
  if (g.outputDownsample.some((d) => d > 1)) {
    x = new MaxPool3D({ poolSize: g.outputDownsample, name: `${name}_downsample` }).apply(x) as tf.SymbolicTensor;
  }
  const output = new PatchConv3D({
    filters: outputChannels,
    kernelSize: 1,
    activation: finalActivation,
    seed: nextSeed(),
    name: `${name}_output`,
  }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name });
}

/** A pooling / upsampling size: one number when cubic (as the first release saved it), else per axis. */
function pool(f: Triple): number | Triple {
  return f.every((v) => v === f[0]) ? f[0] : f;
}

/** Output shape of one sample ([z, y, x, c], batch axis dropped) of a single-output model. */
export function modelOutputShape(model: tf.LayersModel): number[] {
  return sampleShape(model, 'output', model.outputs[0]);
}

/** Input shape of one sample ([z, y, x, c]) of a single-input model. */
export function modelInputShape(model: tf.LayersModel): number[] {
  return sampleShape(model, 'input', model.inputs[0]);
}

function sampleShape(model: tf.LayersModel, what: 'input' | 'output', tensor: tf.SymbolicTensor | undefined): number[] {
  if (tensor == null) throw new OptionsError(`model ${model.name} has no ${what}`);
  const shape = tensor.shape.slice(1);
  if (shape.some((d) => d == null)) {
    throw new OptionsError(`model ${model.name} has an undefined ${what} size: [${tensor.shape.join(', ')}]`);
  }
  return shape as number[];
}
