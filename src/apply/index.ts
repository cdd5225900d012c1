/** Applying a trained model to whole volumes: blockwise prediction and segmentation into zarr. */
export { predictVolume, modelGeometry, type PredictVolumeOptions } from './predict-volume.js';
export type {
  BlockProgress,
  BlockwiseOptions,
  BlockwiseResult,
  CoordinationOptions,
  OutputOptions,
  WaitOptions,
} from './job.js';
export {
  segmentVolume,
  labelBlock,
  resolveSegmentParameters,
  PREDICTION_PARAMETERS_ATTRIBUTE,
  type SegmentCoordinationOptions,
  type SegmentMethod,
  type SegmentParameterOptions,
  type SegmentParameters,
  type SegmentPhase,
  type SegmentResult,
  type SegmentVolumeOptions,
} from './segment.js';
export { blockGrid, blocksOfWorker, blockIndexAt, type Block, type BlockGrid } from './blocks.js';
export { joinShells, blockShell, type Shell, type JoinResult } from './join.js';
export { BlockMarkers, MARKERS_DIR } from './markers.js';
export { openArray, parseArrayLocation } from './open.js';
export { resolveWorkerSlot, workerFromEnvironment, type WorkerSlot } from './workers.js';
