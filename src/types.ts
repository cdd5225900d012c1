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
  /**
   * Stored values over `roi` (world units, voxel aligned), C order [spatial..., c], zero-filled
   * outside. `into`: an array of this dtype and the region's size that the volume may write into
   * and return instead of a new one.
   */
  read(roi: Roi, into?: StoredArray): Promise<StoredArray>;
  /**
   * Optional fast path: the chunks `roi` touches, each with the box it gives, so that a sample is
   * read from them in place instead of through a gathered copy (`read` = these boxes copied into
   * a zero-filled array). Used for one-channel 8- and 16-bit raw with 3 axes.
   */
  pieces?(roi: Roi): Promise<VolumePieces>;
  /**
   * Optional: takes `bytes` of this array's memory budget (e.g. its chunk cache's cap) for data
   * derived from it, such as a training dataset's boundary table of these labels; returns the
   * function that gives them back, or null when they do not fit. Without it no such data is kept.
   */
  reserveBytes?(bytes: number): (() => void) | null;
}

/** One chunk's part of a region read in place (`Volume.pieces`). */
export interface VolumePiece {
  /** The decoded chunk: its values (null: not stored, every value the fill value), shape and C-order strides. */
  chunk: { data: StoredArray | null; shape: number[]; stride: number[] };
  /** Where the box begins in the chunk and in the region, and its size, per stored axis. */
  srcStart: number[];
  dstStart: number[];
  count: number[];
}

/** A region read in place: its pieces, whether it lies within the array, and the fill value of the rest. */
export interface VolumePieces {
  pieces: VolumePiece[];
  inside: boolean;
  fillValue: number | bigint;
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
  /**
   * Optional fast path: offered by a crop whose `read` is its arrays' stored values as they are,
   * raw times this factor (as float32, one channel or more at raw's voxel size), the labels as
   * stored and the mask as stored at the labels' voxel size (non-zero known, unknown outside the
   * labels' region). Training batches are then assembled from the stored values in one pass per
   * array (and its labels' boundary table), with the same bytes as from `read`.
   */
  readonly storedRawScale?: number;
}
