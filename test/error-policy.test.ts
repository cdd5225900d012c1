/**
 * One error policy: every bad argument to a public function is an OptionsError whose message
 * names the option at fault; bad data is a DataFormatError naming the file. (Bad containers:
 * test/zarr/errors.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  Cropping3D,
  DataConfig,
  DataFormatError,
  OptionsError,
  PatchConv3D,
  UpSampling3D,
  ValidationHook,
  affinityPostProcessor,
  boundaryPostProcessor,
  cropDataset,
  maskedLoss,
  openDataSplit,
  readCheckpointInfo,
  roi,
  targetChannels,
  trainingDataset,
  unet3d,
  useFastestBackend,
  variationOfInformation,
  type Crop,
  type TrainingDatasetOptions,
} from '../src/index.js';

/** A crop that is never read: argument checks come before any read. */
const crop = { name: 'crop_01', voxelSize: [1, 1, 1] } as unknown as Crop;
const shape: TrainingDatasetOptions = { inputShape: [4, 4, 4] };
const bad = (options: object) => ({ ...shape, ...options }) as TrainingDatasetOptions;

/** [the option the message must name, the call with a bad value for it]. */
const CASES: [string, () => unknown][] = [
  ['path', () => new DataConfig({} as never)],
  ['rawName', () => new DataConfig({ path: 'x.zarr', rawName: '' })],
  ['level', () => new DataConfig({ path: 'x.zarr', level: -1 })],
  ['rawScale', () => new DataConfig({ path: 'x.zarr', rawScale: 0 })],
  ['concurrency', () => new DataConfig({ path: 'x.zarr', concurrency: 0 })],
  ['cacheBytes', () => new DataConfig({ path: 'x.zarr', cacheBytes: Number.NaN })],
  ['offset', () => roi([0, 0], [1, 2, 3])],
  ['inputShape', () => trainingDataset([crop], bad({ inputShape: [4, 4] }))],
  ['outputShape', () => trainingDataset([crop], bad({ outputShape: [8, 4, 4] }))],
  ['minMasked', () => trainingDataset([crop], bad({ minMasked: 2 }))],
  ['batchSize', () => trainingDataset([crop], bad({ batchSize: 0 }))],
  ['prefetch', () => trainingDataset([crop], bad({ prefetch: -1 }))],
  ['cropWeights', () => trainingDataset([crop], bad({ cropWeights: [1, 2] }))],
  ['cropWeights', () => trainingDataset([crop], bad({ cropWeights: 'sizes' }))],
  ['numClasses', () => trainingDataset([crop], bad({ target: 'semantic' }))],
  ['crop', () => trainingDataset([], shape)],
  ['augment.gamma', () => trainingDataset([crop], bad({ augment: { gamma: [0, 1] } }))],
  ['augment.mirror', () => trainingDataset([crop], bad({ augment: { mirror: [true] } }))],
  ['augment.intensity.scale', () => trainingDataset([crop], bad({ augment: { intensity: { scale: [2, 1] } } }))],
  ['inputShape', () => cropDataset(crop, { inputShape: [0, 4, 4] })],
  ['loss', () => maskedLoss('mse' as never)],
  ['maskChannels', () => maskedLoss('binaryCrossentropy', { maskChannels: 0 })],
  ['epsilon', () => maskedLoss('binaryCrossentropy', { epsilon: 1 })],
  ['numClasses', () => targetChannels('semantic')],
  ['target', () => targetChannels('edges' as never)],
  ['pred', () => variationOfInformation(new Uint32Array(2), new Uint32Array(3))],
  ['mask', () => variationOfInformation(new Uint32Array(2), new Uint32Array(2), { mask: new Uint8Array(3) })],
  ['threshold', () => boundaryPostProcessor().apply(new Float32Array(8), [2, 2, 2, 1], {})],
  ['shape', () => boundaryPostProcessor().apply(new Float32Array(8), [2, 2, 2], { threshold: 0.5 })],
  ['offsets', () => affinityPostProcessor().apply(new Float32Array(8), [2, 2, 2, 1], { threshold: 0.5 })],
  ['crops', () => new ValidationHook({ crops: [], runDir: 'runs/x' })],
  ['runDir', () => new ValidationHook({ crops: [crop], runDir: '' })],
  ['every', () => new ValidationHook({ crops: [crop], runDir: 'runs/x', every: 0 })],
  ['everyBatches', () => new ValidationHook({ crops: [crop], runDir: 'runs/x', everyBatches: 1.5 })],
  ['inputShape', () => unet3d({ inputShape: [4, 4, 4] as never, outputChannels: 1 })],
  ['outputChannels', () => unet3d({ inputShape: [4, 4, 4, 1], outputChannels: 0 })],
  ['depth', () => unet3d({ inputShape: [4, 4, 4, 1], outputChannels: 1, depth: -1 })],
  ['filters', () => new PatchConv3D({ filters: 0 })],
  ['kernelSize', () => new PatchConv3D({ filters: 1, kernelSize: 2 })],
  ['size', () => new UpSampling3D({ size: 0 })],
  ['cropping', () => new Cropping3D({ cropping: -1 } as never)],
];

for (const [option, call] of CASES) {
  test(`bad ${option}: OptionsError naming it (${call.toString().slice(6, 90)})`, async () => {
    await assert.rejects(
      async () => call(),
      (e: unknown) => {
        assert.ok(e instanceof OptionsError, `expected an OptionsError, got ${String(e)}`);
        assert.ok(e.message.includes(option), `the message names ${option}: ${e.message}`);
        return true;
      },
    );
  });
}

test('async entry points reject with OptionsError too', async () => {
  await assert.rejects(openDataSplit({ path: '' }), OptionsError);
  await assert.rejects(useFastestBackend({ prefer: 'gpu' as never, quiet: true }), /prefer/);
});

test('bad data is a DataFormatError naming the file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-policy-'));
  try {
    await mkdir(path.join(dir, 'ckpt'));
    const file = path.join(dir, 'ckpt', 'checkpoint.json');
    await writeFile(file, '{ not json');
    await assert.rejects(
      readCheckpointInfo(path.join(dir, 'ckpt')),
      (e: unknown) => e instanceof DataFormatError && e.message.startsWith(file),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
