"""Writes test/fixtures/lz4/blosc_lz4.zarr with zarr-python (run with /usr/bin/python3): blosc lz4
chunks in every layout the JavaScript LZ4 path decodes (zarr/blosc.ts): uint8/16/32/64, byte
shuffle and no shuffle, several blocks with a leftover block, streams split per byte of the type
and not. Beside it, blosc_lz4.expected.json: per array its dtype, shape, the frame layouts of its
chunks, and the SHA-256 of zarr-python's C-order bytes (the fixture stays a few kilobytes)."""
import hashlib, json, shutil, struct, sys
from pathlib import Path
import numpy as np
import numcodecs
import zarr

out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent.parent / "test" / "fixtures" / "lz4")
container = out / "blosc_lz4.zarr"
shutil.rmtree(container, ignore_errors=True)
root = zarr.open_group(str(container), mode="w")
rng = np.random.default_rng(7)
# Small arrays: several partial chunks of 3,840 values (one block each). Large ones: one chunk of
# 200,000 values, more than blosc's block, so several blocks and a shorter leftover block.
SMALL = ((30, 16, 20), (15, 16, 16))
LARGE = ((10, 100, 200), (10, 100, 200))


def smooth(dtype, shape):
    """Runs (long LZ4 matches) with a sparse sprinkle of noise (literals and short matches)."""
    z, y, x = np.indices(shape)
    small = shape == SMALL[0]
    base = (z * 5 + y * 3 + x // 4) // 3 if small else z * 7 + y // 4 + x // 64
    noise = 0.03 if small else 0.001
    base = base + (rng.random(shape) < noise) * rng.integers(0, 200, shape)
    return (base * (1 + 977 * (np.dtype(dtype).itemsize > 2))).astype(dtype)


SHUFFLE, NOSHUFFLE = numcodecs.Blosc.SHUFFLE, numcodecs.Blosc.NOSHUFFLE
cases = {
    "u8_shuffle": (np.uint8, SMALL, numcodecs.Blosc("lz4", 5, SHUFFLE)),
    "u16_shuffle": (np.uint16, SMALL, numcodecs.Blosc("lz4", 5, SHUFFLE)),
    "u32_shuffle": (np.uint32, SMALL, numcodecs.Blosc("lz4", 5, SHUFFLE)),
    "u64_noshuffle": (np.uint64, SMALL, numcodecs.Blosc("lz4", 1, NOSHUFFLE)),
    "u8_shuffle_blocks": (np.uint8, LARGE, numcodecs.Blosc("lz4", 5, SHUFFLE)),
    "u16_shuffle_blocks": (np.uint16, LARGE, numcodecs.Blosc("lz4", 5, SHUFFLE)),
    "u16_noshuffle_blocks": (np.uint16, LARGE, numcodecs.Blosc("lz4", 9, NOSHUFFLE)),
    "u64_shuffle_blocks": (np.uint64, LARGE, numcodecs.Blosc("lz4", 5, SHUFFLE)),
}
expected = {}
for name, (dtype, (shape, chunks), compressor) in cases.items():
    data = smooth(dtype, shape)
    a = root.create_dataset(name, shape=shape, chunks=chunks, dtype=dtype, compressor=compressor)
    a[:] = data
    back = zarr.open_array(str(container / name), mode="r")[:]
    assert (back == data).all()
    layouts = set()
    for f in sorted((container / name).iterdir()):
        if f.name.startswith("."):
            continue
        b = f.read_bytes()
        nbytes, blocksize, cbytes = struct.unpack("<III", b[4:16])
        flags = b[2]
        assert flags >> 5 == 1 and not flags & 0x02, f"{f}: not an lz4-compressed frame"
        layouts.add(json.dumps({"typesize": b[3], "shuffle": bool(flags & 1), "split": not flags & 0x10,
                                "blocks": -(-nbytes // blocksize), "leftover": nbytes % blocksize}))
    expected[name] = {"dtype": np.dtype(dtype).name, "shape": list(shape),
                      "sha256": hashlib.sha256(np.ascontiguousarray(back).tobytes()).hexdigest(),
                      "layouts": sorted(json.loads(x) for x in layouts)}
(out / "blosc_lz4.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
print("wrote", container)
