import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { patchConv3d, PatchConv3D } from '../../src/models/conv3d.js';

const X = Array.from({ length: 2 * 6 * 7 * 8 * 3 }, (_, i) => Math.sin(i * 0.37));

/** Value and gradients of sum(conv(x, w)²) on a backend, for a [kz, ky, kx, 3, 4] kernel. */
async function gradients(
  backend: string,
  conv: (x: tf.Tensor5D, w: tf.Tensor5D) => tf.Tensor,
  k: [number, number, number] = [3, 3, 3],
) {
  await tf.setBackend(backend);
  await tf.ready();
  return tf.tidy(() => {
    const x = tf.tensor5d(X, [2, 6, 7, 8, 3]);
    const n = k[0] * k[1] * k[2] * 3 * 4;
    const w = tf.tensor5d(
      Array.from({ length: n }, (_, i) => Math.cos(i * 0.21)),
      [...k, 3, 4],
    );
    const f = (a: tf.Tensor, b: tf.Tensor) =>
      conv(a as tf.Tensor5D, b as tf.Tensor5D)
        .square()
        .sum();
    const [gx, gw] = tf.grads(f)([x, w]);
    return { y: conv(x, w).dataSync(), gx: gx!.dataSync(), gw: gw!.dataSync() };
  });
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d / scale;
}

for (const k of [
  [3, 3, 3],
  [1, 3, 3],
  [3, 5, 1],
] as [number, number, number][]) {
  for (const padding of ['same', 'valid'] as const) {
    test(`patchConv3d ${k.join('×')} (${padding}) on wasm equals tf.conv3d on cpu: value and both gradients`, async () => {
      const reference = await gradients('cpu', (x, w) => tf.conv3d(x, w, 1, padding), k);
      const ours = await gradients('wasm', (x, w) => patchConv3d(x, w, padding), k);
      assert.equal(ours.y.length, reference.y.length);
      assert.ok(maxRelDiff(ours.y, reference.y) < 1e-5, 'forward');
      assert.ok(maxRelDiff(ours.gx, reference.gx) < 1e-5, 'input gradient');
      assert.ok(maxRelDiff(ours.gw, reference.gw) < 1e-5, 'kernel gradient');
    });
  }
}

test('PatchConv3D with a per-axis kernel: weights, output shape, config round trip', async () => {
  await tf.setBackend('cpu');
  const layer = new PatchConv3D({ filters: 2, kernelSize: [1, 3, 5], padding: 'valid' });
  const x = tf.randomUniform([1, 4, 6, 8, 3], 0, 1, 'float32', 3) as tf.Tensor5D;
  const y = layer.apply(x) as tf.Tensor;
  assert.deepEqual(y.shape, [1, 4, 4, 4, 2]);
  assert.deepEqual(layer.getWeights()[0]!.shape, [1, 3, 5, 3, 2]);
  assert.deepEqual(layer.computeOutputShape([null, 4, 6, 8, 3]), [null, 4, 4, 4, 2]);
  const config = layer.getConfig();
  assert.deepEqual(config['kernelSize'], [1, 3, 5]);
  assert.equal(new PatchConv3D({ filters: 1, kernelSize: 3 }).getConfig()['kernelSize'], 3, 'cubic stays a number');
  assert.throws(() => new PatchConv3D({ filters: 1, kernelSize: [1, 2, 3] }), /odd/);
  assert.throws(() => new PatchConv3D({ filters: 1, kernelSize: [3, 3] as never }), /three/);
  tf.dispose([x, y]);
});

test('PatchConv3D over two inputs equals a conv3d of their concatenation, on wasm and cpu', async () => {
  for (const backend of ['wasm', 'cpu']) {
    await tf.setBackend(backend);
    const a = tf.randomUniform([1, 4, 5, 6, 2], 0, 1, 'float32', 1) as tf.Tensor5D;
    const b = tf.randomUniform([1, 4, 5, 6, 3], 0, 1, 'float32', 2) as tf.Tensor5D;
    const layer = new PatchConv3D({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' });
    const y = layer.apply([a, b]) as tf.Tensor;
    const [kernel, bias] = layer.getWeights();
    const expected = tf.relu(
      tf.add(tf.conv3d(tf.concat([a, b], 4) as tf.Tensor5D, kernel as tf.Tensor5D, 1, 'same'), bias!),
    );
    assert.ok(tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0]! < 1e-4, backend);
    tf.dispose([a, b, y, expected]);
  }
});

test('PatchConv3D training leaks no tensors on wasm', async () => {
  await tf.setBackend('wasm');
  const model = tf.sequential({
    layers: [
      new PatchConv3D({
        filters: 3,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        inputShape: [6, 6, 6, 1],
      } as never),
      new PatchConv3D({ filters: 1, kernelSize: 1, activation: 'sigmoid' }),
    ],
  });
  model.compile({ optimizer: 'adam', loss: 'binaryCrossentropy' });
  const xs = tf.randomUniform([2, 6, 6, 6, 1]);
  const ys = tf.randomUniform([2, 6, 6, 6, 1]).round();
  await model.fit(xs, ys, { epochs: 1, verbose: 0 });
  const before = tf.memory().numTensors;
  const h = await model.fit(xs, ys, { epochs: 3, verbose: 0 });
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Number(h.history['loss']![2]) < Number(h.history['loss']![0]));
  tf.dispose([xs, ys]);
  model.dispose();
});
