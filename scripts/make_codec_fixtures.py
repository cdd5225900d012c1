#!/usr/bin/python3
"""The decoder matrix: chunks written by zarr-python 2.13 / numcodecs 0.11 with every compressor it
writes, each to be read equal to zarr-python's read (test/zarr/codec-matrix.test.ts).

Run:  /usr/bin/python3 scripts/make_codec_fixtures.py   (writes test/fixtures/codecs/matrix.json)

- Blosc: every cname (lz4, lz4hc, blosclz, zstd, zlib, snappy) x shuffle (none, byte, bit) x
  typesize (1, 2, 4, 8: uint8, uint16, float32, uint64) x clevel (0, 1, 5, 9) x blocksize (0 =
  blosc's choice, 128 = small: a block and a leftover block), one 192-byte chunk each; plus 1 KiB
  chunks at clevel 5 (blosc's own block size, streams split per byte of the type where blosc
  splits).
- Standalone Zstd (levels -5, 1, 3, 22), frames by the zstd CLI from a pipe (no content size in the
  frame header), with and without their checksum; GZip and Zlib (levels 1, 5, 9), LZ4
  (accelerations 1, 10), BZ2 (levels 1, 9), LZMA (the XZ container, presets 1 and 9, checks none,
  CRC-32, CRC-64).
- Chunk layouts: edge chunks on every axis, chunks that are all the fill value (written, and left
  out by write_empty_chunks=False), an array no chunk of which was written, non-zero fill values.

The file keeps, per case, the `.zarray` zarr-python wrote (the keys every case shares once, in
`zarray`, the rest per case), every chunk file it wrote (base64), and the SHA-256 of zarr-python's
C-order read of the whole array: the fixture stays small and the expected values come from
zarr-python itself. Deterministic: blosc without threads, gzip without
a timestamp, fixed seeds.
"""
import base64
import gzip as _gzip
import hashlib
import json
import lzma
import shutil
import subprocess
import tempfile
from pathlib import Path

import numcodecs
import numcodecs.gzip
import numpy as np
import zarr
from numcodecs import BZ2, LZ4, LZMA, Blosc, GZip, Zlib, Zstd

OUT = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "codecs"
numcodecs.blosc.use_threads = False


def _gzip_encode_deterministic(self, buf):
    buf = numcodecs.compat.ensure_contiguous_ndarray(buf)
    return _gzip.compress(memoryview(buf).cast("B").tobytes(), compresslevel=self.level, mtime=0)


numcodecs.gzip.GZip.encode = _gzip_encode_deterministic

# The .zarray keys whose values every case shares, kept once.
SHARED_ZARRAY = {"zarr_format": 2, "order": "C", "filters": None}
DTYPES = {1: np.uint8, 2: np.uint16, 4: np.float32, 8: np.uint64}
rng = np.random.default_rng(2113)


def data_for(dtype, shape):
    """Smooth ramps (long matches, runs after shuffling) with sparse noise (literals)."""
    idx = np.indices(shape)
    base = sum((i + 1) * a for i, a in enumerate(idx)) // 2
    base = base + (rng.random(shape) < 0.04) * rng.integers(0, 90, shape)
    if np.dtype(dtype).kind == "f":
        return (base / 97.0).astype(dtype)
    scale = 1 if np.dtype(dtype).itemsize == 1 else 1 + 257 * (np.dtype(dtype).itemsize > 2)
    return (base * scale).astype(dtype)


def case(cases, name, data, chunks, compressor, fill_value=0, write_empty_chunks=True, write=True, **extra):
    """Writes one array with zarr-python and records what it wrote and what it reads back."""
    with tempfile.TemporaryDirectory() as tmp:
        arr = zarr.open_array(tmp, mode="w", shape=data.shape, chunks=chunks, dtype=data.dtype,
                              compressor=compressor, fill_value=fill_value,
                              write_empty_chunks=write_empty_chunks)
        if write:
            arr[...] = data
        return record(cases, name, Path(tmp), **extra)


def record(cases, name, folder, **extra):
    back = zarr.open_array(str(folder), mode="r")[...]
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    zarray = json.loads(files.pop(".zarray"))
    assert all(zarray[k] == v for k, v in SHARED_ZARRAY.items()), zarray
    cases[name] = {
        "zarray": {k: v for k, v in zarray.items() if k not in SHARED_ZARRAY},
        "chunks": {k: base64.b64encode(v).decode() for k, v in files.items()},
        "dtype": str(back.dtype),
        "shape": list(back.shape),
        "sha256": hashlib.sha256(np.ascontiguousarray(back).tobytes()).hexdigest(),
        **extra,
    }


def blosc_matrix(cases):
    shapes = {1: (4, 6, 8), 2: (4, 4, 6), 4: (3, 4, 4), 8: (2, 3, 4)}  # 192 bytes each
    shuffles = {"noshuffle": Blosc.NOSHUFFLE, "shuffle": Blosc.SHUFFLE, "bitshuffle": Blosc.BITSHUFFLE}
    for cname in ("lz4", "lz4hc", "blosclz", "zstd", "zlib", "snappy"):
        for sname, shuffle in shuffles.items():
            for typesize, dtype in DTYPES.items():
                data = data_for(dtype, shapes[typesize])
                for clevel in (0, 1, 5, 9):
                    for blocksize in (0, 128):
                        compressor = Blosc(cname=cname, clevel=clevel, shuffle=shuffle, blocksize=blocksize)
                        case(cases, f"blosc/{cname}/{sname}/t{typesize}/c{clevel}/b{blocksize}", data,
                             data.shape, compressor)
                # 1 KiB chunks: blosc's own block size, split streams for lz4/blosclz/snappy
                big = data_for(dtype, (1024 // typesize,))
                case(cases, f"blosc/{cname}/{sname}/t{typesize}/c5/1KiB", big, big.shape,
                     Blosc(cname=cname, clevel=5, shuffle=shuffle))


def zstd_cli(data: bytes, checksum: bool) -> bytes:
    """A frame as the zstd CLI writes from a pipe: no content size in its header."""
    args = ["zstd", "-q", "-c", "-3", "--check" if checksum else "--no-check"]
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout


def frame_has_content_size(frame: bytes) -> bool:
    return bool(frame[4] >> 6) or bool(frame[4] & 0x20)  # FCS flag, or single segment (size implied)


def standalone(cases):
    data = data_for(np.uint16, (6, 10, 12))
    chunks = (4, 8, 8)
    for level in (-5, 1, 3, 22):
        case(cases, f"zstd/level{level}", data, chunks, Zstd(level=level))
    for level in (1, 5, 9):
        case(cases, f"gzip/level{level}", data, chunks, GZip(level=level))
        case(cases, f"zlib/level{level}", data, chunks, Zlib(level=level))
    for acceleration in (1, 10):
        case(cases, f"lz4/acceleration{acceleration}", data, chunks, LZ4(acceleration=acceleration))
    for level in (1, 9):
        case(cases, f"bz2/level{level}", data, chunks, BZ2(level=level))
    for preset, check in ((1, lzma.CHECK_CRC64), (9, lzma.CHECK_CRC32), (6, lzma.CHECK_NONE)):
        case(cases, f"lzma/preset{preset}_check{check}", data, chunks, LZMA(preset=preset, check=check))
    # zstd frames by the CLI over zarr-python's own chunks. numcodecs 0.11 cannot decode a frame
    # without a content size (newer numcodecs streams it), so the expected bytes are zarr-python's
    # read of its own chunks, before they are replaced by the CLI's frames of the same bytes.
    for checksum in (True, False):
        name = f"zstd/cli_no_content_size_{'checksum' if checksum else 'no_checksum'}"
        with tempfile.TemporaryDirectory() as tmp:
            arr = zarr.open_array(tmp, mode="w", shape=data.shape, chunks=chunks, dtype=data.dtype,
                                  compressor=Zstd(level=3))
            arr[...] = data
            record(cases, name, Path(tmp))
            for f in Path(tmp).iterdir():
                if f.name != ".zarray":
                    raw = Zstd().decode(f.read_bytes())
                    frame = zstd_cli(bytes(raw), checksum)
                    assert not frame_has_content_size(frame), f"{f}: the CLI wrote a content size"
                    assert bool(frame[4] & 0x04) == checksum
                    cases[name]["chunks"][f.name] = base64.b64encode(frame).decode()


def layouts(cases):
    edge = data_for(np.uint16, (5, 9, 11))
    case(cases, "layout/edge_chunks_blosc", edge, (4, 4, 4), Blosc("zstd", 5, Blosc.BITSHUFFLE))
    case(cases, "layout/edge_chunks_gzip", edge.astype(np.uint64) * 4099, (2, 4, 8), GZip(5))
    filled = data_for(np.uint8, (8, 8, 8))
    filled[:4, :4, :4] = 7  # one chunk all the fill value
    filled[4:, 4:, 4:] = 7
    case(cases, "layout/fill_chunks_written", filled, (4, 4, 4), Blosc("lz4", 5, Blosc.SHUFFLE), fill_value=7)
    case(cases, "layout/fill_chunks_left_out", filled, (4, 4, 4), Blosc("lz4", 5, Blosc.SHUFFLE), fill_value=7,
         write_empty_chunks=False)
    case(cases, "layout/nothing_written_fill0", filled, (4, 4, 4), Zstd(3), write=False)
    case(cases, "layout/nothing_written_fill3", filled.astype(np.float32), (3, 5, 4), Zstd(3), fill_value=3.5,
         write=False)
    case(cases, "layout/no_compressor_edge", edge, (4, 4, 4), None)
    left = cases["layout/fill_chunks_left_out"]["chunks"]
    assert "0.0.0" not in left and "1.1.1" not in left and "0.0.1" in left
    assert not cases["layout/nothing_written_fill0"]["chunks"]


def main():
    cases = {}
    blosc_matrix(cases)
    standalone(cases)
    layouts(cases)
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    text = json.dumps({"zarr": zarr.__version__, "numcodecs": numcodecs.__version__,
                       "blosc": numcodecs.blosc.VERSION_STRING, "zarray": SHARED_ZARRAY, "cases": cases},
                      separators=(",", ":"))
    (OUT / "matrix.json").write_text(text + "\n")
    print(f"wrote {len(cases)} cases to {OUT / 'matrix.json'} ({len(text) / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
