/**
 * Copies an n-d box from one strided typed array into another. The innermost axis is copied with
 * `TypedArray.set` over contiguous runs when both sides are contiguous along it (the common case
 * of C-order chunks and outputs), element by element otherwise.
 */
import type { StoredArray } from '../types.js';

export function copyBox(
  src: StoredArray,
  srcStrides: readonly number[],
  srcStart: readonly number[],
  dst: StoredArray,
  dstStrides: readonly number[],
  dstStart: readonly number[],
  count: readonly number[],
): void {
  const ndim = count.length;
  if (count.some((c) => c <= 0)) return;
  let srcBase = 0;
  let dstBase = 0;
  for (let i = 0; i < ndim; i++) {
    srcBase += srcStart[i]! * srcStrides[i]!;
    dstBase += dstStart[i]! * dstStrides[i]!;
  }
  const last = ndim - 1;
  const runLength = count[last]!;
  const srcStep = srcStrides[last]!;
  const dstStep = dstStrides[last]!;
  const contiguous = srcStep === 1 && dstStep === 1;
  const index = new Array<number>(ndim).fill(0);
  let s = srcBase;
  let d = dstBase;
  for (;;) {
    if (contiguous) {
      (dst as Uint8Array).set((src as Uint8Array).subarray(s, s + runLength), d);
    } else {
      for (let k = 0, si = s, di = d; k < runLength; k++, si += srcStep, di += dstStep) {
        (dst as Uint8Array)[di] = (src as Uint8Array)[si]!;
      }
    }
    // Odometer over the outer axes.
    let axis = last - 1;
    while (axis >= 0) {
      index[axis]!++;
      s += srcStrides[axis]!;
      d += dstStrides[axis]!;
      if (index[axis]! < count[axis]!) break;
      s -= srcStrides[axis]! * count[axis]!;
      d -= dstStrides[axis]! * count[axis]!;
      index[axis] = 0;
      axis--;
    }
    if (axis < 0) return;
  }
}

/** Fills an n-d box of a strided typed array with one value. */
export function fillBox(
  dst: StoredArray,
  dstStrides: readonly number[],
  dstStart: readonly number[],
  count: readonly number[],
  value: number | bigint,
): void {
  const ndim = count.length;
  if (count.some((c) => c <= 0)) return;
  let d = 0;
  for (let i = 0; i < ndim; i++) d += dstStart[i]! * dstStrides[i]!;
  const last = ndim - 1;
  const index = new Array<number>(ndim).fill(0);
  const arr = dst as unknown as { fill(v: number | bigint, a: number, b: number): void; [i: number]: number | bigint };
  for (;;) {
    if (dstStrides[last] === 1) {
      arr.fill(value, d, d + count[last]!);
    } else {
      for (let k = 0, di = d; k < count[last]!; k++, di += dstStrides[last]!) arr[di] = value;
    }
    let axis = last - 1;
    while (axis >= 0) {
      index[axis]!++;
      d += dstStrides[axis]!;
      if (index[axis]! < count[axis]!) break;
      d -= dstStrides[axis]! * count[axis]!;
      index[axis] = 0;
      axis--;
    }
    if (axis < 0) return;
  }
}

export function cOrderStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}
