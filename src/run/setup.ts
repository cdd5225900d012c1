/**
 * What a run config turns into: the data split, the model (compiled with its optimizer and
 * masked loss), the training dataset options and the post-processing — shared by training and
 * the report, so both see the same run.
 */
import * as tf from '@tensorflow/tfjs';
import { DataConfig } from '../zarr/config.js';
import { openDataSplit, type DataSplit } from '../zarr/split.js';
import type { Crop } from '../types.js';
import { maskedLoss } from '../train/loss.js';
import type { TrainingDatasetOptions } from '../train/dataset.js';
import { unet3d } from '../models/unet.js';
import {
  affinityPostProcessor,
  boundaryPostProcessor,
  distancePostProcessor,
  semanticPostProcessor,
  watershedPostProcessor,
  type PostProcessor,
} from '../eval/postprocess.js';
import { distanceClasses, semanticClasses } from '../eval/classes.js';
import type { ValidationHookOptions } from '../eval/hook.js';
import { targetChannels } from '../train/targets.js';
import type { DistanceOptions } from '../train/targets/distance.js';
import type { PredictOptions } from '../eval/predict-crop.js';
import { ConfigError } from './check.js';
import { modelOutputSpatialShape, targetOutputChannels, type RunConfig } from './config.js';

export async function openRunData(config: RunConfig): Promise<DataSplit> {
  return openDataSplit(new DataConfig(config.data));
}

/** Checks the config against the data: an input patch that fits no train crop is an error. */
export function checkConfigAgainstData(config: RunConfig, split: DataSplit): void {
  const rawVoxels = (c: Crop) => c.raw.roi.shape.map((s, i) => s / c.raw.voxelSize[i]!);
  const fits = split.train.some((c) => rawVoxels(c).every((s, i) => config.inputShape[i]! <= s));
  if (!fits) {
    throw new ConfigError(
      'inputShape',
      `[${config.inputShape.join(', ')}] voxels is larger than every train crop's raw (${split.train
        .map((c) => `${c.name} [${rawVoxels(c).join(', ')}]`)
        .join(', ')}); use a smaller inputShape`,
    );
  }
  checkVoxelSizesAgainstModel(config, split);
}

/**
 * Raw and labels at different voxel sizes: the model's output voxel size (raw's / outputUpsample ·
 * outputDownsample) must be every crop's labels' voxel size.
 */
export function checkVoxelSizesAgainstModel(config: RunConfig, split: DataSplit): void {
  const up = config.model.outputUpsample ?? [1, 1, 1];
  const down = config.model.outputDownsample ?? [1, 1, 1];
  for (const crop of [...split.train, ...split.test]) {
    const raw = crop.raw.voxelSize;
    if (!crop.voxelSize) continue; // a crop described by its raw alone (as in checks of the input shape)
    const out = raw.map((v, i) => (v / up[i]!) * down[i]!);
    if (out.every((v, i) => v === crop.voxelSize[i])) continue;
    const ratio = raw.map((v, i) => v / crop.voxelSize[i]!);
    const [key, fix] = ratio.every((r) => r >= 1)
      ? ['model.outputUpsample', `model.outputUpsample [${ratio.join(', ')}]`]
      : ratio.every((r) => r <= 1)
        ? ['model.outputDownsample', `model.outputDownsample [${ratio.map((r) => 1 / r).join(', ')}]`]
        : ['data.resample', 'one voxel size'];
    throw new ConfigError(
      key,
      `crop ${crop.name} has raw at [${raw.join(', ')}] and labels at [${crop.voxelSize.join(', ')}], but the model's ` +
        `output would be at [${out.join(', ')}]; set ${fix}, or data.resample ('raw' or 'labels') for one voxel size`,
    );
  }
}

export function rawChannels(split: DataSplit): number {
  return split.train[0]?.raw.channels ?? 1;
}

/** The run's model, compiled (initial weights from `model.seed`). */
export function buildModel(config: RunConfig, channels: number): tf.LayersModel {
  const m = config.model;
  const model = unet3d({
    inputShape: [...config.inputShape, channels],
    outputChannels: m.outputChannels,
    baseFilters: m.baseFilters,
    fmapIncFactor: m.fmapIncFactor,
    downsampleFactors: m.downsampleFactors,
    kernelSizes: m.kernelSizes,
    padding: m.padding,
    convsPerBlock: m.convsPerBlock,
    finalActivation: m.finalActivation,
    seed: m.seed,
    outputUpsample: m.outputUpsample,
    outputDownsample: m.outputDownsample,
  });
  const optimizer =
    config.optimizer.name === 'adam'
      ? tf.train.adam(config.optimizer.learningRate)
      : tf.train.sgd(config.optimizer.learningRate);
  const { maskChannels } = targetChannels(config.target.kind, targetOptionsOf(config))!;
  model.compile({ optimizer, loss: maskedLoss(config.loss, { maskChannels }) });
  return model;
}

/** The target's options as trainingDataset takes them. */
function targetOptionsOf(config: RunConfig): Pick<TrainingDatasetOptions, 'offsets' | 'numClasses' | 'distance'> {
  const t = config.target;
  if (t.kind === 'affinities') return { offsets: t.offsets };
  if (t.kind === 'semantic') return { numClasses: targetOutputChannels(t) };
  if (t.kind === 'distance') {
    const { kind: _kind, ...distance } = t;
    return { distance: distance as DistanceOptions };
  }
  return {};
}

export function datasetOptions(config: RunConfig, firstSample: number): TrainingDatasetOptions {
  const t = config.target;
  return {
    inputShape: config.inputShape,
    outputShape: modelOutputSpatialShape(config.inputShape, config.model),
    batchSize: config.batchSize,
    seed: config.seed,
    target: t.kind,
    ...targetOptionsOf(config),
    cropWeights: config.cropWeights,
    minMasked: config.minMasked,
    augment: config.augment,
    firstSample,
    // The training loop (run/train.ts) disposes each batch after its step and keeps nothing of it.
    reuseDisposed: true,
  };
}

export function postProcessorOf(config: RunConfig): PostProcessor {
  const t = config.target;
  const v = config.validation;
  if ((t.kind === 'boundary' || t.kind === 'distance') && v.postProcessing === 'watershed')
    return watershedPostProcessor({ input: t.kind, seeds: v.seeds, thresholds: v.thresholds });
  if (t.kind === 'distance') return distancePostProcessor({ thresholds: v.thresholds });
  if (t.kind === 'boundary')
    return boundaryPostProcessor({ thresholds: config.validation.thresholds, grow: config.validation.grow });
  if (t.kind === 'affinities')
    return affinityPostProcessor({ offsets: t.offsets, thresholds: config.validation.thresholds });
  return semanticPostProcessor();
}

export function predictOptionsOf(config: RunConfig): PredictOptions {
  return {
    outputShape: config.validation.predictOutputShape ?? undefined,
    batchSize: config.validation.predictBatchSize,
  };
}

/** The ValidationHook's scores, criteria and classes of a run. */
export function hookScoresOf(
  config: RunConfig,
): Pick<ValidationHookOptions, 'scores' | 'criterion' | 'keepBestBy' | 'classes' | 'clipDistance' | 'tolDistance'> {
  const t = config.target;
  const v = config.validation;
  return {
    scores: v.scores,
    criterion: v.criterion,
    keepBestBy: v.keepBestBy,
    ...(t.kind === 'semantic' ? { classes: semanticClasses(t.classes) } : {}),
    ...(t.kind === 'distance'
      ? {
          classes: distanceClasses(t),
          ...(t.clipDistance !== undefined ? { clipDistance: t.clipDistance } : {}),
          ...(t.tolDistance !== undefined ? { tolDistance: t.tolDistance } : {}),
        }
      : {}),
  };
}
