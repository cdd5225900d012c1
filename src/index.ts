/**
 * tfjs-zarr: train TensorFlow.js segmentation models on DaCapo-style zarr crops.
 */
// Reading
export { DataConfig, type DataConfigOptions, openDataSplit, type DataSplit, type Layout } from './zarr/index.js';
export { DataFormatError, OptionsError } from './errors.js';
export * from './roi.js';
export type { Crop, CropSample, DType, LabelArray, StoredArray, Volume } from './types.js';
export { ZarrCrop, type CropVolume } from './zarr/crop.js';
export { ResampledVolume, type Interpolation } from './zarr/resample.js';
export { coarserGrid, contextBegin, isIntegerRatio } from './grid.js';
export { ZarrVolume } from './zarr/volume.js';
export { ChunkCache, DEFAULT_CACHE_BYTES, DEFAULT_CONCURRENCY, type CacheStats } from './zarr/chunk-cache.js';
export { rawNormalization, type Normalization } from './zarr/normalize.js';

// Training
export {
  cropDataset,
  trainingDataset,
  labelsToInt32,
  type CropDatasetOptions,
  type CropWeights,
  type TrainingDatasetOptions,
  type TrainingElement,
} from './train/dataset.js';
export { CropSampler, type SampleAugmentOptions, type SamplingOptions, type SamplePlan } from './train/sampler.js';
export {
  planElastic,
  readElastic,
  sourcePositions,
  sampleLinear,
  sampleNearest,
  type ElasticOptions,
  type ElasticPlan,
} from './train/elastic.js';
export {
  planRawAugment,
  applyRawAugment,
  type NoiseOptions,
  type ScaleShiftOptions,
  type RawAugmentPlan,
} from './train/intensity.js';
export { maskedLoss, maskedMetric, type LossName, type MaskedLossOptions, type PerVoxelLoss } from './train/loss.js';
export {
  makeTarget,
  boundaryTarget,
  affinitiesTarget,
  semanticTarget,
  targetChannels,
  DEFAULT_AFFINITY_OFFSETS,
  type TargetFn,
  type TargetKind,
  type TargetOptions,
  type TargetResult,
} from './train/targets.js';
export { planAugment, applyAugment, type AugmentOptions, type AugmentPlan } from './train/augment.js';
export { makeRng, type Rng } from './train/random.js';

// Evaluation
export { variationOfInformation, type VoiResult, type VoiOptions } from './eval/voi.js';
export { connectedComponents, affinityComponents, growLabels } from './eval/components.js';
export {
  boundaryPostProcessor,
  affinityPostProcessor,
  semanticPostProcessor,
  customPostProcessor,
  type PostProcessor,
  type PostProcessParameters,
} from './eval/postprocess.js';
export { predictCrop, tileStarts, type PredictOptions, type Prediction } from './eval/predict.js';
export {
  ValidationHook,
  type ValidationHookOptions,
  type Evaluation,
  type CropScore,
  type BestRecord,
} from './eval/hook.js';
export { saveCheckpoint, loadCheckpoint, readCheckpointInfo } from './eval/checkpoint.js';
export { appendScores, readScores, bestByCrop } from './eval/scores.js';

// Models and backends
export {
  unet3d,
  modelOutputShape,
  modelInputShape,
  unetOutputSize,
  unetValidInputSize,
  type UNetOptions,
  type UNetSizeOptions,
} from './models/unet.js';
export { UpSampling3D, Cropping3D } from './models/layers.js';
export { PatchConv3D, patchConv3d, type PatchConv3DArgs } from './models/conv3d.js';
export { useFastestBackend, describeBackend } from './backend.js';
