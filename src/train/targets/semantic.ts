/**
 * The semantic target, defined once: one-hot class ids over `numClasses` channels (class 0,
 * background, is channel 0); a label ≥ numClasses throws. Mask: 1 channel, the known mask.
 */
import { OptionsError } from '../../errors.js';
import type { LabelArray } from '../../types.js';
import { checkTargetInputs, idWords, maskToFloat, type IdWords, type Strided } from './ids.js';

export function semanticTarget(
  labels: LabelArray,
  mask: Uint8Array,
  shape: readonly number[],
  numClasses: number,
): { target: Float32Array; channels: number; mask: Float32Array; maskChannels: 1 } {
  const n = checkTargetInputs('semanticTarget', labels, mask, shape);
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new OptionsError(`semanticTarget: numClasses must be a positive integer, got ${numClasses}`);
  }
  const target = new Float32Array(n * numClasses);
  semanticInto(idWords(labels), n, numClasses, { out: target, offset: 0, stride: numClasses });
  return { target, channels: numClasses, mask: maskToFloat(mask), maskChannels: 1 };
}

/** One-hot classes (see semanticTarget) of `n` voxels into a strided output; throws on a bad id. */
export function semanticInto({ words: w, per }: IdWords, n: number, numClasses: number, target: Strided): void {
  const t = target.out;
  for (let i = 0; i < n; i++) {
    const l = per === 1 ? w[i]! : w[2 * i + 1] === 0 ? w[2 * i]! : -1;
    if (!(l >= 0 && l < numClasses)) {
      const id = per === 1 ? BigInt(w[i]!) : (BigInt(w[2 * i + 1]!) << 32n) | BigInt(w[2 * i]!);
      throw new OptionsError(
        `semanticTarget: label ${id} is not a class id for numClasses = ${numClasses} ` +
          `(class ids must be in [0, ${numClasses - 1}])`,
      );
    }
    t[target.offset + i * target.stride + l] = 1;
  }
}
