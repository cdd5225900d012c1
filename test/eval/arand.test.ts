/**
 * Adapted Rand error and the CREMI score against scikit-image 0.19's adapted_rand_error
 * (scripts/make_score_fixtures.py): segmentations with runs and noise, a mask, uint64 ids above
 * 2^53, identical and one-segment predictions; and one contingency table for VOI and ARand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adaptedRandError, cremiScore, segmentationScores, variationOfInformation } from '../../src/eval/voi.js';
import { labelsOf, readReference, uint8 } from '../helpers/reference.js';

interface ArandCase {
  name: string;
  dtype: string;
  gt: string;
  pred: string;
  mask: string | null;
  are: number;
  precision: number;
  recall: number;
}

const close = (a: number, b: number, what: string) =>
  assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('adaptedRandError = scikit-image adapted_rand_error (runs, noise, mask, uint64 ids, identical, one segment)', () => {
  const cases = readReference<ArandCase[]>('scores', 'arand');
  assert.equal(cases.length, 6);
  for (const c of cases) {
    const gt = labelsOf(c.gt, c.dtype);
    const pred = labelsOf(c.pred, c.dtype);
    const mask = c.mask ? uint8(c.mask) : null;
    const r = adaptedRandError(gt, pred, { mask });
    close(r.are, c.are, `${c.name} are`);
    close(r.precision, c.precision, `${c.name} precision`);
    close(r.recall, c.recall, `${c.name} recall`);
    // One table for both: the same VOI as variationOfInformation, cremi from the two.
    const both = segmentationScores(gt, pred, { mask });
    const voi = variationOfInformation(gt, pred, { mask });
    assert.equal(both.voi, voi.voi);
    assert.equal(both.are, r.are);
    close(cremiScore(both), Math.sqrt(voi.voi * r.are), `${c.name} cremi`);
  }
});

test('adaptedRandError: no voxel scored is NaN (scikit-image divides 0 by 0); uint64 gt against a uint32 prediction', () => {
  const r = adaptedRandError(new Uint32Array([0, 0, 0]), new Uint32Array([1, 2, 3]));
  assert.ok(Number.isNaN(r.are) && Number.isNaN(r.precision) && Number.isNaN(r.recall));
  const gt = new BigUint64Array([2n ** 60n, 2n ** 60n, 5n, 5n, 0n]);
  const pred = new Uint32Array([1, 1, 2, 3, 3]);
  const mixed = adaptedRandError(gt, pred);
  const same = adaptedRandError(new Uint32Array([1, 1, 2, 2, 0]), pred);
  assert.deepEqual(mixed, same);
  assert.throws(() => adaptedRandError(new Uint8Array(3), new Uint8Array(4)), /adaptedRandError: gt has length 3/);
});
