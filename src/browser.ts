/**
 * tfjs-zarr in a page (package.json `exports` condition `browser`): the same API as the Node
 * entry (index.ts) for reading containers, training, evaluating and checkpoints, with the page's
 * media — containers over http(s) or picked by the user, runs in IndexedDB, Web Workers, the
 * browser's backends — and without what needs a file system or processes (blockwise prediction
 * into zarr, zarr writers, `trainRun` and the run report). Pinned by test/public-api.test.ts.
 */
// Data: containers, crops and volumes in world coordinates
export { DataConfig, type DataConfigOptions } from './zarr/config.js';
export type { ContainerSource } from './zarr/stores/source.js';
export { DEFAULT_HTTP_OPTIONS, type HttpOptions } from './zarr/stores/http.js';
export { openDataSplit, type DataSplit, type Layout } from './zarr/split.js';
export type { CropVolume, ZarrCrop } from './zarr/crop.js';
export type { Interpolation, ResampledVolume } from './zarr/resample.js';
export type { ZarrVolume } from './zarr/volume.js';
export type { ChunkCache, CacheStats } from './zarr/chunk-cache.js';
export type { DecodedChunk } from './zarr/chunks.js';
export type { Normalization } from './zarr/normalize.js';
export type { Crop, CropSample, DType, LabelArray, StoredArray, Volume, VolumePiece, VolumePieces } from './types.js';
export { roi, roiGrow, roiIntersect, roiToString, type Roi } from './roi.js';
export { DataFormatError, JobStateError, OptionsError } from './errors.js';

// Training: datasets for fitDataset and masked losses
export {
  cropDataset,
  trainingDataset,
  type CropDatasetOptions,
  type CropWeights,
  type TrainingDataset,
  type TrainingDatasetOptions,
  type TrainingElement,
  type TrainingSetup,
} from './train/dataset.js';
export type { SampleAugmentOptions, SamplingOptions } from './train/sampler.js';
export type { ElasticOptions } from './train/elastic.js';
export type { NoiseOptions, ScaleShiftOptions } from './train/intensity.js';
export type { ArtifactOptions, BlurOptions, DefectOptions } from './train/defects.js';
export type { ShiftOptions } from './train/shift.js';
export type { AugmentOptions } from './train/augment.js';
export {
  distanceTarget,
  targetChannels,
  type DistanceOptions,
  type LabelId,
  type TargetFn,
  type TargetKind,
  type TargetOptions,
  type TargetResult,
} from './train/targets.js';
export {
  maskedLoss,
  maskedMetric,
  type LossName,
  type MaskedLossFn,
  type MaskedLossOptions,
  type PerVoxelLoss,
} from './train/loss.js';

// Evaluation: prediction, post-processing, VOI, the validation hook, checkpoints and scores
export { predictCrop, type PredictOptions, type Prediction } from './eval/predict-crop.js';
export {
  affinityPostProcessor,
  boundaryPostProcessor,
  customPostProcessor,
  distancePostProcessor,
  semanticPostProcessor,
  watershedPostProcessor,
  type PostProcessParameters,
  type PostProcessor,
  type WatershedOptions,
} from './eval/postprocess.js';
export {
  adaptedRandError,
  cremiScore,
  segmentationScores,
  variationOfInformation,
  type AdaptedRandResult,
  type SegmentationScores,
  type VoiOptions,
  type VoiResult,
} from './eval/voi.js';
export { binaryScores, type BinaryOptions, type BinaryScores } from './eval/binary.js';
export { distanceClasses, semanticClasses, type ScoreClass } from './eval/classes.js';
export { regionalMaxima, seededWatershed } from './eval/watershed.js';
export {
  ValidationHook,
  type BestScore,
  type Evaluation,
  type ValidationHookOptions,
} from './eval/hook.js';
export { loadCheckpoint, readCheckpointInfo, type SaveCheckpointOptions } from './eval/checkpoint.js';
export { downloadCheckpoint, type DownloadCheckpointOptions } from './eval/download.js';
export { bestByCrop, readScores, SCORE_NAMES, type ScoreName, type ScoreRow } from './eval/scores.js';

// Models and backends
export {
  modelOutputShape,
  unet3d,
  type FinalActivation,
  type Padding,
  type UNetOptions,
  type UNetSizeOptions,
} from './models/unet.js';
export { Cropping3D, MaxPool3D, UpSampling3D } from './models/layers.js';
export { PatchConv3D, type PatchConv3DArgs } from './models/conv3d.js';
export {
  describeBackend,
  useFastestBackend,
  type BackendName,
  type BackendOptions,
} from './backend-browser.js';
