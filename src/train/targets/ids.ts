/**
 * Label ids as the target code reads them, and the checks every target function makes of its
 * inputs. Ids are compared by their exact bits: 64-bit ids as two 32-bit words of the same buffer,
 * never through Number or BigInt in the hot loops.
 */
import { OptionsError } from '../../errors.js';
import type { LabelArray } from '../../types.js';

/**
 * Ids as unsigned words, without bigint arithmetic in the hot loops: 64-bit ids are two 32-bit
 * words (`per` = 2) of the same buffer, compared word by word.
 */
export interface IdWords {
  words: Uint8Array | Uint16Array | Uint32Array | Int32Array;
  per: 1 | 2;
}

export function idWords(labels: LabelArray): IdWords {
  if (labels instanceof BigUint64Array) {
    return { words: new Uint32Array(labels.buffer, labels.byteOffset, labels.length * 2), per: 2 };
  }
  return { words: labels, per: 1 };
}

/** High word of the smallest uint64 whose float64 reading is infinite or NaN (exponent bits all 1). */
const FLOAT64_EXPONENT_ALL_ONES = 0x7ff00000;

/**
 * 64-bit ids (word pairs) as float64, when that is exact: below 2^63 − 2^52 every id reads as a
 * finite non-negative number, so float64 equality is bit equality (one load per id instead of
 * two). Null when some id is at or above it.
 */
export function exactFloat64(words: Uint32Array): Float64Array | null {
  for (let i = 1; i < words.length; i += 2) if (words[i]! >= FLOAT64_EXPONENT_ALL_ONES) return null;
  return new Float64Array(words.buffer, words.byteOffset, words.length / 2);
}

/** Checks a target function's inputs; returns the number of voxels. */
export function checkTargetInputs(fn: string, labels: LabelArray, mask: Uint8Array, shape: readonly number[]): number {
  if (shape.length !== 3 || !shape.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new OptionsError(`${fn}: shape must be [z, y, x] of non-negative integers, got [${shape.join(', ')}]`);
  }
  const n = shape[0]! * shape[1]! * shape[2]!;
  if (labels.length !== n) {
    throw new OptionsError(`${fn}: labels have ${labels.length} elements, shape [${shape.join(', ')}] needs ${n}`);
  }
  if (mask.length !== n) {
    throw new OptionsError(`${fn}: mask has ${mask.length} elements, shape [${shape.join(', ')}] needs ${n}`);
  }
  return n;
}

/** 1 where the mask is non-zero, else 0, as float32. */
export function maskToFloat(mask: Uint8Array): Float32Array {
  const out = new Float32Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] !== 0 ? 1 : 0;
  return out;
}

/** Where a per-voxel channel block is written: channel k of voxel i at `out[offset + i·stride + k]`. */
export interface Strided {
  out: Float32Array;
  offset: number;
  stride: number;
}

/** A label id: a number up to 2^53, or any uint64 as a bigint or a decimal string (JSON). */
export type LabelId = number | bigint | string;

/** A set of label ids as the 32-bit word pairs of each id. */
export interface IdSet {
  lo: Uint32Array;
  hi: Uint32Array;
}

/** A label id as a bigint, or null when it is not one (a negative, fractional or too large value). */
function labelId(v: unknown): bigint | null {
  let id: bigint;
  if (typeof v === 'bigint') id = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) id = BigInt(v);
  else if (typeof v === 'string' && /^\d+$/.test(v)) id = BigInt(v);
  else return null;
  return id >= 0n && id < 2n ** 64n ? id : null;
}

/** The ids as word pairs, or null when one of them is not a label id (or there are none). */
export function idSet(ids: readonly unknown[]): IdSet | null {
  const parsed = ids.map(labelId);
  if (parsed.length === 0 || parsed.some((v) => v === null)) return null;
  return {
    lo: Uint32Array.from(parsed as bigint[], (v) => Number(v & 0xffffffffn)),
    hi: Uint32Array.from(parsed as bigint[], (v) => Number(v >> 32n)),
  };
}

/** Per voxel of `n`: 1 when its id is in `set` (null: when its id is not 0). */
export function inSet(ids: IdWords, n: number, set: IdSet | null): Uint8Array {
  const out = new Uint8Array(n);
  const w = ids.words;
  if (set === null) {
    if (ids.per === 1) for (let i = 0; i < n; i++) out[i] = w[i] !== 0 ? 1 : 0;
    else for (let i = 0; i < n; i++) out[i] = (w[2 * i]! | w[2 * i + 1]!) !== 0 ? 1 : 0;
    return out;
  }
  const { lo, hi } = set;
  for (let i = 0; i < n; i++) {
    const a = ids.per === 1 ? w[i]! >>> 0 : w[2 * i]!;
    const b = ids.per === 1 ? 0 : w[2 * i + 1]!;
    for (let k = 0; k < lo.length; k++) {
      if (lo[k] === a && hi[k] === b) {
        out[i] = 1;
        break;
      }
    }
  }
  return out;
}
