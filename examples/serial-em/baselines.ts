/**
 * Trivial segmentations of a serial-section crop whose labels are per-section instances, which a
 * trained model must beat: each section one segment, and the 2D connected components of each
 * section's thresholded raw (membranes dark, cells bright), best over a threshold sweep.
 */
import { variationOfInformation } from '../../src/eval/voi.js';
import { roiVoxelShape } from '../../src/roi.js';
import type { Crop, LabelArray } from '../../src/types.js';
import { sectionComponents } from './stack.js';

export interface SectionBaselines {
  /** VOI of one segment per section. */
  oneSegmentPerSection: number;
  /** VOI of the per-section components of raw > threshold, at the best threshold. */
  rawThreshold: number;
  rawThresholdParameter: number;
}

export async function sectionBaselines(
  crop: Crop,
  thresholds = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
): Promise<SectionBaselines> {
  const region = crop.labels.roi;
  const [raw, gt, mask] = await Promise.all([crop.readRaw(region), crop.labels.read(region), crop.readMask(region)]);
  const shape = roiVoxelShape(region, crop.voxelSize);
  const plane = shape[1]! * shape[2]!;
  const perSection = Uint32Array.from({ length: gt.length }, (_, i) => 1 + Math.floor(i / plane));
  const oneSegmentPerSection = variationOfInformation(gt as LabelArray, perSection, { mask }).voi;
  const channels = crop.raw.channels;
  let rawThreshold = Infinity;
  let rawThresholdParameter = thresholds[0]!;
  for (const t of thresholds) {
    const fg = new Uint8Array(gt.length);
    for (let i = 0; i < fg.length; i++) fg[i] = raw[i * channels]! > t ? 1 : 0;
    const voi = variationOfInformation(gt as LabelArray, sectionComponents(fg, shape), { mask }).voi;
    if (voi < rawThreshold) [rawThreshold, rawThresholdParameter] = [voi, t];
  }
  return { oneSegmentPerSection, rawThreshold, rawThresholdParameter };
}
