"""Reads test/fixtures-write/written.zarr (written by our writer, scripts/make_write_fixtures.ts)
with zarr-python and records what it sees: the group's arrays, per array shape, dtype, chunks,
compressor, attributes and every value (uint64 as decimal strings, so nothing is rounded), in
test/fixtures-write/written.expected.json. zarr-python 2.13 reads v2 only: the v3 array is
checked by our reader in the test.  Run with /usr/bin/python3 (python3-zarr)."""
import json
import pathlib

import numpy as np
import zarr

HERE = pathlib.Path(__file__).resolve().parent.parent / "test" / "fixtures-write"

group = zarr.open(str(HERE / "written.zarr"), mode="r")
out = {"zarr_python": zarr.__version__, "arrays": sorted(group.array_keys()), "read": {}}
for name in ["prediction", "probabilities", "segmentation"]:
    a = group[name]
    values = a[:]
    # channels-last, as our tests hold them
    if values.ndim == 4:
        values = np.moveaxis(values, 0, -1)
    flat = values.ravel()
    out["read"][name] = {
        "shape": list(a.shape),
        "dtype": str(a.dtype),
        "chunks": list(a.chunks),
        "compressor": None if a.compressor is None else a.compressor.codec_id,
        "attrs": dict(a.attrs),
        "nchunks_initialized": a.nchunks_initialized,
        "values": [str(v) for v in flat.tolist()] if a.dtype == np.uint64 else flat.tolist(),
    }
(HERE / "written.expected.json").write_text(json.dumps(out, indent=1) + "\n")
print("wrote", HERE / "written.expected.json")
