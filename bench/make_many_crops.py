"""Writes the first-batches benchmark's container with zarr-python: crops layout, `count` small
train crops (and one test crop) of `n`³ EM-like uint8 raw (Blosc lz4) and uint64 instance labels
(Blosc zstd), 64³ chunks, every fourth with a mask that leaves its first third unknown."""
import sys
import numpy as np
import numcodecs
import zarr

path = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
n = int(sys.argv[3]) if len(sys.argv) > 3 else 96
rng = np.random.default_rng(0)
root = zarr.open_group(path, mode="w")
attrs = lambda: dict(voxel_size=[8, 8, 8], offset=[0, 0, 0], axis_names=["z", "y", "x"], units=["nanometer"] * 3)
zz, yy, xx = np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij")
groups = [f"train/crop_{i:03d}" for i in range(count)] + ["test/crop_test"]
for i, group in enumerate(groups):
    # Cells of a different size per crop: every crop has ids and boundaries of its own.
    a, b, c = 16 + i % 11, 14 + i % 7, 18 + i % 13
    labels = ((zz // a) * 10000 + (yy // b) * 100 + (xx // c) + 1 + 2**33 + i * 10**6).astype(np.uint64)
    boundary = (zz % a == 0) | (yy % b == 0) | (xx % c == 0)
    labels[boundary] = 0
    raw = np.where(boundary, 60, 170) + rng.normal(0, 25, size=labels.shape)
    r = root.create_dataset(f"{group}/raw", data=np.clip(raw, 0, 255).astype(np.uint8), chunks=(64, 64, 64),
                            compressor=numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE))
    r.attrs.update(attrs())
    l = root.create_dataset(f"{group}/labels", data=labels, chunks=(64, 64, 64), compressor=numcodecs.Blosc("zstd", 3))
    l.attrs.update(attrs())
    if i % 4 == 1:
        mask = np.ones(labels.shape, np.uint8)
        mask[: n // 3] = 0
        m = root.create_dataset(f"{group}/mask", data=mask, chunks=(64, 64, 64), compressor=numcodecs.Blosc("zstd", 3))
        m.attrs.update(attrs())
print("wrote", path)
