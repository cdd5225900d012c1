/**
 * A distance model, as DaCapo's DistanceTask trains them (the COSEM/OpenOrganelle models): the
 * target is tanh(d / scaleFactor) of the signed distance d (world units) from each voxel to the
 * nearest boundary of the cells (labels ≠ 0; membranes are 0), trained with a masked mean squared
 * error, with DaCapo's distance masking near unknown voxels, on crops of different voxel sizes
 * (8 nm and 16×8×8 nm: distances in nm), augmented with EM defects (missing and low-contrast
 * sections, section slips, blur). Each test crop is segmented by a seeded watershed from the
 * prediction's maxima and scored by VOI, the adapted Rand error and Dice per epoch, with one best
 * checkpoint by VOI (best/<crop>/) and one by ARand (best-arand/<crop>/).
 *
 *   node --import tsx examples/distance.ts              # ~6 min on 2 cores (wasm)
 *   node --import tsx examples/distance.ts --smoke      # a handful of batches on tiny data
 *
 * Options: --data DIR (the container, generated there once), --run DIR (scores, best checkpoints),
 * --epochs N.
 */
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  ValidationHook,
  describeBackend,
  distanceClasses,
  maskedLoss,
  openDataSplit,
  targetChannels,
  trainingDataset,
  unet3d,
  useFastestBackend,
  watershedPostProcessor,
  type DistanceOptions,
  type Evaluation,
} from '../src/index.js';
import { exampleArgs, printBest } from './common.js';
import { describeDemoCrops, ensureDemoContainer } from './synthetic/write-container.js';

const { smoke, option } = exampleArgs();
const dataDir = path.resolve(option('data', smoke ? 'demo-data/demo-small.zarr' : 'demo-data/demo.zarr'));
const runDir = path.resolve(option('run', `runs/distance${smoke ? '-smoke' : ''}`));
const EPOCHS = Number(option('epochs', smoke ? '2' : '10'));
const BATCHES_PER_EPOCH = smoke ? 2 : 12;
const INPUT: [number, number, number] = smoke ? [8, 16, 16] : [16, 48, 48];
const PREDICT_OUTPUT = smoke ? INPUT : [12, 40, 40];

// 1. Data: the demo container (Voronoi cells with membranes; two train, two test crops).
await ensureDemoContainer(dataDir, { small: smoke });
console.log(`Container ${path.relative(process.cwd(), dataDir)}:`);
for (const line of describeDemoCrops({ small: smoke })) console.log(`  ${line}`);
await useFastestBackend({ quiet: true });
console.log(`Backend: ${describeBackend()}`);
const split = await openDataSplit(dataDir);

// 2. The target: one channel (labels ≠ 0), distances in nm squashed by tanh(d / 24 nm).
const distance: DistanceOptions = { scaleFactor: 24, maskDistances: true };
const { channels, maskChannels } = targetChannels('distance', { distance })!;

// 3. Model: a linear output (tanh distances lie in [−1, 1]); DaCapo's MSE, masked.
const model = unet3d({
  inputShape: [...INPUT, 1],
  outputChannels: channels,
  finalActivation: 'linear',
  baseFilters: smoke ? 4 : 8,
  depth: 2,
});
model.compile({ optimizer: tf.train.adam(1e-3), loss: maskedLoss('meanSquaredError', { maskChannels }) });

const dataset = trainingDataset(split.train, {
  reuseDisposed: true, // fitDataset disposes each batch after its step
  inputShape: INPUT,
  batchSize: smoke ? 2 : 4,
  seed: 1,
  target: 'distance',
  distance,
  minMasked: 0.5,
  augment: {
    mirror: true,
    transpose: true,
    shift: { probSlip: 0.05, probShift: 0.05, sigma: 8, probability: 0.5 },
    blur: { sigma: [0, 8], probability: 0.3 },
    defect: { missingSection: 0.03, lowContrast: 0.05, contrastScale: 0.1 },
  },
});

// 4. Evaluation: seeded watershed of −prediction from its maxima within prediction > 0; VOI,
// ARand and Dice per test crop; the best checkpoint by VOI and by ARand.
await rm(runDir, { recursive: true, force: true }); // start afresh (the hook would resume from it)
const printScores = (e: Evaluation): void => {
  for (const crop of split.test) {
    const rows = e.all.filter((r) => r.crop === crop.name);
    const min = (k: 'voi' | 'arand') => Math.min(...rows.map((r) => r[k] ?? Number.NaN));
    const dice = Math.max(...rows.map((r) => r.dice ?? Number.NaN));
    console.log(
      `epoch ${e.epoch}: ${crop.name} VOI ${min('voi').toFixed(3)}, ARand ${min('arand').toFixed(3)}, ` +
        `Dice ${dice.toFixed(3)}${e.improved.includes(crop.name) ? ' new best' : ''}`,
    );
  }
};
const hook = new ValidationHook({
  crops: split.test,
  runDir,
  predict: { outputShape: PREDICT_OUTPUT },
  postProcessor: watershedPostProcessor({ input: 'distance', seeds: 'maxima', thresholds: [0, 0.3, 0.6] }),
  scores: ['voi', 'arand', 'dice'],
  classes: distanceClasses(distance),
  keepBestBy: ['arand'],
  onEvaluation: printScores,
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

// 5. The best checkpoints: by VOI, and by ARand.
printBest(hook.best);
for (const [crop, b] of hook.bestBy.get('arand')!) {
  console.log(
    `best by ARand ${crop}: epoch ${b.epoch}, ARand ${b.arand?.toFixed(3)}, checkpoint ${path.relative(process.cwd(), b.checkpoint)}`,
  );
}
