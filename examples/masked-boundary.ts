/**
 * The crops layout with masks: `data.zarr/{train,test}/<crop>/{raw,labels[,mask]}`, where mask 0
 * marks voxels nobody annotated. Those voxels never reach the loss (maskedLoss) nor the scores;
 * `minMasked` keeps patches that are mostly unknown out of training and `cropWeights: 'masked'`
 * draws crops in proportion to their known voxels. Also shows `cropDataset`, the samples of one
 * crop, for looking at what the pipeline reads.
 *
 *   node --import tsx examples/masked-boundary.ts              # ~6 min on 2 cores (wasm)
 *   node --import tsx examples/masked-boundary.ts --smoke      # a handful of batches on tiny data
 *
 * Options: --data DIR (the container, generated there once), --run DIR (scores, best checkpoints),
 * --epochs N.
 */
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  ValidationHook,
  cropDataset,
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
const dataDir = path.resolve(option('data', smoke ? 'demo-data/demo-small.zarr' : 'demo-data/demo.zarr'));
const runDir = path.resolve(option('run', `runs/masked-boundary${smoke ? '-smoke' : ''}`));
const EPOCHS = Number(option('epochs', smoke ? '2' : '10'));
const BATCHES_PER_EPOCH = smoke ? 2 : 12;
const INPUT: [number, number, number] = smoke ? [8, 16, 16] : [16, 48, 48];
// Predictions keep the centre of each tile: tile borders (zero padding) stay out of the scores.
const PREDICT_OUTPUT = smoke ? INPUT : [12, 40, 40];

// 1. Data: the demo container, four synthetic crops (two train, two test; some with masks).
await ensureDemoContainer(dataDir, { small: smoke });
console.log(`Container ${path.relative(process.cwd(), dataDir)}:`);
for (const line of describeDemoCrops({ small: smoke })) console.log(`  ${line}`);

await useFastestBackend({ quiet: true });
console.log(`Backend: ${describeBackend()}`);

const split = await openDataSplit(dataDir);
console.log(
  `Layout ${split.layout}: train ${split.train.map((c) => c.name).join(', ')}; test ${split.test.map((c) => c.name).join(', ')}`,
);

// 2. One crop's samples: { raw [z,y,x,c], labels [z,y,x,1], mask [z,y,x,1] } tensors.
const masked = split.train.find((c) => c.mask !== null) ?? split.train[0]!;
const samples = await cropDataset(masked, { inputShape: INPUT, seed: 1, minMasked: 0.5 }).take(1).toArray();
const sample = samples[0] as Record<'raw' | 'labels' | 'mask', tf.Tensor>;
const known = tf.tidy(() => sample.mask.mean().dataSync()[0]!);
console.log(
  `One sample of ${masked.name}: ` +
    Object.entries(sample)
      .map(([k, t]) => `${k} [${t.shape.join(', ')}] ${t.dtype}`)
      .join(', ') +
    `; ${(100 * known).toFixed(0)}% of its voxels known`,
);
tf.dispose(sample);

// 3. Model and masked loss.
const model = unet3d({ inputShape: [...INPUT, 1], outputChannels: 1, baseFilters: smoke ? 4 : 8, depth: 2 });
model.compile({ optimizer: tf.train.adam(1e-3), loss: maskedLoss('binaryCrossentropy') });

// 4. Training batches from every train crop: at least half of each patch known, crops weighted
// by their known voxels, mirrored/transposed at random.
const dataset = trainingDataset(split.train, {
  reuseDisposed: true, // fitDataset disposes each batch after its step
  inputShape: INPUT,
  batchSize: smoke ? 2 : 4,
  seed: 1,
  target: 'boundary',
  minMasked: 0.5,
  cropWeights: 'masked',
  augment: { mirror: true, transpose: true },
});

await rm(runDir, { recursive: true, force: true }); // start afresh (the hook would resume from it)
const hook = new ValidationHook({
  crops: split.test,
  runDir,
  predict: { outputShape: PREDICT_OUTPUT },
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

// 5. The best checkpoint per test crop (load one with loadCheckpoint(dir)).
printBest(hook.best);
