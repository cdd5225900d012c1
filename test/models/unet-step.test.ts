/**
 * A whole U-Net training step (the step `tfjs-zarr train` runs: Adam, masked binary cross-entropy)
 * on wasm, on one thread and on two, against the cpu backend (tfjs's own ops): the same loss,
 * gradients and weights after the step; and checkpoints saved on one backend load on the other.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { unet3d, type UNetOptions } from '../../src/models/unet.js';
import { maskedLoss } from '../../src/train/loss.js';
import { setKernelThreads } from '../../src/kernels/context.js';
import { spawnKernelThread } from '../../src/kernels/node-threads.js';
import { maxRelDiff } from '../helpers/compare.js';

after(async () => {
  await setKernelThreads(1, undefined);
});

const SAME: UNetOptions = { inputShape: [8, 12, 16, 1], outputChannels: 1, baseFilters: 4, depth: 2, seed: 5 };
const VALID: UNetOptions = { ...SAME, inputShape: [20, 20, 24, 1], depth: 1, padding: 'valid', seed: 6 };

interface StepResult {
  loss: number;
  grads: Float32Array[];
  weights: Float32Array[];
}

async function step(backend: string, options: UNetOptions): Promise<StepResult> {
  await tf.setBackend(backend);
  const model = unet3d(options);
  const optimizer = tf.train.adam(1e-3);
  const loss = maskedLoss('binaryCrossentropy');
  model.compile({ optimizer, loss });
  const out = model.outputs[0]!.shape.slice(1) as number[];
  const result = tf.tidy(() => {
    const xs = tf.randomUniform([2, ...options.inputShape], 0, 1, 'float32', 1);
    const target = tf.cast(tf.greater(tf.randomUniform([2, ...out], 0, 1, 'float32', 2), 0.5), 'float32');
    const mask = tf.cast(tf.greater(tf.randomUniform([2, ...out], 0, 1, 'float32', 3), 0.2), 'float32');
    const ys = tf.concat([target, mask], 4);
    const { value, grads } = tf.variableGrads(() => loss(ys, model.apply(xs) as tf.Tensor));
    const g = model.trainableWeights.map((w) => grads[(w.read() as tf.Variable).name]!.dataSync() as Float32Array);
    const trainStep = (
      model as unknown as { makeTrainFunction(): (d: tf.Tensor[]) => tf.Scalar[] }
    ).makeTrainFunction();
    const stepLoss = trainStep([xs, ys])[0]!.dataSync()[0]!;
    assert.ok(Math.abs(stepLoss - value.dataSync()[0]!) < 1e-6);
    return { loss: stepLoss, grads: g, weights: model.getWeights().map((w) => w.dataSync() as Float32Array) };
  });
  model.dispose();
  optimizer.dispose();
  return result;
}

function assertSame(ours: StepResult, reference: StepResult, what: string): void {
  assert.ok(
    Math.abs(ours.loss - reference.loss) <= 1e-5 * Math.abs(reference.loss),
    `${what}: loss ${ours.loss} vs ${reference.loss}`,
  );
  for (const [i, g] of ours.grads.entries()) {
    const d = maxRelDiff(g, reference.grads[i]!);
    assert.ok(d < 1e-4, `${what}: gradient ${i} differs by ${d}`);
  }
  // One Adam step moves each weight by about lr·sign(gradient): a gradient within float error of
  // zero may move differently, by at most 2·lr.
  for (const [i, w] of ours.weights.entries()) {
    const ref = reference.weights[i]!;
    let far = 0;
    for (let j = 0; j < w.length; j++) if (Math.abs(w[j]! - ref[j]!) > 1e-6) far++;
    assert.ok(far <= Math.max(1, w.length / 1000), `${what}: ${far} of ${w.length} values of weight ${i} differ`);
    assert.ok(maxRelDiff(w, ref) < 3e-3, `${what}: weight ${i}`);
  }
}

for (const [name, options] of [
  ['same padding, depth 2', SAME],
  ['valid padding', VALID],
] as const) {
  test(`a U-Net training step on wasm (1 and 2 threads) equals the cpu backend's: ${name}`, async () => {
    const reference = await step('cpu', options);
    for (const threads of [1, 2]) {
      const got = await setKernelThreads(threads, spawnKernelThread);
      assert.equal(got.threads, threads, got.note);
      assertSame(await step('wasm', options), reference, `${threads} thread(s)`);
    }
  });
}

test('a checkpoint saved on one backend loads on the other and predicts the same', async () => {
  for (const [from, to] of [
    ['wasm', 'cpu'],
    ['cpu', 'wasm'],
  ]) {
    await tf.setBackend(from!);
    const model = unet3d(SAME);
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const x = tf.randomUniform([1, ...SAME.inputShape], 0, 1, 'float32', 7);
    const before = (model.predict(x) as tf.Tensor).dataSync();
    await tf.setBackend(to!);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    const x2 = tf.tensor(x.dataSync(), x.shape);
    const after = (loaded.predict(x2) as tf.Tensor).dataSync();
    assert.ok(maxRelDiff(after, before) < 1e-5, `${from} → ${to}`);
    loaded.dispose();
    tf.dispose([x2]);
    await tf.setBackend(from!);
    model.dispose();
    x.dispose();
  }
});
