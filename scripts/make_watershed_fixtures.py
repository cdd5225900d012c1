#!/usr/bin/env python3
"""Reference seeded watersheds for test/eval/watershed.test.ts (run with /usr/bin/python3).

skimage.segmentation.watershed(-prediction, markers, mask=...) (scikit-image 0.19, connectivity 1)
on smooth random predictions quantized to sixteenths (plateaus, so that ties must be broken as
scikit-image breaks them), with markers from the thresholded prediction
(scipy.ndimage.label(prediction > t)) or from its regional maxima above t
(label(skimage.morphology.local_maxima(prediction, connectivity=1) & (prediction > t))), with and
without a foreground mask. Writes test/fixtures/watershed/cases.json (arrays as base64; the
prediction as int8 sixteenths).
"""
import base64
import json
import os

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import local_maxima
from skimage.segmentation import watershed

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "watershed")


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()).decode()


def field(shape, rng, sigma, low, high):
    f = ndi.gaussian_filter(rng.standard_normal(shape), sigma)
    f = (f - f.min()) / (f.max() - f.min())
    return (np.round((low + (high - low) * f) * 16) / 16).astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(5)
    cases = []
    for name, shape, low, high, seeds, threshold, mask_threshold in [
        ("boundary-threshold", (10, 24, 26), 0.0, 1.0, "threshold", 0.7, None),
        ("boundary-maxima", (9, 20, 22), 0.0, 1.0, "maxima", 0.5, None),
        ("distance-threshold", (11, 18, 20), -1.0, 1.0, "threshold", 0.4, 0.0),
        ("distance-maxima", (12, 21, 19), -1.0, 1.0, "maxima", 0.1, 0.0),
    ]:
        p = field(shape, rng, 2.0, low, high)
        if seeds == "threshold":
            markers = ndi.label(p > threshold)[0]
        else:
            markers = ndi.label(local_maxima(p, connectivity=1) & (p > threshold))[0]
        mask = None if mask_threshold is None else p > mask_threshold
        labels = watershed(-p, markers, mask=mask)
        assert labels.max() < 256
        cases.append(
            {
                "name": name,
                "shape": list(shape),
                # sixteenths as int8: the prediction is exactly k / 16
                "sixteenths": b64(np.round(p * 16).astype(np.int8)),
                "seeds": seeds,
                "threshold": threshold,
                "maskThreshold": mask_threshold,
                "markers": b64(markers.astype(np.uint8)),
                "labels": b64(labels.astype(np.uint8)),
            }
        )
        print(name, int(markers.max()), "markers", int(labels.max()), "segments", int((labels == 0).sum()), "unlabelled")
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    main()
