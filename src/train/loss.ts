/**
 * Masked losses for `model.compile({ loss: maskedLoss('binaryCrossentropy') })`.
 *
 * fitDataset has no per-voxel weights, so the mask travels inside `ys`: yTrue is the target
 * concatenated with the mask on the channel (last) axis, [b, z, y, x, C + M], where the last
 * M = `maskChannels` channels (default 1) are the mask and the first C the target; yPred has C
 * channels.
 *
 * - Per-channel losses (binaryCrossentropy, meanSquaredError): a 1-channel mask broadcasts over
 *   all C target channels; a C-channel mask applies channel-wise (affinities).
 * - categoricalCrossentropy is per voxel (summed over classes, predictions are probabilities);
 *   its mask must have 1 channel.
 * - A user function returns the unmasked loss per voxel ([b, z, y, x] or [b, z, y, x, 1]) or per
 *   channel ([b, z, y, x, C]); it is masked the same way.
 *
 * Result: sum(loss · mask) / max(sum(mask broadcast to the loss's channels), eps). The mask may
 * hold weights, not only 0/1. A batch with no known voxel gives 0, never NaN, and masked voxels
 * get zero gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import { channelRange } from '../kernels/channels.js';

export type LossName = 'binaryCrossentropy' | 'meanSquaredError' | 'categoricalCrossentropy';

/** Unmasked loss per voxel ([b, z, y, x] / [b, z, y, x, 1]) or per channel ([b, z, y, x, C]). */
export type PerVoxelLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

export interface MaskedLossOptions {
  /** Mask channels at the end of yTrue (1, or the number of target channels). Default 1. */
  maskChannels?: number;
  /** Prediction clipping for the cross-entropies, and the denominator's floor. Default 1e-7. */
  epsilon?: number;
}

export type MaskedLossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;

export function maskedLoss(loss: LossName | PerVoxelLoss, options: MaskedLossOptions = {}): MaskedLossFn {
  const { M, eps, name } = checkMaskedLoss(loss, options);
  const fn: MaskedLossFn = (yTrue, yPred) =>
    tf.tidy(() => {
      const rank = yTrue.rank;
      const C = checkLossShapes(name, M, yTrue, yPred);
      // The built-in losses work on [voxels, channels]: WebGL and WebGPU have no rank-5 `where`,
      // which clipByValue's gradient needs.
      const flat = (t: tf.Tensor) => tf.reshape(t, [-1, t.shape[t.rank - 1]!]);
      const targetNd = channelRange(yTrue, 0, C).toFloat();
      const mask = flat(channelRange(yTrue, C, M).toFloat());
      const target = flat(targetNd);
      const pred = flat(yPred.toFloat());

      let perVoxel: tf.Tensor;
      switch (loss) {
        case 'binaryCrossentropy': {
          const p = tf.clipByValue(pred, eps, 1 - eps);
          perVoxel = tf.neg(tf.add(tf.mul(target, tf.log(p)), tf.mul(tf.sub(1, target), tf.log(tf.sub(1, p)))));
          break;
        }
        case 'meanSquaredError':
          perVoxel = tf.squaredDifference(pred, target);
          break;
        case 'categoricalCrossentropy': {
          const p = tf.clipByValue(pred, eps, 1);
          perVoxel = tf.neg(tf.sum(tf.mul(target, tf.log(p)), -1, true));
          break;
        }
        default: {
          // A user's function sees the tensors in their own shape.
          perVoxel = loss(targetNd, yPred.toFloat()).toFloat();
          if (perVoxel.rank === rank - 1) perVoxel = tf.expandDims(perVoxel, -1);
          const k = perVoxel.shape[rank - 1];
          if (
            perVoxel.rank !== rank ||
            !perVoxel.shape.slice(0, rank - 1).every((s, i) => s === yTrue.shape[i]) ||
            (k !== 1 && k !== C)
          ) {
            throw new OptionsError(
              `maskedLoss(${name}): the loss function returned shape [${perVoxel.shape.join(', ')}]; expected ` +
                `[${yTrue.shape.slice(0, rank - 1).join(', ')}] (per voxel) or with 1 or ${C} channels`,
            );
          }
          perVoxel = flat(perVoxel);
        }
      }

      const K = perVoxel.shape[1]!;
      if (M !== 1 && M !== K) {
        throw new OptionsError(
          `maskedLoss(${name}): a ${M}-channel mask cannot weight a loss with ${K} channel(s); use maskChannels = 1`,
        );
      }
      const numerator = tf.sum(tf.mul(perVoxel, mask));
      // The mask broadcast over the loss's channels: a 1-channel mask counts K times.
      const denominator = tf.maximum(tf.mul(tf.sum(mask), M === 1 ? K : 1), eps);
      return tf.div(numerator, denominator) as tf.Scalar;
    });
  Object.defineProperty(fn, 'name', { value: `masked_${name}` });
  return fn;
}

/** maskedLoss's arguments checked: mask channels, epsilon and the loss's name. */
function checkMaskedLoss(
  loss: LossName | PerVoxelLoss,
  options: MaskedLossOptions,
): { M: number; eps: number; name: string } {
  const M = options.maskChannels ?? 1;
  const eps = options.epsilon ?? 1e-7;
  if (!Number.isInteger(M) || M < 1)
    throw new OptionsError(`maskedLoss: maskChannels must be a positive integer, got ${M}`);
  if (!(eps > 0 && eps < 0.5)) throw new OptionsError(`maskedLoss: epsilon must be in (0, 0.5), got ${eps}`);
  if (
    typeof loss !== 'function' &&
    loss !== 'binaryCrossentropy' &&
    loss !== 'meanSquaredError' &&
    loss !== 'categoricalCrossentropy'
  ) {
    throw new OptionsError(
      `maskedLoss: unknown loss '${String(loss)}' (expected 'binaryCrossentropy', 'meanSquaredError', ` +
        `'categoricalCrossentropy' or a function)`,
    );
  }
  if (loss === 'categoricalCrossentropy' && M !== 1) {
    throw new OptionsError(
      `maskedLoss: categoricalCrossentropy is per voxel and needs a 1-channel mask, got maskChannels = ${M}`,
    );
  }
  const name = typeof loss === 'function' ? loss.name || 'custom loss' : loss;
  return { M, eps, name };
}

/** The number of target channels of yTrue (target ⊕ M mask channels), checked against yPred. */
function checkLossShapes(name: string, M: number, yTrue: tf.Tensor, yPred: tf.Tensor): number {
  const rank = yTrue.rank;
  const total = yTrue.shape[rank - 1]!;
  const C = total - M;
  if (rank < 2 || C < 1) {
    throw new OptionsError(
      `maskedLoss(${name}): yTrue [${yTrue.shape.join(', ')}] must hold the target and ${M} mask channel(s) on its last axis`,
    );
  }
  if (
    yPred.rank !== rank ||
    yPred.shape[rank - 1] !== C ||
    !yPred.shape.slice(0, rank - 1).every((s, i) => s === yTrue.shape[i])
  ) {
    throw new OptionsError(
      `maskedLoss(${name}): yPred [${yPred.shape.join(', ')}] must match yTrue [${yTrue.shape.join(', ')}] ` +
        `with ${C} channel(s) (the last ${M} of yTrue's ${total} channels are the mask)`,
    );
  }
  if (M !== 1 && M !== C) {
    throw new OptionsError(
      `maskedLoss(${name}): maskChannels = ${M} must be 1 or the number of target channels (${C})`,
    );
  }
  return C;
}

/** The same masked average, for `model.compile({ metrics: [...] })` (named `masked_<loss>`). */
export const maskedMetric = maskedLoss;
