/**
 * World-coordinate regions. A `Roi` is `{offset, shape}` over the spatial axes, in the arrays'
 * world units (integers). Everything in the public API speaks Roi; voxel indices only appear
 * where an array is actually read.
 */
import { OptionsError } from './errors.js';
export interface Roi {
  readonly offset: readonly number[];
  readonly shape: readonly number[];
}

export function roi(offset: readonly number[], shape: readonly number[]): Roi {
  if (offset.length !== shape.length) {
    throw new OptionsError(`Roi offset ${fmt(offset)} and shape ${fmt(shape)} differ in length`);
  }
  return { offset: [...offset], shape: [...shape] };
}

export function roiEnd(r: Roi): number[] {
  return r.offset.map((o, i) => o + r.shape[i]!);
}

export function roiFromBounds(begin: readonly number[], end: readonly number[]): Roi {
  return roi(
    begin,
    begin.map((b, i) => Math.max(0, end[i]! - b)),
  );
}

export function roiIsEmpty(r: Roi): boolean {
  return r.shape.some((s) => s <= 0);
}

export function roiSize(r: Roi): number {
  return r.shape.reduce((a, b) => a * b, 1);
}

/** The overlap of two regions (empty shape where they do not meet). */
export function roiIntersect(a: Roi, b: Roi): Roi {
  const ea = roiEnd(a);
  const eb = roiEnd(b);
  const begin = a.offset.map((o, i) => Math.max(o, b.offset[i]!));
  const end = ea.map((e, i) => Math.min(e, eb[i]!));
  return roiFromBounds(begin, end);
}

export function roiContains(outer: Roi, inner: Roi): boolean {
  const eo = roiEnd(outer);
  const ei = roiEnd(inner);
  return inner.offset.every((o, i) => o >= outer.offset[i]! && ei[i]! <= eo[i]!);
}

/** Grow by `before` at the low side and `after` at the high side of each axis. */
export function roiGrow(r: Roi, before: readonly number[], after: readonly number[] = before): Roi {
  return roi(
    r.offset.map((o, i) => o - before[i]!),
    r.shape.map((s, i) => s + before[i]! + after[i]!),
  );
}

export function roiShift(r: Roi, by: readonly number[]): Roi {
  return roi(
    r.offset.map((o, i) => o + by[i]!),
    r.shape,
  );
}

export function roiEquals(a: Roi, b: Roi): boolean {
  return (
    a.offset.length === b.offset.length &&
    a.offset.every((o, i) => o === b.offset[i]) &&
    a.shape.every((s, i) => s === b.shape[i])
  );
}

/** The shape in voxels of a Roi that is a multiple of `voxelSize`. */
export function roiVoxelShape(r: Roi, voxelSize: readonly number[]): number[] {
  return r.shape.map((s, i) => s / voxelSize[i]!);
}

export function roiIsMultipleOf(r: Roi, voxelSize: readonly number[]): boolean {
  return r.offset.every((o, i) => o % voxelSize[i]! === 0) && r.shape.every((s, i) => s % voxelSize[i]! === 0);
}

/** Smallest voxel-aligned Roi that contains `r`. */
export function roiSnapOut(r: Roi, voxelSize: readonly number[]): Roi {
  const begin = r.offset.map((o, i) => Math.floor(o / voxelSize[i]!) * voxelSize[i]!);
  const end = roiEnd(r).map((e, i) => Math.ceil(e / voxelSize[i]!) * voxelSize[i]!);
  return roiFromBounds(begin, end);
}

export function roiToString(r: Roi): string {
  return `[${r.offset.join(', ')} : ${roiEnd(r).join(', ')}] (${r.shape.join('×')})`;
}

function fmt(a: readonly number[]): string {
  return `[${a.join(', ')}]`;
}
