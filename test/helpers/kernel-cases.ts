/** Cases and runners shared by the kernel equality tests (test/kernels/*). */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { conv3dOp, maxPool3dOp, type Padding, type Triple, upSample3dOp } from '../../src/kernels/ops.js';
import { maxRelDiff } from './compare.js';

export const TOLERANCE = 1e-4;

export interface ConvCase {
  batch: number;
  size: Triple;
  cins: number[];
  cout: number;
  kernel: number | Triple;
  padding: Padding;
  relu: boolean;
  bias: boolean;
}

export const CASES: ConvCase[] = [
  { batch: 1, size: [5, 7, 9], cins: [1], cout: 8, kernel: 3, padding: 'same', relu: true, bias: true },
  { batch: 2, size: [5, 7, 9], cins: [3], cout: 5, kernel: 3, padding: 'valid', relu: false, bias: true },
  { batch: 8, size: [3, 4, 5], cins: [2], cout: 3, kernel: 1, padding: 'same', relu: false, bias: false },
  { batch: 1, size: [7, 6, 5], cins: [64], cout: 64, kernel: 3, padding: 'same', relu: true, bias: true },
  { batch: 3, size: [6, 9, 7], cins: [13], cout: 12, kernel: [1, 3, 3], padding: 'same', relu: true, bias: true },
  { batch: 2, size: [9, 8, 7], cins: [8, 16], cout: 8, kernel: 3, padding: 'same', relu: true, bias: true },
  { batch: 1, size: [5, 6, 7], cins: [4, 5, 6], cout: 7, kernel: [3, 1, 3], padding: 'valid', relu: true, bias: false },
  { batch: 2, size: [4, 5, 6], cins: [64], cout: 1, kernel: 1, padding: 'same', relu: false, bias: true },
  { batch: 4, size: [5, 5, 5], cins: [1], cout: 64, kernel: 3, padding: 'valid', relu: true, bias: true },
];

/** The op's value and the gradients of sum(y · r) (r random) for every input, the kernel and the bias. */
export async function convResults(backend: string, c: ConvCase): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const k: Triple = typeof c.kernel === 'number' ? [c.kernel, c.kernel, c.kernel] : c.kernel;
    const xs = c.cins.map((ch, i) => tf.randomUniform([c.batch, ...c.size, ch], -1, 1, 'float32', 10 + i));
    const cin = c.cins.reduce((a, b) => a + b, 0);
    const w = tf.randomUniform([...k, cin, c.cout], -0.5, 0.5, 'float32', 3);
    const b = tf.randomUniform([c.cout], -0.5, 0.5, 'float32', 4);
    const n = xs.length;
    const op = (args: tf.Tensor[]) =>
      conv3dOp(
        args.slice(0, n) as tf.Tensor5D[],
        args[n] as tf.Tensor5D,
        c.bias ? (args[n + 1] as tf.Tensor1D) : null,
        {
          padding: c.padding,
          relu: c.relu,
        },
      );
    const args = [...xs, w, ...(c.bias ? [b] : [])];
    const y = op(args);
    const r = tf.randomUniform(y.shape, -1, 1, 'float32', 5);
    const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(op(a), r)))(args);
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

export const RESAMPLE: [[number, number, number, number, number], Triple][] = [
  [
    [2, 5, 7, 9, 3],
    [2, 2, 2],
  ],
  [
    [1, 4, 6, 8, 8],
    [1, 2, 2],
  ],
  [
    [3, 3, 5, 4, 5],
    [3, 1, 2],
  ],
  [
    [1, 2, 3, 3, 1],
    [2, 2, 2],
  ],
];

/** Pooling and up-sampling values and gradients; x holds small integers, so windows have ties. */
export async function resampleResults(
  backend: string,
  shape: [number, number, number, number, number],
  f: Triple,
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.round(tf.randomUniform(shape, 0, 3, 'float32', 3)) as tf.Tensor5D;
    const pooled = maxPool3dOp(x, f);
    const rp = tf.randomUniform(pooled.shape, -1, 1, 'float32', 5);
    const [gp] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(maxPool3dOp(a as tf.Tensor5D, f), rp)))([x]);
    const up = upSample3dOp(x, f);
    const ru = tf.randomUniform(up.shape, -1, 1, 'float32', 6);
    const [gu] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(upSample3dOp(a as tf.Tensor5D, f), ru)))([x]);
    return [pooled, gp!, up, gu!].map((t) => t.dataSync() as Float32Array);
  });
}

export const convNames = (c: ConvCase) => [
  'value',
  ...c.cins.map((_, i) => `input ${i} gradient`),
  'kernel gradient',
  'bias gradient',
];
export const RESAMPLE_NAMES = ['pooled', 'pooling gradient', 'up-sampled', 'up-sampling gradient'];

const reference = new Map<string, Float32Array[]>();

/** Every conv case and resampling case on wasm (as set up now) against the cpu backend. */
export async function assertKernelsEqualCpu(label: string): Promise<void> {
  for (const c of CASES) {
    const key = JSON.stringify(c);
    if (!reference.has(key)) reference.set(key, await convResults('cpu', c));
    const ref = reference.get(key)!;
    const ours = await convResults('wasm', c);
    assert.equal(ours.length, ref.length);
    for (const [i, name] of convNames(c).slice(0, ref.length).entries()) {
      const d = maxRelDiff(ours[i]!, ref[i]!);
      assert.ok(d < TOLERANCE, `${label}, ${key}: ${name} differs by ${d}`);
    }
  }
  for (const [shape, f] of RESAMPLE) {
    const key = JSON.stringify([shape, f]);
    if (!reference.has(key)) reference.set(key, await resampleResults('cpu', shape, f));
    const ref = reference.get(key)!;
    const ours = await resampleResults('wasm', shape, f);
    for (const [i, name] of RESAMPLE_NAMES.entries()) {
      const d = maxRelDiff(ours[i]!, ref[i]!);
      assert.ok(d < TOLERANCE, `${label}, ${key}: ${name} differs by ${d}`);
    }
  }
}
