/**
 * Every target, every path, in one place (issue 22.5): for each built-in target the batches of
 * trainingDataset — fused in this thread through the crop's table (boundary, distance), fused
 * without a table (a cache cap too small for it), the step-by-step path (an identity raw
 * scale/shift takes it), and worker threads — are byte for byte the target's whole-array
 * definition (targets.ts: boundaryTarget, affinitiesTarget, semanticTarget, distanceTarget over the
 * whole crop) applied to each sample as read and augmented. A change to a target's definition
 * that a fast path does not follow fails here.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import * as tf from '@tensorflow/tfjs';
import { DataConfig, openDataSplit, trainingDataset, type Crop } from '../../src/index.js';
import { applyAugment, remapOf } from '../../src/train/augment.js';
import { makeRng } from '../../src/train/random.js';
import { CropSampler } from '../../src/train/sampler.js';
import {
  concatTargetMask,
  distanceTarget,
  makeTarget,
  TARGET_KINDS,
  type TargetKind,
} from '../../src/train/targets.js';
import { roiGrow } from '../../src/roi.js';
import type { LabelArray } from '../../src/types.js';
import { fixturePath } from '../helpers/fixtures.js';

let dir: string;

/** Two crops: uint16 class ids 0…4 with a mask (train), uint64 instance ids above 2^53 without one (test). */
before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  dir = await mkdtemp(path.join(os.tmpdir(), 'tfjs-zarr-agree-'));
  const root = zarr.root(new FileSystemStore(dir));
  await zarr.create(root);
  const shape = [10, 14, 16];
  const n = 10 * 14 * 16;
  const rng = makeRng('agree');
  const cell = (i: number, k: number) => {
    const z = Math.floor(i / 224),
      y = Math.floor(i / 16) % 14,
      x = i % 16;
    return makeRng(`${z >> 1},${y >> 2},${x >> 2}`).int(k) + (rng.next() < 0.04 ? 1 : 0);
  };
  for (const [name, dtype, ids, mask] of [
    ['train/a', 'uint16', Uint16Array.from({ length: n }, (_, i) => cell(i, 4) % 4), true],
    [
      'test/b',
      'uint64',
      BigUint64Array.from({ length: n }, (_, i) => (cell(i, 9) ? 2n ** 60n + BigInt(cell(i, 9)) : 0n)),
      false,
    ],
  ] as const) {
    await zarr.create(root.resolve(name.split('/')[0]!));
    await zarr.create(root.resolve(name));
    const write = async (array: string, d: string, offset: number[], s: number[], data: ArrayLike<unknown>) => {
      const attributes = { voxel_size: [4, 2, 2], offset, axis_names: ['z', 'y', 'x'], units: ['nm', 'nm', 'nm'] };
      const chunkShape = d === 'uint64' ? s : [5, 7, 8];
      const arr = await zarr.create(root.resolve(`${name}/${array}`), {
        shape: s,
        chunkShape,
        dtype: d,
        attributes,
      } as never);
      await zarr.set(arr as never, null, { data, shape: s, stride: [s[1]! * s[2]!, s[2]!, 1] } as never);
    };
    const rawShape = [12, 16, 18];
    await write(
      'raw',
      'uint8',
      [0, 0, 0],
      rawShape,
      Uint8Array.from({ length: 12 * 16 * 18 }, () => rng.int(256)),
    );
    await write('labels', dtype, [4, 2, 2], shape, ids);
    if (mask)
      await write(
        'mask',
        'uint8',
        [4, 2, 2],
        shape,
        Uint8Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0 : 1)),
      );
  }
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SHAPES = { inputShape: [6, 8, 10], outputShape: [4, 6, 6] };
const AUGMENT = { mirror: true, transpose: true, intensity: { scale: [0.9, 1.1] as [number, number] } };

function optionsFor(kind: TargetKind): Record<string, unknown> {
  if (kind === 'affinities')
    return {
      offsets: [
        [-1, 0, 0],
        [0, -2, 1],
        [0, 0, -1],
      ],
    };
  if (kind === 'semantic') return { numClasses: 5 };
  if (kind === 'distance') return { distance: { scaleFactor: 6 } };
  return {};
}

async function batches(crop: Crop, kind: TargetKind, extra: Record<string, unknown>, n = 3): Promise<Float32Array[]> {
  const it = await trainingDataset([crop], {
    ...SHAPES,
    batchSize: 2,
    seed: `agree-${kind}`,
    target: kind,
    ...optionsFor(kind),
    augment: AUGMENT,
    workers: 0,
    ...extra,
  }).iterator();
  const out: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const { xs, ys } = (await it.next()).value;
    out.push(ys.dataSync() as Float32Array);
    tf.dispose([xs, ys]);
  }
  return out;
}

/** The target's whole-array definition on each sample as read and augmented (distance: over the whole crop). */
async function reference(crop: Crop, kind: TargetKind, n = 3): Promise<Float32Array[]> {
  const options = { ...SHAPES, augment: AUGMENT };
  const sampler = await CropSampler.create(crop, options);
  const root = makeRng(`agree-${kind}`);
  const vs = crop.voxelSize;
  // The distance over the whole crop, read with room for every sample box around it.
  const grown = roiGrow(
    crop.labels.roi,
    SHAPES.outputShape.map((o, i) => o * vs[i]!),
  );
  const gShape = grown.shape.map((s, i) => s / vs[i]!);
  const whole =
    kind === 'distance'
      ? distanceTarget((await crop.labels.read(grown)) as LabelArray, await crop.readMask(grown), gShape, {
          voxelSize: vs,
          scaleFactor: 6,
        })
      : null;
  const out: Float32Array[] = [];
  for (let k = 0; k < n; k++) {
    const parts: Float32Array[] = [];
    for (let b = 0; b < 2; b++) {
      const plan = sampler.draw(root.fork(k * 2 + b).fork('sample'));
      const rois = sampler.rois(plan);
      if (whole) {
        // Cut the sample's box out of the whole-crop target, then orient it as the sample.
        const at = rois.labels.offset.map((o, i) => (o - grown.offset[i]!) / vs[i]!);
        const [Z, Y, X] = SHAPES.outputShape as [number, number, number];
        const box = new Float32Array(Z * Y * X * 2);
        for (let z = 0, v = 0; z < Z; z++)
          for (let y = 0; y < Y; y++)
            for (let x = 0; x < X; x++, v++) {
              const g = ((at[0]! + z) * gShape[1]! + at[1]! + y) * gShape[2]! + at[2]! + x;
              box[2 * v] = whole.target[g]!;
              box[2 * v + 1] = whole.mask[g]!;
            }
        const map = remapOf(SHAPES.outputShape, 2, plan.augment);
        const oriented = new Float32Array(box.length);
        const [oz, oy, ox] = map.shape as [number, number, number];
        for (let z = 0, v = 0; z < oz; z++)
          for (let y = 0; y < oy; y++)
            for (let x = 0; x < ox; x++, v++) {
              const q = map.base + z * map.steps[0]! + y * map.steps[1]! + x * map.steps[2]!;
              oriented[2 * v] = box[q]!;
              oriented[2 * v + 1] = box[q + 1]!;
            }
        parts.push(oriented);
        continue;
      }
      const read = await crop.read(rois.raw, rois.labels);
      const sample = plan.augment ? applyAugment(plan.augment, read) : read;
      const t = makeTarget(kind, sample.labels, sample.mask, sample.labelShape, optionsFor(kind));
      parts.push(concatTargetMask(t));
    }
    const all = new Float32Array(parts[0]!.length * 2);
    all.set(parts[0]!, 0);
    all.set(parts[1]!, parts[0]!.length);
    out.push(all);
  }
  return out;
}

for (const kind of TARGET_KINDS) {
  test(`target '${kind}': the whole-array definition = fused with and without a table = step by step = workers`, async () => {
    const split = await openDataSplit(dir);
    const small = await openDataSplit(new DataConfig({ path: dir, cacheBytes: 1 }));
    const crops = [...split.train, ...split.test];
    const smallCrops = [...small.train, ...small.test];
    for (const [i, crop] of crops.entries()) {
      if (kind === 'semantic' && crop.labels.dtype === 'uint64') continue; // instance ids are not classes
      const what = `${kind} on ${crop.name}`;
      const want = await reference(crop, kind);
      assert.deepEqual(await batches(crop, kind, {}), want, `${what}: fused`);
      assert.deepEqual(await batches(smallCrops[i]!, kind, {}), want, `${what}: fused without a table`);
      const steps = { augment: { ...AUGMENT, intensityScaleShift: { scale: 1, shift: 0 } } };
      assert.deepEqual(await batches(crop, kind, steps), want, `${what}: step by step`);
      assert.deepEqual(await batches(crop, kind, { workers: 2 }), want, `${what}: workers`);
    }
  });
}

test("target 'distance' with raw and labels at two voxel sizes (upsample.zarr: raw 4 nm, labels 2 nm)", async () => {
  const split = await openDataSplit(fixturePath('upsample.zarr'));
  const small = await openDataSplit(new DataConfig({ path: fixturePath('upsample.zarr'), cacheBytes: 1 }));
  const crop = split.train[0]!;
  assert.notDeepEqual(crop.raw.voxelSize, crop.voxelSize);
  const want = await reference(crop, 'distance');
  assert.deepEqual(await batches(crop, 'distance', {}), want, 'fused');
  assert.deepEqual(await batches(small.train[0]!, 'distance', {}), want, 'fused without a table');
  const steps = { augment: { ...AUGMENT, intensityScaleShift: { scale: 1, shift: 0 } } };
  assert.deepEqual(await batches(crop, 'distance', steps), want, 'step by step');
  assert.deepEqual(await batches(crop, 'distance', { workers: 2 }), want, 'workers');
});
