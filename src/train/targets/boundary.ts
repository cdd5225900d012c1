/**
 * The boundary target, defined once: a voxel is interior (1) when its id is non-zero and equal to
 * each of its 6 neighbours that lie inside the sample; else 0 (membranes, background). Neighbours
 * outside the sample are ignored.
 *
 * It is computed in two steps that every path shares: `boundaryFlags` encodes per voxel which of
 * its neighbours carry another id and whether its own id is 0 (one byte, from the ids); then
 * `interiorInto` reads a sample's bytes, with the neighbours outside the sample masked out, into a
 * batch's ys through the augmentation's scatter. The per-sample path encodes the sample's ids; a
 * crop's boundary table (boundary-table.ts) encodes the crop once and hands out a sample's bytes.
 * Neither step depends on the sample's orientation, so the target is computed before the remap.
 */
import type { LabelArray } from '../../types.js';
import type { Scatter } from '../augment.js';
import { checkTargetInputs, exactFloat64, idWords, maskToFloat, type IdWords } from './ids.js';

/** Neighbour bits (set: that neighbour's id differs) and the zero-id bit. */
const X_LOW = 1,
  X_HIGH = 2,
  Y_LOW = 4,
  Y_HIGH = 8,
  Z_LOW = 16,
  Z_HIGH = 32,
  ZERO = 64;

/**
 * The flags of planes [from, to) of `ids` ([P, Y, X] = `shape`; the planes around them are read
 * for the z-neighbours) into out[into …]. 64-bit ids are compared as float64 where that is exact
 * (one load per id), else as word pairs.
 */
export function boundaryFlags(
  ids: IdWords,
  shape: readonly number[],
  out: Uint8Array,
  planes: { from: number; to: number; into: number } = { from: 0, to: shape[0]!, into: 0 },
): void {
  const w = ids.per === 2 ? exactFloat64(ids.words as Uint32Array) : ids.words;
  if (w) flagsOf(w, shape, planes, out);
  else flagsOfPairs(ids.words as Uint32Array, shape, planes, out);
}

function flagsOf(
  w: ArrayLike<number>,
  shape: readonly number[],
  { from, to, into }: { from: number; to: number; into: number },
  out: Uint8Array,
): void {
  const [P, Y, X] = shape as [number, number, number];
  const plane = Y * X;
  for (let p = from, o = into; p < to; p++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0, i = p * plane + y * X; x < X; x++, i++, o++) {
        const v = w[i]!;
        let flags = v === 0 ? ZERO : 0;
        if (x > 0 && w[i - 1] !== v) flags |= X_LOW;
        if (x < X - 1 && w[i + 1] !== v) flags |= X_HIGH;
        if (y > 0 && w[i - X] !== v) flags |= Y_LOW;
        if (y < Y - 1 && w[i + X] !== v) flags |= Y_HIGH;
        if (p > 0 && w[i - plane] !== v) flags |= Z_LOW;
        if (p < P - 1 && w[i + plane] !== v) flags |= Z_HIGH;
        out[o] = flags;
      }
    }
  }
}

/** flagsOf for 64-bit ids compared as pairs of 32-bit words. */
function flagsOfPairs(
  w: Uint32Array,
  shape: readonly number[],
  { from, to, into }: { from: number; to: number; into: number },
  out: Uint8Array,
): void {
  const [P, Y, X] = shape as [number, number, number];
  const plane = Y * X;
  const differs = (i: number, j: number) => w[2 * i] !== w[2 * j] || w[2 * i + 1] !== w[2 * j + 1];
  for (let p = from, o = into; p < to; p++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0, i = p * plane + y * X; x < X; x++, i++, o++) {
        let flags = (w[2 * i]! | w[2 * i + 1]!) === 0 ? ZERO : 0;
        if (x > 0 && differs(i, i - 1)) flags |= X_LOW;
        if (x < X - 1 && differs(i, i + 1)) flags |= X_HIGH;
        if (y > 0 && differs(i, i - X)) flags |= Y_LOW;
        if (y < Y - 1 && differs(i, i + X)) flags |= Y_HIGH;
        if (p > 0 && differs(i, i - plane)) flags |= Z_LOW;
        if (p < P - 1 && differs(i, i + plane)) flags |= Z_HIGH;
        out[o] = flags;
      }
    }
  }
}

/**
 * The boundary target and its mask into ys from a sample's flags ([z, y, x] = `shape`): voxel q
 * writes its interior flag to ys[offset + scatter(q)] and its known flag (`known` null: all known)
 * to the element after.
 */
export function interiorInto(
  flags: Uint8Array,
  known: Uint8Array | null,
  shape: readonly number[],
  scatter: Scatter,
  ys: Float32Array,
  offset: number,
): void {
  const [Z, Y, X] = shape as [number, number, number];
  const [oz, oy, ox] = scatter.steps as [number, number, number];
  for (let z = 0, q = 0; z < Z; z++) {
    // The neighbours that lie inside the sample, and the zero-id bit.
    const zBits = ZERO | (z > 0 ? Z_LOW : 0) | (z < Z - 1 ? Z_HIGH : 0);
    for (let y = 0; y < Y; y++, q += X) {
      const bits = zBits | (y > 0 ? Y_LOW : 0) | (y < Y - 1 ? Y_HIGH : 0);
      const o = offset + scatter.base + z * oz + y * oy;
      // Two call sites: inlined, the one with a literal null drops the per-voxel mask test.
      if (known === null) interiorRow(flags, q, X, bits, null, ys, o, ox);
      else interiorRow(flags, q, X, bits, known, ys, o, ox);
    }
  }
}

/**
 * (params: a per-row kernel on the hot path: scalar arguments keep it allocation-free, and its two
 * call sites rely on inlining with a literal null)
 */
function interiorRow(
  flags: Uint8Array,
  q: number,
  X: number,
  bits: number,
  known: Uint8Array | null,
  ys: Float32Array,
  o: number,
  ox: number,
): void {
  const inner = bits | X_LOW | X_HIGH;
  for (let x = 0; x < X; x++, q++, o += ox) {
    const m = x === 0 ? (X > 1 ? bits | X_HIGH : bits) : x === X - 1 ? bits | X_LOW : inner;
    ys[o] = (flags[q]! & m) === 0 ? 1 : 0;
    ys[o + 1] = known === null || known[q] !== 0 ? 1 : 0;
  }
}

/** The identity scatter of a [z, y, x] array with `channels` elements per voxel. */
function identity(shape: readonly number[], channels: number): Scatter {
  return { base: 0, steps: [shape[1]! * shape[2]! * channels, shape[2]! * channels, channels] };
}

/**
 * Cell interiors: 1 where the label is non-zero and no 6-neighbour inside the volume carries a
 * different id (background included), else 0. 1 channel; mask = the input mask (1 channel).
 */
export function boundaryTarget(
  labels: LabelArray,
  mask: Uint8Array,
  shape: readonly number[],
): { target: Float32Array; channels: 1; mask: Float32Array; maskChannels: 1 } {
  const n = checkTargetInputs('boundaryTarget', labels, mask, shape);
  const flags = new Uint8Array(n);
  boundaryFlags(idWords(labels), shape, flags);
  const ys = new Float32Array(2 * n);
  interiorInto(flags, null, shape, identity(shape, 2), ys, 0);
  const target = new Float32Array(n);
  for (let v = 0; v < n; v++) target[v] = ys[2 * v]!;
  return { target, channels: 1, mask: maskToFloat(mask), maskChannels: 1 };
}
