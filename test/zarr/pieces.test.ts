/**
 * `ZarrVolume.pieces` (the chunk boxes of a read, for reading chunks in place): copied into a
 * zero-filled array they give exactly `read`, over regions inside, across and beyond the arrays
 * of the fixtures (missing chunks, partial edge chunks, v3 shards).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDataSplit } from '../../src/index.js';
import { roi } from '../../src/roi.js';
import { cOrderStrides, copyBox, fillBox } from '../../src/zarr/gather.js';
import { newStoredArray, ZarrVolume } from '../../src/zarr/volume.js';
import type { StoredArray } from '../../src/types.js';
import { fixturePath } from '../helpers/fixtures.js';
import { mulberry32 } from '../helpers/random.js';

test('pieces copied into zeros = read, for regions inside, across and beyond each array', async () => {
  const rand = mulberry32(5);
  let regions = 0;
  for (const name of ['simple.zarr', 'crops.zarr', 'v3.zarr', 'traintest.zarr']) {
    const split = await openDataSplit(fixturePath(name));
    for (const crop of [...split.train, ...split.test]) {
      for (const array of [crop.raw, crop.labels, crop.mask]) {
        if (!(array instanceof ZarrVolume) || array.channelAxis !== null) continue;
        const volume: ZarrVolume = array;
        for (let k = 0; k < 12; k++) {
          const shape: number[] = volume.spatialShape.map((s) => 1 + Math.floor(rand() * (s + 2)));
          const start: number[] = volume.spatialShape.map(
            (s, i) => Math.floor(rand() * (s + 4)) - 2 - (k % 3 === 0 ? shape[i]! : 0),
          );
          const region = roi(
            start.map((v, i) => volume.offset[i]! + v * volume.voxelSize[i]!),
            shape.map((v, i) => v * volume.voxelSize[i]!),
          );
          const want: StoredArray = await volume.read(region);
          const { pieces, inside, fillValue } = await volume.pieces(region);
          const got = newStoredArray(volume.dtype, want.length);
          const strides = cOrderStrides(shape);
          for (const { chunk, srcStart, dstStart, count } of pieces) {
            if (chunk.data) copyBox(chunk.data, chunk.stride, srcStart, got, strides, dstStart, count);
            else fillBox(got, strides, dstStart, count, fillValue);
          }
          const what: string = `${name} ${crop.name} ${volume.path} ${JSON.stringify(region)}`;
          assert.deepEqual(got, want, what);
          const within: boolean = start.every(
            (s: number, i: number) => s >= 0 && s + shape[i]! <= volume.spatialShape[i]!,
          );
          assert.equal(inside, within, what);
          regions++;
        }
      }
    }
  }
  assert.ok(regions > 100, `${regions} regions`);
});
