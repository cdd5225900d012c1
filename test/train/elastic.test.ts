/**
 * Elastic augmentation (gunpowder's ElasticAugment in world units), Gaussian noise and
 * IntensityScaleShift: identity parameters give the unaugmented patch exactly, labels stay a subset
 * of the source ids, raw/labels/mask stay aligned through the pipeline (also at two voxel sizes),
 * unknown mask voxels stay unknown, and the same seed gives the same bytes.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { OptionsError, openDataSplit, roi, trainingDataset, type SampleAugmentOptions } from '../../src/index.js';
import { gridMap, MapRows, planElastic, type GridMap } from '../../src/train/elastic.js';
import { readElastic } from '../../src/train/elastic-read.js';
import { applyAugment } from '../../src/train/augment.js';
import { canFuse } from '../../src/train/assemble.js';
import { concatTargetMask, makeTarget, type TargetFn, type TargetKind } from '../../src/train/targets.js';
import type { Crop } from '../../src/types.js';
import { readElasticReference } from '../helpers/elastic-reference.js';
import { CropSampler } from '../../src/train/sampler.js';
import { applyRawAugment, planRawAugment } from '../../src/train/intensity.js';
import { makeRng } from '../../src/train/random.js';
import { checkPipelineAlignment } from '../helpers/alignment.js';
import { fixturePath } from '../helpers/fixtures.js';
import { blockCrop, blockId, WorldCrop, WorldVolume } from '../helpers/world-crop.js';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const strong: SampleAugmentOptions = {
  mirror: false,
  transpose: false,
  elastic: { controlPointSpacing: [12, 12, 12], jitterSigma: [3, 3, 3], rotationInterval: [0, Math.PI / 2] },
};

test('identity parameters give the unaugmented patch (one and two voxel sizes)', async () => {
  const up = await openDataSplit(fixturePath('upsample.zarr'));
  const crops = [
    up.train[0]!,
    up.test[0]!,
    blockCrop({
      rawVoxel: [4, 4, 4],
      labelVoxel: [4, 4, 4],
      rawRoi: roi([0, 0, 0], [64, 64, 64]),
      labelsRoi: roi([8, 8, 8], [40, 40, 40]),
      withMask: true,
    }),
  ];
  for (const crop of crops) {
    for (const subsample of [1, 3]) {
      const options = { inputShape: [6, 6, 6], minMasked: 0 };
      const plain = await CropSampler.create(crop, options);
      const identity = await CropSampler.create(crop, {
        ...options,
        augment: {
          mirror: false,
          transpose: false,
          elastic: { controlPointSpacing: 10, jitterSigma: 0, rotationInterval: [0, 0], subsample },
        },
      });
      for (let k = 0; k < 5; k++) {
        const plan = identity.draw(makeRng(4).fork(k));
        assert.ok(plan.elastic, 'an elastic plan');
        const a = await identity.read(plan);
        const b = await plain.read({ centre: plan.centre, augment: null });
        assert.deepEqual(a.rawShape, b.rawShape);
        // With subsample, positions interpolated between lattice points are exact to ~1e-12 voxel:
        // raw within rounding (a neighbour may weigh 1e-16), labels and mask exact.
        if (subsample === 1) assert.deepEqual(a.raw, b.raw, `${crop.name}: raw identical`);
        else assert.ok(maxDifference(a.raw, b.raw) < 1e-6, `${crop.name}: raw within rounding`);
        assert.deepEqual(a.labels, b.labels, `${crop.name}: labels identical`);
        assert.deepEqual(a.mask, b.mask, `${crop.name}: mask identical`);
      }
    }
  }
});

test('labels stay a subset of the source ids (nearest neighbour), uint64 ids exact', async () => {
  const up = await openDataSplit(fixturePath('upsample.zarr'));
  const crop = up.train[0]!;
  const all = await crop.labels.read(crop.labels.roi);
  const ids = new Set<bigint>([0n, ...(all as BigUint64Array)]);
  const sampler = await CropSampler.create(crop, { inputShape: [6, 6, 6], augment: { ...strong, mirror: true } });
  let moved = 0;
  for (let k = 0; k < 10; k++) {
    const plan = sampler.draw(makeRng(8).fork(k));
    const s = await sampler.read(plan);
    assert.ok(s.labels instanceof BigUint64Array);
    for (const v of s.labels as BigUint64Array) assert.ok(ids.has(v), `id ${v} not in the source`);
    const direct = await crop.read(sampler.rois(plan).raw, sampler.rois(plan).labels);
    if (!Buffer.from(direct.labels.buffer).equals(Buffer.from(s.labels.buffer))) moved++;
  }
  assert.ok(moved >= 8, 'the deformation changes the patches');
});

test('raw, labels and mask stay aligned through trainingDataset with elastic + mirror + transpose', async () => {
  const cases = [
    { rawVoxel: [4, 4, 4], labelVoxel: [4, 4, 4], input: [10, 10, 10], output: [6, 6, 6] },
    { rawVoxel: [4, 4, 4], labelVoxel: [2, 2, 2], input: [8, 8, 8], output: [12, 12, 12] },
    { rawVoxel: [4, 2, 2], labelVoxel: [4, 4, 4], input: [6, 12, 12], output: undefined },
  ];
  for (const c of cases) {
    const crop = blockCrop({
      rawVoxel: c.rawVoxel,
      labelVoxel: c.labelVoxel,
      rawRoi: roi([0, 0, 0], [96, 96, 96]),
      labelsRoi: roi([16, 8, 24], [56, 64, 56]),
      block: 16,
      withMask: true,
    });
    for (const uniform3d of [false, true]) {
      const mismatched: string[] = [];
      const checked = await checkPipelineAlignment(
        crop,
        c.input,
        c.output,
        {
          mirror: true,
          transpose: true,
          elastic: {
            controlPointSpacing: 16,
            jitterSigma: [2, 3, 3],
            rotationInterval: [0, Math.PI],
            uniform3d,
            subsample: 2,
          },
        },
        true,
        mismatched,
      );
      assert.ok(checked > 500, `checked ${checked} voxels`);
      const same = c.rawVoxel.every((v, i) => v === c.labelVoxel[i]);
      // One voxel size: raw and labels come from the same source points, no disagreement at all.
      // Two: a few border voxels; a misalignment (wrong flip, transpose, offset) would be far more.
      assert.ok(
        mismatched.length <= (same ? 0 : 0.02 * checked),
        `${mismatched.length} of ${checked} disagree (${c.rawVoxel} / ${c.labelVoxel}): ${mismatched.slice(0, 3).join('; ')}`,
      );
    }
  }
});

test("the mask's unknown voxels stay unknown and voxels mapped outside the labels are unknown", async () => {
  // Labels carry 251 exactly where the mask is unknown: both are warped by nearest neighbour.
  const unknown = (p: number[]) => Math.floor(p[1]! / 8) % 3 === 1;
  const labelsRoi = roi([16, 16, 16], [40, 40, 40]);
  const crop = new WorldCrop(
    'masked',
    new WorldVolume('raw', 'float32', [4, 4, 4], roi([0, 0, 0], [72, 72, 72]), (p) => blockId(p, 8) / 255),
    new WorldVolume('labels', 'uint32', [4, 4, 4], labelsRoi, (p) => (unknown(p) ? 251 : blockId(p, 8))),
    new WorldVolume('mask', 'uint8', [4, 4, 4], labelsRoi, (p) => (unknown(p) ? 0 : 1)),
  );
  const sampler = await CropSampler.create(crop, { inputShape: [10, 10, 10], augment: strong });
  let unknownSeen = 0;
  let outside = 0;
  for (let k = 0; k < 12; k++) {
    const s = await sampler.read(sampler.draw(makeRng(2).fork(k)));
    for (let v = 0; v < s.mask.length; v++) {
      if (s.labels[v] === 251) assert.equal(s.mask[v], 0, 'unknown stays unknown');
      if (s.labels[v] === 0) {
        assert.equal(s.mask[v], 0, 'outside the labels: unknown');
        outside++;
      }
      if (s.mask[v] === 0) unknownSeen++;
    }
  }
  assert.ok(unknownSeen > 0 && outside > 0);
});

test('same seed → same bytes with elastic, noise and scale/shift; another seed differs', async () => {
  const up = await openDataSplit(fixturePath('upsample.zarr'));
  const augment: SampleAugmentOptions = {
    elastic: { controlPointSpacing: [8, 8, 8], jitterSigma: 2, rotationInterval: [0, 1], subsample: 2 },
    noise: { var: 0.02 },
    intensityScaleShift: { scale: 2, shift: -1 },
  };
  const bytes = async (seed: number, prefetch: number) => {
    const it = await trainingDataset(up.train, {
      inputShape: [6, 6, 6],
      batchSize: 2,
      seed,
      prefetch,
      augment,
    }).iterator();
    const out: Buffer[] = [];
    for (let i = 0; i < 3; i++) {
      const b = (await it.next()).value as { xs: tf.Tensor; ys: tf.Tensor };
      out.push(Buffer.from((await b.xs.data()).buffer), Buffer.from((await b.ys.data()).buffer));
      tf.dispose(b);
    }
    return Buffer.concat(out);
  };
  const a = await bytes(5, 0);
  assert.ok(a.equals(await bytes(5, 3)), 'same seed, other prefetch: same bytes');
  assert.ok(!a.equals(await bytes(6, 0)), 'another seed differs');
});

test('noise: mean and variance as asked, clipped to [0, 1]; scale/shift exact', () => {
  const raw = new Float32Array(20000).fill(0.5);
  const plan = planRawAugment(makeRng(1), { noise: { mean: 0.1, var: 0.01 } })!;
  const out = applyRawAugment(plan, raw);
  const mean = out.reduce((a, b) => a + b, 0) / out.length;
  const sd = Math.sqrt(out.reduce((a, b) => a + (b - mean) ** 2, 0) / out.length);
  assert.ok(Math.abs(mean - 0.6) < 0.005, `mean ${mean}`);
  assert.ok(Math.abs(sd - 0.1) < 0.005, `sd ${sd}`);
  assert.ok(out.every((v) => v >= 0 && v <= 1));
  assert.deepEqual(raw[0], 0.5, 'input untouched');
  const shifted = applyRawAugment(planRawAugment(makeRng(1), { intensityScaleShift: { scale: 2, shift: -1 } })!, raw);
  assert.ok(shifted.every((v) => v === 0));
  assert.equal(planRawAugment(makeRng(1), {}), null);
});

/** Every source position of a map, 3 per voxel, in C order. */
function positions(map: GridMap): Float64Array {
  const [Z, Y, X] = map.shape;
  const rows = new MapRows(map);
  const out = new Float64Array(Z * Y * X * 3);
  const u = new Float64Array(3 * X);
  for (let z = 0; z < Z; z++)
    for (let y = 0; y < Y; y++) {
      rows.fill(z, y, u);
      out.set(u, (z * Y + y) * X * 3);
    }
  return out;
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

test('subsample: the displacement computed on a coarser grid stays close to the exact one', () => {
  const plan1 = planElastic(makeRng(3), { controlPointSpacing: 20, jitterSigma: 4 }, [64, 64, 64]);
  const plan4 = { ...plan1, subsample: 4 };
  const domain = roi([0, 0, 0], [64, 64, 64]);
  const out = roi([0, 0, 0], [64, 64, 64]);
  const a = positions(gridMap(plan1, domain, [32, 32, 32], out, [2, 2, 2], [2, 2, 2]));
  const b = positions(gridMap(plan4, domain, [32, 32, 32], out, [2, 2, 2], [2, 2, 2]));
  // In voxels of 2 world units: under one world unit (sigma 4).
  assert.ok(maxDifference(a, b) < 0.5, `max difference ${maxDifference(a, b)} voxels`);
  // the draw count depends on the region only: the stream after a plan is the same for other sigmas
  const r1 = makeRng(9);
  planElastic(r1, { controlPointSpacing: 20, jitterSigma: 4 }, [64, 64, 64]);
  const r2 = makeRng(9);
  planElastic(r2, { controlPointSpacing: 20, jitterSigma: 0, uniform3d: true }, [64, 64, 64]);
  assert.equal(r1.next(), r2.next());
});

test('the map agrees with the per-voxel reference (cubic taps at every voxel, positions stored), one and two voxel sizes', async () => {
  const crops = [
    ...(await openDataSplit(fixturePath('upsample.zarr'))).train,
    ...(await openDataSplit(fixturePath('downsample.zarr'))).train,
    ...(await openDataSplit(fixturePath('crops.zarr'))).train,
    (await openDataSplit(fixturePath('simple.zarr'))).train[0]!,
  ];
  let voxels = 0;
  let labelsDiffer = 0;
  for (const [c, crop] of crops.entries()) {
    for (const subsample of [1, 3, 4]) {
      for (const uniform3d of [false, true]) {
        const elastic = {
          controlPointSpacing: crop.voxelSize.map((v) => 3 * v),
          jitterSigma: crop.voxelSize.map((v) => 0.7 * v),
          rotationInterval: [0, Math.PI / 2] as [number, number],
          uniform3d,
          subsample,
        };
        const sampler = await CropSampler.create(crop, {
          inputShape: [8, 10, 10].map((n, i) => n * (crop.voxelSize[i]! / crop.raw.voxelSize[i]!)),
          augment: { mirror: true, transpose: true, elastic },
        });
        for (let k = 0; k < 3; k++) {
          const plan = sampler.draw(makeRng(`${c}-${subsample}-${uniform3d}`).fork(k));
          const rois = sampler.rois(plan);
          const want = applyAugment(plan.augment!, await readElasticReference(crop, rois, plan.elastic!));
          const got = await readElastic(crop, rois, plan.elastic!, plan.augment);
          const what = `${crop.raw.container} ${crop.name} subsample ${subsample} uniform3d ${uniform3d} sample ${k}`;
          assert.deepEqual(got.rawShape, want.rawShape, what);
          assert.deepEqual(got.labelShape, want.labelShape, what);
          assert.ok(maxDifference(got.raw, want.raw) < 1e-5, `raw: ${what}: ${maxDifference(got.raw, want.raw)}`);
          for (let v = 0; v < got.labels.length; v++) {
            if (got.labels[v] !== want.labels[v] || got.mask[v] !== want.mask[v]) labelsDiffer++;
          }
          voxels += got.labels.length;
        }
      }
    }
  }
  // Nearest neighbour picks another voxel only where a position lies within rounding of a voxel face.
  assert.ok(labelsDiffer <= voxels * 1e-4, `${labelsDiffer} of ${voxels} label voxels differ from the reference`);
});

test('fused batches give the step-by-step read byte for byte with elastic (+ mirror, transpose, intensity, gamma)', async () => {
  const crops: Crop[] = [
    (await openDataSplit(fixturePath('simple.zarr'))).train[0]!,
    ...(await openDataSplit(fixturePath('crops.zarr'))).train,
  ];
  const augment: SampleAugmentOptions = {
    mirror: true,
    transpose: true,
    intensity: { scale: [0.8, 1.2], shift: [-0.1, 0.1] },
    gamma: [0.7, 1.4],
    elastic: { controlPointSpacing: 24, jitterSigma: 6, rotationInterval: [0, Math.PI], subsample: 2 },
  };
  const targets: [TargetKind | TargetFn, { offsets?: number[][] }][] = [
    ['boundary', {}],
    ['affinities', {}],
    [
      (_labels, mask) => ({
        target: Float32Array.from(mask),
        channels: 1,
        mask: Float32Array.from(mask),
        maskChannels: 1,
      }),
      {},
    ],
  ];
  let compared = 0;
  for (const crop of crops) {
    for (const [target, targetOptions] of targets) {
      const options = { inputShape: [8, 8, 8], outputShape: [6, 6, 6], batchSize: 3, seed: crop.name, target, augment };
      const it = await trainingDataset([crop], { ...options, workers: 0 }).iterator();
      const sampler = await CropSampler.create(crop, options);
      const root = makeRng(options.seed);
      for (let k = 0; k < 3; k++) {
        const { xs, ys } = (await it.next()).value as { xs: tf.Tensor; ys: tf.Tensor };
        const xsData = xs.dataSync() as Float32Array,
          ysData = ys.dataSync() as Float32Array;
        tf.dispose([xs, ys]);
        for (let b = 0; b < 3; b++) {
          const plan = sampler.draw(root.fork(k * 3 + b).fork('sample'));
          assert.ok(plan.elastic && canFuse(crop, plan), 'the fused path');
          const sample = await sampler.read(plan);
          const t = makeTarget(target, sample.labels, sample.mask, sample.labelShape, targetOptions);
          const wantYs = concatTargetMask(t);
          const what = `${crop.raw.container} ${crop.name} ${typeof target === 'function' ? 'user' : target} batch ${k} sample ${b}`;
          assert.deepEqual(
            xsData.subarray(b * sample.raw.length, (b + 1) * sample.raw.length),
            sample.raw,
            `xs: ${what}`,
          );
          assert.deepEqual(ysData.subarray(b * wantYs.length, (b + 1) * wantYs.length), wantYs, `ys: ${what}`);
          compared++;
        }
      }
    }
  }
  assert.ok(compared >= 36, `${compared} samples compared`);
});

test('bad elastic options are an OptionsError naming the option', async () => {
  const crop = blockCrop({
    rawVoxel: [4, 4, 4],
    labelVoxel: [4, 4, 4],
    rawRoi: roi([0, 0, 0], [32, 32, 32]),
    labelsRoi: roi([0, 0, 0], [32, 32, 32]),
  });
  for (const [elastic, pattern] of [
    [{ controlPointSpacing: 0 }, /controlPointSpacing/],
    [{ controlPointSpacing: 8, jitterSigma: [1, 2] }, /jitterSigma/],
    [{ controlPointSpacing: 8, rotationInterval: [1, 0] }, /rotationInterval/],
    [{ controlPointSpacing: 8, subsample: 1.5 }, /subsample/],
  ] as const) {
    assert.throws(
      () => trainingDataset([crop], { inputShape: [4, 4, 4], augment: { elastic: elastic as never } }),
      (e: unknown) => e instanceof OptionsError && pattern.test(e.message),
    );
  }
  assert.throws(
    () => trainingDataset([crop], { inputShape: [4, 4, 4], augment: { noise: { var: -1 } } }),
    (e: unknown) => e instanceof OptionsError && /noise\.var/.test(e.message),
  );
});

test('the read region grows with the deformation: no zero padding where the raw has data', async () => {
  // Raw (never 0) covers far more than any deformed patch needs; a 90° rotation and strong jitter
  // take source positions well outside the undeformed raw box.
  const crop = blockCrop({
    rawVoxel: [4, 4, 4],
    labelVoxel: [4, 4, 4],
    rawRoi: roi([0, 0, 0], [256, 256, 256]),
    labelsRoi: roi([96, 96, 96], [64, 64, 64]),
  });
  const sampler = await CropSampler.create(crop, {
    inputShape: [12, 12, 12],
    augment: {
      mirror: false,
      transpose: false,
      elastic: { controlPointSpacing: 16, jitterSigma: 6, rotationInterval: [Math.PI / 4, Math.PI / 4] },
    },
  });
  for (let k = 0; k < 6; k++) {
    const s = await sampler.read(sampler.draw(makeRng(1).fork(k)));
    assert.ok(
      s.raw.every((v) => v >= 1 / 255 - 1e-6),
      'every raw voxel comes from data',
    );
  }
});
