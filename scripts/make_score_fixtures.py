#!/usr/bin/env python3
"""Reference scores for test/eval/arand.test.ts and test/eval/binary.test.ts (run with /usr/bin/python3).

- ARand: skimage.metrics.adapted_rand_error(gt, pred) (scikit-image 0.19: gt 0 ignored, pred 0 an
  ordinary segment, its precision and recall), on segmentations with runs and on noise, with a
  mask (applied by setting gt to 0 where the mask is 0, which skimage then ignores), and on uint64
  ids above 2^53 (relabelled consecutively for skimage, which indexes a sparse matrix by id; the
  score does not depend on the names of the ids).
- Per-class scores: dice = 1 - scipy.spatial.distance.dice, iou = 1 - scipy.spatial.distance.
  jaccard, precision, recall, F1 from the counts; Hausdorff from scipy.ndimage.distance_transform_edt
  with sampling = the voxel size (and skimage.metrics.hausdorff_distance on isotropic unit voxels),
  hausdorff95 = max of the two directions' np.percentile(..., 95); DaCapo's CremiEvaluator
  distances (mean false distance clipped; precision, recall, F1 with tolerance) restated.

Writes test/fixtures/scores/{arand,binary}.json (arrays as base64 of little-endian bytes).
"""
import base64
import json
import os

import numpy as np
from scipy.ndimage import distance_transform_edt, gaussian_filter
from scipy.spatial import distance
from skimage.metrics import adapted_rand_error, hausdorff_distance

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "scores")


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()).decode()


def blobs(shape, count, rng, smooth=2.0):
    noise = gaussian_filter(rng.standard_normal(shape), smooth)
    edges = np.quantile(noise, np.linspace(0, 1, count + 1)[1:-1])
    return np.digitize(noise, edges).astype(np.uint32)


def arand_cases():
    rng = np.random.default_rng(7)
    cases = []
    shape = (8, 12, 16)
    gt = blobs(shape, 9, rng)
    pred = blobs(shape, 14, rng, 2.5)
    pred[gt == 3] = 5  # a merge
    mask = (rng.random(shape) > 0.2).astype(np.uint8)
    noise_gt = rng.integers(0, 40, shape, dtype=np.uint32)
    noise_pred = rng.integers(0, 70, shape, dtype=np.uint32)
    big = np.uint64(2**62)
    for name, g, p, m, dtype in [
        ("runs", gt, pred, None, "uint32"),
        ("runs-mask", gt, pred, mask, "uint32"),
        ("noise", noise_gt, noise_pred, None, "uint32"),
        ("uint64", gt.astype(np.uint64) * big + (gt > 0) * np.uint64(7), pred.astype(np.uint64) + big, mask, "uint64"),
        ("identical", gt, gt, None, "uint32"),
        ("one-segment", gt, np.zeros_like(gt), None, "uint32"),
    ]:
        g = g.astype(dtype)
        p = p.astype(dtype)
        g_ref = g.copy()
        if m is not None:
            g_ref[m == 0] = 0
        # Consecutive ids for skimage (0 stays 0 in gt: the ignored label).
        _, g_idx = np.unique(g_ref, return_inverse=True)
        if g_ref.min() > 0:
            g_idx = g_idx + 1
        _, p_idx = np.unique(p, return_inverse=True)
        are, prec, rec = adapted_rand_error(g_idx.reshape(shape), p_idx.reshape(shape))
        cases.append(
            {
                "name": name,
                "dtype": dtype,
                "gt": b64(g),
                "pred": b64(p),
                "mask": None if m is None else b64(m),
                "are": float(are),
                "precision": float(prec),
                "recall": float(rec),
            }
        )
        print("arand", name, are, prec, rec)
    return cases


def binary_cases():
    rng = np.random.default_rng(11)
    cases = []
    for name, shape, vs, clip, tol, with_mask in [
        ("isotropic", (10, 16, 18), (1, 1, 1), None, None, False),
        ("anisotropic", (9, 14, 20), (40, 8, 8), 60.0, 20.0, True),
        ("coarse", (8, 10, 12), (6, 4, 5), 10.0, 9.0, False),
    ]:
        gt = blobs(shape, 3, rng) == 1
        pred = blobs(shape, 3, rng, 1.5) == 1
        pred |= np.roll(gt, 1, axis=2)
        mask = (rng.random(shape) > 0.1) if with_mask else np.ones(shape, dtype=bool)
        a, b = gt & mask, pred & mask
        tp, fp, fn = int((a & b).sum()), int((~a & b).sum()), int((a & ~b).sum())
        # Over the known voxels only: the unknown ones belong to neither set.
        dice = 1 - distance.dice(a[mask], b[mask])
        iou = 1 - distance.jaccard(a[mask], b[mask])
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        gt_to_pred = distance_transform_edt(~b, sampling=vs)[a]
        pred_to_gt = distance_transform_edt(~a, sampling=vs)[b]
        hd = max(gt_to_pred.max(), pred_to_gt.max())
        if vs == (1, 1, 1):
            assert abs(hd - hausdorff_distance(a, b)) < 1e-12, (hd, hausdorff_distance(a, b))
        case = {
            "name": name,
            "shape": list(shape),
            "voxelSize": list(vs),
            "gt": b64(gt.astype(np.uint8)),
            "pred": b64(pred.astype(np.uint8)),
            "mask": b64(mask.astype(np.uint8)) if with_mask else None,
            "dice": dice,
            "iou": iou,
            "precision": precision,
            "recall": recall,
            "f1": 2 * precision * recall / (precision + recall),
            "hausdorff": float(hd),
            "hausdorff95": float(max(np.percentile(gt_to_pred, 95), np.percentile(pred_to_gt, 95))),
        }
        if clip is not None:
            # DaCapo's CremiEvaluator: false positive distances = truth EDT over test voxels, ...
            case["clipDistance"] = clip
            case["falseDistanceClipped"] = float(
                0.5 * (np.mean(np.clip(pred_to_gt, None, clip)) + np.mean(np.clip(gt_to_pred, None, clip)))
            )
        if tol is not None:
            case["tolDistance"] = tol
            fpt = int(np.sum(pred_to_gt > tol))
            fnt = int(np.sum(gt_to_pred > tol))
            tpt = int(np.sum(a | b)) - fpt - fnt
            pt = float(np.float32(tpt) / np.float32(tpt + fpt))
            rt = float(np.float32(tpt) / np.float32(tpt + fnt))
            case["precisionWithTolerance"] = pt
            case["recallWithTolerance"] = rt
            case["f1WithTolerance"] = 2 * (rt * pt) / (rt + pt)
        cases.append(case)
        print("binary", name, {k: v for k, v in case.items() if isinstance(v, float)})
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "arand.json"), "w") as f:
        json.dump(arand_cases(), f)
    with open(os.path.join(OUT, "binary.json"), "w") as f:
        json.dump(binary_cases(), f)


if __name__ == "__main__":
    main()
