/**
 * tfjs-zarr: train TensorFlow.js segmentation models on DaCapo-style zarr crops.
 */
// Reading
export { DataConfig, type DataConfigOptions, openDataSplit, type DataSplit, type Layout } from './zarr/index.js';
export { DataFormatError, OptionsError } from './errors.js';
export * from './roi.js';
export type { Crop, CropSample, DType, LabelArray, StoredArray, Volume } from './types.js';
export { ZarrCrop } from './zarr/crop.js';
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
export { CropSampler, type SamplingOptions, type SamplePlan } from './train/sampler.js';
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

// Applying a model to whole volumes (blockwise, into zarr)
export {
  predictVolume,
  segmentVolume,
  modelGeometry,
  resolveSegmentParameters,
  openArray,
  parseArrayLocation,
  blockGrid,
  blocksOfWorker,
  blockIndexAt,
  resolveWorkerSlot,
  workerFromEnvironment,
  type Block,
  type BlockGrid,
  type BlockProgress,
  type BlockwiseOptions,
  type BlockwiseResult,
  type PredictVolumeOptions,
  type SegmentMethod,
  type SegmentParameters,
  type SegmentPhase,
  type SegmentResult,
  type SegmentVolumeOptions,
  type WorkerSlot,
} from './apply/index.js';
export {
  ZarrArrayWriter,
  funlibAttributes,
  type ArrayLocation,
  type ArraySpec,
  type Compressor,
  type WritableDType,
} from './zarr/write/index.js';

// Models and backends
export { unet3d, modelOutputShape, modelInputShape, type UNetOptions } from './models/unet.js';
export { UpSampling3D, Cropping3D } from './models/layers.js';
export { PatchConv3D, patchConv3d, type PatchConv3DArgs } from './models/conv3d.js';
export { useFastestBackend, describeBackend } from './backend.js';
