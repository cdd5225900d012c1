/**
 * Seeded watershed against scikit-image 0.19 (scripts/make_watershed_fixtures.py): markers from
 * the thresholded prediction and from its regional maxima (skimage.morphology.local_maxima), with
 * and without a foreground mask, on predictions with plateaus (ties broken as scikit-image's heap
 * breaks them): the same labels, voxel for voxel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectedComponents } from '../../src/eval/components.js';
import { distancePostProcessor, watershedPostProcessor } from '../../src/eval/postprocess.js';
import { regionalMaxima, seededWatershed } from '../../src/eval/watershed.js';
import { readReference, uint8 } from '../helpers/reference.js';

interface WatershedCase {
  name: string;
  shape: number[];
  sixteenths: string;
  seeds: 'threshold' | 'maxima';
  threshold: number;
  maskThreshold: number | null;
  markers: string;
  labels: string;
}

test('seededWatershed and its markers = scikit-image (threshold and maxima seeds, masks, plateaus)', () => {
  for (const c of readReference<WatershedCase[]>('watershed', 'cases')) {
    const k = new Int8Array(uint8(c.sixteenths).buffer);
    const p = Float32Array.from(k, (v) => v / 16);
    const max = c.seeds === 'maxima' ? regionalMaxima(p, c.shape) : null;
    const seeds = Uint8Array.from(p, (v, i) => (v > c.threshold && (max === null || max[i] === 1) ? 1 : 0));
    const markers = connectedComponents(seeds, c.shape).labels;
    assert.deepEqual(markers, Uint32Array.from(uint8(c.markers)), `${c.name}: markers`);
    const mask = c.maskThreshold === null ? null : Uint8Array.from(p, (v) => (v > c.maskThreshold! ? 1 : 0));
    const labels = seededWatershed(
      Float32Array.from(p, (v) => -v),
      c.shape,
      markers,
      mask,
    );
    assert.deepEqual(labels, Uint32Array.from(uint8(c.labels)), `${c.name}: labels`);
  }
});

test('seededWatershed: a marker outside the mask floods nothing; shapes are checked', () => {
  const image = new Float32Array(4);
  const got = seededWatershed(image, [1, 1, 4], Uint32Array.of(1, 0, 0, 2), Uint8Array.of(0, 1, 1, 1));
  assert.deepEqual(got, Uint32Array.of(0, 2, 2, 2));
  assert.throws(() => seededWatershed(image, [1, 1, 3], new Uint32Array(3)), /image has 4 voxels/);
});

test('watershedPostProcessor = scikit-image on the fixtures (boundary: threshold seeds, no mask; distance: maxima seeds, mask > 0)', () => {
  const cases = readReference<WatershedCase[]>('watershed', 'cases');
  for (const c of cases) {
    const input = c.name.startsWith('boundary') ? 'boundary' : 'distance';
    const p = Float32Array.from(new Int8Array(uint8(c.sixteenths).buffer), (v) => v / 16);
    const post = watershedPostProcessor({ input, seeds: c.seeds, thresholds: [c.threshold] });
    const labels = post.apply(p, [...c.shape, 1], post.parameters[0]!);
    assert.deepEqual(labels, Uint32Array.from(uint8(c.labels)), c.name);
    if (input === 'distance') {
      assert.deepEqual(
        post.classMasks!(p, [...c.shape, 1], post.parameters[0]!)[0],
        Uint8Array.from(p, (v) => (v > 0 ? 1 : 0)),
      );
    }
  }
});

test('distancePostProcessor: components per class, ids after the previous classes, the highest class wins', () => {
  // Two channels over [1, 1, 6]: class 0 on voxels 0–2, class 1 on 2–5 (higher at 2), a gap at 4.
  const d0 = [0.5, 0.5, 0.2, -1, -1, -1];
  const d1 = [-1, -1, 0.4, 0.3, -0.5, 0.6];
  const p = Float32Array.from(d0.flatMap((v, i) => [v, d1[i]!]));
  const post = distancePostProcessor({ thresholds: [0] });
  assert.deepEqual(post.apply(p, [1, 1, 6, 2], { threshold: 0 }), Uint32Array.of(1, 1, 2, 2, 0, 3));
  assert.deepEqual(post.classMasks!(p, [1, 1, 6, 2], { threshold: 0 }), [
    Uint8Array.of(1, 1, 1, 0, 0, 0),
    Uint8Array.of(0, 0, 1, 1, 0, 1),
  ]);
});
