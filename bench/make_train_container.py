"""Writes the pipeline benchmark's container with zarr-python: crops layout, two train crops and
one test crop of EM-like uint8 raw (blosc) and uint64 instance labels (blocks), one with a mask."""
import sys
import numpy as np
import numcodecs
import zarr

path = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 192
rng = np.random.default_rng(0)
root = zarr.open_group(path, mode="w")
attrs = lambda off: dict(voxel_size=[8, 8, 8], offset=off, axis_names=["z", "y", "x"], units=["nanometer"] * 3)
for i, group in enumerate(["train/crop_01", "train/crop_02", "test/crop_03"]):
    zz, yy, xx = np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij")
    labels = ((zz // 24) * 10000 + (yy // 20) * 100 + (xx // 28) + 1 + 2**33).astype(np.uint64)
    boundary = (zz % 24 == 0) | (yy % 20 == 0) | (xx % 28 == 0)
    labels[boundary] = 0
    raw = np.where(boundary, 60, 170) + rng.normal(0, 25, size=labels.shape)
    r = root.create_dataset(f"{group}/raw", data=np.clip(raw, 0, 255).astype(np.uint8), chunks=(64, 64, 64),
                            compressor=numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE))
    r.attrs.update(attrs([0, 0, 0]))
    l = root.create_dataset(f"{group}/labels", data=labels, chunks=(64, 64, 64), compressor=numcodecs.Blosc("zstd", 3))
    l.attrs.update(attrs([0, 0, 0]))
    if i == 1:
        mask = np.ones(labels.shape, np.uint8)
        mask[: n // 3] = 0
        m = root.create_dataset(f"{group}/mask", data=mask, chunks=(64, 64, 64), compressor=numcodecs.Blosc("zstd", 3))
        m.attrs.update(attrs([0, 0, 0]))
print("wrote", path)
