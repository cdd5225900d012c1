/**
 * Strided n-d box copies (src/zarr/gather.ts) against an element-by-element reference, for
 * contiguous and strided innermost axes, 1 to 4 axes, and every typed array the reader uses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cOrderStrides, copyBox, fillBox } from '../../src/zarr/gather.js';
import { mulberry32 } from '../helpers/random.js';

/** Reference: visit every index of `count` and copy one element at a time. */
function referenceCopy(
  src: ArrayLike<number | bigint>,
  srcStrides: number[],
  srcStart: number[],
  dst: { [i: number]: number | bigint },
  dstStrides: number[],
  dstStart: number[],
  count: number[],
): void {
  const total = count.reduce((a, b) => a * b, 1);
  for (let flat = 0; flat < total; flat++) {
    let rest = flat;
    let s = 0;
    let d = 0;
    for (let a = count.length - 1; a >= 0; a--) {
      const i = rest % count[a]!;
      rest = Math.floor(rest / count[a]!);
      s += (srcStart[a]! + i) * srcStrides[a]!;
      d += (dstStart[a]! + i) * dstStrides[a]!;
    }
    dst[d] = src[s]!;
  }
}

test('cOrderStrides', () => {
  assert.deepEqual(cOrderStrides([4, 3, 2]), [6, 2, 1]);
  assert.deepEqual(cOrderStrides([5]), [1]);
  assert.deepEqual(cOrderStrides([]), []);
});

test('copyBox matches the reference over random boxes (C-order and strided layouts)', () => {
  const rand = mulberry32(21);
  const int = (n: number) => Math.floor(rand() * n);
  for (let trial = 0; trial < 200; trial++) {
    const ndim = 1 + int(4);
    const srcShape = Array.from({ length: ndim }, () => 1 + int(6));
    const dstShape = Array.from({ length: ndim }, () => 1 + int(6));
    const count = srcShape.map((s, a) => int(Math.min(s, dstShape[a]!) + 1));
    const srcStart = srcShape.map((s, a) => int(s - count[a]! + 1));
    const dstStart = dstShape.map((s, a) => int(s - count[a]! + 1));
    // Every other trial, the source is channels-last data seen through a non-unit inner stride.
    const inner = trial % 2 === 0 ? 1 : 2;
    const srcStrides = cOrderStrides(srcShape).map((s) => s * inner);
    const dstStrides = cOrderStrides(dstShape);
    const src = Float64Array.from({ length: srcShape.reduce((a, b) => a * b, 1) * inner }, (_, i) => i + 0.5);
    const got = new Float64Array(dstShape.reduce((a, b) => a * b, 1)).fill(-1);
    const want = got.slice();
    copyBox(src, srcStrides, srcStart, got, dstStrides, dstStart, count);
    referenceCopy(src, srcStrides, srcStart, want, dstStrides, dstStart, count);
    assert.deepEqual(got, want, `trial ${trial}: src ${srcShape} dst ${dstShape} count ${count}`);
  }
});

test('copyBox keeps exact 64-bit ids and leaves everything outside the box alone', () => {
  const src = BigUint64Array.from([2n ** 64n - 1n, 2n ** 53n + 1n, 7n, 0n]);
  const dst = new BigUint64Array(9).fill(5n);
  // the 2×2 source into the centre-right of a 3×3 destination
  copyBox(src, [2, 1], [0, 0], dst, [3, 1], [1, 1], [2, 2]);
  assert.deepEqual([...dst], [5n, 5n, 5n, 5n, 2n ** 64n - 1n, 2n ** 53n + 1n, 5n, 7n, 0n]);
});

test('an empty box copies and fills nothing', () => {
  const dst = new Uint8Array(4).fill(9);
  copyBox(new Uint8Array(4), [2, 1], [0, 0], dst, [2, 1], [0, 0], [2, 0]);
  fillBox(dst, [2, 1], [0, 0], [0, 2], 1);
  assert.deepEqual([...dst], [9, 9, 9, 9]);
});

test('fillBox fills exactly the box, contiguous or strided, numbers or bigints', () => {
  const a = new Int16Array(4 * 5);
  fillBox(a, cOrderStrides([4, 5]), [1, 2], [2, 3], -3);
  const rows = Array.from({ length: 4 }, (_, y) => [...a.subarray(y * 5, y * 5 + 5)]);
  assert.deepEqual(rows, [
    [0, 0, 0, 0, 0],
    [0, 0, -3, -3, -3],
    [0, 0, -3, -3, -3],
    [0, 0, 0, 0, 0],
  ]);
  // channel 1 of a [3, 2] channels-last array: stride 2 on the only axis
  const b = new BigInt64Array(6);
  fillBox(b.subarray(1), [2], [0], [3], -1n);
  assert.deepEqual([...b], [0n, -1n, 0n, -1n, 0n, -1n]);
});
