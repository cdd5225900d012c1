/**
 * The distance target against DaCapo's own computation (scripts/make_distance_fixtures.py: its
 * DistancePredictor.process and create_distance_mask with scipy's distance_transform_edt — on the
 * doubled grid with sampling = half the voxel size; for the mask, of the known mask with sampling =
 * the voxel size — over the crop padded with background and unknown voxels), tanh and masking
 * included: anisotropic voxels, several classes, uint64 ids above 2^53.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distanceTarget } from '../../src/train/targets/distance.js';
import type { LabelArray } from '../../src/types.js';
import { float32, labelsOf, readReference, uint8 } from '../helpers/reference.js';

interface DistanceCase {
  shape: number[];
  voxelSize: number[];
  scaleFactor: number;
  classes: (string | string[])[] | null;
  margin: number[];
  dtype: string;
  labels: string;
  mask: string;
  target: string;
  distanceMask: string;
}

const CASES = ['anisotropic', 'classes', 'uint64'];

/** The crop with `margin` voxels of background and unknown around it. */
function grow(c: DistanceCase): { labels: LabelArray; mask: Uint8Array; shape: number[] } {
  const labels = labelsOf(c.labels, c.dtype);
  const mask = uint8(c.mask);
  const shape = c.shape.map((s, i) => s + 2 * c.margin[i]!);
  const [Z, Y, X] = c.shape as [number, number, number];
  const n = shape[0]! * shape[1]! * shape[2]!;
  const out = new (labels.constructor as new (n: number) => LabelArray)(n);
  const known = new Uint8Array(n);
  for (let z = 0; z < Z; z++)
    for (let y = 0; y < Y; y++)
      for (let x = 0; x < X; x++) {
        const o = ((z + c.margin[0]!) * shape[1]! + y + c.margin[1]!) * shape[2]! + x + c.margin[2]!;
        const i = (z * Y + y) * X + x;
        (out as Uint8Array)[o] = (labels as Uint8Array)[i]!;
        known[o] = mask[i]!;
      }
  return { labels: out, mask: known, shape };
}

for (const name of CASES) {
  test(`distance target = DaCapo's (${name})`, () => {
    const c = readReference<DistanceCase>('distance', name);
    const { labels, mask, shape } = grow(c);
    const want = float32(c.target);
    const wantMask = float32(c.distanceMask);
    for (const maskDistances of [true, false]) {
      const r = distanceTarget(labels, mask, shape, {
        voxelSize: c.voxelSize,
        scaleFactor: c.scaleFactor,
        ...(c.classes ? { classes: c.classes } : {}),
        maskDistances,
      });
      assert.equal(r.target.length, want.length);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(r.target[i]! - want[i]!));
      // numpy's float32 tanh and ours may differ in the last bit.
      assert.ok(worst <= 2e-7, `${name}: target differs by up to ${worst}`);
      if (maskDistances) {
        assert.equal(r.maskChannels, r.channels);
        const diff = wantMask.reduce((k, v, i) => k + (v !== r.mask[i] ? 1 : 0), 0);
        assert.equal(diff, 0, `${name}: ${diff} mask values differ`);
      } else {
        assert.equal(r.maskChannels, 1);
        assert.deepEqual(
          r.mask,
          Float32Array.from(mask, (m) => (m ? 1 : 0)),
        );
      }
    }
  });
}
