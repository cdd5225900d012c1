/**
 * The simple layout: one crop, `data.zarr/{raw,labels}` at the container's root, used for both
 * training and testing. Trains a small 3D U-Net on a boundary target and scores the crop by VOI
 * after every epoch, keeping the best checkpoint.
 *
 *   node --import tsx examples/simple-layout.ts              # ~6 min on 2 cores (wasm)
 *   node --import tsx examples/simple-layout.ts --smoke      # a handful of batches on tiny data
 *
 * Options: --data DIR (the container, generated there once), --run DIR (scores, best checkpoint),
 * --epochs N.
 */
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  ValidationHook,
  describeBackend,
  maskedLoss,
  openDataSplit,
  trainingDataset,
  unet3d,
  useFastestBackend,
} from '../src/index.js';
import { exampleArgs, printBest, printEvaluation } from './common.js';
import { describeDemoCrops, ensureDemoContainer } from './synthetic/write-container.js';

const { smoke, option } = exampleArgs();
const dataDir = path.resolve(option('data', `demo-data/simple${smoke ? '-small' : ''}/data.zarr`));
const runDir = path.resolve(option('run', `runs/simple${smoke ? '-smoke' : ''}`));
const EPOCHS = Number(option('epochs', smoke ? '2' : '10'));
const BATCHES_PER_EPOCH = smoke ? 2 : 12;
const INPUT: [number, number, number] = smoke ? [8, 16, 16] : [16, 48, 48];

// 1. Data: a synthetic EM-like crop written once as data.zarr/{raw,labels}.
const layout = 'simple';
await ensureDemoContainer(dataDir, { small: smoke, layout });
console.log(
  `Container ${path.relative(process.cwd(), dataDir)}: ${describeDemoCrops({ small: smoke, layout }).join('')}`,
);

// 2. Backend: tfjs-node when installed, else wasm, else cpu.
await useFastestBackend({ quiet: true });
console.log(`Backend: ${describeBackend()}`);

// 3. Open the container: the simple layout gives one crop (named after the container), train = test.
const split = await openDataSplit(dataDir);
console.log(`Layout ${split.layout}: train ${split.train.map((c) => c.name)}, test ${split.test.map((c) => c.name)}`);

// 4. Model: a 3D U-Net predicting one channel (cell interior vs boundary), with a masked loss.
const model = unet3d({ inputShape: [...INPUT, 1], outputChannels: 1, baseFilters: smoke ? 4 : 8, depth: 2 });
model.compile({ optimizer: tf.train.adam(1e-3), loss: maskedLoss('binaryCrossentropy') });

// 5. Train; the hook scores the test crop after each epoch and keeps its best checkpoint.
await rm(runDir, { recursive: true, force: true }); // start afresh (the hook would resume from it)
const hook = new ValidationHook({
  crops: split.test,
  runDir,
  onEvaluation: printEvaluation,
});
const dataset = trainingDataset(split.train, {
  reuseDisposed: true, // fitDataset disposes each batch after its step
  inputShape: INPUT,
  batchSize: smoke ? 2 : 4,
  seed: 1,
  target: 'boundary',
});
await model.fitDataset(dataset, { epochs: EPOCHS, batchesPerEpoch: BATCHES_PER_EPOCH, callbacks: [hook], verbose: 0 });

// 6. The best checkpoint per test crop (load one with loadCheckpoint(dir)).
printBest(hook.best);
