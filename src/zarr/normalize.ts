/**
 * Raw intensity normalization by dtype (DaCapo's convention): uint8 → /255, uint16 → /65535,
 * float32/float64 as stored (assumed in [0, 1]). Any other dtype needs an explicit scale.
 */
import { DataFormatError, OptionsError } from '../errors.js';
import type { StoredArray } from '../types.js';

export interface Normalization {
  scale: number;
  /** Human-readable rule, e.g. 'uint8 / 255'. */
  description: string;
}

const RULES: Record<string, number> = { uint8: 255, uint16: 65535 };

export function rawNormalization(
  dtype: string,
  where: { container: string; path: string },
  explicitScale?: number,
): Normalization {
  if (explicitScale !== undefined) {
    if (!(explicitScale > 0) || !Number.isFinite(explicitScale)) {
      throw new OptionsError(`rawScale must be a positive number, got ${explicitScale}`);
    }
    return { scale: explicitScale, description: `${dtype} × ${explicitScale} (rawScale)` };
  }
  const divisor = RULES[dtype];
  if (divisor !== undefined) return { scale: 1 / divisor, description: `${dtype} / ${divisor}` };
  if (dtype === 'float32' || dtype === 'float64') return { scale: 1, description: `${dtype} as stored` };
  throw new DataFormatError(
    `raw has dtype ${dtype}, which has no normalization rule (uint8, uint16, float32, float64); ` +
      'give DataConfig a rawScale to read it',
    { ...where, attribute: 'dtype' },
  );
}

export function normalizeRaw(stored: StoredArray, normalization: Normalization): Float32Array {
  if (stored instanceof BigInt64Array || stored instanceof BigUint64Array) {
    const out = new Float32Array(stored.length);
    for (let i = 0; i < stored.length; i++) out[i] = Number(stored[i]!) * normalization.scale;
    return out;
  }
  if (normalization.scale === 1 && stored instanceof Float32Array) return stored;
  const out = new Float32Array(stored.length);
  const s = normalization.scale;
  const src = stored as Uint8Array;
  for (let i = 0; i < src.length; i++) out[i] = src[i]! * s;
  return out;
}

/** Float raw beyond this range is "far outside [0, 1]" and warned about. */
export const FLOAT_RAW_WARN_RANGE: readonly [number, number] = [-1, 2];

export interface FloatRawCheck {
  /** NaN/±Infinity values found (and replaced by 0). */
  nonFinite: number;
  /** Finite values outside FLOAT_RAW_WARN_RANGE (left as they are). */
  outside: number;
  min: number;
  max: number;
}

/**
 * Float raw is assumed in [0, 1]. NaN and ±Infinity would poison every gradient they touch, so
 * they are replaced by 0 (in place); values far outside [0, 1] are counted, not changed.
 */
export function sanitizeFloatRaw(values: Float32Array): FloatRawCheck {
  const [lo, hi] = FLOAT_RAW_WARN_RANGE;
  let nonFinite = 0;
  let outside = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v >= lo && v <= hi) continue;
    if (Number.isFinite(v)) {
      outside++;
      if (v < min) min = v;
      if (v > max) max = v;
    } else {
      nonFinite++;
      values[i] = 0;
    }
  }
  return { nonFinite, outside, min, max };
}
