/**
 * The distance target through trainingDataset: every sample's ys (target ⊕ mask) equals DaCapo's
 * computation over the whole crop (scripts/make_distance_fixtures.py) at the sample's voxels,
 * whatever the sample's cut — through the crop's distance table and without one (a cache cap too
 * small for it: sample by sample from a window of labels), mirrored and transposed, through the
 * step-by-step path (raw noise), and with worker threads (the same bytes).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import * as tf from '@tensorflow/tfjs';
import { DataConfig, openDataSplit, trainingDataset, type Crop } from '../../src/index.js';
import { remapOf } from '../../src/train/augment.js';
import { DistanceTable } from '../../src/train/distance-table.js';
import { makeRng } from '../../src/train/random.js';
import { CropSampler } from '../../src/train/sampler.js';
import type { DistanceOptions } from '../../src/train/targets.js';
import { float32, labelsOf, readReference, uint8 } from '../helpers/reference.js';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

interface DistanceCase {
  shape: number[];
  voxelSize: number[];
  scaleFactor: number;
  classes: (string | string[])[] | null;
  margin: number[];
  dtype: string;
  labels: string;
  mask: string;
  target: string;
  distanceMask: string;
}

/** The case's crop in a zarr container (raw with 2 voxels of context, labels at offset 2 voxels). */
async function writeCase(dir: string, c: DistanceCase): Promise<void> {
  const root = zarr.root(new FileSystemStore(dir));
  await zarr.create(root);
  const vs = c.voxelSize;
  const write = async (name: string, dtype: string, offset: number[], shape: number[], data: ArrayLike<unknown>) => {
    const attributes = { voxel_size: vs, offset, axis_names: ['z', 'y', 'x'], units: ['nm', 'nm', 'nm'] };
    const arr = await zarr.create(root.resolve(name), { shape, chunkShape: shape, dtype, attributes } as never);
    await zarr.set(arr as never, null, { data, shape, stride: [shape[1]! * shape[2]!, shape[2]!, 1] } as never);
  };
  const rawShape = c.shape.map((s) => s + 4);
  const rng = makeRng('raw');
  await write(
    'raw',
    'uint8',
    [0, 0, 0],
    rawShape,
    Uint8Array.from({ length: rawShape.reduce((a, b) => a * b) }, () => rng.int(256)),
  );
  const offset = vs.map((v) => 2 * v);
  await write('labels', c.dtype, offset, c.shape, labelsOf(c.labels, c.dtype));
  await write('mask', 'uint8', offset, c.shape, uint8(c.mask));
}

function optionsOf(c: DistanceCase): DistanceOptions {
  return { scaleFactor: c.scaleFactor, ...(c.classes ? { classes: c.classes } : {}), maskDistances: true };
}

/** Every sample of `n` batches of 3 against the reference at its voxels (remapped by its plan). */
async function checkAgainstReference(
  crop: Crop,
  c: DistanceCase,
  extra: Record<string, unknown>,
  n = 3,
): Promise<Buffer> {
  const options = {
    inputShape: [5, 9, 9],
    outputShape: [3, 5, 5],
    batchSize: 3,
    seed: 'distance',
    target: 'distance' as const,
    distance: optionsOf(c),
    workers: 0,
    ...extra,
  };
  const want = float32(c.target);
  const wantMask = float32(c.distanceMask);
  const C = c.classes?.length ?? 1;
  const W = 2 * C;
  const grown = c.shape.map((s, i) => s + 2 * c.margin[i]!);
  const it = await trainingDataset([crop], options).iterator();
  const sampler = await CropSampler.create(crop, options);
  const root = makeRng(options.seed);
  const all: Buffer[] = [];
  for (let k = 0; k < n; k++) {
    const { xs, ys } = (await it.next()).value;
    const got = ys.dataSync() as Float32Array;
    all.push(Buffer.from(got.buffer, got.byteOffset, got.byteLength));
    tf.dispose([xs, ys]);
    for (let b = 0; b < 3; b++) {
      const plan = sampler.draw(root.fork(k * 3 + b).fork('sample'));
      const box = sampler.rois(plan).labels;
      // The box's first voxel in the reference (the crop grown by the margin).
      const at = box.offset.map((o, i) => o / c.voxelSize[i]! - 2 + c.margin[i]!);
      const map = remapOf(options.outputShape, 1, plan.augment);
      const [Z, Y, X] = map.shape as [number, number, number];
      for (let z = 0, v = 0; z < Z; z++)
        for (let y = 0; y < Y; y++)
          for (let x = 0; x < X; x++, v++) {
            const q = map.base + z * map.steps[0]! + y * map.steps[1]! + x * map.steps[2]!;
            const qz = Math.floor(q / 25),
              qy = Math.floor(q / 5) % 5,
              qx = q % 5;
            const r = ((at[0]! + qz) * grown[1]! + at[1]! + qy) * grown[2]! + at[2]! + qx;
            for (let ch = 0; ch < C; ch++) {
              const o = (b * 75 + v) * W;
              const what = `batch ${k} sample ${b} voxel ${v} channel ${ch} ${JSON.stringify(extra)}`;
              assert.ok(
                Math.abs(got[o + ch]! - want[r * C + ch]!) <= 2e-7,
                `${what}: ${got[o + ch]} vs ${want[r * C + ch]}`,
              );
              assert.equal(got[o + C + ch], wantMask[r * C + ch], `${what} (mask)`);
            }
          }
    }
  }
  return Buffer.concat(all);
}

for (const name of ['anisotropic', 'uint64']) {
  test(`distance target through trainingDataset = DaCapo's over the whole crop (${name}; table, no table, augmented, steps, workers)`, async () => {
    const c = readReference<DistanceCase>('distance', name);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tfjs-zarr-distance-'));
    try {
      await writeCase(dir, c);
      const crop = (await openDataSplit(dir)).train[0]!;
      assert.ok(await DistanceTable.forCrop(crop, [3, 5, 5], optionsOf(c)), 'the crop has a table');
      const small = (await openDataSplit(new DataConfig({ path: dir, cacheBytes: 1 }))).train[0]!;
      assert.equal(await DistanceTable.forCrop(small, [3, 5, 5], optionsOf(c)), null);
      const plain = await checkAgainstReference(crop, c, {});
      assert.ok(plain.equals(await checkAgainstReference(small, c, {})), 'table = sample by sample');
      const augment = { mirror: true, transpose: true };
      const augmented = await checkAgainstReference(crop, c, { augment });
      assert.ok(augmented.equals(await checkAgainstReference(small, c, { augment })));
      // Raw noise takes the step-by-step path (labels read with context, then augmented).
      await checkAgainstReference(crop, c, { augment: { ...augment, noise: { var: 0.01 } } });
      const workers = await checkAgainstReference(crop, c, { augment, workers: 2 });
      assert.ok(workers.equals(augmented), 'workers give the same bytes');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
