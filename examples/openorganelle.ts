/**
 * Training on an OpenOrganelle (COSEM) style N5 container: EM at several scales under
 * `em/fibsem-uint8/{s0,s1,s2}` and instance labels under `labels/cell_seg/{s0,s1}`, COSEM
 * multiscale groups with per-level `transform`s, as the datasets sit on their bucket (written here
 * locally, once). Raw is read at 4 nm and labels at 8 nm, each picked from its multiscale group by
 * voxel size (`DataConfig.voxelSize`, as cellmap-data does); the U-Net's output is downsampled ×2
 * to the labels' grid; the hook scores the crop on that grid.
 *
 *   node --import tsx examples/openorganelle.ts              # 8 epochs of 12 batches (wasm; 32 min on a
 *                                                            # 2-core machine at load 14–19, VOI 5.8 → 0.09)
 *   node --import tsx examples/openorganelle.ts --smoke      # a handful of batches on tiny data
 *
 * The same code reads the published data from its bucket (README, "Data format"):
 *   openDataSplit({ path: 's3://janelia-cosem-datasets/<dataset>/<dataset>.n5', rawName: 'em/fibsem-uint8', ... })
 * Options: --data DIR (the .n5 container, generated there once), --run DIR, --epochs N.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  DataConfig,
  ValidationHook,
  describeBackend,
  maskedLoss,
  openDataSplit,
  trainingDataset,
  unet3d,
  useFastestBackend,
} from '../src/index.js';
import { exampleArgs, printBest, printEvaluation } from './common.js';
import { writeOpenOrganelleN5 } from './synthetic/write-n5.js';

const { smoke, option } = exampleArgs();
const dataDir = path.resolve(option('data', `demo-data/openorganelle${smoke ? '-small' : ''}/jrc_synthetic.n5`));
const runDir = path.resolve(option('run', `runs/openorganelle${smoke ? '-smoke' : ''}`));
const EPOCHS = Number(option('epochs', smoke ? '2' : '8'));
const BATCHES_PER_EPOCH = smoke ? 2 : 12;
const INPUT: [number, number, number] = smoke ? [8, 16, 16] : [16, 48, 48]; // raw voxels (4 nm)

// 1. Data: cells at 4 nm, written once as an OpenOrganelle-style N5 (raw s0–s2, labels s0–s1).
if (!existsSync(path.join(dataDir, 'attributes.json'))) {
  await writeOpenOrganelleN5(dataDir, smoke ? [24, 48, 48] : [48, 128, 128]);
}

// 2. Backend: tfjs-node when installed, else wasm, else cpu.
await useFastestBackend({ quiet: true });
console.log(`Backend: ${describeBackend()}`);

// 3. Open: the simple layout (one crop, train = test) with the arrays named by their paths, raw
//    at 4 nm and labels at 8 nm chosen from the multiscale groups.
const config = new DataConfig({
  path: dataDir,
  name: 'jrc_synthetic', // the crop's name (the simple layout's one crop)
  rawName: 'em/fibsem-uint8',
  gtName: 'labels/cell_seg',
  voxelSize: { raw: [4, 4, 4], labels: [8, 8, 8] },
});
const split = await openDataSplit(config);
const crop = split.train[0]!;
console.log(`Container ${path.relative(process.cwd(), dataDir)} (${split.format}, ${split.layout} layout):`);
for (const v of [crop.raw, crop.labels]) {
  console.log(`  ${v.path}: voxel size [${v.voxelSize}] offset [${v.offset}] (${v.convention})`);
}

// 4. Model: input at 4 nm, output downsampled ×2 to the labels' 8 nm.
const model = unet3d({
  inputShape: [...INPUT, 1],
  outputChannels: 1,
  baseFilters: smoke ? 4 : 8,
  depth: smoke ? 1 : 2,
  outputDownsample: [2, 2, 2],
  seed: 1,
});
model.compile({ optimizer: tf.train.adam(1e-3), loss: maskedLoss('binaryCrossentropy') });

// 5. Train; the hook scores the crop after each epoch and keeps its best checkpoint.
await rm(runDir, { recursive: true, force: true }); // start afresh (the hook would resume from it)
const hook = new ValidationHook({ crops: split.test, runDir, onEvaluation: printEvaluation });
const dataset = trainingDataset(split.train, {
  reuseDisposed: true, // fitDataset disposes each batch after its step
  inputShape: INPUT,
  batchSize: smoke ? 2 : 4,
  seed: 1,
  target: 'boundary',
});
await model.fitDataset(dataset, { epochs: EPOCHS, batchesPerEpoch: BATCHES_PER_EPOCH, callbacks: [hook], verbose: 0 });

// 6. The best checkpoint per test crop.
printBest(hook.best);
