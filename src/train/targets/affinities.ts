/**
 * The affinities target, defined once: channel k at voxel v is 1 when v and v + offsets[k] are both
 * inside the volume and carry the same non-zero id, else 0; mask channel k at v is 1 when
 * v + offsets[k] is inside the volume and both voxels are known. Affinities depend on the
 * orientation, so the fused path remaps the ids first and then writes through `affinitiesInto`.
 */
import { OptionsError } from '../../errors.js';
import type { LabelArray } from '../../types.js';
import { checkTargetInputs, idWords, type IdWords, type Strided } from './ids.js';

export const DEFAULT_AFFINITY_OFFSETS: readonly (readonly number[])[] = Object.freeze([
  Object.freeze([-1, 0, 0]),
  Object.freeze([0, -1, 0]),
  Object.freeze([0, 0, -1]),
]);

/** Affinities of a whole array: `channels = maskChannels = offsets.length`. */
export function affinitiesTarget(
  labels: LabelArray,
  mask: Uint8Array,
  shape: readonly number[],
  offsets: readonly (readonly number[])[] = DEFAULT_AFFINITY_OFFSETS,
): { target: Float32Array; channels: number; mask: Float32Array; maskChannels: number } {
  const n = checkTargetInputs('affinitiesTarget', labels, mask, shape);
  if (offsets.length === 0) throw new OptionsError('affinitiesTarget: offsets must not be empty');
  for (const o of offsets) {
    if (o.length !== 3 || !o.every((v) => Number.isInteger(v))) {
      throw new OptionsError(`affinitiesTarget: each offset must be [dz, dy, dx] integers, got [${o.join(', ')}]`);
    }
  }
  const K = offsets.length;
  const target = new Float32Array(n * K);
  const outMask = new Float32Array(n * K);
  affinitiesInto(
    idWords(labels),
    mask,
    shape,
    offsets,
    { out: target, offset: 0, stride: K },
    { out: outMask, offset: 0, stride: K },
  );
  return { target, channels: K, mask: outMask, maskChannels: K };
}

/**
 * Affinities (see affinitiesTarget) into strided outputs, e.g. straight into a batch's ys.
 * `mask` null: every voxel known. Entries it does not set are left as they are (zero in a fresh array).
 */
export function affinitiesInto(
  { words: w, per }: IdWords,
  mask: Uint8Array | null,
  shape: readonly number[],
  offsets: readonly (readonly number[])[],
  target: Strided,
  maskOut: Strided,
): void {
  const [Z, Y, X] = shape as [number, number, number];
  const t = target.out,
    m = maskOut.out;
  for (let k = 0; k < offsets.length; k++) {
    const [dz, dy, dx] = offsets[k] as [number, number, number];
    const delta = (dz * Y + dy) * X + dx;
    const z0 = Math.max(0, -dz),
      z1 = Math.min(Z, Z - dz);
    const y0 = Math.max(0, -dy),
      y1 = Math.min(Y, Y - dy);
    const x0 = Math.max(0, -dx),
      x1 = Math.min(X, X - dx);
    for (let z = z0; z < z1; z++) {
      for (let y = y0; y < y1; y++) {
        const row = (z * Y + y) * X;
        for (let x = x0; x < x1; x++) {
          const i = row + x;
          const j = i + delta;
          const same =
            per === 1
              ? w[i] !== 0 && w[i] === w[j]
              : (w[2 * i]! | w[2 * i + 1]!) !== 0 && w[2 * i] === w[2 * j] && w[2 * i + 1] === w[2 * j + 1];
          if (same) t[target.offset + i * target.stride + k] = 1;
          if (mask === null || (mask[i] !== 0 && mask[j] !== 0)) m[maskOut.offset + i * maskOut.stride + k] = 1;
        }
      }
    }
  }
}
