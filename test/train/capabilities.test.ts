/**
 * Fast paths as capabilities (types.ts: Crop.storedRawScale, Volume.pieces, Volume.reserveBytes):
 * a crop of the user's own that offers them gets them, with the same bytes as a crop from
 * openDataSplit; and a training dataset gives its boundary tables' memory back when closed.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { openDataSplit, trainingDataset, type Crop, type Volume } from '../../src/index.js';
import type { Roi } from '../../src/roi.js';
import type { StoredArray } from '../../src/types.js';
import { BatchMaker, planBatches, prepare } from '../../src/train/batch.js';
import { CropTables } from '../../src/train/crop-table.js';
import { fixturePath } from '../helpers/fixtures.js';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const OPTIONS = {
  batchSize: 3,
  seed: 'capabilities',
  target: 'boundary' as const,
  inputShape: [8, 8, 8],
  outputShape: [4, 4, 4],
  augment: {
    mirror: true,
    transpose: true,
    intensity: { scale: [0.8, 1.2] as [number, number], shift: [0, 0.1] as [number, number] },
  },
};

type Calls = { pieces: number; reserved: number; released: number };

/** A plain Volume over `v`, offering its capabilities or not, counting their use. */
function userVolume(v: Volume, calls: Calls, offer: boolean): Volume {
  const plain: Volume = {
    container: v.container,
    path: v.path,
    dtype: v.dtype,
    shape: v.shape,
    axisNames: v.axisNames,
    voxelSize: v.voxelSize,
    offset: v.offset,
    units: v.units,
    roi: v.roi,
    channels: v.channels,
    read: (roi: Roi, into?: StoredArray) => v.read(roi, into),
  };
  if (!offer) return plain;
  return {
    ...plain,
    pieces: (roi: Roi) => {
      calls.pieces++;
      return v.pieces!(roi);
    },
    reserveBytes: (bytes: number) => {
      calls.reserved += bytes;
      const release = v.reserveBytes!(bytes);
      if (!release) return null;
      return () => {
        calls.released += bytes;
        release();
      };
    },
  };
}

/** A crop of the user's own over `crop`'s arrays (not a ZarrCrop), with or without the fast paths. */
function userCrop(crop: Crop, calls: Calls, offer: boolean): Crop {
  const mine: Crop = {
    name: `mine-${crop.name}`,
    raw: userVolume(crop.raw, calls, offer),
    labels: userVolume(crop.labels, calls, offer),
    mask: crop.mask && userVolume(crop.mask, calls, offer),
    voxelSize: crop.voxelSize,
    read: (roi, labelsRoi) => crop.read(roi, labelsRoi),
    readRaw: (roi) => crop.readRaw(roi),
    readMask: (roi) => crop.readMask(roi),
  };
  return offer ? { ...mine, storedRawScale: crop.storedRawScale! } : mine;
}

async function makeBatches(crops: Crop[], n: number, tables?: CropTables): Promise<Buffer> {
  const plan = planBatches(crops, OPTIONS);
  const maker = new BatchMaker(await prepare(crops, plan), plan, undefined, tables);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const { xs, ys } = await maker.make(i);
    out.push(Buffer.from(xs.buffer), Buffer.from(ys.buffer));
  }
  return Buffer.concat(out);
}

test("a user's crop offering the capabilities gets the fast paths, with a ZarrCrop's bytes", async () => {
  const [crop] = (await openDataSplit(fixturePath('simple.zarr'))).train;
  assert.ok(crop?.storedRawScale !== undefined, 'a crop from openDataSplit offers storedRawScale');
  const reference = await makeBatches([crop], 8, new CropTables(OPTIONS.outputShape, 0));

  const offered: Calls = { pieces: 0, reserved: 0, released: 0 };
  const tables = new CropTables(OPTIONS.outputShape, 0);
  const fast = await makeBatches([userCrop(crop, offered, true)], 8, tables);
  assert.ok(fast.equals(reference), 'same bytes through the fast paths');
  assert.ok(offered.pieces > 0, 'raw read in place through pieces()');
  assert.ok(offered.reserved > 0 && tables.size === 1, 'a boundary table built in the budget of reserveBytes()');
  tables.release();
  assert.equal(offered.released, offered.reserved, 'released with its tables');

  const none: Calls = { pieces: 0, reserved: 0, released: 0 };
  const slow = await makeBatches([userCrop(crop, none, false)], 8, new CropTables(OPTIONS.outputShape, 0));
  assert.ok(slow.equals(reference), 'same bytes through the step-by-step read');
  assert.deepEqual(none, { pieces: 0, reserved: 0, released: 0 });
});

test('a training dataset builds boundary tables as they pay and gives their memory back on close()', async () => {
  const split = await openDataSplit(fixturePath('simple.zarr'));
  const calls: Calls = { pieces: 0, reserved: 0, released: 0 };
  const crop = userCrop(split.train[0]!, calls, true);
  const ds = trainingDataset([crop], { ...OPTIONS, workers: 0 });
  const it = await ds.iterator();
  // The table ([6 + 3, 8 + 3, 7 + 3] voxels) is built once samples have covered as many voxels (64 each).
  for (let i = 0; i < 2; i++) tf.dispose((await it.next()).value);
  assert.equal(calls.reserved, 0, 'no table for the first samples');
  for (let i = 0; i < 20; i++) tf.dispose((await it.next()).value);
  assert.equal(calls.reserved, 9 * 11 * 10, 'the table, once it pays');
  assert.equal(split.cache.reservedBytes, 9 * 11 * 10);
  ds.close();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(calls.released, calls.reserved);
  assert.equal(split.cache.reservedBytes, 0, 'the chunk cache has its whole cap again');
});
