/**
 * A small 3D U-Net for tf.layers, channels-last ([b, z, y, x, c]). Up-sampling and cropping are
 * the custom layers of `layers.ts` (registered for loading checkpoints when imported);
 * convolutions are `PatchConv3D` (`conv3d.ts`): fast and correct on the wasm backend.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import { PatchConv3D } from './conv3d.js';
import { Cropping3D, UpSampling3D } from './layers.js';

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
}

/**
 * Spatial output size of `unet3d` along one axis for an input of `size` voxels, or null when
 * that input size does not fit (a pooled size that is odd or not positive).
 */
export function unetOutputSize(
  size: number,
  options: { depth?: number; padding?: Padding; convsPerBlock?: number } = {},
): number | null {
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
  return s;
}

/** The smallest input size ≥ `minSize` that `unet3d` accepts along one axis. */
export function unetValidInputSize(
  minSize: number,
  options: { depth?: number; padding?: Padding; convsPerBlock?: number } = {},
): number {
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
    if (unetOutputSize(inputShape[a]!, { depth, padding, convsPerBlock }) == null) {
      const ok = unetValidInputSize(inputShape[a]!, { depth, padding, convsPerBlock });
      throw new OptionsError(
        `unet3d: input size ${inputShape[a]} along axis ${'zyx'[a]} does not fit depth ${depth} with ` +
          `'${padding}' padding (every pooled size must be even); the next size that fits is ${ok}`,
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
    x = tf.layers.maxPooling3d({ poolSize: 2, strides: 2, name: `${name}_pool${l}` }).apply(x) as tf.SymbolicTensor;
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
