/**
 * One crop: raw (with any context around the annotation), labels and an optional mask, sharing a
 * voxel size. `read` returns normalized raw, exact label ids and a known-ness mask (0 outside the
 * labels' region and where the stored mask is 0).
 */
import { DataFormatError, OptionsError } from '../errors.js';
import { cOrderStrides, fillBox } from './gather.js';
import { FLOAT_RAW_WARN_RANGE, normalizeRaw, type Normalization, sanitizeFloatRaw } from './normalize.js';
import { roiIntersect, roiIsEmpty, roiToString, roiVoxelShape, type Roi } from '../roi.js';
import type { Crop, CropSample, LabelArray, StoredArray } from '../types.js';
import type { ZarrVolume } from './volume.js';

const LABEL_DTYPES = new Set(['uint8', 'uint16', 'uint32', 'uint64']);
const MASK_DTYPES = new Set(['bool', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

export class ZarrCrop implements Crop {
  readonly name: string;
  readonly raw: ZarrVolume;
  readonly labels: ZarrVolume;
  readonly mask: ZarrVolume | null;
  readonly voxelSize: readonly number[];
  readonly normalization: Normalization;

  constructor(
    name: string,
    raw: ZarrVolume,
    labels: ZarrVolume,
    mask: ZarrVolume | null,
    normalization: Normalization,
  ) {
    this.name = name;
    this.raw = raw;
    this.labels = labels;
    this.mask = mask;
    this.normalization = normalization;
    validateCrop(raw, labels, mask);
    this.voxelSize = raw.voxelSize;
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
      this.mask ? this.mask.read(labelsRoi) : Promise.resolve(null),
    ]);
    const labelShape = roiVoxelShape(labelsRoi, this.voxelSize);
    const mask = knownMask(labelsRoi, this.labels.roi, this.voxelSize, labelShape, maskStored);
    return {
      raw: this.normalized(rawStored),
      rawShape: [...roiVoxelShape(roi, this.voxelSize), this.raw.channels],
      labels,
      mask,
      labelShape,
    };
  }
}

export async function readKnownMask(crop: ZarrCrop, labelsRoi: Roi): Promise<Uint8Array> {
  const stored = crop.mask ? await crop.mask.read(labelsRoi) : null;
  const shape = roiVoxelShape(labelsRoi, crop.voxelSize);
  return knownMask(labelsRoi, crop.labels.roi, crop.voxelSize, shape, stored);
}

/** 1 inside the labels' region where the stored mask (if any) is non-zero, else 0. */
function knownMask(
  region: Roi,
  labelsRoi: Roi,
  voxelSize: readonly number[],
  shape: number[],
  stored: StoredArray | null,
): Uint8Array {
  const voxels = shape.reduce((a, b) => a * b, 1);
  let mask: Uint8Array;
  try {
    mask = new Uint8Array(voxels);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new OptionsError(
      `the known mask over ${roiToString(region)} needs ${voxels} voxels, more than can be allocated at once`,
    );
  }
  const inside = roiIntersect(region, labelsRoi);
  if (roiIsEmpty(inside)) return mask;
  const lo = inside.offset.map((o, i) => (o - region.offset[i]!) / voxelSize[i]!);
  fillBox(mask, cOrderStrides(shape), lo, roiVoxelShape(inside, voxelSize), 1);
  if (stored !== null) {
    for (let v = 0; v < mask.length; v++) if (mask[v] && !(stored as Uint8Array)[v]) mask[v] = 0;
  }
  return mask;
}

function validateCrop(raw: ZarrVolume, labels: ZarrVolume, mask: ZarrVolume | null): void {
  const at = (v: ZarrVolume, attribute?: string) => ({ container: v.container, path: v.path, attribute });
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
  if (raw.voxelSize.some((v, i) => v !== labels.voxelSize[i])) {
    throw new DataFormatError(
      `raw voxel size [${raw.voxelSize.join(', ')}] differs from the voxel size [${labels.voxelSize.join(', ')}] ` +
        `of ${labels.path}; raw and labels must share the voxel size`,
      at(raw, 'voxel_size'),
    );
  }
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
    if (mask.voxelSize.length !== labels.voxelSize.length || mask.voxelSize.some((v, i) => v !== labels.voxelSize[i])) {
      throw new DataFormatError(
        `mask voxel size [${mask.voxelSize.join(', ')}] differs from the labels' [${labels.voxelSize.join(', ')}]`,
        at(mask, 'voxel_size'),
      );
    }
  }
}
