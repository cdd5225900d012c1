/**
 * The zarr writer: zarr-python reads what it writes (test/fixtures-write, recorded by
 * scripts/check_write_fixtures.py: shapes, dtypes, chunks, compressors, funlib attributes, every
 * value, uint64 ids exact), the writer still writes those bytes, and our reader (zarrita) reads v2
 * and v3 back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { openArray } from '../../src/apply/index.js';
import {
  FIXTURE_ARRAYS,
  fixtureValues,
  OFFSET,
  SHAPE,
  VOXEL_SIZE,
  writeFixtures,
} from '../../scripts/make_write_fixtures.js';
import { toUint8 } from '../../src/apply/block-io.js';
import { arrayFiles } from '../helpers/apply.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures-write', 'written.zarr');

interface PythonRead {
  arrays: string[];
  read: Record<
    string,
    {
      shape: number[];
      dtype: string;
      chunks: number[];
      compressor: string | null;
      attrs: Record<string, unknown>;
      nchunks_initialized: number;
      values: (number | string)[];
    }
  >;
}

test('zarr-python reads our v2 arrays: metadata, funlib attributes and every value', async () => {
  const py = JSON.parse(
    await readFile(path.join(REPO_ROOT, 'test', 'fixtures-write', 'written.expected.json'), 'utf8'),
  ) as PythonRead;
  assert.deepEqual(py.arrays, ['prediction', 'probabilities', 'segmentation']);
  for (const name of py.arrays) {
    const spec = FIXTURE_ARRAYS[name]!;
    const seen = py.read[name]!;
    assert.deepEqual(seen.shape, spec.shape);
    assert.equal(seen.dtype, spec.dtype);
    assert.deepEqual(seen.chunks, spec.chunks);
    assert.equal(seen.compressor, spec.compressor === 'none' ? null : spec.compressor);
    assert.deepEqual(seen.attrs['voxel_size'], VOXEL_SIZE);
    assert.deepEqual(seen.attrs['offset'], OFFSET);
    assert.deepEqual(seen.attrs['axis_names'], spec.channels ? ['c^', 'z', 'y', 'x'] : ['z', 'y', 'x']);
    assert.deepEqual(
      seen.attrs['types'],
      spec.channels ? ['channel', 'space', 'space', 'space'] : ['space', 'space', 'space'],
    );
    const chunksPerAxis = spec.shape.map((s, i) => Math.ceil(s / spec.chunks[i]!));
    assert.equal(
      seen.nchunks_initialized,
      chunksPerAxis.reduce((a, b) => a * b, 1),
    );
    const values = fixtureValues(name);
    assert.equal(seen.values.length, values.length);
    if (spec.dtype === 'uint64') {
      assert.deepEqual(
        seen.values,
        Array.from(values as BigUint64Array, (v) => v.toString()),
      );
    } else if (spec.dtype === 'uint8') {
      assert.deepEqual(seen.values, Array.from(values as Float32Array, toUint8));
    } else {
      for (let i = 0; i < values.length; i++) assert.equal(Math.fround(seen.values[i] as number), values[i]);
    }
  }
});

test('the writer still writes the bytes zarr-python read; our reader reads v2 and v3 back', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-write-'));
  try {
    const container = path.join(dir, 'written.zarr');
    await writeFixtures(container);
    const ours = await arrayFiles(container);
    const committed = await arrayFiles(FIXTURE);
    assert.deepEqual([...ours.keys()].sort(), [...committed.keys()].sort());
    for (const [k, v] of committed) assert.ok(v.equals(ours.get(k)!), `${k} differs from the committed fixture`);
    for (const name of Object.keys(FIXTURE_ARRAYS)) {
      const volume = await openArray(`${container}/${name}`);
      assert.deepEqual(volume.offset, OFFSET);
      assert.deepEqual(volume.voxelSize, VOXEL_SIZE);
      assert.deepEqual(volume.spatialShape, SHAPE);
      const read = await volume.read(volume.roi);
      const expected = fixtureValues(name);
      if (FIXTURE_ARRAYS[name]!.dtype === 'uint8')
        assert.deepEqual(Array.from(read as Uint8Array), Array.from(expected as Float32Array, toUint8));
      else assert.deepEqual(read, expected);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
