/**
 * Scores of one class: a binary ground truth against a binary prediction over the known voxels
 * (DaCapo's BinarySegmentationEvaluator, the CellMap challenge's per-class scores). Overlap:
 * dice = 2TP / (2TP + FP + FN), iou = TP / (TP + FP + FN), precision = TP / (TP + FP), recall =
 * TP / (TP + FN), f1 = 2·precision·recall / (precision + recall). Distances, in world units from
 * voxel centre to voxel centre (anisotropic voxels: exact EDT, train/edt.ts): Hausdorff =
 * max(max over gt voxels of the distance to the prediction, and the other way round); hausdorff95
 * = the larger of the two directions' 95th percentiles (numpy's linear interpolation) of those
 * distances over every voxel of each set. With DaCapo's `clipDistance` and `tolDistance`, its
 * CremiEvaluator's mean false distance clipped and precision / recall / F1 with tolerance.
 *
 * Undefined ratios are NaN (0 / 0); Hausdorff is 0 when both sets are empty and NaN when one is.
 */
import { OptionsError } from '../errors.js';
import { voxelDistances } from '../train/edt.js';

export interface BinaryScores {
  dice: number;
  iou: number;
  precision: number;
  recall: number;
  f1: number;
  /** World units. */
  hausdorff: number;
  hausdorff95: number;
  /** With clipDistance: 0.5 · (mean clipped false positive distance + mean clipped false negative distance). */
  falseDistanceClipped?: number;
  /** With tolDistance: DaCapo's precision, recall and F1 counting errors farther than the tolerance. */
  precisionWithTolerance?: number;
  recallWithTolerance?: number;
  f1WithTolerance?: number;
}

export interface BinaryOptions {
  /** [z, y, x] of the arrays. */
  shape: readonly number[];
  /** World units per voxel, [z, y, x] (integers). */
  voxelSize: readonly number[];
  /** Non-zero: known; unknown voxels belong to neither set. */
  mask?: Uint8Array | Float32Array | null;
  /** Compute the distance scores (Hausdorff, and the DaCapo ones); default true. */
  distances?: boolean;
  clipDistance?: number;
  tolDistance?: number;
}

/** The 95th percentile of `values` (sorted in place), numpy's default (linear) interpolation. */
function percentile95(values: Float64Array): number {
  if (values.length === 0) return NaN;
  values.sort();
  const pos = 0.95 * (values.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, values.length - 1);
  return values[lo]! + (values[hi]! - values[lo]!) * (pos - lo);
}

/** Distances (world units) from each voxel of `from` to the nearest voxel of `to`. */
function directed(
  from: Uint8Array,
  to: Uint8Array,
  shape: readonly number[],
  voxelSize: readonly number[],
): Float64Array {
  const d2 = voxelDistances(to, shape, { offset: [0, 0, 0], shape }, voxelSize, Infinity);
  let n = 0;
  for (let i = 0; i < from.length; i++) if (from[i]) n++;
  const out = new Float64Array(n);
  for (let i = 0, k = 0; i < from.length; i++) if (from[i]) out[k++] = Math.sqrt(d2[i]!);
  return out;
}

function maxOf(values: Float64Array): number {
  let m = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i]! > m) m = values[i]!;
  return m;
}

export function binaryScores(gt: Uint8Array, pred: Uint8Array, options: BinaryOptions): BinaryScores {
  const { shape, voxelSize } = options;
  const n = shape.reduce((a, b) => a * b, 1);
  if (gt.length !== n || pred.length !== n) {
    throw new OptionsError(
      `binaryScores: gt (${gt.length}) and pred (${pred.length}) must have [${shape.join(', ')}] voxels`,
    );
  }
  const mask = options.mask ?? null;
  if (mask !== null && mask.length !== n)
    throw new OptionsError(`binaryScores: mask has ${mask.length} voxels, not ${n}`);
  // The sets over the known voxels.
  const a = new Uint8Array(n),
    b = new Uint8Array(n);
  let tp = 0,
    fp = 0,
    fn = 0;
  for (let i = 0; i < n; i++) {
    if (mask !== null && !mask[i]) continue;
    const g = gt[i] !== 0,
      p = pred[i] !== 0;
    a[i] = g ? 1 : 0;
    b[i] = p ? 1 : 0;
    if (g && p) tp++;
    else if (p) fp++;
    else if (g) fn++;
  }
  const precision = tp / (tp + fp);
  const recall = tp / (tp + fn);
  const scores: BinaryScores = {
    dice: (2 * tp) / (2 * tp + fp + fn),
    iou: tp / (tp + fp + fn),
    precision,
    recall,
    f1: precision === 0 && recall === 0 ? NaN : (2 * precision * recall) / (precision + recall),
    hausdorff: NaN,
    hausdorff95: NaN,
  };
  if (options.distances === false) return scores;
  const gtCount = tp + fn,
    predCount = tp + fp;
  if (gtCount === 0 && predCount === 0) return { ...scores, hausdorff: 0, hausdorff95: 0 };
  if (gtCount === 0 || predCount === 0) return scores;
  const gtToPred = directed(a, b, shape, voxelSize);
  const predToGt = directed(b, a, shape, voxelSize);
  scores.hausdorff = Math.max(maxOf(gtToPred), maxOf(predToGt));
  if (options.clipDistance !== undefined || options.tolDistance !== undefined) {
    Object.assign(scores, dacapoDistances(gtToPred, predToGt, tp + fp + fn, options));
  }
  scores.hausdorff95 = Math.max(percentile95(gtToPred), percentile95(predToGt));
  return scores;
}

/**
 * DaCapo's CremiEvaluator: false positive distances are those of every predicted voxel to the
 * ground truth, false negative distances of every ground-truth voxel to the prediction.
 */
function dacapoDistances(
  gtToPred: Float64Array,
  predToGt: Float64Array,
  union: number,
  { clipDistance, tolDistance }: BinaryOptions,
): Partial<BinaryScores> {
  const out: Partial<BinaryScores> = {};
  if (clipDistance !== undefined) {
    const meanClipped = (d: Float64Array) => d.reduce((s, v) => s + Math.min(v, clipDistance), 0) / d.length;
    out.falseDistanceClipped = 0.5 * (meanClipped(predToGt) + meanClipped(gtToPred));
  }
  if (tolDistance !== undefined) {
    const fp = predToGt.reduce((k, v) => k + (v > tolDistance ? 1 : 0), 0);
    const fn = gtToPred.reduce((k, v) => k + (v > tolDistance ? 1 : 0), 0);
    const tp = union - fp - fn;
    // As DaCapo: float32 division.
    const precision = Math.fround(Math.fround(tp) / Math.fround(tp + fp));
    const recall = Math.fround(Math.fround(tp) / Math.fround(tp + fn));
    out.precisionWithTolerance = precision;
    out.recallWithTolerance = recall;
    out.f1WithTolerance = precision === 0 && recall === 0 ? NaN : (2 * recall * precision) / (recall + precision);
  }
  return out;
}
