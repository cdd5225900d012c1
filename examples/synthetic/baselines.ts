/**
 * Trivial segmentations a trained model must beat: everything one segment, and the connected
 * components of thresholded raw (bright cell interiors), best over a threshold sweep.
 */
import { connectedComponents, growLabels } from '../../src/eval/components.js';
import { variationOfInformation } from '../../src/eval/voi.js';
import { roiVoxelShape } from '../../src/roi.js';
import type { Crop, LabelArray } from '../../src/types.js';

export interface Baselines {
  oneSegment: number;
  /** Connected components of thresholded raw, best threshold. */
  rawThreshold: number;
  rawThresholdParameter: number;
  /** The same, grown into the unlabelled voxels as our boundary post-processing does. */
  rawThresholdGrown: number;
}

export async function baselineScores(crop: Crop, thresholds = [0.3, 0.4, 0.5, 0.6, 0.7]): Promise<Baselines> {
  const region = crop.labels.roi;
  const [raw, gt, mask] = await Promise.all([crop.readRaw(region), crop.labels.read(region), crop.readMask(region)]);
  const shape = roiVoxelShape(region, crop.voxelSize);
  const channels = crop.raw.channels;
  const oneSegment = variationOfInformation(gt as LabelArray, new Uint32Array(gt.length).fill(1), { mask }).voi;
  let best = Infinity;
  let bestGrown = Infinity;
  let bestT = thresholds[0]!;
  for (const t of thresholds) {
    const fg = new Uint8Array(gt.length);
    for (let i = 0; i < fg.length; i++) fg[i] = raw[i * channels]! > t ? 1 : 0;
    const { labels } = connectedComponents(fg, shape);
    const voi = variationOfInformation(gt as LabelArray, labels, { mask }).voi;
    if (voi < best) [best, bestT] = [voi, t];
    bestGrown = Math.min(bestGrown, variationOfInformation(gt as LabelArray, growLabels(labels, shape), { mask }).voi);
  }
  return { oneSegment, rawThreshold: best, rawThresholdParameter: bestT, rawThresholdGrown: bestGrown };
}
