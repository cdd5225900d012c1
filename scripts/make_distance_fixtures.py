#!/usr/bin/env python3
"""Reference distance targets for test/train/distance.test.ts (run with /usr/bin/python3).

Computes DaCapo's distance target exactly as `dacapo/experiments/tasks/predictors/
distance_predictor.py` does (DistancePredictor.process and create_distance_mask, restated below
with numpy and scipy: boundaries on the doubled grid, scipy.ndimage.distance_transform_edt with
sampling = voxel_size / 2, float32, negative outside the class, tanh(d / scale_factor); the mask
rule with epsilon 0.05 and threshold 0.8, its EDT of the known mask with sampling = voxel_size), on small crops of labels padded with background and
unknown voxels far enough that nothing beyond the padding can change a value (the crop as a
whole, zero-filled around it, as our reads see it). Writes test/fixtures/distance/<case>.json:
labels and mask of the crop, and the expected target and mask over the crop grown by `margin`
voxels per side, as base64 of little-endian arrays.
"""
import base64
import json
import math
import os
import sys

import numpy as np
from scipy.ndimage import distance_transform_edt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "distance")

EPSILON = 5e-2
THRESHOLD = 0.8


def find_boundaries(labels):
    # DistancePredictor.__find_boundaries: face boundaries on the doubled grid (2n - 1 per axis).
    dims = len(labels.shape)
    in_shape = labels.shape
    out_shape = tuple(2 * s - 1 for s in in_shape)
    boundaries = np.zeros(out_shape, dtype=bool)
    for d in range(dims):
        shift_p = [slice(None)] * dims
        shift_p[d] = slice(1, in_shape[d])
        shift_n = [slice(None)] * dims
        shift_n[d] = slice(0, in_shape[d] - 1)
        diff = (labels[tuple(shift_p)] - labels[tuple(shift_n)]) != 0
        target = [slice(None, None, 2)] * dims
        target[d] = slice(1, out_shape[d], 2)
        boundaries[tuple(target)] = diff
    return boundaries


def process(channel, voxel_size, scale):
    # DistancePredictor.process for one channel, normalize = tanh.
    boundaries = 1.0 - find_boundaries(channel)
    if np.sum(boundaries == 0) == 0:
        max_distance = min(dim * vs / 2 for dim, vs in zip(channel.shape, voxel_size))
        if np.sum(channel) == 0:
            distances = -np.ones(channel.shape, dtype=np.float32) * max_distance
        else:
            distances = np.ones(channel.shape, dtype=np.float32) * max_distance
    else:
        sampling = tuple(float(v) / 2 for v in voxel_size)
        distances = distance_transform_edt(boundaries, sampling=sampling)
        distances = distances.astype(np.float32)
        distances = distances[(slice(None, None, 2),) * distances.ndim]
        distances[channel == 0] = -distances[channel == 0]
    return np.tanh(distances / scale)


def distance_mask(channel_distance, channel_mask, voxel_size, scale):
    # DistancePredictor.create_distance_mask for one channel, normalize = tanh.
    tmp = np.zeros(np.array(channel_mask.shape) + 2, dtype=channel_mask.dtype)
    slices = tmp.ndim * (slice(1, -1),)
    tmp[slices] = channel_mask
    # DaCapo's create_distance_mask: sampling = voxel_size (not halved: the mask is not doubled).
    boundary_distance = np.tanh(distance_transform_edt(tmp, sampling=voxel_size)[slices] / scale)
    out = channel_mask.copy()
    out[np.logical_and(np.clip(abs(channel_distance) + EPSILON, 0, THRESHOLD) >= boundary_distance,
                       channel_distance >= 0)] = 0
    out[np.logical_and(np.clip(abs(channel_distance) + EPSILON, 0, THRESHOLD) >= boundary_distance,
                       channel_distance <= 0)] = 0
    return out


def blobs(shape, count, rng, ids):
    z, y, x = np.indices(shape)
    labels = np.zeros(shape, dtype=np.uint64)
    for k in range(count):
        c = [rng.uniform(0, s) for s in shape]
        r = [rng.uniform(1.5, max(2.0, s / 3)) for s in shape]
        inside = ((z - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((x - c[2]) / r[2]) ** 2 <= 1
        labels[inside] = ids[k % len(ids)]
    return labels


def case(name, shape, voxel_size, scale, classes, mask_kind, margin, seed, ids, dtype):
    rng = np.random.default_rng(seed)
    labels = blobs(shape, 7, rng, ids).astype(dtype)
    mask = np.ones(shape, dtype=np.uint8)
    if mask_kind == "hole":
        mask[:, : shape[1] // 3, shape[2] // 2 :] = 0
        mask[shape[0] // 2, :, :] = 0
    # Far enough that beyond it tanh is 1 in float32 and no unknown voxel matters.
    reach = 9.2 * scale
    pad = [int(math.ceil(reach / v)) + m + 2 for v, m in zip(voxel_size, margin)]
    padded = np.zeros([s + 2 * p for s, p in zip(shape, pad)], dtype=labels.dtype)
    padded_mask = np.zeros(padded.shape, dtype=np.uint8)
    inner = tuple(slice(p, p + s) for p, s in zip(pad, shape))
    padded[inner] = labels
    padded_mask[inner] = mask
    channels = (
        [padded != 0]
        if classes is None
        else [np.isin(padded, np.array(c if isinstance(c, list) else [c], dtype=padded.dtype)) for c in classes]
    )
    keep = tuple(slice(p - m, p + s + m) for p, s, m in zip(pad, shape, margin))
    targets, masks = [], []
    for ch in channels:
        t = process(ch.astype(np.uint8), voxel_size, scale)
        targets.append(t[keep])
        masks.append(distance_mask(t, padded_mask, voxel_size, scale)[keep])
    target = np.stack(targets, axis=-1).astype(np.float32)
    dmask = np.stack(masks, axis=-1).astype(np.float32)
    b64 = lambda a: base64.b64encode(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()).decode()
    doc = {
        "shape": list(shape),
        "voxelSize": list(voxel_size),
        "scaleFactor": scale,
        # ids as strings: JSON numbers lose the bits of ids above 2^53
        "classes": None if classes is None else [[str(i) for i in c] if isinstance(c, list) else str(c) for c in classes],
        "margin": list(margin),
        "dtype": str(labels.dtype),
        "labels": b64(labels),
        "mask": b64(mask),
        "target": b64(target),
        "distanceMask": b64(dmask),
    }
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(doc, f)
    print(name, target.shape, f"{target.min():.3f}..{target.max():.3f}", f"masked {int((dmask == 0).sum())}")


def main():
    os.makedirs(OUT, exist_ok=True)
    # Anisotropic voxels, the default channel (ids != 0), a mask with holes.
    case("anisotropic", (10, 18, 20), (8, 4, 4), 10, None, "hole", (2, 3, 3), 1, [1, 2, 3, 4], np.uint16)
    # Classes of several ids, isotropic, everything known.
    case("classes", (12, 14, 16), (4, 4, 4), 6, [[1, 2], 3], "none", (2, 2, 2), 2, [1, 2, 3, 5], np.uint8)
    # uint64 ids above 2^53 - taken as classes by exact id; a class absent from the crop.
    big = [2**60 + 3, 2**40 + 1, 7, 2**63 + 9]
    case("uint64", (9, 11, 13), (6, 5, 4), 7, [2**40 + 1, [2**60 + 3, 7], 99], "hole", (1, 2, 2), 3, big, np.uint64)


if __name__ == "__main__":
    sys.exit(main())
