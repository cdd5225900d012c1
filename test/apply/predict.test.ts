/**
 * predictVolume: blockwise prediction written to zarr equals predictCrop over the same region (same
 * model); 1 worker and 3 workers write byte-identical arrays; a run stopped part-way and continued
 * writes the same array and recomputes no finished block; bad inputs are clear errors.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { openDataSplit, predictCrop, roi, unet3d, type Crop } from '../../src/index.js';
import { openArray, predictVolume, segmentVolume } from '../../src/apply/index.js';
import { writeDemoContainer } from '../../examples/synthetic/write-container.js';
import { arrayFiles, tinyValidNet } from '../helpers/apply.js';

let root: string;
let crop: Crop; // crop_03: 16×24×24 labels at 8 nm, float32 raw with context around them
let model: tf.LayersModel;

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  root = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-apply-'));
  await writeDemoContainer(path.join(root, 'demo.zarr'), { small: true });
  crop = (await openDataSplit(path.join(root, 'demo.zarr'))).test.find((c) => c.name === 'crop_03')!;
  model = tinyValidNet();
});

after(async () => {
  model.dispose();
  await rm(root, { recursive: true, force: true });
});

test('blockwise prediction equals predictCrop on the crop, read back through openArray', async () => {
  const expected = await predictCrop(model, crop);
  const out = path.join(root, 'a.zarr', 'prediction');
  const result = await predictVolume(model, crop.raw, {
    output: out,
    roi: crop.labels.roi,
    blockShape: [8, 8, 16],
    chunkShape: [8, 8, 8],
  });
  assert.equal(result.grid.blocks.length, 2 * 3 * 2);
  assert.equal(result.computed, 12);
  const written = await openArray(out);
  assert.deepEqual(written.shape, [1, 16, 24, 24]);
  assert.deepEqual(written.axisNames, ['c^', 'z', 'y', 'x']);
  assert.deepEqual(written.voxelSize, crop.voxelSize);
  assert.deepEqual(written.offset, crop.labels.roi.offset);
  assert.equal(written.dtype, 'float32');
  const values = (await written.read(crop.labels.roi)) as Float32Array;
  assert.equal(values.length, expected.data.length);
  let maxDiff = 0;
  for (let i = 0; i < values.length; i++) maxDiff = Math.max(maxDiff, Math.abs(values[i]! - expected.data[i]!));
  assert.ok(maxDiff < 1e-6, `max difference ${maxDiff}`);
});

test("a 'same' U-Net: small blocks fit together as the whole ROI predicted at once (no seams at blocks or tiles)", async () => {
  // Depth 2 (pooling 4 per axis), receptive radius 13: blocks of 8×8×16 voxels start off the
  // pooling grid of their own tiles; the tiles follow one grid from the ROI's offset instead.
  const unet = unet3d({
    inputShape: [8, 8, 8, 1],
    outputChannels: 1,
    baseFilters: 2,
    convsPerBlock: 1,
    seed: 5,
  });
  const whole = await predictCrop(unet, crop, { region: crop.raw.roi });
  const out = path.join(root, 'unet.zarr', 'prediction');
  await predictVolume(unet, crop.raw, { output: out, roi: crop.raw.roi, blockShape: [6, 10, 14] });
  const values = (await (await openArray(out)).read(crop.raw.roi)) as Float32Array;
  let maxDiff = 0;
  for (let i = 0; i < values.length; i++) maxDiff = Math.max(maxDiff, Math.abs(values[i]! - whole.data[i]!));
  assert.ok(maxDiff < 1e-5, `max difference ${maxDiff}`);
  unet.dispose();
});

test('uint8 output stores probabilities × 255', async () => {
  const expected = await predictCrop(model, crop);
  const out = path.join(root, 'u8.zarr', 'prediction');
  await predictVolume(model, crop.raw, {
    output: out,
    roi: crop.labels.roi,
    dtype: 'uint8',
    format: 3,
    compressor: 'zlib',
  });
  const written = await openArray(out);
  assert.equal(written.dtype, 'uint8');
  const values = (await written.read(crop.labels.roi)) as Uint8Array;
  for (let i = 0; i < values.length; i++) assert.equal(values[i], Math.round(expected.data[i]! * 255));
});

test('1 worker and 3 workers (at once) write byte-identical arrays', async () => {
  const region = crop.raw.roi;
  const one = path.join(root, 'one.zarr', 'p');
  const three = path.join(root, 'three.zarr', 'p');
  const opts = { roi: region, blockShape: [8, 8, 8] };
  await predictVolume(model, crop.raw, { ...opts, output: one });
  const results = await Promise.all(
    [0, 1, 2].map((worker) => predictVolume(model, crop.raw, { ...opts, output: three, worker, workers: 3 })),
  );
  const total = results[0]!.grid.blocks.length;
  assert.equal(
    results.reduce((a, r) => a + r.computed, 0),
    total,
  );
  assert.ok(results.every((r) => r.computed >= Math.floor(total / 3)));
  const a = await arrayFiles(one);
  const b = await arrayFiles(three);
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, v] of a)
    assert.ok(
      v.equals(b.get(k)!),
      `file ${k} differs: ${v.length} vs ${b.get(k)!.length} bytes, ${v.subarray(0, 16).toString('hex')} vs ${b.get(k)!.subarray(0, 16).toString('hex')}`,
    );
});

test('a run stopped part-way continues where it stopped and writes the same array', async () => {
  const clean = path.join(root, 'clean.zarr', 'p');
  const resumed = path.join(root, 'resumed.zarr', 'p');
  const opts = { roi: crop.raw.roi, blockShape: [8, 8, 8] };
  const full = await predictVolume(model, crop.raw, { ...opts, output: clean });
  const controller = new AbortController();
  await assert.rejects(
    predictVolume(model, crop.raw, {
      ...opts,
      output: resumed,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done === 5) controller.abort();
      },
    }),
    { name: 'AbortError' },
  );
  // segment refuses a prediction that is not finished (instead of labelling missing blocks as 0).
  await assert.rejects(segmentVolume(resumed, { output: path.join(root, 'early.zarr', 's'), phase: 'label' }), {
    name: 'JobStateError',
    message: /resumed\.zarr\/p is not complete yet: \d+ of its blocks are not predicted/,
  });
  // The block predicted while the 5th was being written is finished too.
  const marked = (await readdir(path.join(resumed, '.blocks', 'predict'))).filter((m) => m.endsWith('.json')).length;
  assert.ok(marked >= 5 && marked <= 6, `${marked} blocks marked done`);
  const again = await predictVolume(model, crop.raw, { ...opts, output: resumed });
  assert.equal(again.skipped, marked);
  assert.equal(again.computed, full.computed - marked);
  const a = await arrayFiles(clean);
  const b = await arrayFiles(resumed);
  for (const [k, v] of a)
    assert.ok(
      v.equals(b.get(k)!),
      `file ${k} differs: ${v.length} vs ${b.get(k)!.length} bytes, ${v.subarray(0, 16).toString('hex')} vs ${b.get(k)!.subarray(0, 16).toString('hex')}`,
    );
  // Done: a third run computes nothing.
  assert.equal((await predictVolume(model, crop.raw, { ...opts, output: resumed })).computed, 0);
});

test('bad inputs: channels, ROI outside raw, an output with another shape', async () => {
  const twoChannels = tf.sequential({
    layers: [tf.layers.conv3d({ inputShape: [4, 4, 4, 2], filters: 1, kernelSize: 1 })],
  });
  await assert.rejects(predictVolume(twoChannels, crop.raw, { output: path.join(root, 'bad.zarr', 'p') }), {
    name: 'OptionsError',
    message: /takes 2 input channel\(s\) but .*demo\.zarr\/test\/crop_03\/raw has 1/,
  });
  twoChannels.dispose();
  const outside = roi(
    crop.raw.roi.offset.map((o) => o - 8),
    [64, 64, 64],
  );
  await assert.rejects(predictVolume(model, crop.raw, { output: path.join(root, 'bad.zarr', 'p'), roi: outside }), {
    name: 'OptionsError',
    message: /ROI \[.*\] \(64×64×64\) is outside the raw array .*crop_03\/raw, whose ROI is/,
  });
  const out = path.join(root, 'exists.zarr', 'p');
  await predictVolume(model, crop.raw, { output: out, roi: crop.labels.roi });
  await assert.rejects(predictVolume(model, crop.raw, { output: out, roi: crop.raw.roi }), {
    name: 'OptionsError',
    message: /exists\.zarr, array p: exists with shape \[1, 16, 24, 24\].*this run writes shape \[1, .*--overwrite/,
  });
  const replaced = await predictVolume(model, crop.raw, { output: out, roi: crop.raw.roi, overwrite: true });
  assert.equal(replaced.skipped, 0);
});
