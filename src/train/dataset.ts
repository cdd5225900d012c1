/**
 * tf.data datasets over crops. Everything random is drawn from the seed alone: sample k gets the
 * stream `fork(k)` of the seed, whatever the prefetch depth or timing, so the same seed gives the
 * same bytes. Reads run concurrently; buffers in flight are plain typed arrays (tensors are made
 * only when an element is handed out, so abandoned iterators hold no tensors).
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import type { Crop, LabelArray } from '../types.js';
import { makeRng, type Rng } from './random.js';
import { CropSampler, checkSamplingOptions, type SamplingOptions } from './sampler.js';
import { makeTarget, targetChannels, type TargetFn, type TargetKind, type TargetOptions } from './targets.js';

export interface CropDatasetOptions extends SamplingOptions {
  seed?: number | string;
}

export type CropWeights = 'equal' | 'size' | 'masked' | number[];

export interface TrainingDatasetOptions extends SamplingOptions {
  batchSize?: number;
  seed?: number | string;
  target?: TargetKind | TargetFn;
  /** Affinity offsets (target 'affinities'). */
  offsets?: number[][];
  /** Number of classes (target 'semantic'). */
  numClasses?: number;
  cropWeights?: CropWeights;
  /** Batches prepared ahead of the one being consumed (default 2). */
  prefetch?: number;
  /** Index of the first sample drawn (default 0): a resumed run continues its sample sequence. */
  firstSample?: number;
}

export interface TrainingElement extends tf.TensorContainerObject {
  xs: tf.Tensor5D;
  ys: tf.Tensor5D;
}

/** Ids as int32 for tensors: copied when they fit, relabelled consecutively (0 kept) when not. */
export function labelsToInt32(labels: LabelArray): Int32Array {
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
  const { input, output } = checkSamplingOptions(options, [crop]);
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

/** What a training dataset learns once, before its first batch (every crop checked). */
export interface TrainingSetup {
  /** Raw channels (xs). */
  channels: number;
  /** Target and mask channels (ys = target ⊕ mask). */
  targetChannels: number;
  maskChannels: number;
}

/** The setup with the samplers and crop weights the batches are drawn with. */
interface Prepared extends TrainingSetup {
  samplers: CropSampler[];
  /** Cumulative crop weights, for drawing a crop. */
  cumulative: number[];
}

/** A dataset of `{ xs, ys }` batches; `setup()` prepares it (and reports bad crops) before iterating. */
export type TrainingDataset = tf.data.Dataset<TrainingElement> & { setup(): Promise<TrainingSetup> };

/**
 * Batches `{ xs, ys }` for `model.fitDataset`, interleaving the crops by `cropWeights`:
 * xs [b, z, y, x, c] normalized raw; ys [b, z', y', x', C + M] the target ⊕ its mask.
 */
export function trainingDataset(crops: readonly Crop[], options: TrainingDatasetOptions): TrainingDataset {
  if (crops.length === 0) throw new OptionsError('trainingDataset needs at least one crop');
  // With the crops: outputShape defaults to the input's world extent in label voxels.
  const { input, output } = checkSamplingOptions(options, crops);
  const batchSize = options.batchSize ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new OptionsError(`batchSize must be a positive integer, got ${batchSize}`);
  const prefetch = options.prefetch ?? 2;
  if (!Number.isInteger(prefetch) || prefetch < 0)
    throw new OptionsError(`prefetch must be a non-negative integer, got ${prefetch}`);
  const weights = options.cropWeights ?? 'equal';
  if (Array.isArray(weights)) {
    if (weights.length !== crops.length) {
      throw new OptionsError(
        `cropWeights has ${weights.length} entries for ${crops.length} crops (${crops.map((c) => c.name).join(', ')})`,
      );
    }
    if (weights.some((w) => !(w >= 0) || !Number.isFinite(w)) || weights.every((w) => w === 0)) {
      throw new OptionsError(`cropWeights must be non-negative numbers, not all zero; got [${weights.join(', ')}]`);
    }
  } else if (!['equal', 'size', 'masked'].includes(weights)) {
    throw new OptionsError(
      `cropWeights must be 'equal', 'size', 'masked' or a list of numbers, got ${JSON.stringify(weights)}`,
    );
  }
  const target = options.target ?? 'boundary';
  const targetOptions: TargetOptions = { offsets: options.offsets, numClasses: options.numClasses };
  if (target === 'semantic' && !(Number.isInteger(options.numClasses) && options.numClasses! >= 1)) {
    throw new OptionsError("target 'semantic' needs numClasses (a positive integer)");
  }
  const root = makeRng(options.seed ?? 0);
  const firstSample = options.firstSample ?? 0;
  if (!Number.isInteger(firstSample) || firstSample < 0)
    throw new OptionsError(`firstSample must be a non-negative integer, got ${firstSample}`);

  let setupPromise: Promise<Prepared> | null = null;
  const setup = () => (setupPromise ??= prepare(crops, options, weights, target, targetOptions));

  const makeBatch = async (s: Prepared, index: number) => {
    const inVoxels = input[0]! * input[1]! * input[2]!;
    const outVoxels = output[0]! * output[1]! * output[2]!;
    const ysChannels = s.targetChannels + s.maskChannels;
    const xs = new Float32Array(batchSize * inVoxels * s.channels);
    const ys = new Float32Array(batchSize * outVoxels * ysChannels);
    await Promise.all(
      Array.from({ length: batchSize }, async (_, b) => {
        const rng = root.fork(firstSample + index * batchSize + b);
        const sampler = s.samplers[pickCrop(s.cumulative, rng.fork('crop'))]!;
        const sample = await sampler.read(sampler.draw(rng.fork('sample')));
        xs.set(sample.raw, b * inVoxels * s.channels);
        const t = makeTarget(target, sample.labels, sample.mask, sample.labelShape, targetOptions);
        if (t.channels !== s.targetChannels || t.maskChannels !== s.maskChannels) {
          throw new OptionsError(
            `the target gave ${t.channels}+${t.maskChannels} channels, earlier samples ${s.targetChannels}+${s.maskChannels}`,
          );
        }
        interleave(ys, b * outVoxels * ysChannels, t.target, t.channels, t.mask, t.maskChannels, outVoxels);
      }),
    );
    return { xs, ys, ysChannels, channels: s.channels };
  };

  const dataset = tf.data.generator(async function* () {
    const s = await setup();
    const queue: Promise<Awaited<ReturnType<typeof makeBatch>>>[] = [];
    for (let next = 0; ; ) {
      while (queue.length <= prefetch) {
        const p = makeBatch(s, next++);
        p.catch(() => undefined); // surfaced when awaited; avoid unhandled rejections meanwhile
        queue.push(p);
      }
      const batch = await queue.shift()!;
      yield {
        xs: tf.tensor5d(batch.xs, [batchSize, input[0]!, input[1]!, input[2]!, batch.channels]),
        ys: tf.tensor5d(batch.ys, [batchSize, output[0]!, output[1]!, output[2]!, batch.ysChannels]),
      };
    }
  } as unknown as () => Iterator<TrainingElement>);
  return Object.assign(dataset, { setup });
}

async function prepare(
  crops: readonly Crop[],
  options: TrainingDatasetOptions,
  weights: CropWeights,
  target: TargetKind | TargetFn,
  targetOptions: TargetOptions,
): Promise<Prepared> {
  // Every crop is prepared; when several fail, the first in the crops' order is reported (not the
  // first to fail in time, which would depend on read timing).
  const settled = await Promise.allSettled(crops.map((c) => CropSampler.create(c, options, weights === 'masked')));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const samplers = settled.map((r) => (r as PromiseFulfilledResult<CropSampler>).value);
  const channels = crops[0]!.raw.channels;
  const mismatch = crops.find((c) => c.raw.channels !== channels);
  if (mismatch) {
    throw new OptionsError(
      `crop ${mismatch.name} has ${mismatch.raw.channels} raw channels, ${crops[0]!.name} has ${channels}`,
    );
  }
  if (target === 'semantic') await checkClasses(crops, targetOptions.numClasses!);
  const w = samplers.map((s, i) =>
    Array.isArray(weights)
      ? weights[i]!
      : weights === 'size'
        ? s.labelVoxels
        : weights === 'masked'
          ? s.knownVoxels!
          : 1,
  );
  if (w.every((x) => x === 0)) throw new OptionsError('every crop has weight 0 (no known voxels?)');
  const cumulative: number[] = [];
  let total = 0;
  for (const x of w) {
    total += x;
    cumulative.push(total);
  }
  let counts = targetChannels(target, targetOptions);
  if (!counts) {
    // A user target: run it once on a tiny sample to learn its channel counts.
    const probe = makeTarget(target, new Uint32Array(8), new Uint8Array(8).fill(1), [2, 2, 2], targetOptions);
    counts = { channels: probe.channels, maskChannels: probe.maskChannels };
  }
  return { samplers, cumulative, channels, targetChannels: counts.channels, maskChannels: counts.maskChannels };
}

async function checkClasses(crops: readonly Crop[], numClasses: number): Promise<void> {
  for (const crop of crops) {
    const labels = await crop.labels.read(crop.labels.roi);
    let max = 0;
    for (let i = 0; i < labels.length; i++) if (Number(labels[i]) > max) max = Number(labels[i]);
    if (max >= numClasses) {
      throw new OptionsError(
        `crop ${crop.name} has label ${max}, but numClasses is ${numClasses} (classes are 0..${numClasses - 1})`,
      );
    }
  }
}

function pickCrop(cumulative: number[], rng: Rng): number {
  const r = rng.next() * cumulative[cumulative.length - 1]!;
  const i = cumulative.findIndex((c) => r < c);
  return i < 0 ? cumulative.length - 1 : i;
}

function interleave(
  out: Float32Array,
  offset: number,
  target: Float32Array,
  C: number,
  mask: Float32Array,
  M: number,
  voxels: number,
): void {
  const W = C + M;
  for (let v = 0; v < voxels; v++) {
    const o = offset + v * W;
    for (let c = 0; c < C; c++) out[o + c] = target[v * C + c]!;
    for (let c = 0; c < M; c++) out[o + C + c] = mask[v * M + c]!;
  }
}
