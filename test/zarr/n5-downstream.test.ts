/**
 * Everything downstream of the reading layer works on N5 and buckets as on local zarr: a run on
 * the OpenOrganelle-style N5 (raw at 4 nm and labels at 8 nm picked by voxel size) trains, scores
 * its test crop and keeps a best checkpoint; training batches from an N5 container in a bucket
 * are the same in worker threads (which open the bucket again) as in this thread; predictVolume
 * reads an N5 array and writes what predictCrop computes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { openArray, predictVolume } from '../../src/apply/index.js';
import { openDataSplit, predictCrop, trainingDataset } from '../../src/index.js';
import { resolveRunConfig } from '../../src/run/config.js';
import { prepareRunDir, trainRun } from '../../src/run/train.js';
import { tinyValidNet } from '../helpers/apply.js';
import { FIXTURES, fixturePath } from '../helpers/fixtures.js';
import { type S3Server, startS3Server } from '../helpers/s3-server.js';

const quiet = { message() {}, batch() {}, epoch() {}, validation() {}, evaluation() {}, stop() {} };
let dir: string;

before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(path.join(os.tmpdir(), 'tfjs-zarr-n5-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('a run on OpenOrganelle-style N5 (raw 4 nm, labels 8 nm by voxelSize) trains and scores', async () => {
  const config = resolveRunConfig({
    data: {
      path: fixturePath('n5/cosem.n5'),
      rawName: 'em/fibsem-uint8',
      gtName: 'labels/mito_seg',
      voxelSize: { raw: [4, 4, 4], labels: [8, 8, 8] },
    },
    runDir: path.join(dir, 'run'),
    model: { baseFilters: 2, depth: 1, outputDownsample: [2, 2, 2] },
    inputShape: [8, 8, 8],
    batchSize: 2,
    epochs: 1,
    batchesPerEpoch: 2,
  });
  await prepareRunDir(config);
  const result = await trainRun(config, { progress: quiet });
  assert.equal(result.status, 'complete');
  assert.ok(result.best.has('cosem'), 'a best checkpoint for the crop');
  const scores = (await readFile(path.join(dir, 'run', 'scores.jsonl'), 'utf8')).trim().split('\n');
  assert.ok(scores.length > 0 && scores.every((l) => Number.isFinite(JSON.parse(l).voi)));
});

test('batches from N5 in a bucket: worker threads (opening the bucket again) equal this thread', async () => {
  let s3: S3Server | null = null;
  try {
    s3 = await startS3Server('em');
    await s3.upload(path.join(FIXTURES, 'n5', 'crops.n5'), 'crops.n5');
    const split = await openDataSplit({ path: 's3://em/crops.n5', bucket: { endpoint: s3.endpoint } });
    const options = { inputShape: [4, 4, 4], batchSize: 2, seed: 5, target: 'boundary' as const };
    const take = async (workers: number) => {
      const ds = trainingDataset(split.train, { ...options, workers });
      const it = await ds.iterator();
      const out: number[][] = [];
      for (let i = 0; i < 3; i++) {
        const { value } = await it.next();
        const { xs, ys } = value as { xs: tf.Tensor; ys: tf.Tensor };
        out.push([...(await xs.data()), ...(await ys.data())]);
        tf.dispose([xs, ys]);
      }
      await (ds as unknown as { close?: () => Promise<void> }).close?.();
      return out;
    };
    assert.deepEqual(await take(1), await take(0));
  } finally {
    await s3?.close();
  }
});

test('predictVolume reads an N5 array and writes what predictCrop computes', async () => {
  const split = await openDataSplit(fixturePath('n5/gunpowder.n5'));
  const crop = split.test[0]!;
  const model = tinyValidNet();
  try {
    const expected = await predictCrop(model, crop);
    const raw = await openArray(`${fixturePath('n5/gunpowder.n5')}/raw`);
    assert.equal(raw.convention, crop.raw.convention);
    const out = path.join(dir, 'predicted.zarr', 'prediction');
    await predictVolume(model, raw, { output: out, roi: crop.labels.roi, blockShape: [4, 8, 8] });
    const values = (await (await openArray(out)).read(crop.labels.roi)) as Float32Array;
    assert.equal(values.length, expected.data.length);
    let maxDiff = 0;
    for (let i = 0; i < values.length; i++) maxDiff = Math.max(maxDiff, Math.abs(values[i]! - expected.data[i]!));
    assert.ok(maxDiff < 1e-6, `max difference ${maxDiff}`);
  } finally {
    model.dispose();
  }
});
