import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  affinityPostProcessor,
  boundaryPostProcessor,
  customPostProcessor,
  semanticPostProcessor,
} from '../../src/eval/postprocess.js';

test('boundary post-processor: default sweep and thresholded components', () => {
  const pp = boundaryPostProcessor({ grow: false });
  assert.equal(pp.name, 'boundary');
  assert.deepEqual(
    boundaryPostProcessor().parameters,
    [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((threshold) => ({ threshold })),
  );
  // 1x1x5, 2 channels (only channel 0 is used): interior, weak, interior, boundary, interior
  const pred = new Float32Array([0.9, 0, 0.45, 0, 0.95, 0, 0.1, 0, 0.8, 0]);
  const shape = [1, 1, 5, 2];
  assert.deepEqual([...pp.apply(pred, shape, { threshold: 0.5 })], [1, 0, 2, 0, 3]);
  assert.deepEqual([...pp.apply(pred, shape, { threshold: 0.4 })], [1, 1, 1, 0, 2]);
  assert.deepEqual([...pp.apply(pred, shape, { threshold: 0.9 })], [0, 0, 1, 0, 0]);
  assert.deepEqual(boundaryPostProcessor({ thresholds: [0.2] }).parameters, [{ threshold: 0.2 }]);
  assert.throws(() => pp.apply(pred, shape, {}), /threshold/);
  assert.throws(() => pp.apply(pred, [1, 1, 4, 2], { threshold: 0.5 }), /length 10/);
});

test('affinity post-processor: default offsets, components of strong edges', () => {
  const pp = affinityPostProcessor();
  assert.equal(pp.name, 'affinity');
  assert.equal(pp.parameters.length, 7);
  // 1x2x2 volume, channels [z, y, x] affinities to the previous voxel on each axis
  const pred = new Float32Array([
    0,
    0,
    0, // (0,0): nothing before it
    0,
    0,
    0.9, // (0,1): linked to (0,0) along x
    0,
    0.2,
    0, // (1,0): weak link to (0,0) along y
    0,
    0.7,
    0.1, // (1,1): linked to (0,1) along y at threshold < 0.7
  ]);
  const shape = [1, 2, 2, 3];
  assert.deepEqual([...pp.apply(pred, shape, { threshold: 0.5 })], [1, 1, 2, 1]);
  assert.deepEqual([...pp.apply(pred, shape, { threshold: 0.8 })], [1, 1, 2, 3]);
  assert.deepEqual([...pp.apply(pred, shape, { threshold: 0.1 })], [1, 1, 1, 1]);
  assert.throws(() => pp.apply(pred.subarray(0, 8), [1, 2, 2, 2], { threshold: 0.5 }), /3 offsets/);
  const custom = affinityPostProcessor({ offsets: [[0, 0, -1]], thresholds: [0.5] });
  assert.deepEqual([...custom.apply(new Float32Array([0, 0.9, 0.1]), [1, 1, 3, 1], { threshold: 0.5 })], [1, 1, 2]);
});

test('semantic post-processor: argmax over channels', () => {
  const pp = semanticPostProcessor();
  assert.deepEqual(pp.parameters, [{}]);
  const pred = new Float32Array([0.1, 0.7, 0.2, 0.5, 0.5, 0, 0, 0.1, 0.9, NaN, 0.2, 0.1]);
  assert.deepEqual([...pp.apply(pred, [1, 2, 2, 3], {})], [1, 0, 2, 1]);
  assert.deepEqual([...pp.apply(new Float32Array([0.3, 0.9]), [1, 1, 2, 1], {})], [0, 0]);
});

test('custom post-processor passes through', () => {
  const pp = customPostProcessor('ones', [{ a: 1 }, { a: 2 }], (_pred, shape, params) =>
    new Uint32Array(shape[0] * shape[1] * shape[2]).fill(params['a']),
  );
  assert.equal(pp.name, 'ones');
  assert.deepEqual(pp.parameters, [{ a: 1 }, { a: 2 }]);
  assert.deepEqual([...pp.apply(new Float32Array(2), [1, 1, 2, 1], { a: 2 })], [2, 2]);
  assert.deepEqual(customPostProcessor('x', [], () => new Uint32Array(0)).parameters, [{}]);
});

test('boundary post-processor grows segments into the unlabelled voxels by default', () => {
  // 1x1x7: interior, boundary, boundary, boundary, interior, boundary, interior
  const pred = new Float32Array([0.9, 0.1, 0.1, 0.1, 0.9, 0.1, 0.9]);
  const shape = [1, 1, 7, 1];
  assert.deepEqual([...boundaryPostProcessor().apply(pred, shape, { threshold: 0.5 })], [1, 1, 1, 2, 2, 2, 3]);
  assert.deepEqual(
    [...boundaryPostProcessor({ grow: false }).apply(pred, shape, { threshold: 0.5 })],
    [1, 0, 0, 0, 2, 0, 3],
  );
  // Nothing above the threshold: nothing to grow from.
  assert.deepEqual([...boundaryPostProcessor().apply(pred, shape, { threshold: 0.95 })], [0, 0, 0, 0, 0, 0, 0]);
});
