/** World-coordinate regions (src/roi.ts): constructors, set operations, voxel arithmetic. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OptionsError } from '../src/errors.js';
import {
  roi,
  roiContains,
  roiEnd,
  roiEquals,
  roiFromBounds,
  roiGrow,
  roiIntersect,
  roiIsEmpty,
  roiIsMultipleOf,
  roiShift,
  roiSize,
  roiSnapOut,
  roiToString,
  roiVoxelShape,
} from '../src/roi.js';

test('roi copies its inputs and checks that offset and shape have one entry per axis', () => {
  const offset = [1, 2, 3];
  const r = roi(offset, [4, 5, 6]);
  offset[0] = 99;
  assert.deepEqual(r, { offset: [1, 2, 3], shape: [4, 5, 6] });
  assert.throws(() => roi([0, 0], [1, 2, 3]), OptionsError);
});

test('bounds, end, size and emptiness', () => {
  const r = roiFromBounds([10, -4], [14, 6]);
  assert.deepEqual(r, roi([10, -4], [4, 10]));
  assert.deepEqual(roiEnd(r), [14, 6]);
  assert.equal(roiSize(r), 40);
  assert.equal(roiIsEmpty(r), false);
  // An end before the begin gives an empty region, never a negative shape.
  assert.deepEqual(roiFromBounds([5, 5], [3, 8]).shape, [0, 3]);
  assert.equal(roiIsEmpty(roiFromBounds([5, 5], [3, 8])), true);
});

test('intersection, containment, equality', () => {
  const a = roi([0, 0, 0], [10, 10, 10]);
  const b = roi([5, -5, 8], [10, 10, 10]);
  assert.deepEqual(roiIntersect(a, b), roi([5, 0, 8], [5, 5, 2]));
  assert.ok(roiIsEmpty(roiIntersect(a, roi([20, 0, 0], [1, 1, 1]))));
  assert.ok(roiContains(a, roi([2, 2, 2], [8, 8, 8])));
  assert.ok(!roiContains(a, roi([2, 2, 2], [9, 8, 8])));
  assert.ok(roiEquals(roiIntersect(a, b), roi([5, 0, 8], [5, 5, 2])));
  assert.ok(!roiEquals(a, roi([0, 0], [10, 10])));
});

test('grow (same or different context per side) and shift', () => {
  const r = roi([8, 8, 8], [16, 16, 16]);
  assert.deepEqual(roiGrow(r, [4, 2, 0]), roi([4, 6, 8], [24, 20, 16]));
  assert.deepEqual(roiGrow(r, [4, 0, 0], [0, 8, 0]), roi([4, 8, 8], [20, 24, 16]));
  assert.deepEqual(roiShift(r, [-8, 0, 1]), roi([0, 8, 9], [16, 16, 16]));
});

test('voxel arithmetic: shape in voxels, alignment, snapping outwards', () => {
  const vs = [40, 4, 4];
  const r = roi([80, 8, -12], [400, 64, 64]);
  assert.deepEqual(roiVoxelShape(r, vs), [10, 16, 16]);
  assert.ok(roiIsMultipleOf(r, vs));
  assert.ok(!roiIsMultipleOf(roi([81, 8, -12], [400, 64, 64]), vs));
  assert.ok(!roiIsMultipleOf(roi([80, 8, -12], [401, 64, 64]), vs));
  // [-3, 5) at voxel size 4 snaps to [-4, 8); negative coordinates round down, ends round up.
  assert.deepEqual(roiSnapOut(roi([-3], [8]), [4]), roi([-4], [12]));
  assert.deepEqual(roiSnapOut(r, vs), r);
});

test('roiToString names begin, end and shape', () => {
  assert.equal(roiToString(roi([0, -4], [8, 16])), '[0, -4 : 8, 12] (8×16)');
});
