/**
 * A 3D convolution layer that trains fast, and right, on the wasm backend.
 *
 * tfjs 4.22's wasm backend runs conv3d and its gradients as naive loops (about 0.4 GFLOP/s here),
 * and its input-gradient kernel (Conv3DBackpropInputV2) returns wrong values, so a stack of
 * tf.layers.conv3d trains wrongly there. `PatchConv3D` computes the same convolution as
 * `tf.layers.conv3d` (kernel [kz, ky, kx, in, out], 'same'/'valid' padding, cross-correlation,
 * stride 1) from 2D convolutions of z-shifted sections, which wasm runs through XNNPACK:
 * forward and input gradient as sums of conv2d, kernel gradient as one conv2d per kernel depth.
 * On the tensorflow and cpu backends it calls tf.conv3d. A U-Net step is about 10× faster on
 * wasm than with tf.layers.conv3d (bench numbers in the README).
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import { checkBufferLimit } from './buffer-limit.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Activation = 'relu' | 'linear' | 'sigmoid' | 'softmax';

/** A kernel size: one odd number for a cubic kernel, or one per axis [kz, ky, kx] (e.g. in-plane [1, 3, 3]). */
export type KernelSize = number | readonly [number, number, number];

export interface PatchConv3DArgs extends LayerArgs {
  filters: number;
  kernelSize?: KernelSize;
  padding?: 'same' | 'valid';
  activation?: Activation;
  useBias?: boolean;
  kernelInitializer?: 'heNormal' | 'glorotUniform';
  /** Seed of the kernel initializer (reproducible initial weights). */
  seed?: number;
}

/** Zero padding of `r[a]` voxels on both sides of spatial axis a of [b, z, y, x, c]. */
function padSpatial(x: tf.Tensor5D, r: readonly number[]): tf.Tensor5D {
  if (r.every((v) => v === 0)) return x;
  return tf.pad(x, [[0, 0], ...r.map((v): [number, number] => [v, v]), [0, 0]]);
}

/** Per-axis kernel extents of a [kz, ky, kx, in, out] kernel. */
function extents(kernel: tf.Tensor5D): [number, number, number] {
  return [kernel.shape[0], kernel.shape[1], kernel.shape[2]];
}

/**
 * Forward only, as a sum over kernel depth of 2D convolutions of z-shifted sections (conv2d runs
 * through XNNPACK on wasm, about 50× faster than its conv3d kernel).
 */
function patchConv3dForward(x: tf.Tensor5D, kernel: tf.Tensor5D, padding: 'same' | 'valid'): tf.Tensor5D {
  const [kz, ky, kx, cin, cout] = kernel.shape;
  const padded = padding === 'same' ? padSpatial(x, [(kz - 1) / 2, (ky - 1) / 2, (kx - 1) / 2]) : x;
  const [b, pz, py, px] = padded.shape;
  const [oz, oy, ox] = [pz - kz + 1, py - ky + 1, px - kx + 1];
  if (oz < 1 || oy < 1 || ox < 1) {
    throw new OptionsError(`conv3d: input [${x.shape.join(', ')}] is smaller than the ${kz}×${ky}×${kx} kernel`);
  }
  const flat = tf.reshape(padded, [b, pz, py * px * cin]);
  let sum: tf.Tensor4D | null = null;
  for (let dz = 0; dz < kz; dz++) {
    const sections = tf.reshape(tf.slice(flat, [0, dz, 0], [b, oz, py * px * cin]), [
      b * oz,
      py,
      px,
      cin,
    ]) as tf.Tensor4D;
    const w2 = tf.reshape(tf.slice(kernel, [dz, 0, 0, 0, 0], [1, ky, kx, cin, cout]), [
      ky,
      kx,
      cin,
      cout,
    ]) as tf.Tensor4D;
    const y = tf.conv2d(sections, w2, 1, 'valid');
    sum = sum ? (tf.add(sum, y) as tf.Tensor4D) : y;
  }
  return tf.reshape(sum!, [b, oz, oy, ox, cout]);
}

/**
 * dL/dkernel of the convolution, [kz, ky, kx, in, out]: per kernel depth dz, the correlation of the
 * z-shifted input sections with dy, written as one conv2d in which the sections play the
 * channels and the input channels the batch (wasm has no Conv2DBackpropFilter kernel).
 */
function kernelGradient(
  x: tf.Tensor5D,
  dy: tf.Tensor5D,
  k: readonly [number, number, number],
  padding: 'same' | 'valid',
): tf.Tensor5D {
  const cin = x.shape[4];
  const cout = dy.shape[4];
  const radii = k.map((v) => (v - 1) / 2);
  const padded = padding === 'same' ? padSpatial(x, radii) : x;
  const [b, pz, py, px] = padded.shape;
  const [, oz, oy, ox] = dy.shape;
  const flat = tf.reshape(padded, [b, pz, py * px * cin]);
  // dy as a filter: [oy, ox, n, cout] with n = b·oz sections.
  const filter = tf.transpose(tf.reshape(dy, [b * oz, oy, ox, cout]), [1, 2, 0, 3]) as tf.Tensor4D;
  const perDepth: tf.Tensor[] = [];
  for (let dz = 0; dz < k[0]; dz++) {
    const sections = tf.reshape(tf.slice(flat, [0, dz, 0], [b, oz, py * px * cin]), [b * oz, py, px, cin]);
    const input = tf.transpose(sections, [3, 1, 2, 0]) as tf.Tensor4D; // [cin, py, px, n]
    const g = tf.conv2d(input, filter, 1, 'valid'); // [cin, ky, kx, cout]
    perDepth.push(tf.transpose(g, [1, 2, 0, 3])); // [ky, kx, cin, cout]
  }
  return tf.stack(perDepth) as tf.Tensor5D;
}

/**
 * conv3d (stride 1, odd kernel extents); `kernel` is [kz, ky, kx, in, out]. The input gradient is
 * the convolution of dy with the flipped kernel (the same fast forward); the kernel gradient is
 * `kernelGradient`.
 */
export function patchConv3d(x: tf.Tensor5D, kernel: tf.Tensor5D, padding: 'same' | 'valid'): tf.Tensor5D {
  const conv = tf.customGrad((...args: unknown[]) => {
    const [xi, w, save] = args as [tf.Tensor5D, tf.Tensor5D, tf.GradSaveFunc];
    const k = extents(w);
    const value = patchConv3dForward(xi, w, padding);
    // Keep the input, not the k³-times larger columns: wasm's heap stops at 4 GiB.
    save([xi, w]);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const g = (Array.isArray(dy) ? dy[0]! : dy) as tf.Tensor5D;
        const [xs, wk] = saved as [tf.Tensor5D, tf.Tensor5D];
        const dw = kernelGradient(xs, g, k, padding);
        const flipped = tf.transpose(tf.reverse(wk, [0, 1, 2]), [0, 1, 2, 4, 3]) as tf.Tensor5D;
        const fullPadding = k.map((v) => v - 1);
        const dx =
          padding === 'same'
            ? patchConv3dForward(g, flipped, 'same')
            : patchConv3dForward(padSpatial(g, fullPadding), flipped, 'valid');
        return [dx, dw];
      },
    };
  });
  return conv(x, kernel) as tf.Tensor5D;
}

/**
 * `y + bias` over the channel axis, added to a [voxels, channels] view: tfjs-backend-webgpu's
 * broadcasting add of a rank-1 tensor to a rank-5 one compiles to invalid WGSL (and yields zeros).
 */
function addBias(y: tf.Tensor, bias: tf.Tensor): tf.Tensor {
  return tf.reshape(tf.add(tf.reshape(y, [-1, bias.shape[0]!]), bias), y.shape);
}

export class PatchConv3D extends tf.layers.Layer {
  static className = 'PatchConv3D';
  readonly filters: number;
  /** As given: a number (cubic) or [kz, ky, kx]. */
  readonly kernelSize: KernelSize;
  readonly padding: 'same' | 'valid';
  readonly activation: Activation;
  readonly useBias: boolean;
  readonly kernelInitializer: 'heNormal' | 'glorotUniform';
  readonly seed: number | undefined;
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;
  private inputChannels: number[] = [];

  constructor(args: PatchConv3DArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize ?? 3;
    this.padding = args.padding ?? 'same';
    this.activation = args.activation ?? 'linear';
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = args.kernelInitializer ?? 'glorotUniform';
    this.seed = args.seed;
    if (!Number.isInteger(this.filters) || this.filters < 1)
      throw new OptionsError(`PatchConv3D: filters must be a positive integer, got ${this.filters}`);
    const k = this.kernelSize;
    const ks = typeof k === 'number' ? [k] : Array.isArray(k) && k.length === 3 ? k : [Number.NaN];
    if (ks.some((v) => !Number.isInteger(v) || v < 1 || v % 2 === 0)) {
      throw new OptionsError(
        `PatchConv3D: kernelSize must be a positive odd integer or three of them [kz, ky, kx], got ${JSON.stringify(k)}`,
      );
    }
  }

  /** The kernel's extent per spatial axis [kz, ky, kx]. */
  get kernelShape(): [number, number, number] {
    const k = this.kernelSize;
    return typeof k === 'number' ? [k, k, k] : [k[0], k[1], k[2]];
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shapes = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as (number | null)[][];
    if (shapes.some((s) => s[4] == null))
      throw new OptionsError('PatchConv3D: the channel axis of the input must be known');
    this.inputChannels = shapes.map((s) => s[4]!);
    const cin = this.inputChannels.reduce((a, b) => a + b, 0);
    const seed = this.seed;
    const init =
      this.kernelInitializer === 'heNormal'
        ? tf.initializers.heNormal({ seed })
        : tf.initializers.glorotUniform({ seed });
    this.kernel = this.addWeight('kernel', [...this.kernelShape, cin, this.filters], 'float32', init);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    const all = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as (number | null)[][];
    if (all.some((t) => [1, 2, 3].some((a) => t[a] !== s[a]))) {
      throw new OptionsError(`PatchConv3D: inputs must share their spatial shape, got ${JSON.stringify(all)}`);
    }
    const k = this.kernelShape;
    const shrink = (a: number) => (this.padding === 'valid' ? k[a - 1]! - 1 : 0);
    return [s[0]!, ...[1, 2, 3].map((a) => (s[a] == null ? null : s[a]! - shrink(a))), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const xs = (Array.isArray(inputs) ? inputs : [inputs]) as tf.Tensor5D[];
      for (const shape of [...xs.map((x) => x.shape), this.computeOutputShape(xs.map((x) => x.shape))]) {
        checkBufferLimit(`PatchConv3D ${this.name}`, shape as number[]);
      }
      const kernel = this.kernel!.read() as tf.Tensor5D;
      // Several inputs: the convolution of their channel concatenation, computed as a sum of one
      // convolution per input (the concat's gradient, a rank-5 split, is slow on wasm).
      if (xs.length > 1 && tf.getBackend() === 'wasm') {
        let begin = 0;
        let y: tf.Tensor | null = null;
        for (const [i, x] of xs.entries()) {
          const c = this.inputChannels[i]!;
          const part = tf.slice(kernel, [0, 0, 0, begin, 0], [...this.kernelShape, c, this.filters]) as tf.Tensor5D;
          begin += c;
          const yi = patchConv3d(x, part, this.padding);
          y = y ? tf.add(y, yi) : yi;
        }
        return this.activate(this.bias ? addBias(y!, this.bias.read()) : y!);
      }
      const x = xs.length > 1 ? (tf.concat(xs, 4) as tf.Tensor5D) : xs[0]!;
      // wasm: sums of conv2d (fast, and right; see the module comment). Elsewhere tf.conv3d.
      let y: tf.Tensor =
        tf.getBackend() === 'wasm' ? patchConv3d(x, kernel, this.padding) : tf.conv3d(x, kernel, 1, this.padding);
      if (this.bias) y = addBias(y, this.bias.read());
      return this.activate(y);
    });
  }

  private activate(y: tf.Tensor): tf.Tensor {
    switch (this.activation) {
      case 'relu':
        return tf.relu(y);
      case 'sigmoid':
        return tf.sigmoid(y);
      case 'softmax':
        return tf.softmax(y, -1);
      default:
        return y;
    }
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: typeof this.kernelSize === 'number' ? this.kernelSize : [...this.kernelSize],
      padding: this.padding,
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}

tf.serialization.registerClass(PatchConv3D);
