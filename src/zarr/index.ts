/**
 * The reading layer: zarr containers (v2/v3; local, http, zip; OME-NGFF) opened as DaCapo-style
 * data splits of crops, each array a `Volume` read in world coordinates.
 */
export { DataConfig, type DataConfigOptions } from './config.js';
export { DEFAULT_HTTP_OPTIONS, type HttpOptions } from './stores/http.js';
export { openDataSplit, type DataSplit, type Layout } from './split.js';
export { ZarrCrop } from './crop.js';
export { ZarrVolume } from './volume.js';
export { rawNormalization, type Normalization } from './normalize.js';
