/**
 * OME-NGFF `multiscales` (src/zarr/metadata/ome.ts), 0.4 in the attributes and 0.5 under `ome`:
 * a level's voxel size and offset from its scale and translation (then the multiscale's own
 * transforms, as the spec orders them), channel and time axes, and the errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataFormatError } from '../../src/errors.js';
import { hasMultiscales, readMultiscales } from '../../src/zarr/metadata/ome.js';

const where = { container: 'em.ome.zarr', path: 'raw' };

const AXES = [
  { name: 'c', type: 'channel' },
  { name: 'z', type: 'space', unit: 'nanometer' },
  { name: 'y', type: 'space', unit: 'nanometer' },
  { name: 'x', type: 'space', unit: 'nanometer' },
];

function multiscale(extra: Record<string, unknown> = {}) {
  return {
    version: '0.4',
    axes: AXES,
    datasets: [
      {
        path: 's0',
        coordinateTransformations: [
          { type: 'scale', scale: [1, 40, 4, 4] },
          { type: 'translation', translation: [0, 80, 8, -4] },
        ],
      },
      { path: 's1', coordinateTransformations: [{ type: 'scale', scale: [1, 80, 8, 8] }] },
    ],
    ...extra,
  };
}

test('0.4: level 0 by index, the channel axis marked with ^, units from the axes', () => {
  const attrs = { multiscales: [multiscale()] };
  assert.ok(hasMultiscales(attrs));
  assert.deepEqual(readMultiscales(attrs, 0, where), {
    datasetPath: 's0',
    metadata: {
      axisNames: ['c^', 'z', 'y', 'x'],
      types: ['channel', 'space', 'space', 'space'],
      voxelSize: [40, 4, 4],
      offset: [80, 8, -4],
      units: ['nanometer', 'nanometer', 'nanometer'],
      channelAxis: 0,
      convention: 'OME-NGFF multiscales, level s0',
    },
  });
});

test('0.5 under "ome", a level by its path', () => {
  const attrs = { ome: { version: '0.5', multiscales: [multiscale()] } };
  assert.ok(hasMultiscales(attrs));
  assert.ok(!hasMultiscales({ voxel_size: [1, 1, 1] }));
  const level = readMultiscales(attrs, 's1', where);
  assert.equal(level.datasetPath, 's1');
  assert.deepEqual(level.metadata.voxelSize, [80, 8, 8]);
  assert.deepEqual(level.metadata.offset, [0, 0, 0]);
});

test("the multiscale's own transforms apply after the level's (a translation is scaled too)", () => {
  const attrs = {
    multiscales: [multiscale({ coordinateTransformations: [{ type: 'scale', scale: [1, 2, 1, 1] }] })],
  };
  const { metadata } = readMultiscales(attrs, 0, where);
  assert.deepEqual(metadata.voxelSize, [80, 4, 4]);
  assert.deepEqual(metadata.offset, [160, 8, -4]);
});

test('a time axis is not spatial; axes given as plain names work', () => {
  const time = {
    multiscales: [
      {
        axes: [{ name: 't', type: 'time' }, ...AXES.slice(1)],
        datasets: [{ path: '0', coordinateTransformations: [{ type: 'scale', scale: [1, 2, 2, 2] }] }],
      },
    ],
  };
  const { metadata } = readMultiscales(time, 0, where);
  assert.deepEqual(metadata.axisNames, ['t^', 'z', 'y', 'x']);
  assert.equal(metadata.channelAxis, 0);
  assert.deepEqual(metadata.voxelSize, [2, 2, 2]);
  const names = { multiscales: [{ axes: ['z', 'y', 'x'], datasets: [{ path: '0' }] }] };
  assert.deepEqual(readMultiscales(names, 0, where).metadata, {
    axisNames: ['z', 'y', 'x'],
    types: ['space', 'space', 'space'],
    voxelSize: [1, 1, 1],
    offset: [0, 0, 0],
    units: ['', '', ''],
    channelAxis: null,
    convention: 'OME-NGFF multiscales, level 0',
  });
});

const level0 = (transforms: unknown[]) => ({
  multiscales: [{ axes: AXES.slice(1), datasets: [{ path: 's0', coordinateTransformations: transforms }] }],
});

/** [case, attributes, level, message pattern]. */
const BAD: [string, Record<string, unknown>, number | string, RegExp][] = [
  ['no datasets', { multiscales: [{ axes: AXES, datasets: [] }] }, 0, /has no datasets/],
  ['unknown level', { multiscales: [multiscale()] }, 's2', /has no level "s2" \(levels: s0, s1\)/],
  ['no axes', { multiscales: [{ datasets: [{ path: '0' }] }] }, 0, /has no axes/],
  [
    'two channel axes',
    { multiscales: [{ axes: [{ name: 'c', type: 'channel' }, ...AXES], datasets: [{ path: '0' }] }] },
    0,
    /2 non-spatial axes/,
  ],
  [
    'scale of the wrong length',
    level0([{ type: 'scale', scale: [1, 1] }]),
    0,
    /scale of level s0 has the wrong length/,
  ],
  ['fractional voxel size', level0([{ type: 'scale', scale: [40, 0.5, 4] }]), 0, /axis 1 is not a positive integer/],
];

test("a translation off the voxel grid (a downsampled level's half-voxel shift) reads at the nearest grid position, said so", () => {
  const attrs = level0([
    { type: 'scale', scale: [40, 8, 8] },
    { type: 'translation', translation: [20, 2, 13] },
  ]);
  const { metadata } = readMultiscales(attrs, 0, where);
  // nearest multiples of the voxel size, ties down: 20/40 = 0.5 → 0, 2/8 → 0, 13/8 = 1.6 → 16
  assert.deepEqual(metadata.offset, [0, 0, 16]);
  assert.match(
    metadata.convention,
    /translation \[20, 2, 13\] lies off the \[40, 8, 8\] voxel grid .* offset \[0, 0, 16\]/,
  );
});

for (const [name, attrs, level, pattern] of BAD) {
  test(`${name}: DataFormatError on attribute multiscales`, () => {
    assert.throws(
      () => readMultiscales(attrs, level, where),
      (e: unknown) => {
        assert.ok(e instanceof DataFormatError, String(e));
        assert.equal(e.attribute, 'multiscales');
        assert.match(e.message, /^em\.ome\.zarr, array raw, attribute multiscales: /);
        assert.match(e.message, pattern);
        return true;
      },
    );
  });
}
