/**
 * Alignment through the whole training pipeline for crops whose raw encodes the labels
 * (raw = id / 255 at every world point): every known label voxel of ys must agree with the raw
 * voxel of xs at the same world position, whatever the augmentation did.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { trainingDataset, type SampleAugmentOptions, type TargetFn } from '../../src/index.js';
import { CropSampler } from '../../src/train/sampler.js';
import type { WorldCrop } from './world-crop.js';

/** Every known label voxel agrees with the raw voxel at its world position (raw = id / 255). */
export function assertAligned(
  raw: Float32Array,
  inShape: number[],
  labels: ArrayLike<number>,
  mask: ArrayLike<number>,
  outShape: number[],
  rawVoxel: readonly number[],
  labelVoxel: readonly number[],
  labelsMinusRaw: readonly number[],
  tolerant = false,
  mismatched: string[] = [],
): number {
  let checked = 0;
  for (let z = 0; z < outShape[0]!; z++)
    for (let y = 0; y < outShape[1]!; y++)
      for (let x = 0; x < outShape[2]!; x++) {
        const v = (z * outShape[1]! + y) * outShape[2]! + x;
        if (!mask[v]) continue;
        const idx = [z, y, x].map((c, i) =>
          Math.floor((labelsMinusRaw[i]! + (c + 0.5) * labelVoxel[i]!) / rawVoxel[i]!),
        );
        const r = raw[(idx[0]! * inShape[1]! + idx[1]!) * inShape[2]! + idx[2]!]! * 255;
        // Interpolated raw between two blocks is not an id: only exact ids are compared (elastic).
        if (tolerant && Math.abs(r - Math.round(r)) > 1e-4) continue;
        if (tolerant && Math.abs(r - labels[v]!) >= 1e-3) {
          mismatched.push(`label ${labels[v]} at ${[z, y, x]} but raw ${r} at ${idx}`);
        } else {
          assert.ok(Math.abs(r - labels[v]!) < 1e-3, `label ${labels[v]} at ${[z, y, x]} but raw ${r} at ${idx}`);
        }
        checked++;
      }
  return checked;
}

const passThrough: TargetFn = (labels, mask) => ({
  target: Float32Array.from(labels as Uint32Array),
  channels: 1,
  mask: Float32Array.from(mask),
  maskChannels: 1,
});

/**
 * Checks 6 batches of 2; returns the number of voxels compared. `tolerant` (elastic): only voxels
 * whose raw is a pure id are compared, and their disagreements are collected in `mismatched`
 * instead of failing (at two voxel sizes raw and label voxel centres are different points, so a
 * few voxels at block borders legitimately disagree).
 */
export async function checkPipelineAlignment(
  crop: WorldCrop,
  input: number[],
  output: number[] | undefined,
  augment: SampleAugmentOptions,
  tolerant = false,
  mismatched: string[] = [],
): Promise<number> {
  const sampler = await CropSampler.create(crop, { inputShape: input, outputShape: output });
  const rel = (() => {
    const r = sampler.rois({ centre: [0, 0, 0] });
    return r.labels.offset.map((o, i) => o - r.raw.offset[i]!);
  })();
  const out = sampler.output;
  const ds = trainingDataset([crop], {
    inputShape: input,
    outputShape: output,
    batchSize: 2,
    seed: 9,
    target: passThrough,
    augment,
  });
  const it = await ds.iterator();
  let checked = 0;
  for (let k = 0; k < 6; k++) {
    const b = (await it.next()).value as { xs: tf.Tensor; ys: tf.Tensor };
    const xs = (await b.xs.data()) as Float32Array;
    const ys = (await b.ys.data()) as Float32Array;
    tf.dispose(b);
    const nIn = input[0]! * input[1]! * input[2]!;
    const nOut = out[0]! * out[1]! * out[2]!;
    for (let s = 0; s < 2; s++) {
      const labels = new Float32Array(nOut);
      const mask = new Float32Array(nOut);
      for (let v = 0; v < nOut; v++) {
        labels[v] = ys[(s * nOut + v) * 2]!;
        mask[v] = ys[(s * nOut + v) * 2 + 1]!;
      }
      checked += assertAligned(
        xs.subarray(s * nIn, (s + 1) * nIn),
        input,
        labels,
        mask,
        out,
        crop.raw.voxelSize,
        crop.voxelSize,
        rel,
        tolerant,
        mismatched,
      );
    }
  }
  return checked;
}
