/**
 * Training batches as plain typed arrays: the options checked once into a plan, the per-dataset setup (a sampler per
 * crop, crop weights, channel counts) and `BatchMaker`, which assembles batch k from the seed alone
 * (sample j of batch k draws from the stream `fork(firstSample + k · batchSize + j)`). Shared by the in-thread
 * dataset and the workers (train/workers/), so both give the same bytes.
 */
import { OptionsError } from '../errors.js';
import type { Crop } from '../types.js';
import {
  BufferPool,
  canFuse,
  readStored,
  releaseStored,
  Scratch,
  writeSample,
  writeSampleSteps,
  type BatchLayout,
  type StoredSample,
} from './assemble.js';
import { BoundaryTable } from './boundary-table.js';
import { CropTables } from './crop-table.js';
import { DistanceTable } from './distance-table.js';
import { readElasticStored, RegionBuffers, withoutGeometry } from './elastic-read.js';
import { makeRng, type Rng } from './random.js';
import { CropSampler, planSampling, type SamplingOptions, type SamplingPlan } from './sampler.js';
import {
  makeTarget,
  TARGET_KINDS,
  targetChannels,
  type TargetFn,
  type TargetKind,
  type TargetOptions,
} from './targets.js';
import {
  checkDistanceOptions,
  distanceContext,
  type DistanceOptions,
  type ResolvedDistance,
} from './targets/distance.js';

export type CropWeights = 'equal' | 'size' | 'masked' | number[];

/** What a batch is made of (the part of TrainingDatasetOptions that workers receive). */
export interface BatchOptions extends SamplingOptions {
  batchSize?: number;
  seed?: number | string;
  target?: TargetKind | TargetFn;
  /** Affinity offsets (target 'affinities'). */
  offsets?: number[][];
  /** Number of classes (target 'semantic'). */
  numClasses?: number;
  /** The distance target's options (target 'distance'): `{ scaleFactor, classes?, maskDistances?, … }`. */
  distance?: DistanceOptions;
  cropWeights?: CropWeights;
  /** Index of the first sample drawn (default 0): a resumed run continues its sample sequence. */
  firstSample?: number;
}

/** Batch options checked once, with their defaults: what prepare, BatchMaker and the workers take as given. */
export interface BatchPlan {
  readonly planned: 'batches';
  readonly sampling: SamplingPlan;
  readonly batchSize: number;
  readonly weights: CropWeights;
  readonly target: TargetKind | TargetFn;
  readonly targetOptions: TargetOptions;
  /** The distance target's options, checked (target 'distance'). */
  readonly distance: ResolvedDistance | null;
  readonly firstSample: number;
  readonly seed: number | string;
}

const isBatchPlan = (o: BatchOptions | BatchPlan): o is BatchPlan => (o as BatchPlan).planned === 'batches';

/**
 * Checks the options before anything is read (an OptionsError names what is wrong) and fills in
 * their defaults; a plan is returned as it is.
 */
export function planBatches(crops: readonly Crop[], options: BatchOptions | BatchPlan): BatchPlan {
  if (isBatchPlan(options)) return options;
  if (crops.length === 0) throw new OptionsError('trainingDataset needs at least one crop');
  // With the crops: outputShape defaults to the input's world extent in label voxels.
  const sampling = planSampling(options, crops);
  const batchSize = options.batchSize ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new OptionsError(`batchSize must be a positive integer, got ${batchSize}`);
  const weights = options.cropWeights ?? 'equal';
  checkCropWeights(weights, crops);
  const target = options.target ?? 'boundary';
  if (typeof target !== 'function' && !TARGET_KINDS.includes(target)) {
    throw new OptionsError(
      `target must be ${TARGET_KINDS.map((k) => `'${k}'`).join(', ')} or a function, got ${JSON.stringify(target)}`,
    );
  }
  const targetOptions: TargetOptions = {
    offsets: options.offsets,
    numClasses: options.numClasses,
    ...(options.distance ? { distance: options.distance } : {}),
  };
  if (target === 'semantic' && !(Number.isInteger(options.numClasses) && options.numClasses! >= 1)) {
    throw new OptionsError("target 'semantic' needs numClasses (a positive integer)");
  }
  const distance = target === 'distance' ? checkDistanceOptions(options.distance) : null;
  const firstSample = options.firstSample ?? 0;
  if (!Number.isInteger(firstSample) || firstSample < 0)
    throw new OptionsError(`firstSample must be a non-negative integer, got ${firstSample}`);
  const seed = options.seed ?? 0;
  return { planned: 'batches', sampling, batchSize, weights, target, targetOptions, distance, firstSample, seed };
}

function checkCropWeights(weights: CropWeights, crops: readonly Crop[]): void {
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
export interface Setup extends TrainingSetup {
  samplers: CropSampler[];
  /** Cumulative crop weights, for drawing a crop. */
  cumulative: number[];
}

/** Prepares every crop's sampler (mask tables for minMasked) and the batch layout. */
export async function prepare(crops: readonly Crop[], options: BatchOptions | BatchPlan): Promise<Setup> {
  const { sampling, weights, target, targetOptions } = planBatches(crops, options);
  // Every crop is prepared; when several fail, the first in the crops' order is reported (not the
  // first to fail in time, which would depend on read timing).
  const settled = await Promise.allSettled(crops.map((c) => CropSampler.create(c, sampling, weights === 'masked')));
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

/** One batch: xs [b, z, y, x, c] and ys [b, z', y', x', C + M], flat. */
export interface BatchArrays {
  xs: Float32Array;
  ys: Float32Array;
}

export class BatchMaker {
  readonly layout: BatchLayout;
  readonly batchSize: number;
  private readonly firstSample: number;
  private readonly root: Rng;
  private readonly scratch = new Scratch();
  private readonly pool = new BufferPool();
  private readonly regions = new RegionBuffers();
  /** The crops' boundary and distance tables, built as samples make them pay. */
  private readonly tables: CropTables;

  /**
   * `newArray` gives each batch's xs and ys; their contents may be arbitrary (a sample worker
   * reuses shared buffers: train/workers/batch-buffers.ts): every element is written. `tables`:
   * the crop tables to use (default: built as they pay, CropTables).
   */
  constructor(
    private readonly setup: Setup,
    options: BatchOptions | BatchPlan,
    private readonly newArray: (length: number) => Float32Array = (n) => new Float32Array(n),
    tables?: CropTables,
  ) {
    const plan = planBatches(
      setup.samplers.map((s) => s.crop),
      options,
    );
    this.batchSize = plan.batchSize;
    this.firstSample = plan.firstSample;
    this.root = makeRng(plan.seed);
    this.layout = {
      input: plan.sampling.input,
      output: plan.sampling.output,
      channels: setup.channels,
      target: plan.target,
      targetOptions: plan.targetOptions,
      distance: plan.distance,
      targetChannels: setup.targetChannels,
      maskChannels: setup.maskChannels,
    };
    this.tables = tables ?? new CropTables(plan.sampling.output);
  }

  /** Crop tables held now. */
  get tablesHeld(): number {
    return this.tables.size;
  }

  /** Gives back the memory of the crop tables (later batches build them again as they pay). */
  releaseTables(): void {
    this.tables.release();
  }

  /** Batch `index` of the sequence: a function of the seed and the index alone. */
  async make(index: number): Promise<BatchArrays> {
    const { input, output, channels, targetChannels, maskChannels } = this.layout;
    const B = this.batchSize;
    const xs = this.newArray(B * input[0]! * input[1]! * input[2]! * channels);
    const ys = this.newArray(B * output[0]! * output[1]! * output[2]! * (targetChannels + maskChannels));
    // The boundary and distance targets write every element of ys; the others write their ones only.
    if (this.layout.target !== 'boundary' && this.layout.target !== 'distance') ys.fill(0);
    await Promise.all(
      Array.from({ length: B }, async (_, b) => {
        const rng = this.root.fork(this.firstSample + index * B + b);
        const sampler = this.setup.samplers[pickCrop(this.setup.cumulative, rng.fork('crop'))]!;
        const plan = sampler.draw(rng.fork('sample'));
        const crop = sampler.crop;
        const distance = this.layout.targetOptions.distance;
        const context = distance ? distanceContext(crop.voxelSize, distance) : null;
        // Elastic with a target's context or shifts: the step-by-step read (its deformed boxes grown).
        if (!canFuse(crop, plan) || (plan.elastic && (context || plan.shift))) {
          // Noise/scale-shift or resampled arrays: the sampler's step-by-step read.
          writeSampleSteps(await sampler.read(plan, context), this.layout, xs, ys, b, crop.voxelSize);
          return;
        }
        const rois = sampler.rois(plan);
        let stored: StoredSample;
        let augment = plan.augment;
        if (plan.elastic) {
          // Deformed (and mirrored and transposed) ids: the boundary target comes from them, not the crop's table.
          const buffers = { pool: this.pool, regions: this.regions };
          stored = await readElasticStored(crop, rois, plan.elastic, augment, buffers);
          augment = augment && withoutGeometry(augment);
        } else {
          const tables = {
            boundary: this.layout.target === 'boundary' ? await BoundaryTable.forSample(this.tables, crop) : null,
            distance: distance ? await DistanceTable.forSample(this.tables, crop, distance) : null,
          };
          stored = await readStored(crop, rois, this.pool, { tables, context, shift: plan.shift ?? null });
        }
        if (plan.defect) stored.artifacts = await sampler.artifacts(plan.defect, [...input, this.layout.channels]);
        writeSample(
          stored,
          { augment, blur: plan.blur, defect: plan.defect },
          this.layout,
          { xs, ys },
          b,
          this.scratch,
        );
        releaseStored(stored, this.pool);
      }),
    );
    return { xs, ys };
  }
}
