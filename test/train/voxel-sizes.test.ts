/**
 * Raw and labels at different voxel sizes (DaCapo's upsample layout: raw 4 nm, labels 2 nm; and
 * the reverse, anisotropic): sample locations on the coarser grid, raw at raw's voxel size and
 * labels at the labels' over the same world region, alignment through the augmented pipeline,
 * `resample`, unet3d's up-/down-sampling factors, tiled prediction, and a tiny training run scored
 * by the ValidationHook on zarr-python fixtures written with funlib's `types`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  DataConfig,
  DataFormatError,
  maskedLoss,
  openDataSplit,
  predictCrop,
  roi,
  trainingDataset,
  unet3d,
  ValidationHook,
  type UNetOptions,
} from '../../src/index.js';
import { tileStarts } from '../../src/eval/tiling.js';
import { CropSampler } from '../../src/train/sampler.js';
import { integralVolume, validCentres, validCentresBlockwise } from '../../src/train/integral.js';
import { makeRng } from '../../src/train/random.js';
import { Cropping3D, UpSampling3D } from '../../src/models/layers.js';
import { unetOutputShape } from '../../src/models/unet.js';
import { fixturePath } from '../helpers/fixtures.js';
import { checkPipelineAlignment } from '../helpers/alignment.js';
import { blockCrop } from '../helpers/world-crop.js';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

test('tileStarts on a coarser grid: every start in phase, the region covered, nothing repeated', () => {
  assert.deepEqual(tileStarts(10, 4), [0, 4, 6], 'step 1 as before');
  for (const [length, tile, step, phase] of [
    [10, 4, 2, 0],
    [11, 4, 2, 1],
    [17, 6, 4, -3],
    [5, 8, 2, 1],
    [32, 16, 2, -8],
  ] as const) {
    const starts = tileStarts(length, tile, step, phase);
    const covered = new Uint8Array(length);
    for (const s of starts) {
      assert.equal((((s - phase) % step) + step) % step, 0, `start ${s} in phase ${phase} mod ${step}`);
      assert.ok(s <= 0 || s > -step, 'begins at most one step before 0');
      for (let i = Math.max(0, s); i < Math.min(length, s + tile); i++) covered[i] = 1;
    }
    assert.ok(
      covered.every((c) => c === 1),
      `covers [0, ${length}) with ${starts}`,
    );
    assert.deepEqual(
      starts,
      [...new Set(starts)].sort((a, b) => a - b),
    );
  }
});

test('upsample.zarr (raw 4 nm, labels 2 nm, mask 4 nm): samples on the 4 nm grid, same world region', async () => {
  const split = await openDataSplit(fixturePath('upsample.zarr'));
  const crop = split.train[0]!;
  assert.deepEqual([...crop.raw.voxelSize], [4, 4, 4]);
  assert.deepEqual([...crop.voxelSize], [2, 2, 2]);
  assert.deepEqual([...crop.raw.types], ['space', 'space', 'space']);
  const sampler = await CropSampler.create(crop, { inputShape: [6, 6, 6], minMasked: 0.3 });
  assert.deepEqual(sampler.output, [12, 12, 12], 'outputShape defaults to the same world extent');
  const root = makeRng(3);
  let relative: string | null = null;
  for (let k = 0; k < 40; k++) {
    const plan = sampler.draw(root.fork(k));
    const r = sampler.rois(plan);
    assert.ok(
      plan.centre.every((c) => c % 2 === 0),
      'centres every 2 label voxels (4 nm)',
    );
    assert.ok(r.raw.offset.every((o) => o % 4 === 0) && r.labels.offset.every((o) => o % 2 === 0));
    assert.deepEqual(r.raw.shape, [24, 24, 24]);
    assert.deepEqual(r.labels.shape, [24, 24, 24]);
    const rel = r.labels.offset.map((o, i) => o - r.raw.offset[i]!).join(',');
    relative ??= rel;
    assert.equal(rel, relative, 'raw always at the same place relative to the labels');
    const sample = await sampler.read(plan);
    const direct = await crop.read(r.raw, r.labels);
    assert.deepEqual(sample.rawShape, [6, 6, 6, 1]);
    assert.deepEqual(sample.labelShape, [12, 12, 12]);
    assert.deepEqual(sample.labels, direct.labels);
    assert.deepEqual(sample.mask, direct.mask);
    let known = 0;
    for (const m of sample.mask) known += m;
    assert.ok(known >= 0.3 * 12 ** 3, 'minMasked honoured on the labels grid');
  }
});

test('default outputShape counts label voxels; crops that disagree need an explicit one', async () => {
  const up = await openDataSplit(fixturePath('upsample.zarr'));
  const down = await openDataSplit(fixturePath('downsample.zarr'));
  const shapes = async (ds: ReturnType<typeof trainingDataset>) => {
    const it = await ds.iterator();
    const b = (await it.next()).value as { xs: tf.Tensor; ys: tf.Tensor };
    const s = [b.xs.shape, b.ys.shape];
    tf.dispose(b);
    return s;
  };
  assert.deepEqual(await shapes(trainingDataset(up.train, { inputShape: [4, 4, 4], seed: 1 })), [
    [1, 4, 4, 4, 1],
    [1, 8, 8, 8, 2],
  ]);
  assert.deepEqual(await shapes(trainingDataset(down.train, { inputShape: [3, 6, 6], seed: 1 })), [
    [1, 3, 6, 6, 1],
    [1, 3, 3, 3, 2],
  ]);
  assert.throws(() => trainingDataset([...up.train, ...down.train], { inputShape: [4, 4, 4] }), /outputShape/);
  assert.throws(() => trainingDataset(down.train, { inputShape: [3, 5, 6] }), /whole number of label voxels/);
});

test('raw and labels stay aligned through trainingDataset with mirror and transpose at two voxel sizes', async () => {
  const cases = [
    // labels finer (DaCapo's upsample), even context
    { rawVoxel: [4, 4, 4], labelVoxel: [2, 2, 2], input: [8, 8, 8], output: [12, 12, 12] },
    // labels finer, odd label context on x
    { rawVoxel: [4, 4, 4], labelVoxel: [2, 2, 2], input: [8, 8, 8], output: [10, 10, 9] },
    // labels coarser, anisotropic ratios
    { rawVoxel: [4, 2, 2], labelVoxel: [4, 4, 4], input: [6, 12, 12], output: undefined },
  ];
  for (const c of cases) {
    const crop = blockCrop({
      rawVoxel: c.rawVoxel,
      labelVoxel: c.labelVoxel,
      rawRoi: roi([0, 0, 0], [96, 96, 96]),
      labelsRoi: roi([16, 8, 24], [48, 64, 56]),
      withMask: true,
    });
    const checked = await checkPipelineAlignment(crop, c.input, c.output, { mirror: true, transpose: true });
    assert.ok(checked > 1000, `checked ${checked} voxels`);
  }
});

test('resample: labels at raw voxel size by nearest neighbour, raw at the labels by linear interpolation', async () => {
  const stored = await openDataSplit(fixturePath('upsample.zarr'));
  const toRaw = await openDataSplit(new DataConfig({ path: fixturePath('upsample.zarr'), resample: 'raw' }));
  const toLabels = await openDataSplit(new DataConfig({ path: fixturePath('upsample.zarr'), resample: 'labels' }));
  const s = stored.train[0]!;
  const r = toRaw.train[0]!;
  assert.deepEqual([...r.voxelSize], [4, 4, 4]);
  assert.deepEqual([...r.labels.voxelSize], [4, 4, 4]);
  // labels at 4 nm: the 2 nm voxel containing each 4 nm voxel's centre (the second of each pair)
  const region = roi([8, 8, 8], [24, 32, 36]);
  const coarse = await r.labels.read(region);
  const fine = await s.labels.read(region);
  const [Z, Y, X] = [6, 8, 9];
  for (let z = 0; z < Z; z++)
    for (let y = 0; y < Y; y++)
      for (let x = 0; x < X; x++) {
        const want = fine[((2 * z + 1) * 2 * Y + (2 * y + 1)) * 2 * X + (2 * x + 1)];
        assert.equal(coarse[(z * Y + y) * X + x], want);
      }
  assert.ok(coarse instanceof BigUint64Array, 'uint64 ids stay exact');
  const ids = new Set<number | bigint>(fine as BigUint64Array);
  assert.ok(
    [...coarse].every((v) => ids.has(v)),
    'no id is made up',
  );
  // raw at 2 nm: between stored voxel centres, weights 1/4 and 3/4
  const l = toLabels.train[0]!;
  assert.deepEqual([...l.raw.voxelSize], [2, 2, 2]);
  const rawCoarse = await s.readRaw(roi([0, 0, 0], [40, 48, 56]));
  const rawFine = await l.readRaw(roi([0, 0, 0], [40, 48, 56]));
  const at = (a: Float32Array, n: number[], p: number[]) => a[(p[0]! * n[1]! + p[1]!) * n[2]! + p[2]!]!;
  for (const p of [
    [5, 6, 7],
    [10, 11, 20],
    [3, 17, 4],
  ]) {
    // fine voxel 2j + 1 has its centre 3/4 of the way from coarse centre j to j + 1
    const j = p.map((c) => Math.floor((c - 1) / 2));
    const w = p.map((c) => (c % 2 === 1 ? 0.25 : 0.75));
    let want = 0;
    for (let k = 0; k < 8; k++) {
      const q = j.map((v, i) => v + ((k >> (2 - i)) & 1));
      const weight = q.reduce((acc, v, i) => acc * (v === j[i] ? 1 - w[i]! : w[i]!), 1);
      want += weight * at(rawCoarse, [10, 12, 14], q);
    }
    assert.ok(Math.abs(at(rawFine, [20, 24, 28], p) - want) < 1e-5, `raw at ${p}`);
  }
  await assert.rejects(
    openDataSplit(new DataConfig({ path: fixturePath('bad_voxel_mismatch.zarr'), resample: 'raw' })),
    (e: unknown) => e instanceof DataFormatError && /voxel_size/.test(e.message) && /multiple/.test(e.message),
  );
});

test('unet3d: outputUpsample and outputDownsample change the output voxel size', () => {
  const up = unet3d({
    inputShape: [8, 8, 8, 1],
    outputChannels: 1,
    depth: 1,
    baseFilters: 2,
    outputUpsample: [2, 2, 2],
  });
  assert.deepEqual(up.outputs[0]!.shape, [null, 16, 16, 16, 1]);
  const down = unet3d({
    inputShape: [4, 8, 8, 1],
    outputChannels: 1,
    depth: 1,
    baseFilters: 2,
    outputDownsample: [1, 2, 2],
  });
  assert.deepEqual(down.outputs[0]!.shape, [null, 4, 4, 4, 1]);
  assert.equal(
    unetOutputShape([20, 20, 20], { padding: 'valid', depth: 1, outputUpsample: [2, 1, 1] })[0],
    (((20 - 4) / 2 - 4) * 2 - 4) * 2 - 4,
  );
  assert.equal(unetOutputShape([8, 8, 8], { depth: 1, outputDownsample: [3, 1, 1] })[0], null);
  assert.throws(
    () => unet3d({ inputShape: [8, 8, 8, 1], outputChannels: 1, outputUpsample: [2, 2] }),
    /outputUpsample/,
  );
  tf.dispose(up.getWeights());
  tf.dispose(down.getWeights());
});

test('types + two voxel sizes: a tiny fitDataset run scored by the ValidationHook on the labels grid', async () => {
  const runRoot = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-scales-'));
  try {
    const runs: [string, Pick<UNetOptions, 'inputShape' | 'outputUpsample' | 'outputDownsample'>][] = [
      ['upsample.zarr', { inputShape: [8, 8, 8, 1], outputUpsample: [2, 2, 2] }],
      ['downsample.zarr', { inputShape: [4, 8, 8, 1], outputDownsample: [1, 2, 2] }],
    ];
    for (const [fixture, options] of runs) {
      const split = await openDataSplit(fixturePath(fixture));
      const model = unet3d({ ...options, outputChannels: 1, depth: 1, baseFilters: 2, seed: 1 });
      model.compile({ optimizer: tf.train.adam(0.01), loss: maskedLoss('binaryCrossentropy') });
      const test0 = split.test[0]!;
      const prediction = await predictCrop(model, test0);
      assert.deepEqual(
        prediction.shape,
        [...test0.labels.roi.shape.map((s, i) => s / test0.voxelSize[i]!), 1],
        'prediction on the labels grid over the labels region',
      );
      const hook = new ValidationHook({ crops: split.test, runDir: path.join(runRoot, fixture) });
      const history = await model.fitDataset(
        trainingDataset(split.train, {
          inputShape: options.inputShape.slice(0, 3),
          batchSize: 2,
          seed: 1,
          augment: { elastic: { controlPointSpacing: [8, 8, 8], jitterSigma: [1, 1, 1] } },
        }),
        { epochs: 1, batchesPerEpoch: 2, verbose: 0, callbacks: [hook] },
      );
      const voi = history.history[`${test0.name}_voi`]?.[0];
      assert.equal(typeof voi, 'number', `${fixture}: ${test0.name}_voi logged`);
      assert.ok(Number.isFinite(voi as number));
      assert.ok(hook.best.has(test0.name), 'a best checkpoint per test crop');
      tf.dispose(model.getWeights());
    }
  } finally {
    await rm(runRoot, { recursive: true, force: true });
  }
});

test('predictCrop at two voxel sizes puts raw where the model expects it (an upsampling "model" reproduces the labels)', async () => {
  // raw = id / 255 at 4 nm, labels = id at 2 nm (blocks of 8 nm): a model that only upsamples
  // (nearest, ×2) and crops its border predicts id / 255 exactly on the labels' grid.
  const crop = blockCrop({
    rawVoxel: [4, 4, 4],
    labelVoxel: [2, 2, 2],
    rawRoi: roi([0, 0, 0], [96, 96, 96]),
    labelsRoi: roi([16, 8, 24], [48, 60, 44]),
  });
  for (const cropVoxels of [0, 2]) {
    const model = tf.sequential({
      layers: [
        new UpSampling3D({ size: 2, inputShape: [10, 10, 10, 1] } as never),
        new Cropping3D({ cropping: cropVoxels }),
      ],
    });
    const prediction = await predictCrop(model, crop);
    assert.deepEqual(prediction.shape, [24, 30, 22, 1]);
    const labels = await crop.labels.read(crop.labels.roi);
    let wrong = 0;
    for (let v = 0; v < labels.length; v++) if (Math.round(prediction.data[v]! * 255) !== labels[v]) wrong++;
    assert.equal(wrong, 0, `${wrong} voxels off with a ${cropVoxels}-voxel border`);
    tf.dispose(model.getWeights());
  }
  // The reverse: labels at [4, 4, 4], raw at [4, 2, 2]; pooling to the labels' voxel size.
  const coarse = blockCrop({
    rawVoxel: [4, 2, 2],
    labelVoxel: [4, 4, 4],
    rawRoi: roi([0, 0, 0], [96, 96, 96]),
    labelsRoi: roi([16, 8, 24], [48, 60, 44]),
  });
  const pool = tf.sequential({
    layers: [tf.layers.averagePooling3d({ poolSize: [1, 2, 2], strides: [1, 2, 2], inputShape: [6, 12, 12, 1] })],
  });
  const prediction = await predictCrop(pool, coarse);
  const labels = await coarse.labels.read(coarse.labels.roi);
  let wrong = 0;
  for (let v = 0; v < labels.length; v++) if (Math.round(prediction.data[v]! * 255) !== labels[v]) wrong++;
  assert.equal(wrong, 0, `${wrong} voxels off (labels coarser)`);
});

test('minMasked centres on a coarser grid: slab by slab as in one pass', async () => {
  const shape = [9, 7, 8];
  const mask = new Uint8Array(9 * 7 * 8).map((_, i) => ((Math.sin(i * 12.9898) * 43758.5453) % 1 > -0.3 ? 1 : 0));
  const planes = async (z0: number, z1: number) => mask.slice(z0 * 56, z1 * 56);
  const whole = validCentres(integralVolume(mask, shape), shape, {
    box: [3, 3, 3],
    minFraction: 0.6,
    low: [0, 0, 0],
    high: shape,
    step: [2, 2, 2],
  });
  for (const slabVoxels of [1, 56 * 4, 56 * 5, 1 << 20]) {
    const { centres } = await validCentresBlockwise(planes, shape, [3, 3, 3], 0.6, slabVoxels, [2, 2, 2]);
    assert.deepEqual(centres.toArray(), whole.toArray(), `slabs of ${slabVoxels} voxels`);
  }
  assert.ok(whole.count > 0 && [...whole.toArray()].every((v) => v % 2 === 0));
});
