/**
 * tfjs ops on the kernels of this folder: a fused 3D convolution (several inputs convolved as their
 * channel concatenation, bias, ReLU), max pooling and nearest up-sampling with per-axis factors,
 * each with its gradients. On the wasm backend they run as tfjs kernels registered under names of
 * our own (tfjs's kernels stay untouched): tensors are copied from the backend's heap into the
 * kernels' memory and results copied back. On every other backend the same functions compose
 * tfjs's ops (tf.conv3d, tf.maxPool3d, resizes), which compute the same values.
 */
import * as tf from '@tensorflow/tfjs';
import { kernelPool } from './context.js';
import * as jobs from './jobs.js';
import type { KernelPool } from './threads.js';

export type Padding = 'same' | 'valid';
export type Triple = [number, number, number];

/** What we use of tfjs-backend-wasm's BackendWasm (public methods). */
interface HeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

const CONV = 'TfjsZarrConv3D';
const CONV_FILTER_GRAD = 'TfjsZarrConv3DFilterGrad';
const CONV_BIAS_GRAD = 'TfjsZarrConv3DBiasGrad';
const CONV_INPUT_GRAD = 'TfjsZarrConv3DInputGrad';
const MAX_POOL = 'TfjsZarrMaxPool3D';
const MAX_POOL_GRAD = 'TfjsZarrMaxPool3DGrad';
const UP_SAMPLE = 'TfjsZarrUpSample3D';
const UP_SAMPLE_GRAD = 'TfjsZarrUpSample3DGrad';

/** Whether the ops run on our kernels on the current backend. */
export function usesKernels(): boolean {
  return tf.getBackend() === 'wasm';
}

const roundUp4 = (n: number) => Math.ceil(n / 4) * 4;
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** [before, after] zero padding per spatial axis of a convolution's input (tf's 'same' rule). */
export function convPads(kernel: Triple, padding: Padding): [number, number][] {
  return kernel.map((k) => {
    if (padding === 'valid') return [0, 0];
    const before = Math.floor((k - 1) / 2);
    return [before, k - 1 - before];
  });
}

function f32Of(backend: HeapBackend, t: tf.TensorInfo): Float32Array {
  const a = backend.typedArrayFromHeap(t);
  if (!(a instanceof Float32Array)) throw new Error(`tfjs-zarr kernels take float32 tensors, got ${t.dtype}`);
  return a;
}

/** Copies a tfjs tensor into kernel scratch memory; returns its address. */
function stage(pool: KernelPool, data: Float32Array): number {
  const at = pool.runtime.allocF32(data.length);
  pool.runtime.f32.set(data, at / 4);
  return at;
}

/** Copies [b, z, y, x, c] data into kernel memory, zero-padded by `pads`; returns its address. */
function stagePadded(pool: KernelPool, data: Float32Array, shape: readonly number[], pads: [number, number][]): number {
  const at = stage(pool, data);
  if (pads.every(([a, b]) => a === 0 && b === 0)) return at;
  const [b, z, y, x, c] = shape as [number, number, number, number, number];
  const padded = pool.runtime.allocF32(b * c * pads.reduce((n, [p0, p1], i) => n * ([z, y, x][i]! + p0 + p1), 1));
  jobs.pad(pool, { ptr: at, b, z, y, x, c }, 0, padded, c, pads);
  return padded;
}

function output(backend: HeapBackend, pool: KernelPool, at: number, shape: number[]): tf.TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  const n = size(shape);
  f32Of(backend, out).set(pool.runtime.f32.subarray(at / 4, at / 4 + n));
  return out;
}

/** Runs `f` with scratch memory that is given back afterwards. */
function withScratch<T>(pool: KernelPool, f: () => T): T {
  const mark = pool.runtime.mark();
  try {
    return f();
  } finally {
    pool.runtime.release(mark);
  }
}

// ---------------------------------------------------------------------------------------------
// Convolution

interface ConvAttrs {
  padding: Padding;
  relu: boolean;
}

function convAttrs(attrs: tf.NamedAttrMap | undefined): ConvAttrs {
  return { padding: attrs!['padding'] as Padding, relu: attrs!['relu'] as boolean };
}

function inputNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `x${i}`);
}

/**
 * Weights in the kernels' layout (see conv_tile in wasm/kernels.c): for each tile of 8 output
 * channels (a last one of 4 when the count is not a multiple of 8), its K rows of 8 (or 4) values,
 * zero past `outChannels`. `get(k, o)` reads row k, output channel o.
 */
function packTiles(pool: KernelPool, K: number, outChannels: number, get: (k: number, o: number) => number): number {
  const padded = roundUp4(outChannels);
  const at = pool.runtime.allocF32(K * padded);
  const f = pool.runtime.f32;
  let p = at / 4;
  for (let o0 = 0; o0 < padded; o0 += 8) {
    const width = o0 + 8 <= padded ? 8 : 4;
    const valid = Math.min(width, outChannels - o0);
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < valid; c++) f[p + c] = get(k, o0 + c);
      for (let c = valid; c < width; c++) f[p + c] = 0;
      p += width;
    }
  }
  return at;
}

/** Forward weights of input channels [ci0, ci0 + cin): rows k = tap·cin + ci. */
function packWeights(
  pool: KernelPool,
  filter: Float32Array,
  taps: number,
  cinTotal: number,
  cout: number,
  ci0: number,
  cin: number,
): number {
  return packTiles(
    pool,
    taps * cin,
    cout,
    (k, co) => filter[(Math.floor(k / cin) * cinTotal + ci0 + (k % cin)) * cout + co]!,
  );
}

/**
 * Weights of the input gradient of channels [ci0, ci0 + cin): the kernel flipped on every axis
 * (reversing (dz, dy, dx) reverses the flat tap index), input and output channels swapped; rows
 * k = tap·coutp + co over the output gradient's coutp channels (zero past cout).
 */
function packFlippedWeights(
  pool: KernelPool,
  filter: Float32Array,
  taps: number,
  cinTotal: number,
  cout: number,
  ci0: number,
  cin: number,
): number {
  const coutp = roundUp4(cout);
  return packTiles(pool, taps * coutp, cin, (k, ci) => {
    const co = k % coutp;
    if (co >= cout) return 0;
    const tap = taps - 1 - Math.floor(k / coutp);
    return filter[(tap * cinTotal + ci0 + ci) * cout + co]!;
  });
}

function forwardConv({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const heap = backend as HeapBackend;
  const { padding, relu } = convAttrs(attrs);
  const filter = inputs['filter']!;
  const bias = inputs['bias'];
  const xs = Object.keys(inputs)
    .filter((k) => k.startsWith('x'))
    .map((k) => inputs[k]!);
  const [kz, ky, kx, cinTotal, cout] = filter.shape as [number, number, number, number, number];
  const kernel: Triple = [kz, ky, kx];
  const [b, z, y, x] = xs[0]!.shape as [number, number, number, number];
  const pads = convPads(kernel, padding);
  const padded: Triple = [z + pads[0]![0] + pads[0]![1], y + pads[1]![0] + pads[1]![1], x + pads[2]![0] + pads[2]![1]];
  const outShape = [b, padded[0] - kz + 1, padded[1] - ky + 1, padded[2] - kx + 1, cout];
  const pool = kernelPool();
  return withScratch(pool, () => {
    const w = f32Of(heap, filter);
    let ci0 = 0;
    const segments = xs.map((t) => {
      const cin = t.shape[4]!;
      const seg = {
        ptr: stagePadded(pool, f32Of(heap, t), t.shape, pads),
        cin,
        weights: packWeights(pool, w, kz * ky * kx, cinTotal, cout, ci0, cin),
      };
      ci0 += cin;
      return seg;
    });
    const coutp = roundUp4(cout);
    let biasAt = 0;
    if (bias) {
      biasAt = pool.runtime.allocF32(coutp);
      pool.runtime.f32.fill(0, biasAt / 4, biasAt / 4 + coutp);
      pool.runtime.f32.set(f32Of(heap, bias), biasAt / 4);
    }
    const out = pool.runtime.allocF32(size(outShape));
    jobs.conv(pool, { segments, bias: biasAt, out, b, padded, kernel, cout, coutp, relu });
    return output(heap, pool, out, outShape);
  });
}

/**
 * The output gradient g = dy (· [y > 0] after a ReLU), zero-padded for the input gradient's
 * convolution, kept in the kernels' persistent memory for the other gradients of the same
 * backward step (filter, bias, each input): tfjs asks for them one after the other with the same
 * dy. Keyed by the tensors' data ids (tfjs data is immutable); `db` holds the bias gradient once
 * computed.
 */
interface GradientCache {
  dy: object;
  y: object | null;
  key: string;
  at: number;
  shape: [number, number, number, number, number];
  pads: [number, number][];
  db: Float32Array | null;
}
let gradientCache: GradientCache | null = null;

function outputGradient(
  heap: HeapBackend,
  dy: tf.TensorInfo,
  y: tf.TensorInfo,
  attrs: ConvAttrs,
  kernel: Triple,
): GradientCache {
  const pool = kernelPool();
  const [b, zo, yo, xo, cout] = dy.shape as [number, number, number, number, number];
  const pads = convPads(kernel, attrs.padding).map(([p0, p1], i): [number, number] => [
    kernel[i]! - 1 - p0,
    kernel[i]! - 1 - p1,
  ]);
  const key = `${attrs.relu}|${JSON.stringify(pads)}`;
  const c = gradientCache;
  if (c && c.dy === dy.dataId && c.y === (attrs.relu ? y.dataId : null) && c.key === key && c.at >= 0) return c;
  const coutp = roundUp4(cout);
  const shape: GradientCache['shape'] = [
    b,
    zo + pads[0]![0] + pads[0]![1],
    yo + pads[1]![0] + pads[1]![1],
    xo + pads[2]![0] + pads[2]![1],
    coutp,
  ];
  gradientCache = null;
  const at = pool.runtime.reserve(size(shape) * 4);
  withScratch(pool, () => {
    const g = stage(pool, f32Of(heap, dy));
    const mask = attrs.relu ? stage(pool, f32Of(heap, y)) : 0;
    jobs.pad(pool, { ptr: g, b, z: zo, y: yo, x: xo, c: cout }, mask, at, coutp, pads);
  });
  gradientCache = { dy: dy.dataId, y: attrs.relu ? y.dataId : null, key, at, shape, pads, db: null };
  return gradientCache;
}

/** Address of g's voxel (0, 0, 0, 0) inside its padding, and its pitches (floats). */
function gradientInterior(g: GradientCache): { at: number; pitch: Triple } {
  const [, zp, yp, xp, c] = g.shape;
  const pitch: Triple = [zp * yp * xp * c, yp * xp * c, xp * c];
  const offset = g.pads[0]![0] * pitch[1] + g.pads[1]![0] * pitch[2] + g.pads[2]![0] * c;
  return { at: g.at + offset * 4, pitch };
}

function filterGradKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const heap = backend as HeapBackend;
  const a = convAttrs(attrs);
  const dy = inputs['dy']!;
  const filterShape = attrs!['filterShape'] as number[];
  const [kz, ky, kx, cinTotal, cout] = filterShape as [number, number, number, number, number];
  const kernel: Triple = [kz, ky, kx];
  const g = outputGradient(heap, dy, inputs['y']!, a, kernel);
  const pool = kernelPool();
  const xs = Object.keys(inputs)
    .filter((k) => k.startsWith('x'))
    .map((k) => inputs[k]!);
  return withScratch(pool, () => {
    const dw = pool.runtime.allocF32(size(filterShape));
    const db = pool.runtime.allocF32(cout);
    const { at, pitch } = gradientInterior(g);
    const pads = convPads(kernel, a.padding);
    let ci0 = 0;
    for (const [i, x] of xs.entries()) {
      const [b, z, y, xx, cin] = x.shape as [number, number, number, number, number];
      const padded: Triple = [
        z + pads[0]![0] + pads[0]![1],
        y + pads[1]![0] + pads[1]![1],
        xx + pads[2]![0] + pads[2]![1],
      ];
      jobs.filterGrad(pool, {
        input: stagePadded(pool, f32Of(heap, x), x.shape, pads),
        cin,
        padded,
        kernel,
        g: at,
        pitch,
        b,
        out: dy.shape.slice(1, 4) as unknown as Triple,
        coutp: g.shape[4],
        cout,
        dw,
        cinTotal,
        ci0,
        db: i === 0 ? db : 0,
      });
      ci0 += cin;
    }
    g.db = pool.runtime.f32.slice(db / 4, db / 4 + cout);
    return output(heap, pool, dw, filterShape);
  });
}

function biasGradKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const heap = backend as HeapBackend;
  const a = convAttrs(attrs);
  const filterShape = attrs!['filterShape'] as number[];
  const g = outputGradient(heap, inputs['dy']!, inputs['y']!, a, filterShape.slice(0, 3) as Triple);
  const cout = filterShape[4]!;
  let db = g.db;
  if (db === null) {
    // The filter gradient computes it on the way; alone (a frozen kernel), sum g here.
    const f = kernelPool().runtime.f32;
    const { at, pitch } = gradientInterior(g);
    const [b, zo, yo, xo] = inputs['dy']!.shape as [number, number, number, number];
    const c = g.shape[4];
    const sums = new Float64Array(cout);
    for (let i = 0; i < b; i++)
      for (let z = 0; z < zo; z++)
        for (let y = 0; y < yo; y++) {
          let p = at / 4 + i * pitch[0] + z * pitch[1] + y * pitch[2];
          for (let x = 0; x < xo; x++, p += c) for (let k = 0; k < cout; k++) sums[k] += f[p + k]!;
        }
    db = Float32Array.from(sums);
    g.db = db;
  }
  const out = heap.makeOutput([cout], 'float32');
  f32Of(heap, out).set(db);
  return out;
}

function inputGradKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const heap = backend as HeapBackend;
  const a = convAttrs(attrs);
  const filter = inputs['filter']!;
  const [kz, ky, kx, cinTotal, cout] = filter.shape as [number, number, number, number, number];
  const kernel: Triple = [kz, ky, kx];
  const ci0 = attrs!['ci0'] as number;
  const xShape = attrs!['xShape'] as number[];
  const cin = xShape[4]!;
  const g = outputGradient(heap, inputs['dy']!, inputs['y']!, a, kernel);
  const pool = kernelPool();
  return withScratch(pool, () => {
    const weights = packFlippedWeights(pool, f32Of(heap, filter), size(kernel), cinTotal, cout, ci0, cin);
    const out = pool.runtime.allocF32(size(xShape));
    const coutp = g.shape[4];
    jobs.conv(pool, {
      segments: [{ ptr: g.at, cin: coutp, weights }],
      bias: 0,
      out,
      b: xShape[0]!,
      padded: g.shape.slice(1, 4) as unknown as Triple,
      kernel,
      cout: cin,
      coutp: roundUp4(cin),
      relu: false,
    });
    return output(heap, pool, out, xShape);
  });
}

const registered = new Set<string>();

function kernelName(inputs: number, bias: boolean): string {
  return `${CONV}_${inputs}${bias ? 'b' : ''}`;
}

function registerConv(n: number, bias: boolean): string {
  const name = kernelName(n, bias);
  if (registered.has(name)) return name;
  const xs = inputNames(n);
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
  if (!usesKernels() || xs.length > jobs.MAX_SEGMENTS) {
    const x = xs.length > 1 ? (tf.concat(xs as tf.Tensor5D[], 4) as tf.Tensor5D) : xs[0]!;
    let y: tf.Tensor5D = tf.conv3d(x, kernel, 1, options.padding);
    if (bias) y = tf.add(y, bias);
    return options.relu ? tf.relu(y) : y;
  }
  const name = registerConv(xs.length, bias !== null);
  const inputs: tf.NamedTensorMap = { filter: kernel };
  if (bias) inputs['bias'] = bias;
  for (const [i, x] of xs.entries()) inputs[`x${i}`] = x;
  return tf.engine().runKernel(name, inputs, { padding: options.padding, relu: options.relu }) as tf.Tensor5D;
}

// ---------------------------------------------------------------------------------------------
// Pooling and up-sampling

function factorsOf(attrs: tf.NamedAttrMap | undefined): Triple {
  return attrs!['factors'] as Triple;
}

function fineBlock(shape: readonly number[], ptr: number): jobs.Block {
  const [b, z, y, x, c] = shape as [number, number, number, number, number];
  return { ptr, b, z, y, x, c };
}

function coarseShape(shape: readonly number[], f: Triple): number[] {
  const [b, z, y, x, c] = shape as [number, number, number, number, number];
  return [b, Math.floor(z / f[0]), Math.floor(y / f[1]), Math.floor(x / f[2]), c];
}

function resampleKernel(kind: jobs.ResampleKernel) {
  return ({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo => {
    const heap = backend as HeapBackend;
    const f = factorsOf(attrs);
    const pool = kernelPool();
    return withScratch(pool, () => {
      switch (kind) {
        case 'max_pool_task': {
          const x = inputs['x']!;
          const outShape = coarseShape(x.shape, f);
          const out = pool.runtime.allocF32(size(outShape));
          jobs.resample(pool, kind, fineBlock(x.shape, stage(pool, f32Of(heap, x))), 0, out, f);
          return output(heap, pool, out, outShape);
        }
        case 'max_pool_grad_task': {
          const x = inputs['x']!;
          const out = pool.runtime.allocF32(size(x.shape));
          const fine = fineBlock(x.shape, stage(pool, f32Of(heap, x)));
          if (fine.z < f[0] || fine.y < f[1] || fine.x < f[2])
            pool.runtime.f32.fill(0, out / 4, out / 4 + size(x.shape));
          else jobs.resample(pool, kind, fine, stage(pool, f32Of(heap, inputs['dy']!)), out, f);
          return output(heap, pool, out, x.shape);
        }
        case 'upsample_task': {
          const x = inputs['x']!;
          const [b, z, y, xx, c] = x.shape as [number, number, number, number, number];
          const outShape = [b, z * f[0], y * f[1], xx * f[2], c];
          const out = pool.runtime.allocF32(size(outShape));
          jobs.resample(pool, kind, fineBlock(outShape, 0), stage(pool, f32Of(heap, x)), out, f);
          return output(heap, pool, out, outShape);
        }
        case 'upsample_grad_task': {
          const dy = inputs['dy']!;
          const outShape = coarseShape(dy.shape, f);
          const out = pool.runtime.allocF32(size(outShape));
          jobs.resample(pool, kind, fineBlock(dy.shape, stage(pool, f32Of(heap, dy))), 0, out, f);
          return output(heap, pool, out, outShape);
        }
      }
    });
  };
}

tf.registerKernel({
  kernelName: MAX_POOL,
  backendName: 'wasm',
  kernelFunc: resampleKernel('max_pool_task') as tf.KernelFunc,
});
tf.registerKernel({
  kernelName: MAX_POOL_GRAD,
  backendName: 'wasm',
  kernelFunc: resampleKernel('max_pool_grad_task') as tf.KernelFunc,
});
tf.registerKernel({
  kernelName: UP_SAMPLE,
  backendName: 'wasm',
  kernelFunc: resampleKernel('upsample_task') as tf.KernelFunc,
});
tf.registerKernel({
  kernelName: UP_SAMPLE_GRAD,
  backendName: 'wasm',
  kernelFunc: resampleKernel('upsample_grad_task') as tf.KernelFunc,
});
tf.registerGradient({
  kernelName: MAX_POOL,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => ({
    x: () => tf.engine().runKernel(MAX_POOL_GRAD, { dy: dy as tf.Tensor, x: saved[0]! }, attrs) as tf.Tensor,
  }),
});
tf.registerGradient({
  kernelName: UP_SAMPLE,
  gradFunc: (dy, _saved, attrs) => ({
    x: () => tf.engine().runKernel(UP_SAMPLE_GRAD, { dy: dy as tf.Tensor }, attrs) as tf.Tensor,
  }),
});

/** Max pooling with window = stride = `factors` per axis ('valid'), like tf.maxPool3d. */
export function maxPool3dOp(x: tf.Tensor5D, factors: Triple): tf.Tensor5D {
  if (!usesKernels()) return tf.maxPool3d(x, factors, factors, 'valid');
  return tf.engine().runKernel(MAX_POOL, { x }, { factors }) as tf.Tensor5D;
}

/** Nearest-neighbour up-sampling: every voxel repeated `factors[i]` times along spatial axis i. */
export function upSample3dOp(x: tf.Tensor5D, factors: Triple): tf.Tensor5D {
  if (factors.every((f) => f === 1)) return x;
  if (usesKernels()) return tf.engine().runKernel(UP_SAMPLE, { x }, { factors }) as tf.Tensor5D;
  return tf.tidy(() => {
    // Copies stacked after each axis, then merged with it: plain ops whose gradients (sums of the
    // copies) are right on every backend (the gradient of tfjs's nearest resize is not, on cpu).
    let t: tf.Tensor = x;
    for (const axis of [3, 2, 1]) {
      const f = factors[axis - 1]!;
      if (f === 1) continue;
      const shape = [...t.shape];
      shape[axis] = shape[axis]! * f;
      t = tf.reshape(tf.stack(new Array<tf.Tensor>(f).fill(t), axis + 1), shape);
    }
    return t as tf.Tensor5D;
  });
}
