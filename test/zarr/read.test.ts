/**
 * The reading layer against independent reference data (test/fixtures, see README.md there):
 * layouts, per-array metadata in world units, `volume.read` (stored values, channels last,
 * zero-filled outside) and `crop.read` (normalized raw, exact labels, mask) for zarr v2 and v3,
 * local directories and zip files, OME-NGFF multiscales and funlib defaults.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { DataConfig, openDataSplit } from '../../src/index.js';
import {
  assertCropReads,
  assertSplitMeta,
  assertSplitReads,
  assertVolumeReads,
  captureWarnings,
  type ContainerExpected,
  fixturePath,
  loadExpected,
  type SplitLike,
} from '../helpers/fixtures.js';

const open = (p: string | DataConfig): Promise<SplitLike> => openDataSplit(p as never) as unknown as Promise<SplitLike>;

/** Warnings that mean "an attribute was missing and a default was used". */
const MISSING_ATTR_WARNING = /missing|default|voxel_size|offset|axis_names|units/i;

interface Opened {
  split: SplitLike;
  warnings: string[];
}

function openOnce(p: string): () => Promise<Opened> {
  let cached: Promise<Opened> | undefined;
  return () => {
    cached ??= captureWarnings(() => open(p)).then(({ result, warnings }) => ({ split: result, warnings }));
    return cached;
  };
}

// Containers whose arrays all carry their metadata: read exactly, no "missing attribute" warning.
const COMPLETE: [fixture: string, expected: string][] = [
  ['simple.zarr', 'simple'],
  ['traintest.zarr', 'traintest'],
  ['crops.zarr', 'crops'],
  ['channels.zarr', 'channels'],
  ['ome.zarr', 'ome'],
  ['v3.zarr', 'v3'],
  ['simple.zarr.zip', 'simple'],
  // funlib.persistence 0.6 `types` (channel axis named "c"); raw and labels at different voxel sizes
  ['types.zarr', 'types'],
  ['upsample.zarr', 'upsample'],
  ['downsample.zarr', 'downsample'],
];

for (const [fixture, expectedName] of COMPLETE) {
  describe(fixture, () => {
    const opened = openOnce(fixturePath(fixture));
    let exp: ContainerExpected;
    before(() => {
      exp = loadExpected(expectedName);
    });

    test('layout, crop names and array metadata in world units', async () => {
      const { split } = await opened();
      assertSplitMeta(split, exp);
    });

    test('no missing-attribute warning', async () => {
      const { warnings } = await opened();
      const bad = warnings.filter((w) => MISSING_ATTR_WARNING.test(w));
      assert.deepEqual(bad, [], `unexpected warnings opening ${fixture}`);
    });

    test('volume.read: stored values over world rois, channels last, zero-filled outside', async () => {
      const { split } = await opened();
      const crops =
        exp.layout === 'simple'
          ? [[split.train[0]!, exp.train[0]!] as const]
          : [
              ...exp.train.map((c, i) => [split.train[i]!, c] as const),
              ...exp.test.map((c, i) => [split.test[i]!, c] as const),
            ];
      for (const [crop, c] of crops) await assertVolumeReads(crop, c, `${fixture} ${crop.name}`);
    });

    test('crop.read: normalized raw, exact labels, mask', async () => {
      const { split } = await opened();
      const crops =
        exp.layout === 'simple'
          ? [[split.train[0]!, exp.train[0]!] as const]
          : [
              ...exp.train.map((c, i) => [split.train[i]!, c] as const),
              ...exp.test.map((c, i) => [split.test[i]!, c] as const),
            ];
      for (const [crop, c] of crops) await assertCropReads(crop, c, `${fixture} ${crop.name}`);
    });
  });
}

describe('simple.zarr specifics', () => {
  test('openDataSplit(new DataConfig({ path })) reads the same as openDataSplit(path)', async () => {
    const split = await open(new DataConfig({ path: fixturePath('simple.zarr') }));
    const exp = loadExpected('simple');
    assertSplitMeta(split, exp);
    await assertCropReads(split.test[0]!, exp.test[0]!, 'simple.zarr via DataConfig');
  });

  test('uint64 ids above 2^53 come back exact as BigUint64Array', async () => {
    const split = await open(fixturePath('simple.zarr'));
    const labels = split.train[0]!.labels;
    assert.equal(labels.dtype, 'uint64');
    const got = await labels.read({ offset: [...labels.roi.offset], shape: [...labels.roi.shape] });
    assert.ok(got instanceof BigUint64Array, 'BigUint64Array');
    // set explicitly by make_fixtures.py: first voxel 2^64-2, last voxel 2^53+1
    assert.equal(got[0], 2n ** 64n - 2n);
    assert.equal(got[got.length - 1], 2n ** 53n + 1n);
    const sample = await split.train[0]!.read({ offset: [...labels.roi.offset], shape: [...labels.roi.shape] });
    assert.ok(sample.labels instanceof BigUint64Array);
    assert.equal(sample.labels[0], 2n ** 64n - 2n);
    assert.equal(sample.labels[sample.labels.length - 1], 2n ** 53n + 1n);
  });

  test('labels chunks that were never written read as 0 (nested "/" chunk keys)', async () => {
    const split = await open(fixturePath('simple.zarr'));
    const labels = split.train[0]!.labels;
    // chunk labels/0/1/0 covers voxels z 0-2, y 4-7, x 0-3 → world offset + voxel * 4
    const got = await labels.read({ offset: [8, 4 + 16, 12], shape: [12, 16, 16] });
    assert.equal(got.length, 3 * 4 * 4);
    assert.ok(
      Array.from(got as BigUint64Array).every((v) => v === 0n),
      'all zero',
    );
  });
});

describe('traintest.zarr specifics', () => {
  test('group names are options: swapping trainGroupName and validateGroupName swaps the crops', async () => {
    const split = await open(
      new DataConfig({ path: fixturePath('traintest.zarr'), trainGroupName: 'test', validateGroupName: 'train' }),
    );
    const exp = loadExpected('traintest');
    assert.equal(split.train.length, 1);
    assert.equal(split.test.length, 1);
    assert.equal(split.train[0]!.raw.path, exp.test[0]!.arrays.raw.path);
    assert.equal(split.test[0]!.labels.path, exp.train[0]!.arrays.labels.path);
    await assertCropReads(split.train[0]!, exp.test[0]!, 'traintest.zarr swapped');
  });
});

describe('crops.zarr specifics', () => {
  test('crops are sorted by name although written out of order; masks only where stored', async () => {
    const split = await open(fixturePath('crops.zarr'));
    assert.deepEqual(
      split.train.map((c) => c.name),
      ['crop_01', 'crop_02'],
    );
    assert.deepEqual(
      split.test.map((c) => c.name),
      ['crop_03', 'crop_04'],
    );
    assert.deepEqual(
      [...split.train, ...split.test].map((c) => c.mask === null),
      [false, true, false, true],
    );
    assert.equal(split.test[0]!.raw.path, 'test/crop_03/raw');
  });

  test('an int8 mask value of -1 is known (mask ≠ 0), 0 is unknown', async () => {
    const split = await open(fixturePath('crops.zarr'));
    const crop = split.test[0]!; // crop_03: mask[1, 0, :] = -1, mask[:, 2:4, :] = 0
    assert.equal(crop.mask!.dtype, 'int8');
    const L = crop.labels.roi;
    const s = await crop.read({ offset: [...L.offset], shape: [...L.shape] });
    const [, ny, nx] = s.labelShape as [number, number, number];
    const at = (z: number, y: number, x: number) => s.mask[(z * ny + y) * nx + x];
    assert.equal(at(1, 0, 0), 1, 'mask -1 → known');
    assert.equal(at(0, 2, 0), 0, 'mask 0 → unknown');
    assert.equal(at(0, 0, 0), 1, 'mask 1 → known');
  });
});

describe('channels.zarr specifics', () => {
  test('a c^ axis is stored first and read channels last', async () => {
    const split = await open(fixturePath('channels.zarr'));
    const raw = split.train[0]!.raw;
    assert.deepEqual([...raw.shape], [2, 8, 10, 12]);
    assert.deepEqual([...raw.axisNames], ['c^', 'z', 'y', 'x']);
    assert.deepEqual([...raw.voxelSize], [4, 4, 4]);
    const s = await split.train[0]!.read({ offset: [0, 0, 0], shape: [4, 4, 8] });
    assert.deepEqual([...s.rawShape], [1, 1, 2, 2]);
  });
});

describe('ome.zarr specifics', () => {
  test('reads s0 with scale → voxel size and translation → offset from multiscales', async () => {
    const split = await open(fixturePath('ome.zarr'));
    const crop = split.train[0]!;
    assert.equal(crop.raw.path, 'raw/s0');
    assert.equal(crop.labels.path, 'labels/s0');
    assert.deepEqual([...crop.raw.voxelSize], [8, 8, 8]);
    assert.deepEqual([...crop.raw.offset], [16, 0, 8]);
    assert.deepEqual([...crop.raw.units], ['nanometer', 'nanometer', 'nanometer']);
    assert.deepEqual([...crop.labels.offset], [32, 16, 24]);
  });
});

describe('defaults.zarr (no attributes at all)', () => {
  const opened = openOnce(fixturePath('defaults.zarr'));

  test('funlib defaults: offset 0, voxel size 1, units "", every axis spatial', async () => {
    const { split } = await opened();
    assertSplitMeta(split, loadExpected('defaults'));
  });

  test('missing attributes are reported with console.warn, naming the array', async () => {
    const { warnings } = await opened();
    const relevant = warnings.filter((w) => MISSING_ATTR_WARNING.test(w));
    assert.ok(relevant.length > 0, `expected a warning about missing attributes, got ${JSON.stringify(warnings)}`);
    assert.ok(
      relevant.some((w) => /raw/.test(w)),
      `a warning names the raw array: ${JSON.stringify(relevant)}`,
    );
    assert.ok(
      relevant.some((w) => /labels/.test(w)),
      `a warning names the labels array: ${JSON.stringify(relevant)}`,
    );
  });

  test('reads with default geometry', async () => {
    const { split } = await opened();
    await assertSplitReads(split, loadExpected('defaults'));
  });
});
