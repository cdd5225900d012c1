"""Writes the decode benchmark's chunks: one compressible 64^3 chunk per case (smooth EM-like
uint8/uint16 raw, blocky uint64 labels), encoded by numcodecs' Blosc (run with /usr/bin/python3)."""
import sys
from pathlib import Path

import numpy as np
from numcodecs import Blosc

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
n = 64
z, y, x = np.indices((n, n, n))
raw8 = np.clip(128 + 60 * np.sin(z / 9) * np.cos(y / 13) * np.sin(x / 7), 0, 255).astype(np.uint8)
labels = (1 + (z // 9) * 100 + (y // 7) * 10 + (x // 5)).astype(np.uint64)
cases = {
    "uint8_lz4": (raw8, "lz4"),
    "uint16_lz4": (raw8.astype(np.uint16) * 200, "lz4"),
    "uint64_labels_lz4": (labels, "lz4"),
    "uint8_zstd": (raw8, "zstd"),
    "uint8_zlib": (raw8, "zlib"),
    "uint8_blosclz": (raw8, "blosclz"),
}
for name, (data, cname) in cases.items():
    (out / f"{name}.blosc").write_bytes(Blosc(cname=cname, clevel=5, shuffle=Blosc.SHUFFLE).encode(data))
print("wrote", out)
