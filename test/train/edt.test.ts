/**
 * The exact distance transforms (train/edt.ts) against brute force: distances to voxels and to
 * the faces between voxels of different class (DaCapo's doubled grid), anisotropic voxel sizes,
 * boxes inside larger windows, caps; and bit-for-bit the same under mirroring and transposing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { faceDistances, voxelDistances } from '../../src/train/edt.js';
import { makeRng } from '../../src/train/random.js';

type V3 = [number, number, number];

function bruteVoxels(feature: Uint8Array, W: V3, vs: V3): Float64Array {
  const pts: V3[] = [];
  for (let z = 0; z < W[0]; z++)
    for (let y = 0; y < W[1]; y++)
      for (let x = 0; x < W[2]; x++) if (feature[(z * W[1] + y) * W[2] + x]) pts.push([z, y, x]);
  return Float64Array.from({ length: W[0] * W[1] * W[2] }, (_, i) => {
    const p = [Math.floor(i / (W[1] * W[2])), Math.floor(i / W[2]) % W[1], i % W[2]];
    let best = Infinity;
    for (const q of pts)
      best = Math.min(
        best,
        q.reduce((a, c, k) => a + ((p[k]! - c) * vs[k]) ** 2, 0),
      );
    return best;
  });
}

/** 4 × squared distance from each voxel centre to the nearest face between voxels of different `inside`. */
function bruteFaces(inside: Uint8Array, W: V3, vs: V3): Float64Array {
  const faces: number[][] = []; // doubled coordinates
  const at = (z: number, y: number, x: number) => inside[(z * W[1] + y) * W[2] + x];
  for (let z = 0; z < W[0]; z++)
    for (let y = 0; y < W[1]; y++)
      for (let x = 0; x < W[2]; x++) {
        if (z + 1 < W[0] && at(z, y, x) !== at(z + 1, y, x)) faces.push([2 * z + 1, 2 * y, 2 * x]);
        if (y + 1 < W[1] && at(z, y, x) !== at(z, y + 1, x)) faces.push([2 * z, 2 * y + 1, 2 * x]);
        if (x + 1 < W[2] && at(z, y, x) !== at(z, y, x + 1)) faces.push([2 * z, 2 * y, 2 * x + 1]);
      }
  return Float64Array.from({ length: W[0] * W[1] * W[2] }, (_, i) => {
    const p = [Math.floor(i / (W[1] * W[2])), Math.floor(i / W[2]) % W[1], i % W[2]].map((v) => 2 * v);
    let best = Infinity;
    for (const f of faces)
      best = Math.min(
        best,
        f.reduce((a, c, k) => a + ((p[k]! - c) * vs[k]) ** 2, 0),
      );
    return best;
  });
}

function boxOf(all: Float64Array, W: V3, off: V3, shape: V3, cap: number): Float64Array {
  const out = new Float64Array(shape[0] * shape[1] * shape[2]);
  let k = 0;
  for (let z = 0; z < shape[0]; z++)
    for (let y = 0; y < shape[1]; y++)
      for (let x = 0; x < shape[2]; x++) {
        const v = all[((off[0] + z) * W[1] + off[1] + y) * W[2] + off[2] + x]!;
        out[k++] = Math.min(v, cap);
      }
  return out;
}

test('voxel and face distances = brute force (random windows, boxes, anisotropic voxels, caps)', () => {
  const rng = makeRng('edt');
  for (let t = 0; t < 150; t++) {
    const W: V3 = [1 + rng.int(6), 1 + rng.int(7), 1 + rng.int(8)];
    const vs: V3 = [1 + rng.int(9), 1 + rng.int(9), 1 + rng.int(9)];
    const off = W.map((w) => rng.int(w)) as V3;
    const shape = W.map((w, i) => 1 + rng.int(w - off[i]!)) as V3;
    const density = rng.next();
    const bits = Uint8Array.from({ length: W[0] * W[1] * W[2] }, () => (rng.next() < density * 0.4 ? 1 : 0));
    const cap = rng.next() < 0.5 ? 2 ** 40 : 1 + rng.int(400);
    const box = { offset: off, shape };
    assert.deepEqual(
      Float64Array.from(voxelDistances(bits, W, box, vs, cap)),
      boxOf(bruteVoxels(bits, W, vs), W, off, shape, cap),
      `voxels ${t}`,
    );
    assert.deepEqual(
      Float64Array.from(faceDistances(bits, W, box, vs, cap)),
      boxOf(bruteFaces(bits, W, vs), W, off, shape, cap),
      `faces ${t}`,
    );
  }
});

test('face distances: the same bits mirrored and transposed (exact integers, any axis order)', () => {
  const rng = makeRng('edt-orient');
  const W: V3 = [9, 9, 9];
  const vs: V3 = [5, 5, 5];
  const n = 729;
  const bits = Uint8Array.from({ length: n }, () => (rng.next() < 0.2 ? 1 : 0));
  const box = { offset: [0, 0, 0], shape: W };
  const base = faceDistances(bits, W, box, vs, 2 ** 40);
  // Transpose (z, y, x) → (x, z, y) and mirror y.
  const index = (z: number, y: number, x: number) => (z * 9 + y) * 9 + x;
  const moved = new Uint8Array(n);
  for (let z = 0; z < 9; z++)
    for (let y = 0; y < 9; y++) for (let x = 0; x < 9; x++) moved[index(x, z, 8 - y)] = bits[index(z, y, x)]!;
  const got = faceDistances(moved, W, box, vs, 2 ** 40);
  for (let z = 0; z < 9; z++)
    for (let y = 0; y < 9; y++) for (let x = 0; x < 9; x++) assert.equal(got[index(x, z, 8 - y)], base[index(z, y, x)]);
});
