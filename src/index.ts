export { DataConfig, type DataConfigOptions } from './config.js';
export { openDataSplit, type DataSplit, type Layout } from './split.js';
export { DataFormatError, OptionsError } from './errors.js';
export * from './roi.js';
export type { Crop, CropSample, DType, LabelArray, StoredArray, Volume } from './types.js';
export { ZarrCrop } from './crop.js';
export { ZarrVolume } from './volume.js';
export { ChunkCache, DEFAULT_CACHE_BYTES, DEFAULT_CONCURRENCY } from './chunk-cache.js';
export { rawNormalization, type Normalization } from './normalize.js';
