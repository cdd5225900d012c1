/**
 * The fused 3D convolution on the kernels, as tfjs kernels of our own names registered for the
 * wasm backend (tfjs's stay untouched), and `conv3dOp`, which runs it there and composes tfjs's
 * ops on every other backend. Several inputs are convolved as their channel concatenation
 * (without making it), bias and ReLU are fused. Gradients are computed lazily per input (tfjs asks
 * only for those on a path to a variable: never the first layer's input gradient), from one
 * masked output gradient kept in kernel memory for the filter, bias and input gradients of a step.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelPool } from './context.js';
import { KernelIo, size } from './io.js';
import * as jobs from './jobs.js';
import type { KernelRuntime } from './runtime.js';

export type Padding = 'same' | 'valid';
export type Triple = [number, number, number];

const CONV = 'TfjsZarrConv3D';
const CONV_FILTER_GRAD = 'TfjsZarrConv3DFilterGrad';
const CONV_BIAS_GRAD = 'TfjsZarrConv3DBiasGrad';
const CONV_INPUT_GRAD = 'TfjsZarrConv3DInputGrad';

const roundUp4 = (n: number) => Math.ceil(n / 4) * 4;

/** [before, after] zero padding per spatial axis of a convolution's input (tf's 'same' rule). */
export function convPads(kernel: Triple, padding: Padding): [number, number][] {
  return kernel.map((k) => {
    if (padding === 'valid') return [0, 0];
    const before = Math.floor((k - 1) / 2);
    return [before, k - 1 - before];
  });
}

interface ConvAttrs {
  padding: Padding;
  relu: boolean;
}

function convAttrs(attrs: tf.NamedAttrMap | undefined): ConvAttrs {
  return { padding: attrs!['padding'] as Padding, relu: attrs!['relu'] as boolean };
}

/** The inputs x0, x1, … of a kernel call, in order. */
function segmentsOf(inputs: tf.NamedTensorInfoMap): tf.TensorInfo[] {
  return Object.keys(inputs)
    .filter((k) => /^x\d+$/.test(k))
    .map((k) => inputs[k]!);
}

const spatial = (shape: readonly number[]) => shape.slice(1, 4) as Triple;

function paddedShape(shape: readonly number[], pads: [number, number][]): Triple {
  return spatial(shape).map((n, i) => n + pads[i]![0] + pads[i]![1]) as Triple;
}

/** A [b, z, y, x, c] tensor's data zero-padded by `pads` in kernel memory; returns its address. */
function padded(io: KernelIo, t: tf.TensorInfo, pads: [number, number][]): number {
  const at = io.input(t);
  if (pads.every(([a, b]) => a === 0 && b === 0)) return at;
  const [b, z, y, x, c] = t.shape as [number, number, number, number, number];
  const out = io.scratch(b * c * size(paddedShape(t.shape, pads)));
  jobs.pad(io.pool, { ptr: at, b, z, y, x, c }, 0, out, c, pads);
  return out;
}

/**
 * Weights in the kernels' layout (see conv_tile in wasm/kernels.c): for each tile of 8 output
 * channels (a last one of 4 when the count is not a multiple of 8), its K rows of 8 (or 4) values,
 * zero past `outChannels`. `get(filter, k, o)` reads row k, output channel o of the filter's
 * values, which are looked up after the allocation: it may grow the heap they are on, and a grown
 * unshared heap leaves earlier views empty.
 */
function packTiles(
  io: KernelIo,
  filter: tf.TensorInfo,
  K: number,
  outChannels: number,
  get: (values: Float32Array, k: number, o: number) => number,
): number {
  const padded = roundUp4(outChannels);
  const at = io.scratch(K * padded);
  const values = io.values(filter);
  const f = io.pool.runtime.f32;
  let p = at / 4;
  for (let o0 = 0; o0 < padded; o0 += 8) {
    const width = o0 + 8 <= padded ? 8 : 4;
    const valid = Math.min(width, outChannels - o0);
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < valid; c++) f[p + c] = get(values, k, o0 + c);
      for (let c = valid; c < width; c++) f[p + c] = 0;
      p += width;
    }
  }
  return at;
}

/** Forward weights of input channels [ci0, ci0 + cin): rows k = tap·cin + ci. */
function packWeights(io: KernelIo, filter: tf.TensorInfo, ci0: number, cin: number): number {
  const [kz, ky, kx, cinTotal, cout] = filter.shape as [number, number, number, number, number];
  return packTiles(
    io,
    filter,
    kz * ky * kx * cin,
    cout,
    (w, k, co) => w[(Math.floor(k / cin) * cinTotal + ci0 + (k % cin)) * cout + co]!,
  );
}

/**
 * Weights of the input gradient of channels [ci0, ci0 + cin): the kernel flipped on every axis
 * (reversing (dz, dy, dx) reverses the flat tap index), input and output channels swapped; rows
 * k = tap·coutp + co over the output gradient's coutp channels (zero past cout).
 */
function packFlippedWeights(io: KernelIo, filter: tf.TensorInfo, ci0: number, cin: number): number {
  const [kz, ky, kx, cinTotal, cout] = filter.shape as [number, number, number, number, number];
  const taps = kz * ky * kx;
  const coutp = roundUp4(cout);
  return packTiles(io, filter, taps * coutp, cin, (w, k, ci) => {
    const co = k % coutp;
    if (co >= cout) return 0;
    const tap = taps - 1 - Math.floor(k / coutp);
    return w[(tap * cinTotal + ci0 + ci) * cout + co]!;
  });
}

function forwardConv({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { padding, relu } = convAttrs(attrs);
  const filter = inputs['filter']!;
  const bias = inputs['bias'];
  const xs = segmentsOf(inputs);
  const [kz, ky, kx, , cout] = filter.shape as [number, number, number, number, number];
  const kernel: Triple = [kz, ky, kx];
  const pads = convPads(kernel, padding);
  const outer = paddedShape(xs[0]!.shape, pads);
  const outShape = [xs[0]!.shape[0]!, outer[0] - kz + 1, outer[1] - ky + 1, outer[2] - kx + 1, cout];
  return KernelIo.run(backend, (io) => {
    let ci0 = 0;
    const segments = xs.map((t) => {
      const cin = t.shape[4]!;
      const weights = packWeights(io, filter, ci0, cin);
      ci0 += cin;
      return { ptr: padded(io, t, pads), cin, weights };
    });
    const coutp = roundUp4(cout);
    let biasAt = 0;
    if (bias) {
      biasAt = io.scratch(coutp);
      const f = io.pool.runtime.f32;
      f.fill(0, biasAt / 4, biasAt / 4 + coutp);
      f.set(io.values(bias), biasAt / 4);
    }
    const out = io.output(outShape);
    jobs.conv(io.pool, {
      segments,
      bias: biasAt,
      out: out.at,
      b: outShape[0]!,
      padded: outer,
      kernel,
      cout,
      coutp,
      relu,
    });
    return out.info;
  });
}

/**
 * The output gradient g = dy (· [y > 0] after a ReLU), zero-padded for the input gradient's
 * convolution, kept in the kernels' persistent memory for the other gradients of the same
 * backward step (filter, bias, each input): tfjs asks for them one after the other with the same
 * dy. Keyed by the tensors' data ids (tfjs data is immutable) and the runtime; `db` holds the
 * bias gradient once computed.
 */
interface OutputGradient {
  runtime: KernelRuntime;
  dy: object;
  y: object | null;
  key: string;
  at: number;
  shape: [number, number, number, number, number];
  pads: [number, number][];
  db: Float32Array | null;
}
let cached: OutputGradient | null = null;

/** Made outside any kernel call's scratch (the persistent block may move). */
function outputGradient(
  backend: unknown,
  dy: tf.TensorInfo,
  y: tf.TensorInfo,
  attrs: ConvAttrs,
  kernel: Triple,
): OutputGradient {
  const pool = kernelPool(backend);
  const runtime = pool.runtime;
  const [b, zo, yo, xo, cout] = dy.shape as [number, number, number, number, number];
  const pads = convPads(kernel, attrs.padding).map(([p0, p1], i): [number, number] => [
    kernel[i]! - 1 - p0,
    kernel[i]! - 1 - p1,
  ]);
  const key = `${attrs.relu}|${JSON.stringify(pads)}`;
  const c = cached;
  if (c && c.runtime === runtime && c.dy === dy.dataId && c.y === (attrs.relu ? y.dataId : null) && c.key === key) {
    return c;
  }
  cached = null;
  const coutp = roundUp4(cout);
  const shape: OutputGradient['shape'] = [b, ...paddedShape(dy.shape, pads), coutp];
  const at = runtime.reserve(size(shape) * 4);
  KernelIo.run(backend, (io) => {
    const mask = attrs.relu ? io.input(y) : 0;
    jobs.pad(pool, { ptr: io.input(dy), b, z: zo, y: yo, x: xo, c: cout }, mask, at, coutp, pads);
  });
  cached = { runtime, dy: dy.dataId, y: attrs.relu ? y.dataId : null, key, at, shape, pads, db: null };
  return cached;
}

/** Address of g's voxel (0, 0, 0, 0) inside its padding, and its pitches (floats). */
function gradientInterior(g: OutputGradient): { at: number; pitch: Triple } {
  const [, zp, yp, xp, c] = g.shape;
  const pitch: Triple = [zp * yp * xp * c, yp * xp * c, xp * c];
  const offset = g.pads[0]![0] * pitch[1] + g.pads[1]![0] * pitch[2] + g.pads[2]![0] * c;
  return { at: g.at + offset * 4, pitch };
}

/** Runs `f` on a KernelIo, with the output gradient made (or found) first. */
function withGradient<T>(
  backend: unknown,
  inputs: tf.NamedTensorInfoMap,
  attrs: ConvAttrs,
  kernel: Triple,
  f: (io: KernelIo, g: OutputGradient) => T,
): T {
  const g = outputGradient(backend, inputs['dy']!, inputs['y']!, attrs, kernel);
  return KernelIo.run(backend, (io) => f(io, g));
}

function filterGradKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const a = convAttrs(attrs);
  const dy = inputs['dy']!;
  const filterShape = attrs!['filterShape'] as number[];
  const [kz, ky, kx, cinTotal, cout] = filterShape as [number, number, number, number, number];
  const kernel: Triple = [kz, ky, kx];
  return withGradient(backend, inputs, a, kernel, (io, g) => {
    const out = io.output(filterShape);
    const db = io.scratch(cout);
    const { at, pitch } = gradientInterior(g);
    const pads = convPads(kernel, a.padding);
    let ci0 = 0;
    for (const [i, x] of segmentsOf(inputs).entries()) {
      const cin = x.shape[4]!;
      jobs.filterGrad(io.pool, {
        input: padded(io, x, pads),
        cin,
        padded: paddedShape(x.shape, pads),
        kernel,
        g: at,
        pitch,
        b: x.shape[0]!,
        out: spatial(dy.shape),
        coutp: g.shape[4],
        cout,
        dw: out.at,
        cinTotal,
        ci0,
        db: i === 0 ? db : 0,
      });
      ci0 += cin;
    }
    g.db = io.pool.runtime.f32.slice(db / 4, db / 4 + cout);
    return out.info;
  });
}

function biasGradKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const filterShape = attrs!['filterShape'] as number[];
  const cout = filterShape[4]!;
  return withGradient(backend, inputs, convAttrs(attrs), filterShape.slice(0, 3) as Triple, (io, g) => {
    // The filter gradient computes it on the way; alone (a frozen kernel), sum g here.
    g.db ??= sumChannels(io.pool.runtime.f32, g, spatial(inputs['dy']!.shape), inputs['dy']!.shape[0]!, cout);
    const out = io.output([cout]);
    io.pool.runtime.f32.set(g.db, out.at / 4);
    return out.info;
  });
}

function sumChannels(f: Float32Array, g: OutputGradient, out: Triple, batch: number, cout: number): Float32Array {
  const { at, pitch } = gradientInterior(g);
  const c = g.shape[4];
  const sums = new Float64Array(cout);
  for (let i = 0; i < batch; i++)
    for (let z = 0; z < out[0]; z++)
      for (let y = 0; y < out[1]; y++) {
        let p = at / 4 + i * pitch[0] + z * pitch[1] + y * pitch[2];
        for (let x = 0; x < out[2]; x++, p += c) for (let k = 0; k < cout; k++) sums[k] += f[p + k]!;
      }
  return Float32Array.from(sums);
}

function inputGradKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const filter = inputs['filter']!;
  const [kz, ky, kx] = filter.shape as [number, number, number, number, number];
  const kernel: Triple = [kz, ky, kx];
  const ci0 = attrs!['ci0'] as number;
  const xShape = attrs!['xShape'] as number[];
  const cin = xShape[4]!;
  return withGradient(backend, inputs, convAttrs(attrs), kernel, (io, g) => {
    const weights = packFlippedWeights(io, filter, ci0, cin);
    const out = io.output(xShape);
    jobs.conv(io.pool, {
      segments: [{ ptr: g.at, cin: g.shape[4], weights }],
      bias: 0,
      out: out.at,
      b: xShape[0]!,
      padded: spatial(g.shape),
      kernel,
      cout: cin,
      coutp: roundUp4(cin),
      relu: false,
    });
    return out.info;
  });
}

const registered = new Set<string>();

function kernelName(inputs: number, bias: boolean): string {
  return `${CONV}_${inputs}${bias ? 'b' : ''}`;
}

function registerConv(n: number, bias: boolean): string {
  const name = kernelName(n, bias);
  if (registered.has(name)) return name;
  const xs = Array.from({ length: n }, (_, i) => `x${i}`);
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: forwardConv as tf.KernelFunc });
  tf.registerGradient({
    kernelName: name,
    inputsToSave: ['filter', ...xs],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [filter, ...rest] = saved as tf.Tensor[];
      const x = rest.slice(0, n);
      const y = rest[n]!;
      const d = dy as tf.Tensor;
      const common = { ...(attrs as object), filterShape: filter!.shape };
      const run = (kernel: string, inputs: tf.NamedTensorMap, extra: object = {}) =>
        tf.engine().runKernel(kernel, inputs, { ...common, ...extra } as tf.NamedAttrMap) as tf.Tensor;
      // Keys in this order: tfjs calls them in this order, so the filter gradient (which also
      // computes the bias gradient) comes first.
      const grads: Record<string, () => tf.Tensor> = {
        filter: () =>
          run(CONV_FILTER_GRAD, Object.fromEntries([['dy', d], ['y', y], ...x.map((t, i) => [`x${i}`, t])])),
      };
      if (bias) grads['bias'] = () => run(CONV_BIAS_GRAD, { dy: d, y });
      let ci0 = 0;
      for (const [i, t] of x.entries()) {
        const at = ci0;
        grads[`x${i}`] = () => run(CONV_INPUT_GRAD, { dy: d, y, filter: filter! }, { ci0: at, xShape: t.shape });
        ci0 += t.shape[4]!;
      }
      return grads;
    },
  });
  registered.add(name);
  return name;
}

for (const [name, kernelFunc] of [
  [CONV_FILTER_GRAD, filterGradKernel],
  [CONV_BIAS_GRAD, biasGradKernel],
  [CONV_INPUT_GRAD, inputGradKernel],
] as const) {
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc });
}

export interface Conv3dOptions {
  padding: Padding;
  relu: boolean;
}

/**
 * relu?(conv3d(concat(xs, channels), kernel) + bias), stride 1, cross-correlation like
 * tf.conv3d; `kernel` is [kz, ky, kx, Σ channels of xs, out].
 */
export function conv3dOp(
  xs: readonly tf.Tensor5D[],
  kernel: tf.Tensor5D,
  bias: tf.Tensor1D | null,
  options: Conv3dOptions,
): tf.Tensor5D {
  if (xs.length === 0) throw new Error('conv3dOp: no input');
  if (tf.getBackend() !== 'wasm' || xs.length > jobs.MAX_SEGMENTS) {
    const x = xs.length > 1 ? (tf.concat(xs as tf.Tensor5D[], 4) as tf.Tensor5D) : xs[0]!;
    let y: tf.Tensor5D = tf.conv3d(x, kernel, 1, options.padding);
    // Added to a [voxels, channels] view: tfjs-backend-webgpu's broadcasting add of a rank-1
    // tensor to a rank-5 one compiles to invalid WGSL (and yields zeros).
    if (bias) y = tf.reshape(tf.add(tf.reshape(y, [-1, bias.shape[0]]), bias), y.shape);
    return options.relu ? tf.relu(y) : y;
  }
  const name = registerConv(xs.length, bias !== null);
  const inputs: tf.NamedTensorMap = { filter: kernel };
  if (bias) inputs['bias'] = bias;
  for (const [i, x] of xs.entries()) inputs[`x${i}`] = x;
  return tf.engine().runKernel(name, inputs, { padding: options.padding, relu: options.relu }) as tf.Tensor5D;
}
