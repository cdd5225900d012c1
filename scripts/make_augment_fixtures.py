#!/usr/bin/env python3
"""Reference blurs for test/train/defects.test.ts (run with /usr/bin/python3).

scipy.ndimage.gaussian_filter(raw, sigma=(s / vz, s / vy, s / vx, 0), mode='reflect', truncate=4.0)
on small float32 [z, y, x, c] volumes with anisotropic voxels (sigma in world units; a sigma below
a voxel on one axis, one channel and two). Writes test/fixtures/augment/blur.json (base64 arrays).
"""
import base64
import json
import os

import numpy as np
from scipy.ndimage import gaussian_filter

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "augment")


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()).decode()


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(3)
    cases = []
    for shape, vs, sigma in [((6, 9, 11, 1), (8, 4, 4), 6.0), ((5, 7, 8, 2), (3, 5, 2), 2.5), ((4, 4, 30, 1), (1, 1, 1), 1.7)]:
        raw = rng.random(shape, dtype=np.float32)
        out = gaussian_filter(raw, sigma=[sigma / v for v in vs] + [0], mode="reflect", truncate=4.0)
        cases.append({"shape": list(shape), "voxelSize": list(vs), "sigma": sigma, "raw": b64(raw), "blurred": b64(out)})
    with open(os.path.join(OUT, "blur.json"), "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    main()
