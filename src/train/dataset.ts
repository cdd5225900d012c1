/**
 * tf.data datasets over crops. Everything random is drawn from the seed alone: sample k gets the
 * stream `fork(k)` of the seed, whatever the prefetch depth or timing, so the same seed gives the
 * same bytes. Reads run concurrently; buffers in flight are plain typed arrays (tensors are made
 * only when an element is handed out, so abandoned iterators hold no tensors).
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import type { Crop, LabelArray } from '../types.js';
import {
  BatchMaker,
  checkBatchOptions,
  prepare,
  type BatchArrays,
  type BatchOptions,
  type CropWeights,
  type Setup,
} from './batch.js';
import { makeRng } from './random.js';
import { CropSampler, checkSamplingOptions, type SamplingOptions } from './sampler.js';

export interface CropDatasetOptions extends SamplingOptions {
  seed?: number | string;
}

export type { CropWeights };

export interface TrainingDatasetOptions extends BatchOptions {
  /** Batches prepared ahead of the one being consumed (default 2). */
  prefetch?: number;
}

export interface TrainingElement extends tf.TensorContainerObject {
  xs: tf.Tensor5D;
  ys: tf.Tensor5D;
}

/** Ids as int32 for tensors: copied when they fit, relabelled consecutively (0 kept) when not. */
export function labelsToInt32(labels: LabelArray | Int32Array): Int32Array {
  if (labels instanceof Int32Array) return labels;
  if (labels instanceof Uint8Array || labels instanceof Uint16Array) return Int32Array.from(labels);
  let fits = true;
  if (labels instanceof BigUint64Array) {
    for (let i = 0; i < labels.length && fits; i++) fits = labels[i]! <= 0x7fffffffn;
    if (fits) return Int32Array.from(labels, (v) => Number(v));
  } else {
    for (let i = 0; i < labels.length && fits; i++) fits = labels[i]! <= 0x7fffffff;
    if (fits) return Int32Array.from(labels);
  }
  const ids = new Map<number | bigint, number>([[labels instanceof BigUint64Array ? 0n : 0, 0]]);
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    let id = ids.get(v);
    if (id === undefined) {
      id = ids.size;
      ids.set(v, id);
    }
    out[i] = id;
  }
  return out;
}

/** An endless dataset of `{ raw, labels, mask }` samples from one crop. */
export function cropDataset(crop: Crop, options: CropDatasetOptions): tf.data.Dataset<tf.TensorContainerObject> {
  const { input, output } = checkSamplingOptions(options);
  const root = makeRng(options.seed ?? 0);
  let sampler: Promise<CropSampler> | null = null;
  return tf.data.generator(async function* () {
    sampler ??= CropSampler.create(crop, options);
    const s = await sampler;
    for (let k = 0; ; k++) {
      const sample = await s.read(s.draw(root.fork(k)));
      const labels = labelsToInt32(sample.labels);
      yield {
        raw: tf.tensor4d(sample.raw, [input[0]!, input[1]!, input[2]!, sample.rawShape[3]!]),
        labels: tf.tensor4d(labels, [output[0]!, output[1]!, output[2]!, 1], 'int32'),
        mask: tf.tensor4d(Float32Array.from(sample.mask), [output[0]!, output[1]!, output[2]!, 1]),
      };
    }
  } as unknown as () => Iterator<tf.TensorContainerObject>);
}

/**
 * Batches `{ xs, ys }` for `model.fitDataset`, interleaving the crops by `cropWeights`:
 * xs [b, z, y, x, c] normalized raw; ys [b, z', y', x', C + M] the target ⊕ its mask.
 */
export function trainingDataset(
  crops: readonly Crop[],
  options: TrainingDatasetOptions,
): tf.data.Dataset<TrainingElement> & { setup(): Promise<Setup> } {
  const { input, output, batchSize } = checkBatchOptions(crops, options);
  const prefetch = options.prefetch ?? 2;
  if (!Number.isInteger(prefetch) || prefetch < 0)
    throw new OptionsError(`prefetch must be a non-negative integer, got ${prefetch}`);

  let setupPromise: Promise<Setup> | null = null;
  const setup = () => (setupPromise ??= prepare(crops, options));
  let maker: Promise<BatchMaker> | null = null;
  const batchMaker = () => (maker ??= setup().then((s) => new BatchMaker(s, options)));

  const dataset = tf.data.generator(async function* () {
    const m = await batchMaker();
    const { channels, targetChannels: C, maskChannels: M } = m.layout;
    const queue: Promise<BatchArrays>[] = [];
    for (let next = 0; ; ) {
      while (queue.length <= prefetch) {
        const p = m.make(next++);
        p.catch(() => undefined); // surfaced when awaited; avoid unhandled rejections meanwhile
        queue.push(p);
      }
      const batch = await queue.shift()!;
      yield {
        xs: tf.tensor5d(batch.xs, [batchSize, input[0]!, input[1]!, input[2]!, channels]),
        ys: tf.tensor5d(batch.ys, [batchSize, output[0]!, output[1]!, output[2]!, C + M]),
      };
    }
  } as unknown as () => Iterator<TrainingElement>);
  return Object.assign(dataset, { setup });
}
