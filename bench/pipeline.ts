/**
 * Pipeline benchmark: samples/s of trainingDataset alone (batch 4 of 64^3 raw + labels + mask,
 * boundary target, augmentation on) and, in a short fitDataset run of a small 3D U-Net on the
 * fastest backend, the fraction of wall time the training loop waits for data.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openDataSplit, trainingDataset, maskedLoss, unet3d, useFastestBackend } from '../src/index.js';

const FIT_BATCH = 1;
const here = path.dirname(new URL(import.meta.url).pathname);

export function ensureTrainContainer(): string {
  const dir = path.join(here, 'data', 'train192.zarr');
  if (!existsSync(path.join(dir, '.zgroup'))) {
    execFileSync('/usr/bin/python3', [path.join(here, 'make_train_container.py'), dir, '192'], { stdio: 'inherit' });
  }
  return dir;
}

/** Elastic options of the benchmark (world units of the 8 nm benchmark container). */
export const ELASTIC = {
  controlPointSpacing: 80,
  jitterSigma: 16,
  rotationInterval: [0, Math.PI / 2] as [number, number],
  subsample: 4,
};

/** Samples/s of trainingDataset alone (setup excluded). */
export async function pipelineRate(
  crops: Parameters<typeof trainingDataset>[0],
  batches: number,
  options: Parameters<typeof trainingDataset>[1],
): Promise<number> {
  const it = await trainingDataset(crops, options).iterator();
  tf.dispose((await it.next()).value);
  const t = performance.now();
  for (let i = 0; i < batches; i++) tf.dispose((await it.next()).value);
  return (batches * (options.batchSize ?? 1)) / ((performance.now() - t) / 1000);
}

export async function benchPipeline(
  options: { batches?: number; fitBatches?: number } = {},
): Promise<Record<string, number | string>> {
  const batches = options.batches ?? 40;
  const fitBatches = options.fitBatches ?? 6;
  const backend = await useFastestBackend({ quiet: true });
  const split = await openDataSplit(ensureTrainContainer());
  const results: Record<string, number | string> = { backend };
  const datasetOptions = {
    inputShape: [64, 64, 64],
    batchSize: 4,
    seed: 1,
    target: 'boundary' as const,
    minMasked: 0.5,
    augment: {
      mirror: true,
      transpose: true,
      intensity: { scale: [0.9, 1.1] as [number, number], shift: [-0.1, 0.1] as [number, number] },
    },
  };

  // The pipeline alone.
  const it = await trainingDataset(split.train, datasetOptions).iterator();
  tf.dispose((await it.next()).value); // setup (mask tables) out of the timing
  let t = performance.now();
  for (let i = 0; i < batches; i++) tf.dispose((await it.next()).value);
  const pipelineSeconds = (performance.now() - t) / 1000;
  results['pipelineSamplesPerSecond'] = (batches * 4) / pipelineSeconds;

  // The same with elastic augmentation on (control points every 80 nm at 8 nm voxels, see ELASTIC).
  results['pipelineElasticSamplesPerSecond'] = await pipelineRate(split.train, batches, {
    ...datasetOptions,
    augment: { ...datasetOptions.augment, elastic: ELASTIC },
  });

  // fitDataset with a timed wrapper around the same pipeline.
  const inner = await trainingDataset(split.train, { ...datasetOptions, batchSize: FIT_BATCH, seed: 2 }).iterator();
  let waiting = 0;
  const timed = tf.data.generator(async function* () {
    for (;;) {
      const t0 = performance.now();
      const r = await inner.next();
      waiting += performance.now() - t0;
      yield r.value;
    }
  } as unknown as () => Iterator<tf.TensorContainer>);
  // Batch 1 of the same 64^3 patches: batch 4 does not fit the wasm backend's 4 GiB heap.
  const model = unet3d({ inputShape: [64, 64, 64, 1], outputChannels: 1, baseFilters: 8, depth: 2 });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: maskedLoss('binaryCrossentropy') });
  // Warm-up step (kernel compilation) out of the timing.
  await model.fitDataset(timed, { epochs: 1, batchesPerEpoch: 1, verbose: 0 });
  waiting = 0;
  t = performance.now();
  await model.fitDataset(timed, { epochs: 1, batchesPerEpoch: fitBatches, verbose: 0 });
  const wall = performance.now() - t;
  results['fitSecondsPerBatch'] = wall / 1000 / fitBatches;
  results['fitBatchSize'] = FIT_BATCH;
  results['modelSamplesPerSecond'] = (fitBatches * FIT_BATCH) / (wall / 1000);
  results['waitFraction'] = waiting / wall;
  results['pipelineSpeedupOverModel'] =
    (results['pipelineSamplesPerSecond'] as number) / (results['modelSamplesPerSecond'] as number);
  model.dispose();
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchPipeline();
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(32)} ${typeof v === 'number' ? v.toFixed(3) : v}`);
}
