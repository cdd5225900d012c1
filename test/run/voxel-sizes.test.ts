/**
 * Run configs for raw and labels at different voxel sizes: `model.outputUpsample` /
 * `outputDownsample` (the first release's `upsampleFactors` / per-axis `downsampleFactors` still
 * work, deprecated), `data.resample`, and the elastic / noise / scale-shift augmentations; the
 * config is checked against the data (a model whose output is not at the labels' voxel size is
 * refused naming the key to set), and a tiny run trains and scores on upsample.zarr.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../src/run/check.js';
import { modelOutputSpatialShape, resolveRunConfig } from '../../src/run/config.js';
import { checkConfigAgainstData, openRunData } from '../../src/run/setup.js';
import { prepareRunDir, trainRun } from '../../src/run/train.js';
import { fixturePath } from '../helpers/fixtures.js';

const quiet = { message() {}, batch() {}, epoch() {}, validation() {}, evaluation() {}, stop() {} };

test('run config: outputUpsample / outputDownsample size the output; resample and elastic are taken', () => {
  const config = resolveRunConfig({
    data: { path: 'x.zarr', resample: 'labels' },
    model: { depth: 1, outputUpsample: [2, 2, 2] },
    inputShape: [8, 8, 8],
    augment: { elastic: { controlPointSpacing: 16, jitterSigma: 2 }, noise: { var: 0.01 } },
  });
  assert.equal(config.data.resample, 'labels');
  assert.deepEqual(modelOutputSpatialShape(config.inputShape, config.model), [16, 16, 16]);
  assert.ok(config.augment && config.augment.elastic !== undefined && config.augment.noise !== undefined);
  const down = resolveRunConfig({
    data: 'x.zarr',
    model: { depth: 1, outputDownsample: [1, 2, 2] },
    inputShape: [4, 8, 8],
  });
  assert.deepEqual(modelOutputSpatialShape(down.inputShape, down.model), [4, 4, 4]);
  for (const [json, key] of [
    [{ data: { path: 'x', resample: 'both' } }, /data\.resample/],
    [{ data: 'x', model: { outputUpsample: [2, 2] } }, /model\.outputUpsample/],
    [{ data: 'x', model: { outputUpsample: [2, 2, 2], outputDownsample: [1, 2, 2] } }, /not both/],
    [
      {
        data: 'x',
        model: {
          downsampleFactors: [
            [1, 2, 2],
            [2, 2],
          ],
        },
      },
      /model\.downsampleFactors\[1\]/,
    ],
    [{ data: 'x', model: { depth: 3, downsampleFactors: [[1, 2, 2]] } }, /model\.depth: must match.*depth 3, 1 level/],
    [{ data: 'x', model: { kernelSizes: [3, 3] } }, /model\.kernelSizes/],
    [{ data: 'x', inputShape: [16, 48, 50] }, /inputShape\[2\].*next size that fits is 52/],
    [{ data: 'x', augment: { elastic: { controlPointSpacing: 0 } } }, /augment\.elastic.*controlPointSpacing/],
    [{ data: 'x', augment: { noise: { var: -1 } } }, /augment\.noise/],
  ] as const) {
    assert.throws(
      () => resolveRunConfig(json),
      (e: unknown) => e instanceof ConfigError && key.test(e.message),
    );
  }
});

test('run config: the first release names are read as the new ones, with a deprecation message', () => {
  const messages: string[] = [];
  const old = resolveRunConfig(
    { data: 'x.zarr', model: { depth: 1, upsampleFactors: [2, 2, 2] }, inputShape: [8, 8, 8] },
    { source: 'run.json', warn: (m) => messages.push(m) },
  );
  assert.deepEqual(old.model.outputUpsample, [2, 2, 2]);
  assert.equal('upsampleFactors' in old.model, false, 'the effective config has the new name');
  assert.deepEqual(old.model.downsampleFactors, [[2, 2, 2]]);
  const oldDown = resolveRunConfig(
    { data: 'x.zarr', model: { depth: 1, downsampleFactors: [1, 2, 2] }, inputShape: [4, 8, 8] },
    { warn: (m) => messages.push(m) },
  );
  assert.deepEqual(oldDown.model.outputDownsample, [1, 2, 2]);
  assert.deepEqual(oldDown.model.downsampleFactors, [[2, 2, 2]]);
  assert.equal(messages.length, 2);
  assert.match(messages[0]!, /^run\.json: model: upsampleFactors is deprecated.*outputUpsample/);
  assert.match(messages[1]!, /outputDownsample/);
});

test('run config against the data: a model without the labels voxel size is refused, naming the fix', async () => {
  const data = fixturePath('upsample.zarr');
  const plain = resolveRunConfig({ data, model: { depth: 1 }, inputShape: [8, 8, 8] });
  const split = await openRunData(plain);
  assert.throws(
    () => checkConfigAgainstData(plain, split),
    (e: unknown) => e instanceof ConfigError && /model\.outputUpsample \[2, 2, 2\]/.test(e.message),
  );
  checkConfigAgainstData(
    resolveRunConfig({ data, model: { depth: 1, outputUpsample: [2, 2, 2] }, inputShape: [8, 8, 8] }),
    split,
  );
  const resampled = resolveRunConfig({
    data: { path: data, resample: 'raw' },
    model: { depth: 1 },
    inputShape: [8, 8, 8],
  });
  checkConfigAgainstData(resampled, await openRunData(resampled));
  const down = await openRunData(resolveRunConfig({ data: fixturePath('downsample.zarr') }));
  assert.throws(
    () =>
      checkConfigAgainstData(resolveRunConfig({ data: fixturePath('downsample.zarr'), inputShape: [4, 8, 8] }), down),
    (e: unknown) => e instanceof ConfigError && /model\.outputDownsample \[1, 2, 2\]/.test(e.message),
  );
});

test('a tiny run on upsample.zarr (types, raw 4 nm, labels 2 nm) trains and scores the test crop', async () => {
  await tf.setBackend('cpu');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tfjs-zarr-run-scales-'));
  try {
    const config = resolveRunConfig({
      data: fixturePath('upsample.zarr'),
      runDir: path.join(dir, 'run'),
      model: { baseFilters: 2, depth: 1, outputUpsample: [2, 2, 2] },
      inputShape: [8, 8, 8],
      batchSize: 2,
      epochs: 1,
      batchesPerEpoch: 2,
      augment: { elastic: { controlPointSpacing: 16, jitterSigma: 2, rotationInterval: [0, 1] } },
    });
    await prepareRunDir(config);
    const result = await trainRun(config, { progress: quiet });
    assert.equal(result.status, 'complete');
    assert.ok(result.best.has('test'), 'a best checkpoint for the test crop');
    const scores = (await readFile(path.join(dir, 'run', 'scores.jsonl'), 'utf8')).trim().split('\n');
    assert.ok(scores.length > 0 && scores.every((l) => Number.isFinite(JSON.parse(l).voi)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
