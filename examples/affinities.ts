/**
 * Affinities: the model predicts, per voxel, whether it belongs to the same object as its
 * neighbour along z, y and x (3 channels, DEFAULT_AFFINITY_OFFSETS). Each affinity has its own
 * mask channel (known only where both voxels are), so the loss takes `maskChannels: 3`;
 * evaluation turns affinities into instances with `affinityPostProcessor` (components of the graph
 * of edges above a threshold, over a sweep of thresholds). The data is a container in the
 * train/test layout: `data.zarr/{train,test}/{raw,labels[,mask]}`. Affinities learn slower than the
 * boundary target: the first few epochs score as one segment before VOI drops (--epochs 20).
 *
 *   node --import tsx examples/affinities.ts              # ~7 min on 2 cores (wasm)
 *   node --import tsx examples/affinities.ts --smoke      # a handful of batches on tiny data
 *
 * Options: --data DIR (the container, generated there once), --run DIR (scores, best checkpoint),
 * --epochs N.
 */
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  ValidationHook,
  affinityPostProcessor,
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
const dataDir = path.resolve(option('data', `demo-data/train-test${smoke ? '-small' : ''}/data.zarr`));
const runDir = path.resolve(option('run', `runs/affinities${smoke ? '-smoke' : ''}`));
const EPOCHS = Number(option('epochs', smoke ? '2' : '10'));
const BATCHES_PER_EPOCH = smoke ? 2 : 12;
const INPUT: [number, number, number] = smoke ? [8, 16, 16] : [16, 48, 48];

// 1. Data: one synthetic train crop and one test crop (with a mask) in the train/test layout.
const layout = 'train-test';
await ensureDemoContainer(dataDir, { small: smoke, layout });
console.log(`Container ${path.relative(process.cwd(), dataDir)}:`);
for (const line of describeDemoCrops({ small: smoke, layout })) console.log(`  ${line}`);

await useFastestBackend({ quiet: true });
console.log(`Backend: ${describeBackend()}`);

const split = await openDataSplit(dataDir);
console.log(`Layout ${split.layout}: train ${split.train.map((c) => c.name)}, test ${split.test.map((c) => c.name)}`);

// 2. Three output channels (z, y, x affinities); the last 3 channels of ys are their masks.
const model = unet3d({ inputShape: [...INPUT, 1], outputChannels: 3, baseFilters: smoke ? 4 : 8, depth: 2 });
model.compile({ optimizer: tf.train.adam(1e-3), loss: maskedLoss('binaryCrossentropy', { maskChannels: 3 }) });

const dataset = trainingDataset(split.train, {
  reuseDisposed: true, // fitDataset disposes each batch after its step
  inputShape: INPUT,
  batchSize: smoke ? 2 : 4,
  seed: 1,
  target: 'affinities', // ys: [b, z, y, x, 3 affinities + 3 masks]
  augment: { mirror: true, transpose: true },
});

// 3. Evaluation: affinities → instances over a sweep of thresholds, scored by VOI.
await rm(runDir, { recursive: true, force: true }); // start afresh (the hook would resume from it)
const hook = new ValidationHook({
  crops: split.test,
  runDir,
  postProcessor: affinityPostProcessor(),
  onEvaluation: printEvaluation,
});
const logLoss = new tf.CustomCallback({
  onEpochEnd: (epoch, logs) => console.log(`epoch ${epoch}: loss ${logs?.['loss']?.toFixed(4)}`),
});
await model.fitDataset(dataset, {
  epochs: EPOCHS,
  batchesPerEpoch: BATCHES_PER_EPOCH,
  callbacks: [logLoss, hook],
  verbose: 0,
});

// 4. The best checkpoint per test crop, with the threshold that made it best.
printBest(hook.best);
