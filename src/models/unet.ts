/**
 * A small 3D U-Net for tf.layers, channels-last ([b, z, y, x, c]). Up-sampling and cropping are
 * the custom layers of `layers.ts` (registered for loading checkpoints when imported);
 * convolutions are `PatchConv3D` (`conv3d.ts`): fast and correct on the wasm backend.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import { PatchConv3D } from './conv3d.js';
import { Cropping3D, MaxPool3D, UpSampling3D } from './layers.js';

export type Padding = 'same' | 'valid';
export type FinalActivation = 'sigmoid' | 'softmax' | 'linear';

export interface UNetOptions {
  /** [z, y, x, c] of one sample. */
  inputShape: [number, number, number, number];
  outputChannels: number;
  /** Filters of the first level; doubled at each downsampling. Default 8. */
  baseFilters?: number;
  /** Number of 2× downsamplings. Default 2. */
  depth?: number;
  /** 'same' keeps the spatial shape; 'valid' shrinks it (`modelOutputShape(model)` gives the result). Default 'same'. */
  padding?: Padding;
  /** Default 'sigmoid'. */
  finalActivation?: FinalActivation;
  /** Convolutions per block. Default 2. */
  convsPerBlock?: number;
  /** Model name. Default 'unet3d'. */
  name?: string;
  /** Seed for the initial weights (each layer gets seed + its index); random when absent. */
  seed?: number;
  /**
   * Output voxels per input voxel per axis [z, y, x] (DaCapo's CNNectome U-Net `upsample_factors`):
   * the output is upsampled (nearest) and refined by one more block of convolutions, so its voxel
   * size is the input's / factor — e.g. [2, 2, 2] for raw at 4 nm and labels at 2 nm. Default [1, 1, 1].
   */
  upsampleFactors?: readonly number[];
  /**
   * Input voxels per output voxel per axis (labels coarser than raw): the output is max-pooled by
   * these factors before the final 1×1×1 convolution. Default [1, 1, 1]. Not with upsampleFactors.
   */
  downsampleFactors?: readonly number[];
}

/** Geometry options that decide the output size. */
export interface UNetSizeOptions {
  depth?: number;
  padding?: Padding;
  convsPerBlock?: number;
  /** Output voxels per input voxel along this axis (see UNetOptions.upsampleFactors). */
  upsample?: number;
  /** Input voxels per output voxel along this axis (see UNetOptions.downsampleFactors). */
  downsample?: number;
}

/**
 * Spatial output size of `unet3d` along one axis for an input of `size` voxels, or null when
 * that input size does not fit (a pooled size that is odd or not positive).
 */
export function unetOutputSize(size: number, options: UNetSizeOptions = {}): number | null {
  const depth = options.depth ?? 2;
  const convs = options.convsPerBlock ?? 2;
  const shrink = options.padding === 'valid' ? 2 * convs : 0;
  let s = size;
  for (let l = 0; l < depth; l++) {
    s -= shrink;
    if (s <= 0 || s % 2 !== 0) return null;
    s /= 2;
  }
  s -= shrink;
  if (s <= 0) return null;
  for (let l = 0; l < depth; l++) {
    s = s * 2 - shrink;
    if (s <= 0) return null;
  }
  const up = options.upsample ?? 1;
  if (up > 1) {
    s = s * up - shrink;
    if (s <= 0) return null;
  }
  const down = options.downsample ?? 1;
  if (down > 1) {
    if (s % down !== 0) return null;
    s /= down;
  }
  return s;
}

/** The smallest input size ≥ `minSize` that `unet3d` accepts along one axis. */
export function unetValidInputSize(minSize: number, options: UNetSizeOptions = {}): number {
  for (let s = Math.max(1, Math.ceil(minSize)); ; s++) {
    if (unetOutputSize(s, options) != null) return s;
  }
}

/** A small 3D U-Net: conv3d(3³)+relu blocks, max-pool 2×, nearest upsampling 2×, concatenated skips. */
export function unet3d(options: UNetOptions): tf.LayersModel {
  const {
    inputShape,
    outputChannels,
    baseFilters = 8,
    depth = 2,
    padding = 'same',
    finalActivation = 'sigmoid',
    convsPerBlock = 2,
    name = 'unet3d',
    seed,
  } = options;
  const factors = (what: string, f: readonly number[] | undefined): [number, number, number] => {
    const v = f ?? [1, 1, 1];
    if (!Array.isArray(v) || v.length !== 3 || v.some((x) => !Number.isInteger(x) || x < 1)) {
      throw new OptionsError(`unet3d: ${what} must be 3 positive integers [z, y, x], got ${JSON.stringify(f)}`);
    }
    return [v[0]!, v[1]!, v[2]!];
  };
  const upsample = factors('upsampleFactors', options.upsampleFactors);
  const downsample = factors('downsampleFactors', options.downsampleFactors);
  if (upsample.some((u) => u > 1) && downsample.some((d) => d > 1)) {
    throw new OptionsError('unet3d: give upsampleFactors or downsampleFactors, not both');
  }
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
  if (!Number.isInteger(depth) || depth < 0)
    throw new OptionsError(`unet3d: depth must be an integer ≥ 0, got ${depth}`);
  if (!Number.isInteger(baseFilters) || baseFilters < 1) {
    throw new OptionsError(`unet3d: baseFilters must be a positive integer, got ${baseFilters}`);
  }
  if (padding !== 'same' && padding !== 'valid')
    throw new OptionsError(`unet3d: padding must be 'same' or 'valid', got ${String(padding)}`);
  if (!['sigmoid', 'softmax', 'linear'].includes(finalActivation)) {
    throw new OptionsError(
      `unet3d: finalActivation must be 'sigmoid', 'softmax' or 'linear', got ${String(finalActivation)}`,
    );
  }
  for (let a = 0; a < 3; a++) {
    const size = { depth, padding, convsPerBlock, upsample: upsample[a], downsample: downsample[a] };
    if (unetOutputSize(inputShape[a]!, size) == null) {
      const ok = unetValidInputSize(inputShape[a]!, size);
      throw new OptionsError(
        `unet3d: input size ${inputShape[a]} along axis ${'zyx'[a]} does not fit depth ${depth} with ` +
          `'${padding}' padding (every pooled size must be even${downsample[a]! > 1 ? `, the output a multiple of ${downsample[a]}` : ''}); ` +
          `the next size that fits is ${ok}`,
      );
    }
  }

  const input = tf.input({ shape: inputShape, name: `${name}_input` });
  const block = (x: tf.SymbolicTensor | tf.SymbolicTensor[], filters: number, tag: string): tf.SymbolicTensor => {
    let y = x;
    for (let i = 0; i < convsPerBlock; i++) {
      y = new PatchConv3D({
        filters,
        kernelSize: 3,
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
    x = block(x, baseFilters * 2 ** l, `down${l}`);
    skips.push(x);
    x = new MaxPool3D({ poolSize: 2, name: `${name}_pool${l}` }).apply(x) as tf.SymbolicTensor;
  }
  x = block(x, baseFilters * 2 ** depth, 'bottom');
  for (let l = depth - 1; l >= 0; l--) {
    x = new UpSampling3D({ size: 2, name: `${name}_up${l}` }).apply(x) as tf.SymbolicTensor;
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
    x = block([skip, x], baseFilters * 2 ** l, `up${l}`);
  }
  if (upsample.some((u) => u > 1)) {
    // DaCapo's upsample_factors: to the finer output voxel size, then convolutions there.
    x = new UpSampling3D({ size: upsample, name: `${name}_upsample` }).apply(x) as tf.SymbolicTensor;
    x = block(x, baseFilters, 'upsampled');
  }
  if (downsample.some((d) => d > 1)) {
    x = new MaxPool3D({ poolSize: downsample, name: `${name}_downsample` }).apply(x) as tf.SymbolicTensor;
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
