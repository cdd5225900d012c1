/**
 * Per-class scores against scipy and scikit-image (scripts/make_score_fixtures.py): dice and iou
 * (scipy.spatial.distance), precision, recall, F1, Hausdorff and its 95th percentile in world units
 * (scipy's distance_transform_edt with the voxel size; scikit-image's hausdorff_distance for unit
 * voxels), DaCapo's clipped false distance and precision / recall / F1 with tolerance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binaryScores, type BinaryScores } from '../../src/eval/binary.js';
import { readReference, uint8 } from '../helpers/reference.js';

type BinaryCase = Record<keyof BinaryScores, number> & {
  name: string;
  shape: number[];
  voxelSize: number[];
  gt: string;
  pred: string;
  mask: string | null;
  clipDistance?: number;
  tolDistance?: number;
};

test('binaryScores = scipy / scikit-image / DaCapo (isotropic, anisotropic with a mask, coarse)', () => {
  for (const c of readReference<BinaryCase[]>('scores', 'binary')) {
    const got = binaryScores(uint8(c.gt), uint8(c.pred), {
      shape: c.shape,
      voxelSize: c.voxelSize,
      mask: c.mask ? uint8(c.mask) : null,
      ...(c.clipDistance !== undefined ? { clipDistance: c.clipDistance } : {}),
      ...(c.tolDistance !== undefined ? { tolDistance: c.tolDistance } : {}),
    });
    const keys = Object.keys(c).filter((k) => typeof c[k as keyof BinaryCase] === 'number' && !k.endsWith('Distance'));
    assert.ok(keys.length >= 7, c.name);
    for (const k of keys) {
      const want = c[k as keyof BinaryScores];
      const value = got[k as keyof BinaryScores]!;
      assert.ok(Math.abs(value - want) <= 1e-12 * Math.max(1, Math.abs(want)), `${c.name} ${k}: ${value} vs ${want}`);
    }
  }
});

test('binaryScores: empty sets', () => {
  const shape = [1, 2, 2];
  const opts = { shape, voxelSize: [1, 1, 1] };
  const none = binaryScores(new Uint8Array(4), new Uint8Array(4), opts);
  assert.equal(none.hausdorff, 0);
  assert.ok(Number.isNaN(none.dice) && Number.isNaN(none.precision));
  const missed = binaryScores(Uint8Array.of(1, 0, 0, 0), new Uint8Array(4), opts);
  assert.equal(missed.recall, 0);
  assert.equal(missed.dice, 0);
  assert.ok(Number.isNaN(missed.hausdorff));
  assert.throws(() => binaryScores(new Uint8Array(3), new Uint8Array(4), opts), /binaryScores: gt \(3\)/);
});
