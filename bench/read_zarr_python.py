"""zarr-python's rate on the read benchmark: the same unaligned 64^3 patches as the JavaScript
side (voxel starts as JSON on stdin, read cold: zarr-python has no chunk cache), then a full read.
Prints patches/s, CPU ms a patch (process time: zarr-python decodes in this thread) and MB/s."""
import json, sys, time
import zarr

path = sys.argv[1]
starts = json.load(sys.stdin)
z = zarr.open_array(path + "/raw", mode="r")
t, c = time.perf_counter(), time.process_time()
for s in starts:
    z[s[0]:s[0] + 64, s[1]:s[1] + 64, s[2]:s[2] + 64]
patch_rate = len(starts) / (time.perf_counter() - t)
patch_cpu = (time.process_time() - c) * 1000 / len(starts)
t = time.perf_counter()
z[:]
full = z.nbytes / (time.perf_counter() - t) / 1e6
print(json.dumps({"zarrPythonPatchesPerSecond": patch_rate, "zarrPythonCpuMsPerPatch": patch_cpu,
                  "zarrPythonFullMBps": full}))
