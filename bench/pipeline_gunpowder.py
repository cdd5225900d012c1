"""gunpowder's rate on the pipeline benchmark's workload (bench/pipeline.ts), the anchor of its rows.

The same container (bench/make_train_container.py: two 192^3 train crops, uint8 raw, uint64
labels, one with a mask), batches of 4 x 64^3: per crop ZarrSource (direct zarr reads) + an
all-ones mask where the crop has none, Normalize, RandomLocation(min_masked=0.5); RandomProvider;
optionally ElasticAugment (bench/pipeline.ts's ELASTIC in voxels: control points every 10, jitter
sigma 2, rotation [0, pi/2], subsample 4); SimpleAugment (mirror + transpose);
IntensityAugment(0.9-1.1, -0.1-0.1); the boundary target (1 where the id is non-zero and equal
to its 6 neighbours inside the sample, as tfjs-zarr's) with its mask; Stack(4); PreCache with 2
workers (DaCapo's shape of pipeline).

Needs gunpowder 1.4 importable (e.g. PYTHONPATH from GUNPOWDER_PATH, see bench/pipeline.ts);
run it with glibc's mmap threshold raised (bench/read.ts's PYTHON_AT_ITS_BEST), as in any
process that imported scipy or torch.

Usage: pipeline_gunpowder.py CONTAINER plain|elastic [SECONDS] [WARMUP_BATCHES]
Prints one JSON line: the warm-up (batches, seconds), then the steady state (batches over at least
SECONDS, samples/s, CPU ms a sample over this process and its workers).
"""
import json
import math
import os
import random
import sys
import time

import numpy as np
import gunpowder as gp

BATCH = 4
SHAPE = (64, 64, 64)
VOXEL = gp.Coordinate((8, 8, 8))

RAW, LABELS, MASK = gp.ArrayKey("RAW"), gp.ArrayKey("LABELS"), gp.ArrayKey("MASK")
TARGET, TARGET_MASK = gp.ArrayKey("TARGET"), gp.ArrayKey("TARGET_MASK")


class Ones(gp.BatchProvider):
    """A mask of ones over `roi` (a crop without a stored mask: everything known)."""

    def __init__(self, key, roi):
        self.key, self.roi = key, roi

    def setup(self):
        self.provides(self.key, gp.ArraySpec(roi=self.roi, voxel_size=VOXEL, interpolatable=False, dtype=np.uint8))

    def provide(self, request):
        batch = gp.Batch()
        spec = self.spec[self.key].copy()
        spec.roi = request[self.key].roi
        batch[self.key] = gp.Array(np.ones(spec.roi.shape / VOXEL, np.uint8), spec)
        return batch


class Interior(gp.BatchFilter):
    """The boundary target: 1 where the id is non-zero and equal to each 6-neighbour inside the sample."""

    def setup(self):
        self.provides(TARGET, self.spec[LABELS].copy())
        self.provides(TARGET_MASK, self.spec[MASK].copy())

    def prepare(self, request):
        deps = gp.BatchRequest()
        deps[LABELS] = request[TARGET].copy()
        deps[MASK] = request[TARGET_MASK].copy()
        return deps

    def process(self, batch, request):
        ids = batch[LABELS].data
        inside = ids != 0
        for axis in range(3):
            lo = [slice(None)] * 3
            hi = [slice(None)] * 3
            lo[axis], hi[axis] = slice(None, -1), slice(1, None)
            differ = ids[tuple(lo)] != ids[tuple(hi)]
            inside[tuple(lo)] &= ~differ
            inside[tuple(hi)] &= ~differ
        spec = batch[LABELS].spec.copy()
        spec.dtype = np.float32
        out = gp.Batch()
        out[TARGET] = gp.Array(inside.astype(np.float32), spec)
        mask_spec = batch[MASK].spec.copy()
        mask_spec.dtype = np.float32
        out[TARGET_MASK] = gp.Array((batch[MASK].data != 0).astype(np.float32), mask_spec)
        return out


def pipeline(container, elastic):
    import zarr

    root = zarr.open_group(container, mode="r")
    sources = []
    for name in sorted(root["train"].group_keys()):
        group = f"train/{name}"
        labels = root[f"{group}/labels"]
        roi = gp.Roi((0, 0, 0), gp.Coordinate(labels.shape) * VOXEL)
        specs = {k: gp.ArraySpec(voxel_size=VOXEL, interpolatable=k == RAW) for k in (RAW, LABELS, MASK)}
        datasets = {RAW: f"{group}/raw", LABELS: f"{group}/labels"}
        if "mask" in root[group]:
            datasets[MASK] = f"{group}/mask"
            source = gp.ZarrSource(container, datasets, specs)
        else:
            source = (gp.ZarrSource(container, datasets, specs), Ones(MASK, roi)) + gp.MergeProvider()
        sources.append(source + gp.Normalize(RAW) + gp.RandomLocation(min_masked=0.5, mask=MASK))
    p = tuple(sources) + gp.RandomProvider()
    if elastic:
        p += gp.ElasticAugment([10, 10, 10], [2, 2, 2], [0, math.pi / 2], subsample=4)
    p += gp.SimpleAugment()
    p += gp.IntensityAugment(RAW, 0.9, 1.1, -0.1, 0.1)
    p += Interior()
    p += gp.Stack(BATCH)
    p += gp.PreCache(cache_size=8, num_workers=2)
    return p


def cpu_seconds():
    """CPU seconds of this process and its live descendants (PreCache's watchdog and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    family, total = {os.getpid()}, time.process_time()
    grew = True
    while grew:
        grew = False
        for pid, (parent, _) in stats.items():
            if parent in family and pid not in family:
                family.add(pid)
                total += stats[pid][1]
                grew = True
    return total


def main():
    container, mode = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 20
    warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    random.seed(1)
    np.random.seed(1)
    request = gp.BatchRequest()
    for key in (RAW, TARGET, TARGET_MASK):
        request.add(key, gp.Coordinate(SHAPE) * VOXEL)
    with gp.build(pipeline(container, mode == "elastic")) as p:
        t = time.perf_counter()
        for _ in range(warmup):
            p.request_batch(request)
        warm = time.perf_counter() - t
        t, c, n = time.perf_counter(), cpu_seconds(), 0
        while n < 10 or time.perf_counter() - t < seconds:
            batch = p.request_batch(request)
            assert batch[RAW].data.shape == (BATCH, *SHAPE)
            n += 1
        wall, cpu = time.perf_counter() - t, cpu_seconds() - c
    print(json.dumps({
        "warmupBatches": warmup,
        "warmupSeconds": warm,
        "batches": n,
        "samplesPerSecond": n * BATCH / wall,
        "cpuMsPerSample": cpu * 1000 / (n * BATCH),
    }))


if __name__ == "__main__":
    main()
