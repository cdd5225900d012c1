"""zarr-python's rate on the read benchmark: random unaligned 64^3 patches and a full read."""
import json, sys, time
import numpy as np
import zarr

path, count = sys.argv[1], int(sys.argv[2])
z = zarr.open_array(path + "/raw", mode="r")
n = z.shape[0]
rng = np.random.default_rng(1)
starts = rng.integers(0, n - 64, size=(count, 3))
t = time.perf_counter()
for s in starts:
    z[s[0]:s[0] + 64, s[1]:s[1] + 64, s[2]:s[2] + 64]
patch_rate = count / (time.perf_counter() - t)
t = time.perf_counter()
z[:]
full = z.nbytes / (time.perf_counter() - t) / 1e6
print(json.dumps({"zarrPythonPatchesPerSecond": patch_rate, "zarrPythonFullMBps": full}))
