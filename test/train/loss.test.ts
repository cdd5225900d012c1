import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { maskedLoss } from '../../src/train/loss.js';
import { makeRng } from '../../src/train/random.js';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const EPS = Math.fround(1e-7);
const ONE_MINUS_EPS = Math.fround(1 - 1e-7); // what float32 tensors hold
const clip = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Random [b, z, y, x, C + M] yTrue (binary targets, 0/1 mask) and [b, z, y, x, C] predictions. */
function randomBatch(seed: string, shape: number[], C: number, M: number, oneHot = false) {
  const rng = makeRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const yTrue = new Float32Array(n * (C + M));
  const yPred = new Float32Array(n * C);
  for (let i = 0; i < n; i++) {
    const cls = rng.int(C);
    let total = 0;
    for (let c = 0; c < C; c++) {
      yTrue[i * (C + M) + c] = oneHot ? (c === cls ? 1 : 0) : rng.next() < 0.5 ? 1 : 0;
      const p = rng.next();
      yPred[i * C + c] = p;
      total += p;
    }
    if (oneHot) for (let c = 0; c < C; c++) yPred[i * C + c]! /= total;
    for (let m = 0; m < M; m++) yTrue[i * (C + M) + C + m] = rng.next() < 0.6 ? 1 : 0;
  }
  // A few saturated predictions to exercise the clipping.
  yPred[0] = 0;
  yPred[1] = 1;
  return { yTrue, yPred, n };
}

function hand(
  kind: 'bce' | 'mse' | 'cce',
  yTrue: Float32Array,
  yPred: Float32Array,
  n: number,
  C: number,
  M: number,
): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < n; i++) {
    const mk = (c: number) => yTrue[i * (C + M) + C + (M === 1 ? 0 : c)]!;
    if (kind === 'cce') {
      let l = 0;
      for (let c = 0; c < C; c++) l -= yTrue[i * (C + M) + c]! * Math.log(clip(yPred[i * C + c]!, EPS, 1));
      num += l * mk(0);
      den += mk(0);
      continue;
    }
    for (let c = 0; c < C; c++) {
      const t = yTrue[i * (C + M) + c]!,
        p = yPred[i * C + c]!;
      const q = clip(p, EPS, ONE_MINUS_EPS);
      const l = kind === 'bce' ? -(t * Math.log(q) + (1 - t) * Math.log(1 - q)) : (p - t) ** 2;
      num += l * mk(c);
      den += mk(c);
    }
  }
  return den > 0 ? num / den : 0;
}

function close(a: number, b: number, rel = 1e-4) {
  assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
}

test('BCE and MSE equal a hand computation (1-channel mask broadcast, and per-channel mask)', () => {
  const shape = [2, 3, 4, 5];
  for (const [C, M] of [
    [1, 1],
    [3, 1],
    [3, 3],
  ] as const) {
    const { yTrue, yPred, n } = randomBatch(`bce${C}${M}`, shape, C, M);
    const t = tf.tensor(yTrue, [...shape, C + M]);
    const p = tf.tensor(yPred, [...shape, C]);
    const bce = maskedLoss('binaryCrossentropy', { maskChannels: M })(t, p);
    const mse = maskedLoss('meanSquaredError', { maskChannels: M })(t, p);
    assert.equal(bce.rank, 0);
    close(bce.dataSync()[0]!, hand('bce', yTrue, yPred, n, C, M));
    close(mse.dataSync()[0]!, hand('mse', yTrue, yPred, n, C, M));
    assert.ok(Number.isFinite(bce.dataSync()[0]!));
    tf.dispose([t, p, bce, mse]);
  }
});

test('categorical cross-entropy equals a hand computation', () => {
  const shape = [2, 2, 3, 4];
  const C = 4;
  const { yTrue, yPred, n } = randomBatch('cce', shape, C, 1, true);
  const t = tf.tensor(yTrue, [...shape, C + 1]);
  const p = tf.tensor(yPred, [...shape, C]);
  const l = maskedLoss('categoricalCrossentropy')(t, p);
  close(l.dataSync()[0]!, hand('cce', yTrue, yPred, n, C, 1));
  assert.throws(() => maskedLoss('categoricalCrossentropy', { maskChannels: 4 }), /1-channel mask/);
  tf.dispose([t, p, l]);
});

test('a custom per-voxel loss is masked too', () => {
  const shape = [1, 2, 3, 4];
  const C = 2;
  const { yTrue, yPred, n } = randomBatch('custom', shape, C, 1);
  const t = tf.tensor(yTrue, [...shape, C + 1]);
  const p = tf.tensor(yPred, [...shape, C]);
  // Per voxel, rank 4: mean absolute error over channels.
  const mae = (a: tf.Tensor, b: tf.Tensor) => tf.mean(tf.abs(tf.sub(a, b)), -1);
  let num = 0,
    den = 0;
  for (let i = 0; i < n; i++) {
    let l = 0;
    for (let c = 0; c < C; c++) l += Math.abs(yTrue[i * 3 + c]! - yPred[i * 2 + c]!) / C;
    num += l * yTrue[i * 3 + 2]!;
    den += yTrue[i * 3 + 2]!;
  }
  const l = maskedLoss(mae)(t, p);
  close(l.dataSync()[0]!, num / den);
  // Per channel: squared difference equals the built-in MSE.
  const sq = maskedLoss((a, b) => tf.squaredDifference(a, b))(t, p);
  close(sq.dataSync()[0]!, hand('mse', yTrue, yPred, n, C, 1));
  tf.dispose([t, p, l, sq]);
});

test('an all-masked batch gives 0, not NaN', () => {
  const shape = [2, 2, 2, 2];
  for (const loss of ['binaryCrossentropy', 'meanSquaredError', 'categoricalCrossentropy'] as const) {
    const C = 3;
    const yTrue = tf.concat([tf.randomUniform([...shape, C]), tf.zeros([...shape, 1])], -1);
    const yPred = tf.fill([...shape, C], 0); // saturated predictions
    const l = maskedLoss(loss)(yTrue, yPred);
    assert.equal(l.dataSync()[0], 0, loss);
    const g = tf.grad((p: tf.Tensor) => maskedLoss(loss)(yTrue, p))(tf.fill([...shape, C], 0.3));
    assert.ok(
      g.dataSync().every((v) => v === 0),
      `${loss} gradient`,
    ); // -0 === 0
    tf.dispose([yTrue, yPred, l, g]);
  }
});

test('gradients flow, and are zero at masked voxels', () => {
  const shape = [1, 3, 4, 5];
  for (const [loss, C, M] of [
    ['binaryCrossentropy', 2, 1],
    ['binaryCrossentropy', 3, 3],
    ['meanSquaredError', 2, 1],
    ['categoricalCrossentropy', 3, 1],
  ] as const) {
    const { yTrue, yPred, n } = randomBatch(`g${loss}${M}`, shape, C, M, loss === 'categoricalCrossentropy');
    yPred[0] = 0.3;
    yPred[1] = 0.6; // keep away from the clip bounds so gradients are non-zero
    const t = tf.tensor(yTrue, [...shape, C + M]);
    const p = tf.tensor(yPred, [...shape, C]);
    const fn = maskedLoss(loss, { maskChannels: M });
    const g = tf
      .grad((q: tf.Tensor) => fn(t, q))(p)
      .dataSync();
    let nonZero = 0;
    for (let i = 0; i < n; i++)
      for (let c = 0; c < C; c++) {
        const m = yTrue[i * (C + M) + C + (M === 1 ? 0 : c)]!;
        if (m === 0) assert.ok(g[i * C + c] === 0, `${loss} masked voxel ${i} channel ${c}: ${g[i * C + c]}`);
        else if (g[i * C + c] !== 0) nonZero++;
      }
    assert.ok(nonZero > 0, `${loss}: some gradient flows`);
    // Numerical check on one known voxel.
    const idx = Array.from({ length: n * C }, (_, k) => k).find((k) => {
      const i = Math.floor(k / C),
        c = k % C;
      const q = yPred[k]!;
      return yTrue[i * (C + M) + C + (M === 1 ? 0 : c)] === 1 && q > 0.05 && q < 0.95;
    })!;
    const h = 1e-2;
    const at = (d: number) => {
      const q = yPred.slice();
      q[idx] += d;
      return fn(t, tf.tensor(q, [...shape, C])).dataSync()[0]!;
    };
    close(g[idx]!, (at(h) - at(-h)) / (2 * h), 5e-2);
    tf.dispose([t, p]);
  }
});

test('maskedLoss works with model.compile + fitDataset (ys = target ⊕ mask) and leaks no tensors', async () => {
  const input = tf.input({ shape: [4, 4, 4, 1] });
  const out = tf.layers
    .conv3d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'sigmoid' })
    .apply(input) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  model.compile({ optimizer: 'adam', loss: maskedLoss('binaryCrossentropy') });
  const xs = tf.randomUniform([2, 4, 4, 4, 1]);
  const ys = tf.concat([tf.randomUniform([2, 4, 4, 4, 2]).round(), tf.randomUniform([2, 4, 4, 4, 1]).round()], -1);
  // model.fit checks ys against the output shape; fitDataset does not, hence ys = target ⊕ mask.
  const ds = tf.data.zip({ xs: tf.data.array(tf.unstack(xs)), ys: tf.data.array(tf.unstack(ys)) }).batch(2);
  const h = await model.fitDataset(ds as tf.data.Dataset<tf.TensorContainer>, { epochs: 2, verbose: 0 });
  assert.ok(Number.isFinite(h.history['loss']![1] as number));
  const before = tf.memory().numTensors;
  const l = maskedLoss('binaryCrossentropy')(ys, model.predict(xs) as tf.Tensor);
  l.dispose();
  assert.ok(tf.memory().numTensors <= before + 1, 'only the prediction is left');
  tf.dispose([xs, ys]);
  model.dispose();
});

test('shape errors are clear', () => {
  const t = tf.zeros([1, 2, 2, 2, 4]);
  assert.throws(() => maskedLoss('binaryCrossentropy')(t, tf.zeros([1, 2, 2, 2, 2])), /yPred .* 3 channel/);
  assert.throws(
    () => maskedLoss('binaryCrossentropy', { maskChannels: 2 })(tf.zeros([1, 2, 2, 2, 5]), tf.zeros([1, 2, 2, 2, 3])),
    /maskChannels = 2 must be 1 or/,
  );
  assert.throws(() => maskedLoss('nope' as 'meanSquaredError'), /unknown loss/);
  assert.throws(
    () => maskedLoss((a) => tf.sum(a, -1, true).squeeze([0]))(t, tf.zeros([1, 2, 2, 2, 3])),
    /returned shape/,
  );
});
