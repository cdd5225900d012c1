/**
 * Boundary tables (train/boundary-table.ts): batches made through a crop's table equal batches
 * made from the ids sample by sample (which assemble.test.ts checks against the step-by-step
 * reference and brute force), including uint64 ids whose float64 reading is NaN, −0 or infinite,
 * patches running off the labels, and crops whose table does not fit in the cache cap.
 */
import { test, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { DataConfig, openDataSplit, type Crop } from '../../src/index.js';
import { BoundaryTable } from '../../src/train/boundary-table.js';
import { CropTables } from '../../src/train/crop-table.js';
import { BatchMaker, planBatches, prepare } from '../../src/train/batch.js';
import { makeRng } from '../../src/train/random.js';
import { fixturePath } from '../helpers/fixtures.js';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const augment = {
  mirror: true,
  transpose: true,
  intensity: { scale: [0.8, 1.2] as [number, number], shift: [-0.1, 0.1] as [number, number] },
};

type Shapes = { inputShape: number[]; outputShape: number[] };

/** `n` batches of a BatchMaker over `crops` with these tables, flat. */
async function batches(crops: Crop[], shapes: Shapes, n: number, tables: CropTables): Promise<Buffer> {
  const plan = planBatches(crops, { batchSize: 3, seed: 'table', target: 'boundary', augment, ...shapes });
  const maker = new BatchMaker(await prepare(crops, plan), plan, undefined, tables);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const { xs, ys } = await maker.make(i);
    out.push(Buffer.from(xs.buffer), Buffer.from(ys.buffer));
  }
  return Buffer.concat(out);
}

/**
 * Batches with every crop's table from its first sample = batches with none (the same crops opened
 * with a cache cap too small for their tables: sample-by-sample boundary).
 */
async function withAndWithout(dir: string, shapes: Shapes, n = 6): Promise<void> {
  const withTables = await openDataSplit(dir);
  const crops = [...withTables.train, ...withTables.test];
  const eager = new CropTables(shapes.outputShape, 0);
  const a = await batches(crops, shapes, n, eager);
  assert.equal(eager.size, new Set(crops).size, 'every crop has a table');
  const small = await openDataSplit(new DataConfig({ path: dir, cacheBytes: 1 }));
  const without = [...small.train, ...small.test];
  const none = new CropTables(shapes.outputShape, 0);
  const b = await batches(without, shapes, n, none);
  for (const crop of without) assert.equal(await BoundaryTable.forSample(none, crop), null, 'no table fits');
  assert.ok(a.equals(b), dir);
}

test('boundary through the table = boundary from the ids, on every fixture written by zarr-python', async () => {
  for (const name of ['simple.zarr', 'crops.zarr', 'traintest.zarr']) {
    for (const shapes of [
      { inputShape: [8, 8, 8], outputShape: [4, 4, 4] },
      { inputShape: [6, 6, 6], outputShape: [1, 3, 6] },
    ])
      await withAndWithout(fixturePath(name), shapes);
  }
});

test('boundary through the table = from the ids for uint64 ids on both sides of 2^63 − 2^52 (word pairs), patches off the labels', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tfjs-zarr-table-'));
  try {
    const root = zarr.root(new FileSystemStore(dir));
    await zarr.create(root);
    const attributes = {
      voxel_size: [2, 2, 2],
      offset: [0, 0, 0],
      axis_names: ['z', 'y', 'x'],
      units: ['nm', 'nm', 'nm'],
    };
    const rng = makeRng('table-ids');
    const highs = [0x7fefffffn, 0x7ff00000n, 0xffffffffn, 0x80000000n, 0n];
    for (const [i, high] of highs.entries()) {
      const g = `${i < 3 ? 'train' : 'test'}/crop_${i}`;
      if (i === 0) await zarr.create(root.resolve('train'));
      if (i === 3) await zarr.create(root.resolve('test'));
      await zarr.create(root.resolve(g));
      const shape = [10, 9, 8];
      const n = 720;
      const raw = await zarr.create(root.resolve(`${g}/raw`), {
        shape,
        chunkShape: [5, 5, 5],
        dtype: 'uint8',
        attributes,
      } as never);
      await zarr.set(raw as never, null, {
        data: Uint8Array.from({ length: n }, () => rng.int(256)),
        shape,
        stride: [72, 8, 1],
      } as never);
      // Blobs of a few ids; the same low word under two high words must differ; 0 is background.
      const ids = BigUint64Array.from({ length: n }, (_, v) => {
        const cell = ((v >> 2) % 3) + (rng.next() < 0.2 ? 1 : 0);
        return cell === 0 ? 0n : (BigInt(cell % 2 ? high : 1n) << 32n) | BigInt(cell);
      });
      const labels = await zarr.create(root.resolve(`${g}/labels`), {
        shape,
        chunkShape: [10, 9, 8],
        dtype: 'uint64',
        attributes,
      } as never);
      await zarr.set(labels as never, null, { data: ids, shape, stride: [72, 8, 1] } as never);
    }
    await withAndWithout(dir, { inputShape: [6, 6, 6], outputShape: [6, 6, 6] }, 10);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
