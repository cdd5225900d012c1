/**
 * Large sparse crops with minMasked: the known-mask table is built slab by slab (no whole-region
 * array), and a region too large for even one slab is refused with an error naming the crop, not
 * an uncaught RangeError.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { OptionsError, openDataSplit } from '../../src/index.js';
import { CropSampler } from '../../src/train/sampler.js';
import { makeRng } from '../../src/train/random.js';

const ATTRS = { voxel_size: [1, 1, 1], offset: [0, 0, 0], axis_names: ['z', 'y', 'x'], units: ['', '', ''] };

/** A v2 array folder written by hand: uncompressed uint8, only the given chunks stored. */
function writeArray(dir: string, shape: number[], chunks: number[], stored: Record<string, number> = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const meta = {
    zarr_format: 2,
    shape,
    chunks,
    dtype: '|u1',
    compressor: null,
    fill_value: 0,
    order: 'C',
    filters: null,
  };
  fs.writeFileSync(path.join(dir, '.zarray'), JSON.stringify(meta));
  fs.writeFileSync(path.join(dir, '.zattrs'), JSON.stringify(ATTRS));
  const n = chunks.reduce((a, b) => a * b, 1);
  for (const [key, value] of Object.entries(stored))
    fs.writeFileSync(path.join(dir, key), new Uint8Array(n).fill(value));
}

function container(build: (root: string) => void): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-zarr-sparse-'));
  fs.writeFileSync(path.join(root, '.zgroup'), '{"zarr_format": 2}');
  build(root);
  return root;
}

test('a huge sparse crop (2^20 voxels per axis) with minMasked is refused by name, not a RangeError', async () => {
  const big = [2 ** 20, 2 ** 20, 2 ** 20];
  for (const withMask of [false, true]) {
    const root = container((r) => {
      writeArray(path.join(r, 'raw'), big, [64, 64, 64]);
      writeArray(path.join(r, 'labels'), big, [64, 64, 64], { '0.0.0': 1 });
      if (withMask) writeArray(path.join(r, 'mask'), big, [64, 64, 64], { '0.0.0': 1 });
    });
    try {
      const split = await openDataSplit(root);
      await assert.rejects(
        CropSampler.create(split.train[0]!, { inputShape: [8, 8, 8], minMasked: 0.5 }),
        (e: Error) => {
          assert.ok(e instanceof OptionsError, `${e.name}: ${e.message}`);
          assert.match(e.message, /crop .*labels region of \[1048576, 1048576, 1048576\] voxels is too large/);
          assert.match(e.message, /more than can be allocated/);
          return true;
        },
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
});

test('a large sparse crop with minMasked samples only where its mask is known, table built slab by slab', async () => {
  const shape = [96, 256, 256]; // 6.3 M voxels: more than one slab
  const root = container((r) => {
    writeArray(path.join(r, 'raw'), shape, [32, 64, 64]);
    writeArray(path.join(r, 'labels'), shape, [32, 64, 64], { '1.1.2': 3 });
    writeArray(path.join(r, 'mask'), shape, [32, 64, 64], { '1.1.2': 1, '2.3.3': 1 });
  });
  try {
    const split = await openDataSplit(root);
    const sampler = await CropSampler.create(split.train[0]!, { inputShape: [16, 16, 16], minMasked: 1 });
    assert.equal(sampler.knownVoxels, 2 * 32 * 64 * 64);
    const rng = makeRng(1);
    for (let i = 0; i < 200; i++) {
      const [z, y, x] = sampler.draw(rng.fork(`s${i}`)).centre as [number, number, number];
      const inFirst = z >= 40 && z <= 56 && y >= 72 && y <= 120 && x >= 136 && x <= 184;
      const inSecond = z >= 72 && z <= 88 && y >= 200 && y <= 248 && x >= 200 && x <= 248;
      assert.ok(inFirst || inSecond, `centre [${z}, ${y}, ${x}] is not fully known`);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
