import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import { openDataSplit, roi } from '../../src/index.js';

test('a bool mask reads as 0/1 (zarr bool dtype)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tfjs-zarr-bool-'));
  try {
    const root = zarr.root(new FileSystemStore(dir));
    await zarr.create(root);
    const attributes = {
      voxel_size: [2, 2, 2],
      offset: [0, 0, 0],
      axis_names: ['z', 'y', 'x'],
      units: ['nm', 'nm', 'nm'],
    };
    const shape = [2, 3, 4];
    const stride = [12, 4, 1];
    const write = async (name: string, dtype: 'uint8' | 'uint32' | 'bool', data: unknown) => {
      const arr = await zarr.create(root.resolve(name), { shape, chunkShape: [1, 2, 3], dtype, attributes } as never);
      await zarr.set(arr as never, null, { data, shape, stride } as never);
    };
    await write(
      'raw',
      'uint8',
      new Uint8Array(24).map((_, i) => i),
    );
    await write('labels', 'uint32', new Uint32Array(24).fill(5));
    const mask = Array.from({ length: 24 }, (_, i) => i % 4 !== 0); // x = 0 unknown
    await write('mask', 'bool', new zarr.BoolArray(mask));
    const split = await openDataSplit(dir);
    const crop = split.train[0]!;
    assert.equal(crop.mask!.dtype, 'bool');
    const known = await crop.readMask(roi([0, 0, 0], [4, 6, 8]));
    assert.deepEqual(
      Array.from(known),
      mask.map((m) => (m ? 1 : 0)),
    );
    // Outside the labels' region the mask is 0 whatever is stored.
    assert.deepEqual(Array.from(await crop.readMask(roi([0, 0, 6], [2, 2, 4]))), [1, 0]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
