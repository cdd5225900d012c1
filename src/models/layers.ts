/**
 * Layers tfjs 4.22 lacks or runs slowly on wasm: it has no upSampling3d, cannot train
 * conv3dTranspose, only has cropping2D, and its wasm max pooling is slow. `UpSampling3D`
 * (nearest-neighbour repeat), `Cropping3D` (a slice) and `MaxPool3D` (max pooling, window =
 * stride) fill the gaps; up-sampling and pooling run on tfjs-zarr's kernels on wasm
 * (src/kernels/ops.ts) and on tfjs's ops elsewhere. All are registered with
 * `tf.serialization.registerClass` when this module is imported (UpSampling3D and Cropping3D
 * under Keras' own class names and config keys), so `tf.loadLayersModel` reads saved models back.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import { maxPool3dOp, type Triple, upSample3dOp } from '../kernels/ops.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Shape = (number | null)[];

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(inputs)) {
    if (inputs.length !== 1) throw new OptionsError(`expected one input tensor, got ${inputs.length}`);
    return inputs[0]!;
  }
  return inputs;
}

function singleShape(shape: tf.Shape | tf.Shape[]): Shape {
  if (Array.isArray(shape[0])) return (shape as tf.Shape[])[0]! as Shape;
  return shape as Shape;
}

/** Repeats every voxel `size[i]` times along spatial axis i of a [b, z, y, x, c] tensor. */
export class UpSampling3D extends tf.layers.Layer {
  static className = 'UpSampling3D';
  readonly size: Triple;

  constructor(args: LayerArgs & { size?: number | number[] } = {}) {
    super(args);
    const s = args.size ?? 2;
    const size = typeof s === 'number' ? [s, s, s] : s;
    if (size.length !== 3 || size.some((v) => !Number.isInteger(v) || v < 1)) {
      throw new OptionsError(
        `UpSampling3D: size must be a positive integer or three of them, got ${JSON.stringify(s)}`,
      );
    }
    this.size = [size[0]!, size[1]!, size[2]!];
    this.inputSpec = [{ ndim: 5 }];
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = singleShape(inputShape);
    return [s[0]!, ...[1, 2, 3].map((a) => (s[a] == null ? null : s[a]! * this.size[a - 1]!)), s[4]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return upSample3dOp(single(inputs) as tf.Tensor5D, this.size);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), size: [...this.size], data_format: 'channels_last' };
  }
}

/** Removes `cropping[i] = [before, after]` voxels along spatial axis i of a [b, z, y, x, c] tensor. */
export class Cropping3D extends tf.layers.Layer {
  static className = 'Cropping3D';
  readonly cropping: [[number, number], [number, number], [number, number]];

  constructor(args: LayerArgs & { cropping?: number | number[] | number[][] } = {}) {
    super(args);
    const c = args.cropping ?? 1;
    let pairs: number[][];
    if (typeof c === 'number')
      pairs = [
        [c, c],
        [c, c],
        [c, c],
      ];
    else if (c.length === 3 && c.every((v) => typeof v === 'number')) pairs = (c as number[]).map((v) => [v, v]);
    else pairs = c as number[][];
    if (
      pairs.length !== 3 ||
      pairs.some((p) => !Array.isArray(p) || p.length !== 2 || p.some((v) => !Number.isInteger(v) || v < 0))
    ) {
      throw new OptionsError(
        `Cropping3D: cropping must be an integer, three integers or three [before, after] pairs, got ${JSON.stringify(c)}`,
      );
    }
    this.cropping = pairs.map((p) => [p[0]!, p[1]!]) as [[number, number], [number, number], [number, number]];
    this.inputSpec = [{ ndim: 5 }];
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = singleShape(inputShape);
    return [
      s[0]!,
      ...[1, 2, 3].map((a) => {
        const [b, e] = this.cropping[a - 1]!;
        return s[a] == null ? null : s[a]! - b - e;
      }),
      s[4]!,
    ];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const begin = [0, ...this.cropping.map((p) => p[0]), 0];
      const size = x.shape.map((d, i) =>
        i === 0 || i === 4 ? -1 : d - this.cropping[i - 1]![0] - this.cropping[i - 1]![1],
      );
      if (size.some((d) => d !== -1 && d <= 0)) {
        throw new OptionsError(
          `Cropping3D: cropping ${JSON.stringify(this.cropping)} removes all of [${x.shape.join(', ')}]`,
        );
      }
      return tf.slice(x, begin, size);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      cropping: this.cropping.map((p) => [...p]),
      data_format: 'channels_last',
    };
  }
}

/**
 * Max pooling over windows of `poolSize` voxels per spatial axis [z, y, x], moved by the same
 * stride ('valid': trailing voxels that fill no window are dropped), like
 * `tf.layers.maxPooling3d({ poolSize, strides: poolSize })`.
 */
export class MaxPool3D extends tf.layers.Layer {
  static className = 'MaxPool3D';
  readonly poolSize: Triple;

  constructor(args: LayerArgs & { poolSize?: number | readonly number[] } = {}) {
    super(args);
    const s = args.poolSize ?? 2;
    const size = typeof s === 'number' ? [s, s, s] : [...s];
    if (size.length !== 3 || size.some((v) => !Number.isInteger(v) || v < 1)) {
      throw new OptionsError(
        `MaxPool3D: poolSize must be a positive integer or three of them, got ${JSON.stringify(s)}`,
      );
    }
    this.poolSize = [size[0]!, size[1]!, size[2]!];
    this.inputSpec = [{ ndim: 5 }];
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = singleShape(inputShape);
    return [s[0]!, ...[1, 2, 3].map((a) => (s[a] == null ? null : Math.floor(s[a]! / this.poolSize[a - 1]!))), s[4]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return maxPool3dOp(single(inputs) as tf.Tensor5D, this.poolSize);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), poolSize: [...this.poolSize] };
  }
}

tf.serialization.registerClass(UpSampling3D);
tf.serialization.registerClass(Cropping3D);
tf.serialization.registerClass(MaxPool3D);
