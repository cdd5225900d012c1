"""Writes test/fixtures/bitshuffle/blosc_bitshuffle.zarr with zarr-python (run with /usr/bin/python3):
blosc frames with the bit shuffle (as iohub and funlib's OME writer store them) for the compressors
whose streams are checked in JavaScript and then decoded by wasm (zarr/blosc.ts): zstd and zlib,
uint8/16/64, edge chunks included. Beside it, blosc_bitshuffle.expected.json: per array its dtype,
shape and the SHA-256 of zarr-python's C-order bytes."""
import hashlib, json, shutil, sys
from pathlib import Path
import numpy as np
import numcodecs
import zarr

out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent.parent / "test" / "fixtures" / "bitshuffle")
container = out / "blosc_bitshuffle.zarr"
shutil.rmtree(container, ignore_errors=True)
root = zarr.open_group(str(container), mode="w")
rng = np.random.default_rng(11)
shape, chunks = (12, 20, 24), (8, 16, 16)
z, y, x = np.indices(shape)
expected = {}
for cname in ("zstd", "zlib"):
    for dtype in (np.uint8, np.uint16, np.uint64):
        name = f"{cname}_{np.dtype(dtype).name}"
        data = ((z * 7 + y // 3 + x // 5 + (rng.random(shape) < 0.05) * 50) * (1 + 911 * (dtype == np.uint64))).astype(dtype)
        compressor = numcodecs.Blosc(cname, 1, numcodecs.Blosc.BITSHUFFLE)
        a = root.create_dataset(name, shape=shape, chunks=chunks, dtype=dtype, compressor=compressor)
        a[:] = data
        back = zarr.open_array(str(container / name), mode="r")[:]
        assert (back == data).all()
        for f in (container / name).iterdir():
            if not f.name.startswith("."):
                b = f.read_bytes()
                assert b[2] & 0x04 and not b[2] & 0x02, f"{f}: not a bit-shuffled compressed frame"
        expected[name] = {"dtype": np.dtype(dtype).name, "shape": list(shape),
                          "sha256": hashlib.sha256(np.ascontiguousarray(back).tobytes()).hexdigest()}
(out / "blosc_bitshuffle.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
print("wrote", container)
