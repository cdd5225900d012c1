/**
 * funlib.persistence ≥ 0.6's `types` attribute ("space" / "channel" / "time" per axis): it decides
 * which axes are spatial (a channel axis then needs no `^`), a time axis is refused, a wrong length
 * is an error naming `types`; `axis_names` with `^` and no `types` keeps working. Read from v2
 * `.zattrs` (zarr-python fixtures, in read.test.ts and errors.test.ts) and v3 `attributes` (here),
 * and shown by `tfjs-zarr inspect`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import FileSystemStore from '@zarrita/storage/fs';
import * as zarr from 'zarrita';
import { DataFormatError, openDataSplit } from '../../src/index.js';
import { readSpatialMetadata } from '../../src/zarr/metadata/funlib.js';
import { fixturePath, REPO_ROOT } from '../helpers/fixtures.js';

const where = { container: 'c.zarr', path: 'raw' };
const quiet = () => undefined;

test('types decides the spatial axes; names need no ^', () => {
  const m = readSpatialMetadata(
    { axis_names: ['c', 'z', 'y', 'x'], types: ['channel', 'space', 'space', 'space'], voxel_size: [4, 4, 4] },
    4,
    where,
    quiet,
  );
  assert.equal(m.channelAxis, 0);
  assert.deepEqual(m.axisNames, ['c', 'z', 'y', 'x']);
  assert.deepEqual(m.types, ['channel', 'space', 'space', 'space']);
  assert.deepEqual(m.voxelSize, [4, 4, 4]);
  // channel last, no axis_names: default names, types still decide
  const last = readSpatialMetadata(
    { types: ['space', 'space', 'space', 'channel'], voxel_size: [1, 2, 3] },
    4,
    where,
    quiet,
  );
  assert.equal(last.channelAxis, 3);
  assert.deepEqual(last.voxelSize, [1, 2, 3]);
  // no types: ^ as before
  const old = readSpatialMetadata({ axis_names: ['c^', 'z', 'y', 'x'], voxel_size: [4, 4, 4] }, 4, where, quiet);
  assert.equal(old.channelAxis, 0);
  assert.deepEqual(old.types, ['channel', 'space', 'space', 'space']);
});

test('a time axis, a wrong length or an unknown type: DataFormatError naming types', () => {
  const cases: [Record<string, unknown>, number, RegExp][] = [
    [{ types: ['time', 'space', 'space', 'space'], axis_names: ['t', 'z', 'y', 'x'] }, 4, /time/],
    [{ types: ['space', 'space', 'space'], axis_names: ['c', 'z', 'y', 'x'] }, 4, /3 entries.*4 axes/],
    [{ types: ['space', 'spatial', 'space'] }, 3, /"spatial"/],
    [{ types: 'space' }, 3, /list/],
    [{ types: ['channel', 'channel', 'space', 'space'] }, 4, /at most one channel/],
  ];
  for (const [attrs, ndim, pattern] of cases) {
    assert.throws(
      () => readSpatialMetadata(attrs, ndim, where, quiet),
      (e: unknown) =>
        e instanceof DataFormatError &&
        /attribute types/.test(e.message) &&
        pattern.test(e.message) &&
        /raw/.test(e.message),
      JSON.stringify(attrs),
    );
  }
});

test('zarr v3 attributes: types read, channel axis named "c" without ^', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-types-'));
  try {
    const root = zarr.root(new FileSystemStore(dir));
    await zarr.create(root);
    const write = async (
      name: string,
      shape: number[],
      dtype: 'uint8' | 'uint32',
      attributes: Record<string, unknown>,
    ) => {
      const arr = await zarr.create(root.resolve(name), { shape, chunkShape: shape, dtype, attributes });
      const data =
        dtype === 'uint8' ? new Uint8Array(shape.reduce((a, b) => a * b, 1)).fill(7) : new Uint32Array(64).fill(3);
      const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
      await zarr.set(arr, null, { data, shape, stride } as never);
    };
    await write('raw', [2, 4, 4, 4], 'uint8', {
      axis_names: ['c', 'z', 'y', 'x'],
      types: ['channel', 'space', 'space', 'space'],
      voxel_size: [8, 4, 4],
      offset: [0, 0, 0],
      units: ['nm', 'nm', 'nm'],
    });
    await write('labels', [4, 4, 4], 'uint32', {
      axis_names: ['z', 'y', 'x'],
      types: ['space', 'space', 'space'],
      voxel_size: [8, 4, 4],
      offset: [0, 0, 0],
      units: ['nm', 'nm', 'nm'],
    });
    const split = await openDataSplit(dir);
    const crop = split.train[0]!;
    assert.equal(crop.raw.channels, 2);
    assert.deepEqual([...crop.raw.types], ['channel', 'space', 'space', 'space']);
    assert.deepEqual([...crop.raw.voxelSize], [8, 4, 4]);
    const s = await crop.read(crop.labels.roi);
    assert.deepEqual(s.rawShape, [4, 4, 4, 2]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function inspect(name: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'inspect', fixturePath(name)],
      { cwd: REPO_ROOT, timeout: 60_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(String(stdout))),
    ),
  );
}

test('tfjs-zarr inspect shows the types and, for two voxel sizes, the sampling grid', async () => {
  const types = await inspect('types.zarr');
  assert.match(types, /axes \[c, z, y, x\]\s+types \[channel, space, space, space\]/);
  const up = await inspect('upsample.zarr');
  assert.match(up, /raw at \[4, 4, 4\], labels at \[2, 2, 2\]: samples centred on the \[4, 4, 4\] grid/);
});

test('tfjs-zarr inspect --resample raw shows the labels at raw voxel size, resampled', async () => {
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'inspect', fixturePath('upsample.zarr'), '--resample', 'raw'],
      { cwd: REPO_ROOT, timeout: 60_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(String(stdout))),
    ),
  );
  assert.match(out, /resampled from voxel size \[2, 2, 2\] \(nearest\)/);
  assert.doesNotMatch(out, /samples centred on/);
});
