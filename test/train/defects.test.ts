/**
 * EM-defect augmentations (augment.defect, augment.shift, augment.blur): identity at probability
 * 0, labels and mask moved with raw by shifts, the same bytes for a seed with or without workers,
 * the fused path = the step-by-step path, the blur = scipy's gaussian_filter
 * (scripts/make_augment_fixtures.py), the shift = gunpowder's ShiftAugment (its shift_and_crop,
 * restated), missing / low-contrast / artifact sections as gunpowder defines them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import * as tf from '@tensorflow/tfjs';
import { openDataSplit, trainingDataset, type Crop, type TargetFn } from '../../src/index.js';
import { applyBlur, applyDefects, planDefects } from '../../src/train/defects.js';
import { makeRng } from '../../src/train/random.js';
import { applyShift, planShift, shiftedBox } from '../../src/train/shift.js';
import { roi } from '../../src/roi.js';
import { float32, readReference } from '../helpers/reference.js';

let dir: string;
let crop: Crop;

/** One crop: labels ids 1…200 in blocks, raw = the same ids (uint8), mask = id % 3 ≠ 0; voxels [4, 2, 2]. */
before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  dir = await mkdtemp(path.join(os.tmpdir(), 'tfjs-zarr-defects-'));
  const root = zarr.root(new FileSystemStore(dir));
  await zarr.create(root);
  const shape = [12, 20, 20];
  const rng = makeRng('defects');
  const ids = Uint8Array.from({ length: 12 * 20 * 20 }, (_, i) => {
    const z = Math.floor(i / 400),
      y = Math.floor(i / 20) % 20,
      x = i % 20;
    return 1 + (makeRng(`${z >> 1},${y >> 2},${x >> 2}`).int(200) + (rng.next() < 0.05 ? 1 : 0));
  });
  const write = async (name: string, data: Uint8Array) => {
    const attributes = {
      voxel_size: [4, 2, 2],
      offset: [0, 0, 0],
      axis_names: ['z', 'y', 'x'],
      units: ['nm', 'nm', 'nm'],
    };
    const arr = await zarr.create(root.resolve(name), {
      shape,
      chunkShape: [6, 10, 10],
      dtype: 'uint8',
      attributes,
    } as never);
    await zarr.set(arr as never, null, { data, shape, stride: [400, 20, 1] } as never);
  };
  await write('raw', ids);
  await write('labels', ids);
  await write(
    'mask',
    Uint8Array.from(ids, (v) => (v % 3 !== 0 ? 1 : 0)),
  );
  // An artifact source: intensities 0.25 (uint8 64) with alpha 1 on the left half, 0 on the right.
  await zarr.create(root.resolve('artifacts.zarr'));
  const art = zarr.root(new FileSystemStore(path.join(dir, 'artifacts.zarr')));
  await zarr.create(art);
  const attributes = {
    voxel_size: [4, 2, 2],
    offset: [0, 0, 0],
    axis_names: ['z', 'y', 'x'],
    units: ['nm', 'nm', 'nm'],
  };
  const a = await zarr.create(art.resolve('raw'), {
    shape: [3, 30, 30],
    chunkShape: [3, 30, 30],
    dtype: 'uint8',
    attributes,
  } as never);
  await zarr.set(a as never, null, {
    data: new Uint8Array(2700).fill(64),
    shape: [3, 30, 30],
    stride: [900, 30, 1],
  } as never);
  const m = await zarr.create(art.resolve('alpha_mask'), {
    shape: [3, 30, 30],
    chunkShape: [3, 30, 30],
    dtype: 'float32',
    attributes,
  } as never);
  const alpha = Float32Array.from({ length: 2700 }, (_, i) => (i % 30 < 15 ? 1 : 0));
  await zarr.set(m as never, null, { data: alpha, shape: [3, 30, 30], stride: [900, 30, 1] } as never);
  crop = (await openDataSplit(path.join(dir))).train[0]!;
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A target that hands the labels and the known mask back as they are. */
const echo: TargetFn = (labels, mask) => ({
  target: Float32Array.from(labels as ArrayLike<number>, Number),
  channels: 1,
  mask: Float32Array.from(mask),
  maskChannels: 1,
});

async function batches(augment: object | false, extra: object = {}, n = 3, target: 'boundary' | TargetFn = 'boundary') {
  const it = await trainingDataset([crop], {
    inputShape: [6, 12, 12],
    batchSize: 2,
    seed: 'defects',
    target,
    augment: augment as false,
    workers: 0,
    ...extra,
  }).iterator();
  const out: { xs: Float32Array; ys: Float32Array }[] = [];
  for (let i = 0; i < n; i++) {
    const { xs, ys } = (await it.next()).value;
    out.push({ xs: xs.dataSync() as Float32Array, ys: ys.dataSync() as Float32Array });
    tf.dispose([xs, ys]);
  }
  return out;
}

const geometry = { mirror: true, transpose: true };
const shift = { probSlip: 0.3, probShift: 0.3, sigma: 4 };
const defect = { missingSection: 0.2, lowContrast: 0.2, contrastScale: 0.3 };
const blur = { sigma: [1, 4] as [number, number] };

test('probability 0: the same bytes as without the augmentation', async () => {
  const plain = await batches(geometry);
  const zero = await batches({
    ...geometry,
    shift: { ...shift, probability: 0 },
    defect: { ...defect, probability: 0 },
    blur: { ...blur, probability: 0 },
  });
  assert.deepEqual(zero, plain);
  const on = await batches({ ...geometry, shift, defect, blur });
  assert.notDeepEqual(on, plain);
});

test('shift: labels and mask move with raw (raw encodes the ids), and something moved', async () => {
  const shifted = await batches({ ...geometry, shift: { probSlip: 0.5, probShift: 0.3, sigma: 6 } }, {}, 4, echo);
  const still = await batches(geometry, {}, 4, echo);
  for (const { xs, ys } of shifted) {
    for (let v = 0; v < xs.length; v++) {
      const id = Math.round(xs[v]! * 255);
      assert.equal(ys[2 * v], id, `voxel ${v}`);
      assert.equal(ys[2 * v + 1], id !== 0 && id % 3 !== 0 ? 1 : 0, `mask at voxel ${v}`);
    }
  }
  assert.notDeepEqual(shifted, still);
});

test('the same bytes for a seed: workers, and the fused path = the step-by-step path', async () => {
  const augment = { ...geometry, intensity: { scale: [0.9, 1.1], shift: [-0.05, 0.05] }, shift, defect, blur };
  for (const target of ['boundary', 'affinities'] as const) {
    const fused = await batches(augment, { target });
    // A scale/shift of 1 and 0 changes nothing but takes the step-by-step path.
    const steps = await batches({ ...augment, intensityScaleShift: { scale: 1, shift: 0 } }, { target });
    assert.deepEqual(steps, fused, target);
    assert.deepEqual(await batches(augment, { target, workers: 2 }), fused, `${target} with workers`);
  }
  const distance = { target: 'distance', distance: { scaleFactor: 8 } };
  const fused = await batches(augment, distance);
  assert.deepEqual(await batches({ ...augment, intensityScaleShift: { scale: 1, shift: 0 } }, distance), fused);
  assert.deepEqual(await batches(augment, { ...distance, workers: 2 }), fused);
  // Elastic with shifts and the distance target's context: the deformed boxes grown, in workers too.
  const elastic = { ...augment, elastic: { controlPointSpacing: 16, jitterSigma: 3, subsample: 2 } };
  const deformed = await batches(elastic, distance);
  assert.notDeepEqual(deformed, fused);
  assert.deepEqual(await batches(elastic, { ...distance, workers: 2 }), deformed);
});

test('defect: missing sections are 0, low-contrast sections their mean, artifacts blended with alpha', async () => {
  // No mirror nor transpose: the samples of `plain`.
  const still = { mirror: false, transpose: false };
  const missing = await batches({ ...still, defect: { missingSection: 1, lowContrast: 0 } });
  for (const { xs } of missing) assert.ok(xs.every((v) => v === 0));
  const flat = await batches({ ...still, defect: { missingSection: 0, lowContrast: 1, contrastScale: 0 } });
  const plain = await batches(still);
  const section = 12 * 12;
  for (let k = 0; k < flat.length; k++) {
    for (let s = 0; s < flat[k]!.xs.length; s += section) {
      const want = plain[k]!.xs.subarray(s, s + section).reduce((a, b) => a + b, 0) / section;
      for (let v = s; v < s + section; v++) assert.ok(Math.abs(flat[k]!.xs[v]! - want) < 1e-6);
    }
  }
  const artifacts = { probability: 1, path: path.join(dir, 'artifacts.zarr') };
  const blended = await batches({ ...still, defect: { missingSection: 0, lowContrast: 0, artifacts } }, {}, 2);
  for (let k = 0; k < blended.length; k++) {
    const xs = blended[k]!.xs;
    // Every section: 0.25 where alpha is 1 (a left part of the patch), raw where it is 0.
    let blendedVoxels = 0;
    for (let v = 0; v < xs.length; v++) {
      if (xs[v] === Math.fround(64 / 255)) blendedVoxels++;
      else assert.equal(xs[v], plain[k]!.xs[v]);
    }
    assert.ok(blendedVoxels > 0, `${blendedVoxels} blended voxels`);
  }
  await assert.rejects(
    batches({
      defect: {
        missingSection: 0,
        lowContrast: 0,
        artifacts: { probability: 1, path: path.join(dir, 'nowhere.zarr') },
      },
    }),
  );
});

test('blur = scipy gaussian_filter (sigma / voxel size per axis, reflect, truncate 4)', () => {
  const cases = readReference<{ shape: number[]; voxelSize: number[]; sigma: number; raw: string; blurred: string }[]>(
    'augment',
    'blur',
  );
  for (const c of cases) {
    const raw = float32(c.raw);
    applyBlur({ sigma: c.sigma }, raw, 0, c.shape, c.voxelSize);
    const want = float32(c.blurred);
    let worst = 0;
    for (let i = 0; i < raw.length; i++) worst = Math.max(worst, Math.abs(raw[i]! - want[i]!));
    assert.ok(worst < 1e-6, `blur ${JSON.stringify(c.shape)}: off by ${worst}`);
  }
});

test("shift = gunpowder's ShiftAugment (shift array, np.roll of each plane, crop)", () => {
  const rng = makeRng('gp-shift');
  const vs = [2, 3, 3];
  for (let t = 0; t < 20; t++) {
    const box = roi([8, 9, 12], [5 * 2, 7 * 3, 6 * 3]);
    const plan = planShift(rng.fork(t), { probSlip: 0.3, probShift: 0.4, sigma: 5 }, box, vs)!;
    // gunpowder: its shift array over the box's sections, in voxels.
    const shifts = plan.shifts.map(([y, x]) => [y / 3, x / 3]);
    assert.ok(shifts.every(([y, x]) => Number.isInteger(y) && Number.isInteger(x)));
    const read = shiftedBox(plan, box, vs);
    const [Z, RY, RX] = read.shape.map((s, i) => s / vs[i]!) as [number, number, number];
    const upstream = Uint16Array.from({ length: Z * RY * RX }, (_, i) => i);
    const got = applyShift(plan, upstream, read, box, vs, 1);
    const max = [0, 1].map((a) => Math.max(...shifts.map((s) => s[a]!)));
    const [Y, X] = [7, 6];
    for (let z = 0; z < Z; z++) {
      const s = shifts[z]!.map((v, a) => v - max[a]!); // ≤ 0: np.roll(plane, s) then [:Y, :X]
      for (let y = 0; y < Y; y++)
        for (let x = 0; x < X; x++) {
          const sy = (((y - s[0]!) % RY) + RY) % RY,
            sx = (((x - s[1]!) % RX) + RX) % RX;
          assert.equal(got[(z * Y + y) * X + x], upstream[(z * RY + sy) * RX + sx]);
        }
    }
  }
});

test('defect plans: the same number of draws whatever the options; probability checks', () => {
  const a = makeRng('p');
  const b = makeRng('p');
  planDefects(a, { missingSection: 0.5 }, 7);
  planDefects(b, { missingSection: 0, lowContrast: 0.9, probability: 0 }, 7);
  assert.equal(a.next(), b.next());
  assert.throws(() => planDefects(makeRng(1), { missingSection: 0.7, lowContrast: 0.5 }, 3), /add up to more than 1/);
  const raw = Float32Array.of(1, 2, 3, 4);
  applyDefects({ sections: ['lowContrast', 'missing'], contrastScale: 0.5, artifactAt: [] }, raw, 0, [2, 1, 2, 1]);
  assert.deepEqual(raw, Float32Array.of(1.25, 1.75, 0, 0));
});
