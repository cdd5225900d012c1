/**
 * The metadata conventions and their precedence (src/zarr/metadata/conventions.ts, the README's
 * data-format section): DaCapo's names first, as stored; then gunpowder's `resolution` + `offset`,
 * N5-viewer's `pixelResolution`, COSEM's `transform`, each reversed from N5's x-fastest order where
 * the convention stores it so; funlib's defaults last. Each result names its convention.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataFormatError } from '../../src/errors.js';
import { readWorldMetadata } from '../../src/zarr/metadata/conventions.js';
import { multiscaleKind, multiscaleLevels, pickLevel } from '../../src/zarr/metadata/multiscale.js';

const where = { container: 'jrc_hela-2.n5', path: 'em/fibsem-uint16/s0' };
const quiet = () => {};
const read = (attrs: Record<string, unknown>, format: 'zarr' | 'n5' = 'n5', ndim = 3) =>
  readWorldMetadata(attrs, ndim, where, format, quiet);

test("DaCapo's names win over every other convention, read as stored (C order) in N5 too", () => {
  const m = read({
    voxel_size: [40, 4, 4],
    offset: [80, 8, 0],
    resolution: [1, 2, 3],
    transform: { scale: [9, 9, 9] },
  });
  assert.deepEqual(
    [m.voxelSize, m.offset],
    [
      [40, 4, 4],
      [80, 8, 0],
    ],
  );
  assert.match(m.convention, /^funlib/);
});

test("gunpowder's resolution and offset: x-fastest in N5 (reversed), as stored in zarr", () => {
  const n5 = read({ resolution: [4, 8, 40], offset: [0, 16, 80] });
  assert.deepEqual(
    [n5.voxelSize, n5.offset],
    [
      [40, 8, 4],
      [80, 16, 0],
    ],
  );
  assert.equal(n5.convention, 'gunpowder (resolution, offset; N5 order, reversed)');
  const zarr = read({ resolution: [40, 8, 4], offset: [80, 16, 0] }, 'zarr');
  assert.deepEqual(
    [zarr.voxelSize, zarr.offset],
    [
      [40, 8, 4],
      [80, 16, 0],
    ],
  );
  assert.throws(
    () => read({ resolution: [4, 4, 40], offset: [2, 0, 0] }),
    (e: unknown) => e instanceof DataFormatError && e.attribute === 'offset' && /not a multiple/.test(e.message),
  );
  assert.throws(
    () => read({ resolution: [4, 4.5, 40] }),
    (e: unknown) => e instanceof DataFormatError && e.attribute === 'resolution',
  );
});

test("N5-viewer's pixelResolution (object or list), times downsamplingFactors, units from it", () => {
  const m = read({ pixelResolution: { dimensions: [4, 4, 5], unit: 'nm' }, downsamplingFactors: [2, 2, 1] });
  assert.deepEqual(
    [m.voxelSize, m.offset, m.units],
    [
      [5, 8, 8],
      [0, 0, 0],
      ['nm', 'nm', 'nm'],
    ],
  );
  assert.equal(m.convention, 'N5-viewer (pixelResolution × downsamplingFactors; N5 order, reversed)');
  assert.deepEqual(read({ pixelResolution: [1, 2, 3] }).voxelSize, [3, 2, 1]);
});

test("COSEM's transform: axes and ordering honoured, translations of voxel centres onto the grid", () => {
  const c = read({
    transform: {
      axes: ['z', 'y', 'x'],
      ordering: 'C',
      scale: [8, 8, 8],
      translate: [2, 2, 2],
      units: ['nm', 'nm', 'nm'],
    },
  });
  assert.deepEqual(
    [c.axisNames, c.voxelSize, c.offset, c.units],
    [
      ['z', 'y', 'x'],
      [8, 8, 8],
      [0, 0, 0],
      ['nm', 'nm', 'nm'],
    ],
  );
  assert.match(c.convention, /^COSEM transform \(axes \[z, y, x\], ordering C\); translate \[2, 2, 2\] lies off/);
  const f = read({ transform: { axes: ['x', 'y', 'z'], order: 'F', scale: [4, 4, 40], translate: [0, 8, 80] } });
  assert.deepEqual(
    [f.axisNames, f.voxelSize, f.offset],
    [
      ['z', 'y', 'x'],
      [40, 4, 4],
      [80, 8, 0],
    ],
  );
  assert.throws(
    () => read({ transform: { axes: ['z', 'y', 'x'], scale: [5.24, 4, 4] } }),
    (e: unknown) =>
      e instanceof DataFormatError &&
      e.attribute === 'transform' &&
      /axis z \(5\.24\) is not a positive integer/.test(e.message),
  );
});

test('no convention at all: funlib defaults with a warning', () => {
  const warnings: string[] = [];
  const m = readWorldMetadata({}, 3, where, 'n5', (w) => warnings.push(w));
  assert.deepEqual(m.voxelSize, [1, 1, 1]);
  assert.equal(m.convention, 'defaults (no world metadata)');
  assert.equal(warnings.length, 1);
});

test('multiscale groups: OME-NGFF, COSEM and Neuroglancer N5 told apart; levels by name, index or voxel size', () => {
  const cosem = {
    multiscales: [
      {
        datasets: [
          { path: 's0', transform: { axes: ['z', 'y', 'x'], scale: [4, 4, 4], translate: [0, 0, 0] } },
          { path: 's1', transform: { axes: ['z', 'y', 'x'], scale: [8, 8, 8], translate: [2, 2, 2] } },
        ],
      },
    ],
  };
  const neuroglancer = {
    scales: [
      [1, 1, 1],
      [2, 2, 1],
    ],
    resolution: [4, 4, 40],
    axes: ['x', 'y', 'z'],
    units: ['nm', 'nm', 'nm'],
  };
  const ome = {
    multiscales: [
      {
        axes: ['z', 'y', 'x'],
        datasets: [{ path: '0', coordinateTransformations: [{ type: 'scale', scale: [2, 2, 2] }] }],
      },
    ],
  };
  assert.equal(multiscaleKind(cosem), 'COSEM');
  assert.equal(multiscaleKind(neuroglancer), 'Neuroglancer N5');
  assert.equal(multiscaleKind(ome), 'OME-NGFF');
  assert.equal(multiscaleKind({ resolution: [1, 1, 1] }), null);
  const levels = multiscaleLevels(neuroglancer, where);
  assert.deepEqual(pickLevel(levels, { level: 's1', voxelSize: null }, where).metadata.voxelSize, [40, 8, 8]);
  assert.equal(pickLevel(levels, { level: 0, voxelSize: [40, 8, 8] }, where).path, 's1');
  assert.deepEqual(
    pickLevel(multiscaleLevels(cosem, where), { level: 1, voxelSize: null }, where).metadata.offset,
    [0, 0, 0],
  );
  assert.throws(
    () => pickLevel(levels, { level: 0, voxelSize: [4, 4, 4] }, where),
    /has no level with voxel size \[4, 4, 4\] \(levels: s0 \[40, 4, 4\], s1 \[40, 8, 8\]\)/,
  );
});

test('COSEM arrays also carry pixelResolution: the offset then comes from transform.translate, as gunpowder reads it', () => {
  const m = read({
    pixelResolution: { dimensions: [8, 8, 8], unit: 'nm' },
    transform: {
      axes: ['z', 'y', 'x'],
      order: 'C',
      scale: [8, 8, 8],
      translate: [402, 2, 2],
      units: ['nm', 'nm', 'nm'],
    },
  });
  assert.deepEqual(
    [m.voxelSize, m.offset],
    [
      [8, 8, 8],
      [400, 0, 0],
    ],
  );
  assert.match(
    m.convention,
    /^N5-viewer \(pixelResolution; N5 order, reversed\), offset from COSEM's transform\.translate; transform\.translate \[402, 2, 2\]/,
  );
});
