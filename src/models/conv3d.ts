/**
 * A 3D convolution layer that trains fast, and right, on the wasm backend.
 *
 * `PatchConv3D` computes what `tf.layers.conv3d` computes (kernel [kz, ky, kx, in, out],
 * 'same'/'valid' padding, cross-correlation, stride 1), with bias and ReLU fused into the
 * convolution. On the wasm backend it runs on tfjs-zarr's own kernels (src/kernels: WebAssembly
 * SIMD, threads), since tfjs 4.22's wasm conv3d runs as naive loops and its input-gradient kernel
 * returns wrong values; on every other backend it is tf.conv3d. Several inputs are convolved as
 * their channel concatenation without making it (a U-Net's skip connections).
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import { conv3dOp, type Triple } from '../kernels/ops.js';
import { checkBufferLimit } from './buffer-limit.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Activation = 'relu' | 'linear' | 'sigmoid' | 'softmax';

export interface PatchConv3DArgs extends LayerArgs {
  filters: number;
  /** Odd kernel size, the same on every axis or [kz, ky, kx] (e.g. [1, 3, 3] in-plane). Default 3. */
  kernelSize?: number | readonly number[];
  padding?: 'same' | 'valid';
  activation?: Activation;
  useBias?: boolean;
  kernelInitializer?: 'heNormal' | 'glorotUniform';
  /** Seed of the kernel initializer (reproducible initial weights). */
  seed?: number;
}

/** [kz, ky, kx] of a kernel size given as one number or three; null when not three positive odd integers. */
export function kernelTriple(size: number | readonly number[]): Triple | null {
  const k = typeof size === 'number' ? [size, size, size] : [...size];
  if (k.length !== 3 || k.some((v) => !Number.isInteger(v) || v < 1 || v % 2 === 0)) return null;
  return k as Triple;
}

export class PatchConv3D extends tf.layers.Layer {
  static className = 'PatchConv3D';
  readonly filters: number;
  /** [kz, ky, kx]. */
  readonly kernelSize: Triple;
  readonly padding: 'same' | 'valid';
  readonly activation: Activation;
  readonly useBias: boolean;
  readonly kernelInitializer: 'heNormal' | 'glorotUniform';
  readonly seed: number | undefined;
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: PatchConv3DArgs) {
    super(args);
    this.filters = args.filters;
    const kernel = kernelTriple(args.kernelSize ?? 3);
    this.padding = args.padding ?? 'same';
    this.activation = args.activation ?? 'linear';
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = args.kernelInitializer ?? 'glorotUniform';
    this.seed = args.seed;
    if (!Number.isInteger(this.filters) || this.filters < 1)
      throw new OptionsError(`PatchConv3D: filters must be a positive integer, got ${this.filters}`);
    if (kernel === null) {
      throw new OptionsError(
        `PatchConv3D: kernelSize must be a positive odd integer or three of them, got ${JSON.stringify(args.kernelSize)}`,
      );
    }
    this.kernelSize = kernel;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shapes = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as (number | null)[][];
    if (shapes.some((s) => s[4] == null))
      throw new OptionsError('PatchConv3D: the channel axis of the input must be known');
    const cin = shapes.reduce((sum, s) => sum + s[4]!, 0);
    const seed = this.seed;
    const init =
      this.kernelInitializer === 'heNormal'
        ? tf.initializers.heNormal({ seed })
        : tf.initializers.glorotUniform({ seed });
    this.kernel = this.addWeight('kernel', [...this.kernelSize, cin, this.filters], 'float32', init);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    const all = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as (number | null)[][];
    if (all.some((t) => [1, 2, 3].some((a) => t[a] !== s[a]))) {
      throw new OptionsError(`PatchConv3D: inputs must share their spatial shape, got ${JSON.stringify(all)}`);
    }
    const shrink = (a: number) => (this.padding === 'valid' ? this.kernelSize[a - 1]! - 1 : 0);
    return [s[0]!, ...[1, 2, 3].map((a) => (s[a] == null ? null : s[a]! - shrink(a))), this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const xs = (Array.isArray(inputs) ? inputs : [inputs]).map((x) =>
        x.dtype === 'float32' ? x : x.toFloat(),
      ) as tf.Tensor5D[];
      for (const shape of [...xs.map((x) => x.shape), this.computeOutputShape(xs.map((x) => x.shape))]) {
        checkBufferLimit(`PatchConv3D ${this.name}`, shape as number[]);
      }
      const small = xs.find((x) =>
        [1, 2, 3].some((a) => this.padding === 'valid' && x.shape[a]! < this.kernelSize[a - 1]!),
      );
      if (small) {
        throw new OptionsError(
          `PatchConv3D: input [${small.shape.join(', ')}] is smaller than the ${this.kernelSize.join('×')} kernel`,
        );
      }
      const kernel = this.kernel!.read() as tf.Tensor5D;
      const bias = this.bias ? (this.bias.read() as tf.Tensor1D) : null;
      const relu = this.activation === 'relu';
      const y = conv3dOp(xs, kernel, bias, { padding: this.padding, relu });
      if (this.activation === 'sigmoid') return tf.sigmoid(y);
      if (this.activation === 'softmax') return tf.softmax(y, -1);
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const [kz, ky, kx] = this.kernelSize;
    return {
      ...super.getConfig(),
      filters: this.filters,
      // One number when cubic: checkpoints read by earlier versions, which took only a number.
      kernelSize: kz === ky && ky === kx ? kz : [kz, ky, kx],
      padding: this.padding,
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}

tf.serialization.registerClass(PatchConv3D);
