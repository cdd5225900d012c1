#!/usr/bin/env python3
"""Reference timings for bench/voi.ts with scikit-image (run with /usr/bin/python3).

Builds bit-identical volumes to bench/voi.ts from closed-form formulas of (z, y, x) — uint32
arithmetic throughout:

    gt[z,y,x]   = 1 + (z>>4)*128 + (y>>4)*8 + (x>>5)                               2048 ids, no 0
    pred[z,y,x] = ((z+7)>>4)*289 + ((y+3)>>4)*17 + ((x + (7*y + 13*z) % 11) >> 4)  4913 ids
    noise:  gt = hash(i) % 2000 + 1,  pred = hash(i ^ 0x5bd1e995) % 4000   (i = linear index)
    fg (128^3) = (hash(i) & 255) < 80
    hash(i): h = i * 2654435761; h ^= h >> 16; h *= 0x45d9f3b; h ^= h >> 16   (mod 2^32)

skimage.metrics.variation_of_information(image0=gt, image1=pred) returns
[H(pred|gt), H(gt|pred)] in bits (it uses log2), i.e. [voiSplit, voiMerge]; it does not ignore
gt 0, which is why gt has no 0 id here (noise gt is ≥ 1 as well).

Prints JSON: timings (median of runs, seconds) and the VOI values.

`--serve`: builds the VOI volumes once, then times one call per request for bench/voi.ts, which
alternates its own calls with these so that both see the same machine load. Requests are lines
on stdin, `<score> <volumes>` with score `voi` (variation_of_information) or `arand`
(adapted_rand_error) and volumes `voi` or `noise`; each answer is one JSON line {"s": wall
seconds, "cpu_s": CPU seconds of this process, "values": [the score's values]}.
"""
import json
import sys
import time

import numpy as np


def hash32(i):
    h = i.astype(np.uint32) * np.uint32(2654435761)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x45D9F3B)
    h ^= h >> np.uint32(16)
    return h


def make_voi_volumes(size=256):
    z, y, x = np.ogrid[:size, :size, :size]
    gt = (1 + (z >> 4) * 128 + (y >> 4) * 8 + (x >> 5)).astype(np.uint32)
    shift = (7 * y + 13 * z) % 11
    pred = (((z + 7) >> 4) * 289 + ((y + 3) >> 4) * 17 + ((x + shift) >> 4)).astype(np.uint32)
    return gt, pred


def make_noise_volumes(size=256):
    i = np.arange(size**3, dtype=np.uint32)
    gt = (hash32(i) % np.uint32(2000) + np.uint32(1)).reshape((size,) * 3)
    pred = (hash32(i ^ np.uint32(0x5BD1E995)) % np.uint32(4000)).reshape((size,) * 3)
    return gt, pred


def make_foreground(size=128):
    i = np.arange(size**3, dtype=np.uint32)
    return ((hash32(i) & np.uint32(255)) < 80).reshape((size,) * 3)


def timed(runs, fn):
    ts, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def serve():
    from skimage.metrics import adapted_rand_error, variation_of_information

    volumes = {"voi": make_voi_volumes(), "noise": make_noise_volumes()}
    scores = {"voi": variation_of_information, "arand": adapted_rand_error}
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        score, name = line.split()
        gt, pred = volumes[name]
        t0, c0 = time.perf_counter(), time.process_time()
        values = scores[score](gt, pred)
        s, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(json.dumps({"s": s, "cpu_s": cpu, "values": [float(v) for v in values]}), flush=True)


def main():
    if sys.argv[1:] == ["--serve"]:
        serve()
        return
    import skimage
    from skimage.measure import label
    from skimage.metrics import variation_of_information

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    out = {"skimage_version": skimage.__version__}

    gt, pred = make_voi_volumes()
    assert gt.min() > 0
    out["gt_ids"] = int(np.unique(gt).size)
    out["pred_ids"] = int(np.unique(pred).size)
    t, vi = timed(runs, lambda: variation_of_information(gt, pred))
    out["voi_256_u32_s"] = t
    out["voi_256_split_bits"] = float(vi[0])
    out["voi_256_merge_bits"] = float(vi[1])
    del gt, pred

    gt, pred = make_noise_volumes()
    t, vi = timed(max(1, runs // 2), lambda: variation_of_information(gt, pred))
    out["voi_256_noise_s"] = t
    out["voi_256_noise_split_bits"] = float(vi[0])
    out["voi_256_noise_merge_bits"] = float(vi[1])
    del gt, pred

    fg = make_foreground()
    t, (_, count) = timed(runs, lambda: label(fg, connectivity=1, return_num=True))
    out["cc_128_s"] = t
    out["cc_128_count"] = int(count)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
