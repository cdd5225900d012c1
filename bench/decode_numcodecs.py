"""Python numcodecs (C-Blosc, as zarr-python decodes) on the decode benchmark's chunks, for
bench/decode.ts, which alternates its rounds with ours. Run at its best (bench/python.ts).

`--serve DIR`: prints a ready line, then answers requests `NAME MS` (a chunk file DIR/NAME.blosc,
decoded again and again for MS milliseconds after one warm-up decode) with one JSON line
{"MBps": decoded megabytes a second, "cpuMBps": per CPU second (blosc may use threads)}.
"""
import json
import sys
import time
from pathlib import Path

from numcodecs import blosc


def serve(folder):
    chunks = {p.stem: p.read_bytes() for p in Path(folder).glob("*.blosc")}
    print(json.dumps({"ready": True, "threads": blosc.get_nthreads()}), flush=True)
    for line in sys.stdin:
        name, ms = line.split()
        data = chunks[name]
        size = len(blosc.decompress(data))
        t, c, n = time.perf_counter(), time.process_time(), 0
        while time.perf_counter() - t < float(ms) / 1000:
            blosc.decompress(data)
            n += 1
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        print(json.dumps({"MBps": n * size / wall / 1e6, "cpuMBps": n * size / max(cpu, 1e-9) / 1e6}), flush=True)


if __name__ == "__main__":
    assert sys.argv[1] == "--serve"
    serve(sys.argv[2])
