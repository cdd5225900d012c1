"""Writes the read benchmark's volume: 512^3 uint8 EM-like raw, 64^3 blosc(lz4, shuffle) chunks,
with zarr-python (run with /usr/bin/python3), as `raw` of a one-crop container (beside an empty
`labels` array, no chunks written) so that openDataSplit and worker threads can open it. Smooth structure plus noise, like real EM: most
chunks end up stored by blosc without compression (flag 0x02), as noisy EM raw does."""
import sys
import numpy as np
import numcodecs
import zarr

path = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 512
rng = np.random.default_rng(0)
root = zarr.open_group(path, mode="w")
attrs = dict(voxel_size=[8, 8, 8], offset=[0, 0, 0], axis_names=["z", "y", "x"], units=["nanometer"] * 3)
z = root.create_dataset("raw", shape=(n, n, n), chunks=(64, 64, 64), dtype="uint8",
                        compressor=numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE))
z.attrs.update(attrs)
root.create_dataset("labels", shape=(n, n, n), chunks=(64, 64, 64), dtype="uint8").attrs.update(attrs)
yy, xx = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
for k in range(0, n, 64):
    zz = np.arange(k, k + 64)[:, None, None]
    base = 128 + 60 * np.sin(zz / 9.0) * np.cos(yy[None] / 13.0) * np.sin(xx[None] / 7.0)
    noise = rng.normal(0, 25, size=(64, n, n))
    z[k:k + 64] = np.clip(base + noise, 0, 255).astype(np.uint8)
print("wrote", path)
