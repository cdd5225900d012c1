import type { Roi } from './roi.js';

/** zarr's dtype names for the arrays we read. */
export type DType =
  | 'bool'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float32'
  | 'float64';

/** What `volume.read` returns: stored values, C order over [spatial..., channels]. */
export type StoredArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/**
 * Label ids: as stored (unsigned; uint64 ids arrive as BigUint64Array, never through float), or
 * relabelled to Int32Array for tensors (`labelsToInt32`).
 */
export type LabelArray = Uint8Array | Uint16Array | Uint32Array | Int32Array | BigUint64Array;

/** One zarr array with its world-coordinate metadata. */
export interface Volume {
  /** The container this array lives in (path or URL), for messages. */
  readonly container: string;
  /** Path of the array inside the container, e.g. 'train/crop_03/raw'. */
  readonly path: string;
  readonly dtype: DType;
  /** As stored, channel axes included, e.g. [2, z, y, x]. */
  readonly shape: readonly number[];
  readonly axisNames: readonly string[];
  /** 'space' or 'channel' per stored axis (funlib's `types`, or from `^` in the names). */
  readonly types?: readonly ('space' | 'channel')[];
  /** Spatial axes only. */
  readonly voxelSize: readonly number[];
  readonly offset: readonly number[];
  readonly units: readonly string[];
  /** World region covered by the array (spatial axes). */
  readonly roi: Roi;
  /** Number of channels (1 when the array has no channel axis). */
  readonly channels: number;
  /** Stored values over `roi` (world units, voxel aligned), C order [spatial..., c], zero-filled outside. */
  read(roi: Roi): Promise<StoredArray>;
}

/** The arrays of one crop read over a region. Shapes are in voxels. */
export interface CropSample {
  /** Normalized raw, float32, [z, y, x, c]. */
  raw: Float32Array;
  rawShape: number[];
  /** Label ids, [z, y, x] at the labels' voxel size, exact. */
  labels: LabelArray;
  /** 1 where known, 0 where unknown (mask 0, or outside the labels' region). [z, y, x] */
  mask: Uint8Array;
  labelShape: number[];
}

export interface Crop {
  readonly name: string;
  readonly raw: Volume;
  readonly labels: Volume;
  readonly mask: Volume | null;
  /**
   * The labels' voxel size: labels, mask, targets, predictions and scores are on this grid. Raw's
   * is `raw.voxelSize` (the same, or an integer multiple or fraction of it per axis).
   */
  readonly voxelSize: readonly number[];
  /**
   * Reads raw over `roi` (at raw's voxel size) and labels/mask over `labelsRoi` (at the labels',
   * default: the same `roi`). Both in world units, aligned to their array's voxel size.
   */
  read(roi: Roi, labelsRoi?: Roi): Promise<CropSample>;
  /** Normalized raw alone over `roi`, float32 [z, y, x, c]. */
  readRaw(roi: Roi): Promise<Float32Array>;
  /** Known-ness over `labelsRoi` alone (1 known, 0 unknown), [z, y, x]. */
  readMask(labelsRoi: Roi): Promise<Uint8Array>;
}
