/**
 * The tfjs internals tfjs-zarr uses (src/internals/tfjs.ts) still exist and still mean what we
 * rely on. A tfjs release that changes one fails here, not silently in a training run.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  backendInitialized,
  readAdamBetaPowers,
  tensorDataReleased,
  trainStepOf,
  writeAdamBetaPowers,
} from '../../src/internals/tfjs.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** A functional model (a Sequential keeps its compiled state on an inner model). */
function tinyModel(optimizer: tf.Optimizer): tf.LayersModel {
  const input = tf.input({ shape: [2] });
  const output = tf.layers.dense({ units: 1, kernelInitializer: 'ones', useBias: false }).apply(input);
  const model = tf.model({ inputs: input, outputs: output as tf.SymbolicTensor });
  model.compile({ optimizer, loss: 'meanSquaredError' });
  return model;
}

test('the installed @tensorflow packages are the versions package.json pins', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  assert.equal(tf.version.tfjs, pkg.dependencies['@tensorflow/tfjs']);
  assert.equal(tf.version['tfjs-core'], pkg.dependencies['@tensorflow/tfjs']);
});

test('makeTrainFunction: one optimizer step on [xs, ys], the loss first, ys of any channel count', async () => {
  const model = tinyModel(tf.train.sgd(0.1));
  const step = trainStepOf(model);
  const xs = tf.tensor2d([[1, 2]]);
  const ys = tf.tensor2d([[0]]);
  const outs = step([xs, ys]);
  // loss of the weights before the step: (1 + 2 − 0)² = 9
  assert.equal((await outs[0]!.data())[0], 9);
  const kernel = (await model.getWeights()[0]!.data()) as Float32Array;
  // gradient 2 · 3 · [1, 2] → ones − 0.1 · [6, 12]
  assert.deepEqual(
    [...kernel].map((v) => Math.round(v * 1e5) / 1e5),
    [0.4, -0.2],
  );
  tf.dispose([...outs, xs, ys]);
  model.dispose();
});

test('engine.state.tensorInfo: a disposed tensor whose data a reshape still shares is not released', () => {
  const t = tf.tensor1d([1, 2, 3, 4]);
  const view = t.reshape([2, 2]);
  t.dispose();
  assert.equal(tensorDataReleased(t), false);
  view.dispose();
  assert.equal(tensorDataReleased(t), true);
  const alive = tf.scalar(1);
  assert.equal(tensorDataReleased(alive), false);
  alive.dispose();
});

test("Adam's accBeta1/accBeta2: the running beta powers, read and restored exactly", async () => {
  const adam = tf.train.adam(0.01, 0.9, 0.999);
  const model = tinyModel(adam);
  const step = trainStepOf(model);
  const [xs, ys] = [tf.tensor2d([[1, 2]]), tf.tensor2d([[0]])];
  for (let i = 0; i < 3; i++) tf.dispose(step([xs, ys]));
  const powers = await readAdamBetaPowers(adam);
  assert.ok(powers);
  // Adam keeps beta^(t+1) as a running product (the value it uses for the next step).
  const b1 = Math.fround(0.9);
  assert.equal(powers[0], Math.fround(Math.fround(Math.fround(b1 * b1) * b1) * b1));
  const before = tf.memory().numTensors;
  assert.equal(writeAdamBetaPowers(adam, [0.5, 0.25]), true);
  assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
  assert.deepEqual(await readAdamBetaPowers(adam), [0.5, 0.25]);
  assert.equal(await readAdamBetaPowers(tf.train.sgd(0.1)), null);
  tf.dispose([xs, ys]);
  model.dispose();
});

test('engine.registry: the backends initialised so far, without initialising any', () => {
  assert.equal(backendInitialized('cpu'), true);
  assert.equal(backendInitialized('no-such-backend'), false);
  const registry = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
  assert.equal(registry['no-such-backend'], undefined);
});
