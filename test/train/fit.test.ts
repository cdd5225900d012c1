/**
 * trainingDataset under a real `model.fitDataset`: a tiny conv3d model learns on the synthetic EM
 * demo container, and the run holds no more tensors at the end of epoch N than at the end of epoch 1
 * (augmentation on, a validation dataset, batchesPerEpoch and validationBatches).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openDataSplit, trainingDataset, type DataSplit, type TrainingDatasetOptions } from '../../src/index.js';
import { writeDemoContainer } from '../../examples/synthetic/write-container.js';
import { twoConvNet } from '../helpers/models.js';

let dir = '';
let split: DataSplit;

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  dir = await mkdtemp(path.join(os.tmpdir(), 'tfjs-zarr-fit-'));
  await writeDemoContainer(path.join(dir, 'demo.zarr'), { small: true });
  split = await openDataSplit(path.join(dir, 'demo.zarr'));
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const INPUT = [8, 16, 16];
const OUTPUT = [4, 12, 12]; // two valid 3×3×3 convolutions

function tinyModel(seed: number): tf.Sequential {
  return twoConvNet({ inputShape: INPUT, filters: 6, seeds: [seed, seed + 1], learningRate: 0.02 });
}

test('fitDataset: a tiny conv3d model learns the boundary target (mean loss of the last epochs < the first)', async () => {
  assert.deepEqual(
    split.train.map((c) => c.name),
    ['crop_01', 'crop_02'],
  );
  const model = tinyModel(1);
  const data = trainingDataset(split.train, {
    inputShape: INPUT,
    outputShape: OUTPUT,
    batchSize: 2,
    seed: 3,
    target: 'boundary',
    minMasked: 0.5,
  });
  const batchLosses: number[][] = [];
  const epochs = 10,
    batchesPerEpoch = 6;
  const history = await model.fitDataset(data, {
    epochs,
    batchesPerEpoch,
    verbose: 0,
    callbacks: {
      onEpochBegin: async () => void batchLosses.push([]),
      onBatchEnd: async (_batch, logs) => void batchLosses.at(-1)!.push(logs!.loss as number),
    },
  });
  const perEpoch = batchLosses.map((l) => l.reduce((a, b) => a + b, 0) / l.length);
  assert.equal(perEpoch.length, epochs);
  assert.ok(
    perEpoch.every((l) => Number.isFinite(l) && l > 0),
    `losses ${perEpoch}`,
  );
  assert.deepEqual(
    (history.history.loss as number[]).map((l) => l.toFixed(4)),
    perEpoch.map((l) => l.toFixed(4)),
    'the epoch loss is the mean of its batches',
  );
  const first = perEpoch[0]!;
  const last = (perEpoch.at(-1)! + perEpoch.at(-2)!) / 2;
  assert.ok(
    last < 0.8 * first,
    `loss went from ${first.toFixed(4)} to ${last.toFixed(4)} (per epoch: ${perEpoch.map((l) => l.toFixed(3))})`,
  );
  // Better than the best constant prediction on the very batches of the last two epochs (the same
  // seed gives the same batches again): the model uses the raw, not only the class balance.
  const it = await data.iterator();
  let ones = 0,
    known = 0;
  for (let b = 0; b < epochs * batchesPerEpoch; b++) {
    const { xs, ys } = (await it.next()).value;
    if (b >= (epochs - 2) * batchesPerEpoch) {
      const d = ys.dataSync();
      for (let v = 0; v < d.length; v += 2) {
        ones += d[v]! * d[v + 1]!;
        known += d[v + 1]!;
      }
    }
    tf.dispose([xs, ys]);
  }
  const p = ones / known;
  const constant = -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
  assert.ok(
    last < 0.9 * constant,
    `loss ${last.toFixed(4)} vs ${constant.toFixed(4)} for the best constant prediction (p = ${p.toFixed(3)})`,
  );
  model.dispose();
});

test('fitDataset: tensors flat across epochs with augmentation, batchesPerEpoch and a validation dataset', async () => {
  const model = tinyModel(2);
  const common: TrainingDatasetOptions = {
    inputShape: INPUT,
    outputShape: OUTPUT,
    batchSize: 2,
    target: 'boundary',
    minMasked: 0.25,
    prefetch: 3,
  };
  const train = trainingDataset(split.train, {
    ...common,
    seed: 5,
    cropWeights: 'masked',
    augment: {
      mirror: true,
      transpose: true,
      intensity: { scale: [0.8, 1.2], shift: [-0.1, 0.1] },
      gamma: [0.8, 1.25],
    },
  });
  const validation = trainingDataset(split.test, { ...common, seed: 6 });
  const atEpochEnd: number[] = [];
  const atBatchEnd: number[][] = [];
  const valLosses: number[] = [];
  const fit = (epochs: number) =>
    model.fitDataset(train, {
      epochs,
      batchesPerEpoch: 4,
      validationData: validation,
      validationBatches: 2,
      verbose: 0,
      callbacks: {
        onEpochBegin: async () => void atBatchEnd.push([]),
        onBatchEnd: async () => void atBatchEnd.at(-1)!.push(tf.memory().numTensors),
        onEpochEnd: async (_epoch, logs) => {
          atEpochEnd.push(tf.memory().numTensors);
          valLosses.push(logs!.val_loss as number);
        },
      },
    });
  await fit(4);
  assert.equal(atEpochEnd.length, 4);
  assert.ok(
    valLosses.every((l) => Number.isFinite(l) && l > 0),
    `validation losses ${valLosses}`,
  );
  assert.ok(
    atEpochEnd.every((n) => n === atEpochEnd[0]),
    `tensors at the end of each epoch: ${atEpochEnd.join(', ')}`,
  );
  // Within an epoch too, once the optimizer's slots exist (after the first batch).
  const steady = atBatchEnd.flat().slice(1);
  assert.ok(
    steady.every((n) => n === steady[0]),
    `tensors at the end of each batch: ${atBatchEnd.map((e) => e.join(' ')).join(' | ')}`,
  );
  // A second run on the same model and datasets (new iterators) leaves the count where it was.
  const afterFirst = tf.memory().numTensors;
  await fit(2);
  assert.equal(tf.memory().numTensors, afterFirst);
  assert.ok(atEpochEnd.every((n) => n === atEpochEnd[0]));
  model.dispose();
});
