/**
 * Layers tfjs 4.22 lacks: it has no upSampling3d, cannot train conv3dTranspose, and only has
 * cropping2D. `UpSampling3D` (nearest-neighbour repeat from native resizes, whose gradients exist
 * on every backend) and `Cropping3D` (a slice) fill the gaps. Both are registered with
 * `tf.serialization.registerClass` when this module is imported, under Keras' own class names and
 * config keys, so `tf.loadLayersModel` reads saved models back.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';

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

/** Nearest-neighbour repeats of rank-4 views: y and x as an image per section, then z as an image of height z and width 1. */
function repeatVoxels(x: tf.Tensor5D, [sz, sy, sx]: readonly [number, number, number]): tf.Tensor5D {
  const [b, z, y, w, c] = x.shape;
  let t: tf.Tensor = x;
  if (sy !== 1 || sx !== 1) {
    t = tf.image.resizeNearestNeighbor(tf.reshape(t, [b * z, y, w, c]) as tf.Tensor4D, [y * sy, w * sx]);
  }
  if (sz !== 1) {
    t = tf.image.resizeNearestNeighbor(tf.reshape(t, [b, z, 1, y * sy * w * sx * c]) as tf.Tensor4D, [z * sz, 1]);
  }
  return tf.reshape(t, [b, z * sz, y * sy, w * sx, c]);
}

/**
 * `repeatVoxels` with its gradient written out: each input voxel gets the sum of dy over its block
 * (an average pool times the block's volume). tfjs-backend-cpu's ResizeNearestNeighborGrad reads
 * dy with the input's batch stride, wrong for more than one image; the expand + concat version's
 * rank-6 split gradient is very slow on wasm.
 */
function upsample(x: tf.Tensor5D, size: readonly [number, number, number]): tf.Tensor5D {
  const volume = size[0] * size[1] * size[2];
  if (volume === 1) return x;
  const op = tf.customGrad((...args: unknown[]) => {
    const [input] = args as [tf.Tensor5D, tf.GradSaveFunc];
    return {
      value: repeatVoxels(input, size),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) =>
        tf.mul(tf.avgPool3d((Array.isArray(dy) ? dy[0]! : dy) as tf.Tensor5D, [...size], [...size], 'valid'), volume),
    };
  });
  return op(x) as tf.Tensor5D;
}

/** Repeats every voxel `size[i]` times along spatial axis i of a [b, z, y, x, c] tensor. */
export class UpSampling3D extends tf.layers.Layer {
  static className = 'UpSampling3D';
  readonly size: [number, number, number];

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
    return tf.tidy(() => upsample(single(inputs) as tf.Tensor5D, this.size));
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

tf.serialization.registerClass(UpSampling3D);
tf.serialization.registerClass(Cropping3D);
