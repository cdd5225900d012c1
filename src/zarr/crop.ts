/**
 * One crop: raw (with any context around the annotation), labels and an optional mask. Raw and
 * labels may have different voxel sizes when, per axis, one is an integer multiple of the other
 * (and every offset is a multiple of the coarser size): raw is read at its voxel size, labels and
 * mask at the labels' (a mask stored at another voxel size is seen at the labels' by nearest
 * neighbour). `read` returns normalized raw, exact label ids and a known-ness mask (0 outside the
 * labels' region and where the stored mask is 0).
 */
import { DataFormatError, OptionsError } from '../errors.js';
import type { DataConfig } from './config.js';
import { cOrderStrides, fillBox } from './gather.js';
import { FLOAT_RAW_WARN_RANGE, normalizeRaw, type Normalization, sanitizeFloatRaw } from './normalize.js';
import { coarserGrid, isIntegerRatio } from '../voxel-grid.js';
import { roiContains, roiIntersect, roiIsEmpty, roiToString, roiVoxelShape, type Roi } from '../roi.js';
import type { Crop, CropSample, LabelArray, StoredArray } from '../types.js';
import { ResampledVolume } from './resample.js';
import { ZarrVolume } from './volume.js';

/** An array of a crop: as stored, or seen at another voxel size. */
export type CropVolume = ZarrVolume | ResampledVolume;

const LABEL_DTYPES = new Set(['uint8', 'uint16', 'uint32', 'uint64']);
const MASK_DTYPES = new Set(['bool', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

export class ZarrCrop implements Crop {
  readonly name: string;
  readonly raw: CropVolume;
  readonly labels: CropVolume;
  readonly mask: CropVolume | null;
  /** The labels' voxel size: labels, mask, targets, predictions and scores are on this grid. */
  readonly voxelSize: readonly number[];
  /** The coarser of raw's and the labels' voxel sizes per axis: samples are centred on this grid. */
  readonly grid: readonly number[];
  readonly normalization: Normalization;
  /** How the crop was opened (openDataSplit's config), so that a worker can open it again. */
  readonly config: DataConfig | null;
  /** The mask as read: at the labels' voxel size. */
  readonly maskAtLabels: CropVolume | null;
  /**
   * `normalization.scale` when raw and labels are read as stored (not resampled) and the mask is
   * at the labels' voxel size: batches are then assembled from the stored values (Crop.storedRawScale).
   */
  readonly storedRawScale?: number;

  constructor(
    name: string,
    raw: CropVolume,
    labels: CropVolume,
    mask: CropVolume | null,
    normalization: Normalization,
    config: DataConfig | null = null,
  ) {
    this.config = config;
    this.name = name;
    this.raw = raw;
    this.labels = labels;
    validateCrop(raw, labels, mask);
    this.mask = mask;
    // A mask at another voxel size than the labels' is read at the labels' (nearest neighbour).
    const maskElsewhere = mask?.voxelSize.some((v, i) => v !== labels.voxelSize[i]) === true;
    if (maskElsewhere && mask.voxelSize.length !== 3) {
      throw new DataFormatError(
        `mask voxel size [${mask.voxelSize.join(', ')}] differs from the labels' [${labels.voxelSize.join(', ')}]; ` +
          'a mask at another voxel size is supported with 3 spatial axes only',
        { container: mask.container, path: mask.path, attribute: 'voxel_size' },
      );
    }
    this.maskAtLabels = maskElsewhere
      ? new ResampledVolume(mask instanceof ResampledVolume ? mask.source : mask, labels.voxelSize, 'nearest')
      : mask;
    this.normalization = normalization;
    const asStored = (v: CropVolume | null) => v instanceof ZarrVolume;
    if (asStored(raw) && asStored(labels) && (mask === null || (asStored(mask) && this.maskAtLabels === mask)))
      this.storedRawScale = normalization.scale;
    this.voxelSize = labels.voxelSize;
    this.grid = coarserGrid(raw.voxelSize, labels.voxelSize);
  }

  async readRaw(roi: Roi): Promise<Float32Array> {
    return this.normalized(await this.raw.read(roi));
  }

  private readonly warned = { nonFinite: false, outside: false };

  /** Normalized raw; float raw has NaN/±Infinity replaced by 0, each oddity warned once per crop. */
  private normalized(stored: StoredArray): Float32Array {
    const values = normalizeRaw(stored, this.normalization);
    if (this.raw.dtype !== 'float32' && this.raw.dtype !== 'float64') return values;
    const check = sanitizeFloatRaw(values);
    const where = `tfjs-zarr: ${this.raw.container}, array ${this.raw.path} (crop ${this.name})`;
    if (check.nonFinite > 0 && !this.warned.nonFinite) {
      this.warned.nonFinite = true;
      console.warn(
        `${where}: ${check.nonFinite} NaN/Infinity raw values (stored, or the fill value) replaced by 0; warned once per crop`,
      );
    }
    if (check.outside > 0 && !this.warned.outside) {
      this.warned.outside = true;
      console.warn(
        `${where}: float raw is assumed in [0, 1] but ${check.outside} values lie outside ` +
          `[${FLOAT_RAW_WARN_RANGE.join(', ')}] (from ${check.min} to ${check.max}); they are used unscaled ` +
          '(give DataConfig a rawScale, or store raw in [0, 1]); warned once per crop',
      );
    }
    return values;
  }

  readMask(labelsRoi: Roi): Promise<Uint8Array> {
    return readKnownMask(this, labelsRoi);
  }

  async read(roi: Roi, labelsRoi: Roi = roi): Promise<CropSample> {
    const [rawStored, labels, maskStored] = await Promise.all([
      this.raw.read(roi),
      this.labels.read(labelsRoi) as Promise<LabelArray>,
      this.maskAtLabels ? this.maskAtLabels.read(labelsRoi) : Promise.resolve(null),
    ]);
    const labelShape = roiVoxelShape(labelsRoi, this.voxelSize);
    const mask = knownMask(labelsRoi, this.labels.roi, this.voxelSize, labelShape, maskStored);
    return {
      raw: this.normalized(rawStored),
      rawShape: [...roiVoxelShape(roi, this.raw.voxelSize), this.raw.channels],
      labels,
      mask,
      labelShape,
    };
  }
}

export async function readKnownMask(crop: ZarrCrop, labelsRoi: Roi): Promise<Uint8Array> {
  const stored = crop.maskAtLabels ? await crop.maskAtLabels.read(labelsRoi) : null;
  const shape = roiVoxelShape(labelsRoi, crop.voxelSize);
  return knownMask(labelsRoi, crop.labels.roi, crop.voxelSize, shape, stored);
}

/** 1 inside the labels' region where the stored mask (if any) is non-zero, else 0 (into `into` if given). */
export function knownMask(
  region: Roi,
  labelsRoi: Roi,
  voxelSize: readonly number[],
  shape: number[],
  stored: StoredArray | null,
  into?: Uint8Array,
): Uint8Array {
  const voxels = shape.reduce((a, b) => a * b, 1);
  let mask: Uint8Array;
  try {
    mask = into ?? new Uint8Array(voxels);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new OptionsError(
      `the known mask over ${roiToString(region)} needs ${voxels} voxels, more than can be allocated at once`,
    );
  }
  if (stored instanceof Uint8Array && stored.length === voxels && roiContains(labelsRoi, region)) {
    // The usual case (a patch inside the labels): one pass over the stored mask.
    for (let v = 0; v < voxels; v++) mask[v] = stored[v] !== 0 ? 1 : 0;
    return mask;
  }
  mask.fill(0);
  const inside = roiIntersect(region, labelsRoi);
  if (roiIsEmpty(inside)) return mask;
  const lo = inside.offset.map((o, i) => (o - region.offset[i]!) / voxelSize[i]!);
  fillBox(mask, cOrderStrides(shape), lo, roiVoxelShape(inside, voxelSize), 1);
  if (stored !== null) {
    for (let v = 0; v < mask.length; v++) if (mask[v] && !(stored as Uint8Array)[v]) mask[v] = 0;
  }
  return mask;
}

function validateCrop(raw: CropVolume, labels: CropVolume, mask: CropVolume | null): void {
  const at = (v: CropVolume, attribute?: string) => ({ container: v.container, path: v.path, attribute });
  if (!LABEL_DTYPES.has(labels.dtype)) {
    throw new DataFormatError(
      `labels have dtype ${labels.dtype}; labels must be unsigned integers (uint8, uint16, uint32, uint64)`,
      at(labels, 'dtype'),
    );
  }
  if (labels.channelAxis !== null) {
    throw new DataFormatError('labels must not have a channel axis', at(labels, 'axis_names'));
  }
  if (raw.voxelSize.length !== labels.voxelSize.length) {
    throw new DataFormatError(
      `raw has ${raw.voxelSize.length} spatial axes but labels (${labels.path}) have ${labels.voxelSize.length}`,
      at(raw, 'axis_names'),
    );
  }
  checkGrids(raw, labels, mask);
  if (roiIsEmpty(roiIntersect(raw.roi, labels.roi))) {
    throw new DataFormatError(
      `labels region ${roiToString(labels.roi)} does not overlap the raw region ${roiToString(raw.roi)} of ${raw.path}`,
      at(labels, 'offset'),
    );
  }
  if (mask) {
    if (!MASK_DTYPES.has(mask.dtype)) {
      throw new DataFormatError(`mask has dtype ${mask.dtype}; a mask must be of an integer dtype`, at(mask, 'dtype'));
    }
    if (mask.channelAxis !== null) {
      throw new DataFormatError('mask must not have a channel axis', at(mask, 'axis_names'));
    }
  }
}

/**
 * `DataConfig.resample`: the crop's arrays seen at one voxel size, for models with one voxel
 * size. 'raw': labels and mask at raw's voxel size (nearest neighbour); 'labels': raw at the
 * labels' (linear interpolation). Arrays already at that voxel size are returned as they are.
 */
export function resampleCrop(
  raw: ZarrVolume,
  labels: ZarrVolume,
  mask: ZarrVolume | null,
  resample: 'raw' | 'labels' | undefined,
): [CropVolume, CropVolume, CropVolume | null] {
  if (!resample) return [raw, labels, mask];
  checkGrids(raw, labels, mask);
  const to = resample === 'raw' ? raw.voxelSize : labels.voxelSize;
  const at = (v: ZarrVolume, how: 'nearest' | 'linear'): CropVolume => {
    if (v.voxelSize.every((s, i) => s === to[i])) return v;
    if (v.voxelSize.length !== 3) {
      throw new OptionsError(
        `DataConfig resample: ${v.container}, array ${v.path} has ${v.voxelSize.length} spatial axes; ` +
          'resampling supports 3 (z, y, x)',
      );
    }
    return new ResampledVolume(v, to, how);
  };
  return [at(raw, 'linear'), at(labels, 'nearest'), mask ? at(mask, 'nearest') : null];
}

/**
 * Raw, labels and mask voxel sizes at integer ratios per axis, every offset a multiple of the
 * coarsest voxel size (so the arrays' grids meet there). Exported for opening with `resample`,
 * which checks before it resamples.
 */
export function checkGrids(raw: CropVolume, labels: CropVolume, mask: CropVolume | null): void {
  const at = (v: CropVolume, attribute?: string) => ({ container: v.container, path: v.path, attribute });
  const fmt = (a: readonly number[]) => `[${a.join(', ')}]`;
  const arrays = [raw, labels, ...(mask ? [mask] : [])];
  for (const v of arrays.slice(1)) {
    if (v.voxelSize.length !== raw.voxelSize.length) {
      throw new DataFormatError(
        `has ${v.voxelSize.length} spatial axes but raw (${raw.path}) has ${raw.voxelSize.length}`,
        at(v, 'voxel_size'),
      );
    }
    if (!isIntegerRatio(v.voxelSize, raw.voxelSize) || !isIntegerRatio(v.voxelSize, labels.voxelSize)) {
      const other = isIntegerRatio(v.voxelSize, raw.voxelSize) ? labels : raw;
      throw new DataFormatError(
        `voxel size ${fmt(v.voxelSize)} and the voxel size ${fmt(other.voxelSize)} of ${other.path} are not ` +
          'integer multiples of each other on every axis (supported: e.g. raw 4 nm with labels 2 nm or 8 nm)',
        at(v, 'voxel_size'),
      );
    }
  }
  const grid = coarserGrid(...arrays.map((v) => v.voxelSize));
  for (const v of arrays) {
    if (v.offset.some((o, i) => o % grid[i]! !== 0)) {
      throw new DataFormatError(
        `offset ${fmt(v.offset)} is not a multiple of ${fmt(grid)}, the coarsest voxel size of the crop's ` +
          `arrays (raw ${fmt(raw.voxelSize)}, labels ${fmt(labels.voxelSize)}${mask ? `, mask ${fmt(mask.voxelSize)}` : ''}); ` +
          'arrays at different voxel sizes must start on the coarser grid',
        at(v, 'offset'),
      );
    }
  }
}
