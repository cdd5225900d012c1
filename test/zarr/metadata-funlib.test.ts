/**
 * funlib.persistence attributes (src/zarr/metadata/funlib.ts): `voxel_size`, `offset`,
 * `axis_names`, `units`, their defaults (offset 0, voxel size 1, units "", trailing spatial axes)
 * and the errors naming the attribute at fault.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataFormatError } from '../../src/errors.js';
import { isChannelAxisName, readSpatialMetadata } from '../../src/zarr/metadata/funlib.js';

const where = { container: 'data.zarr', path: 'train/crop_01/raw' };

function read(attrs: Record<string, unknown>, ndim: number) {
  const warnings: string[] = [];
  const metadata = readSpatialMetadata(attrs, ndim, where, (m) => warnings.push(m));
  return { metadata, warnings };
}

test('all attributes given: a channel axis named with ^, spatial attributes over the other axes', () => {
  const { metadata, warnings } = read(
    { axis_names: ['c^', 'z', 'y', 'x'], voxel_size: [40, 4, 4], offset: [80, -8, 0], units: ['nm', 'nm', 'nm'] },
    4,
  );
  assert.deepEqual(metadata, {
    axisNames: ['c^', 'z', 'y', 'x'],
    types: ['channel', 'space', 'space', 'space'],
    voxelSize: [40, 4, 4],
    offset: [80, -8, 0],
    units: ['nm', 'nm', 'nm'],
    channelAxis: 0,
    convention: 'funlib (voxel_size, offset, axis_names, units)',
  });
  assert.deepEqual(warnings, []);
  assert.ok(isChannelAxisName('c^') && !isChannelAxisName('z'));
});

test("missing attributes take funlib's defaults, with one warning naming them", () => {
  const { metadata, warnings } = read({}, 3);
  assert.deepEqual(metadata, {
    axisNames: ['z', 'y', 'x'],
    types: ['space', 'space', 'space'],
    voxelSize: [1, 1, 1],
    offset: [0, 0, 0],
    units: ['', '', ''],
    channelAxis: null,
    convention: 'defaults (no world metadata)',
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /data\.zarr, array train\/crop_01\/raw: missing voxel_size, offset, axis_names, units/);
  assert.deepEqual(read({}, 2).metadata.axisNames, ['y', 'x']);
  assert.deepEqual(read({}, 5).metadata.axisNames, ['d0', 'd1', 'd2', 'd3', 'd4']);
});

test('without axis_names the spatial axes are the trailing ones, as many as voxel_size says', () => {
  const { metadata } = read({ voxel_size: [8, 8, 8], offset: [0, 0, 16], units: ['nm', 'nm', 'nm'] }, 4);
  assert.deepEqual(metadata.axisNames, ['c0^', 'z', 'y', 'x']);
  assert.equal(metadata.channelAxis, 0);
  assert.deepEqual(metadata.offset, [0, 0, 16]);
  // offset alone also fixes the number of spatial axes
  assert.deepEqual(read({ offset: [0, 0] }, 3).metadata.axisNames, ['c0^', 'y', 'x']);
});

test('a channel axis may sit anywhere', () => {
  const { metadata } = read({ axis_names: ['z', 'y', 'x', 'c^'], voxel_size: [2, 1, 1] }, 4);
  assert.equal(metadata.channelAxis, 3);
  assert.deepEqual(metadata.voxelSize, [2, 1, 1]);
});

/** [attribute at fault, attributes, ndim, message pattern]. */
const BAD: [string, Record<string, unknown>, number, RegExp][] = [
  ['axis_names', { axis_names: ['z', 'y'] }, 3, /has 2 entries but the array has 3 axes/],
  ['axis_names', { axis_names: ['z', 'y', 1] }, 3, /entry 2 is not a string/],
  ['axis_names', { axis_names: ['c^', 't^', 'y', 'x'] }, 4, /2 non-spatial axes .*at most one channel axis/],
  ['voxel_size', { voxel_size: [4, 4, 4, 4] }, 3, /has 4 entries but the array has only 3 axes/],
  ['voxel_size', { voxel_size: [4, 4], axis_names: ['z', 'y', 'x'] }, 3, /has 2 entries .* 3 spatial axes/],
  ['voxel_size', { voxel_size: [4, 4.5, 4] }, 3, /entry 1 \(4\.5\) is not a positive integer/],
  ['voxel_size', { voxel_size: [4, 0, 4] }, 3, /entry 1 \(0\) is not a positive integer/],
  ['voxel_size', { voxel_size: '4,4,4' }, 3, /must be a list/],
  [
    'offset',
    { voxel_size: [4, 4, 4], offset: [0, 2, 0] },
    3,
    /not a multiple of the voxel size \[4, 4, 4\] \(axis 1\)/,
  ],
  ['offset', { offset: [0, 'a', 0] }, 3, /entry 1 \("a"\) is not an integer/],
  ['units', { units: ['nm', 'nm'], axis_names: ['z', 'y', 'x'] }, 3, /has 2 entries but the array has 3 spatial axes/],
];

for (const [attribute, attrs, ndim, pattern] of BAD) {
  test(`bad ${attribute}: DataFormatError naming the array and attribute (${JSON.stringify(attrs)})`, () => {
    assert.throws(
      () => readSpatialMetadata(attrs, ndim, where, () => undefined),
      (e: unknown) => {
        assert.ok(e instanceof DataFormatError, String(e));
        assert.equal(e.attribute, attribute);
        assert.equal(e.arrayPath, where.path);
        assert.match(e.message, new RegExp(`^data\\.zarr, array train/crop_01/raw, attribute ${attribute}: `));
        assert.match(e.message, pattern);
        return true;
      },
    );
  });
}
