import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { PatchConv3D } from '../../src/models/conv3d.js';

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

test('PatchConv3D with an anisotropic kernel: weights [1, 3, 3, in, out], the output of tf.conv3d, config round trip', async () => {
  for (const backend of ['wasm', 'cpu']) {
    await tf.setBackend(backend);
    const x = tf.randomUniform([2, 3, 6, 7, 2], 0, 1, 'float32', 1) as tf.Tensor5D;
    const layer = new PatchConv3D({ filters: 3, kernelSize: [1, 3, 3], padding: 'valid', activation: 'relu' });
    const y = layer.apply(x) as tf.Tensor;
    const [kernel, bias] = layer.getWeights();
    assert.deepEqual(kernel!.shape, [1, 3, 3, 2, 3]);
    assert.deepEqual(y.shape, [2, 3, 4, 5, 3]);
    const expected = tf.relu(tf.add(tf.conv3d(x, kernel as tf.Tensor5D, 1, 'valid'), bias!));
    assert.ok(tf.max(tf.abs(tf.sub(y, expected))).dataSync()[0]! < 1e-5, backend);
    const config = layer.getConfig();
    assert.deepEqual(config['kernelSize'], [1, 3, 3]);
    const again = PatchConv3D.fromConfig(PatchConv3D, config) as PatchConv3D;
    assert.deepEqual(again.kernelSize, [1, 3, 3]);
    tf.dispose([x, y, expected]);
  }
  assert.equal(
    new PatchConv3D({ filters: 1, kernelSize: 3 }).getConfig()['kernelSize'],
    3,
    'a cubic kernel stays one number',
  );
  assert.throws(() => new PatchConv3D({ filters: 1, kernelSize: [1, 2, 3] }), /kernelSize/);
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
