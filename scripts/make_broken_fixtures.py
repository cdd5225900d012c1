#!/usr/bin/python3
"""A corpus of broken (and oddly built but valid) zarr containers, for test/broken.test.ts.

Run:  /usr/bin/python3 scripts/make_broken_fixtures.py      (zarr 2.13, numcodecs 0.11, numpy)

Writes test/fixtures/broken/ (deleted and rewritten): per case `<name>.zarr` (or `.zip`) and
`<name>.expected.json` beside it:

  {"what": "...", "expect": "error", "stage": "open" | "read", "array": "raw" (read stage),
   "class": "DataFormatError", "patterns": ["regex", ...]}          every pattern must match
  {"what": "...", "expect": "data", "crops": {"train": [...], "test": [...]},
   "arrays": {"<array path>": {"dtype": "uint8", "shape": [...], "values": [...]}}}

Data expectations are zarr-python's own reads of the files (`zarr.open(...)[...]`), except for
the zarr v3 cases, which zarr 2.13 cannot read: those are written by hand here (zarr.json and
chunk bytes) and their expectation is the numpy array the bytes were made from. Error cases are
made by damaging what zarr-python wrote (flipped bytes, cut files, edited JSON); where
zarr-python itself detects the damage (a corrupt compressed stream) the script checks it does.
Values are uint64 as strings and NaN/Infinity as strings. Deterministic: fixed seeds.
"""
from __future__ import annotations

import gzip as _gzip
import json
import os
import shutil
import struct
import zipfile
from pathlib import Path

import numcodecs
import numcodecs.gzip
import numpy as np
import zarr
from numcodecs import LZ4, Blosc, GZip, Zlib, Zstd

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "test" / "fixtures" / "broken"
numcodecs.blosc.use_threads = False


# numcodecs' GZip writes the current time into the gzip header: write mtime=0 (reproducible bytes).
def _gzip_encode_deterministic(self, buf):
    buf = numcodecs.compat.ensure_contiguous_ndarray(buf)
    return _gzip.compress(memoryview(buf).cast("B").tobytes(), compresslevel=self.level, mtime=0)


numcodecs.gzip.GZip.encode = _gzip_encode_deterministic

SHAPE = (4, 8, 8)
CHUNKS = (4, 4, 4)
ATTRS = {"voxel_size": [4, 4, 4], "offset": [0, 0, 0], "axis_names": ["z", "y", "x"],
         "units": ["nm", "nm", "nm"]}
rng = np.random.default_rng(9)


def smooth_raw(shape=SHAPE, dtype=np.uint8):
    z, y, x = np.indices(shape)
    return ((z * 7 + y * 3 + x) % 50).astype(dtype)


def labels_of(shape=SHAPE):
    z, y, x = np.indices(shape)
    return (1 + (y // 4) * 2 + (x // 4)).astype(np.uint8)


def values(a: np.ndarray):
    flat = a.reshape(-1)
    if a.dtype.kind in "iu" and a.dtype.itemsize == 8:
        return [str(int(v)) for v in flat]
    if a.dtype.kind == "f":
        return [v if np.isfinite(v) else ("NaN" if np.isnan(v) else ("Infinity" if v > 0 else "-Infinity"))
                for v in flat.astype(np.float64).tolist()]
    if a.dtype.kind == "b":
        return [int(v) for v in flat]
    return [int(v) for v in flat]


def array_entry(a: np.ndarray):
    return {"dtype": "bool" if a.dtype.kind == "b" else a.dtype.name, "shape": list(a.shape), "values": values(a)}


def write(case: str, expected: dict):
    # One line per key (per array for "arrays"): small files that still diff well.
    lines = []
    for key, value in expected.items():
        if key == "arrays":
            inner = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in value.items())
            lines.append(f' "arrays": {{\n{inner}\n }}')
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}")
    text = "{\n" + ",\n".join(lines) + "\n}\n"
    assert json.loads(text) == json.loads(json.dumps(expected))
    (OUT / f"{case}.expected.json").write_text(text)


def simple(case, compressor=Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE), raw=None, labels=None,
           raw_kw=None, fill_value=0):
    """A simple-layout container: raw + labels at the root."""
    root = zarr.open_group(str(OUT / f"{case}.zarr"), mode="w")
    raw = smooth_raw() if raw is None else raw
    labels = labels_of(raw.shape[-3:]) if labels is None else labels
    r = root.create_dataset("raw", data=raw, chunks=CHUNKS[-raw.ndim:], compressor=compressor,
                            fill_value=fill_value, **(raw_kw or {}))
    r.attrs.update(ATTRS)
    lab = root.create_dataset("labels", data=labels, chunks=CHUNKS, compressor=Blosc(cname="lz4"), fill_value=0)
    lab.attrs.update(ATTRS)
    return OUT / f"{case}.zarr"


def read_back(container: Path, names=("raw", "labels")):
    root = zarr.open_group(str(container), mode="r")
    return {n: array_entry(root[n][...]) for n in names}


def edit_json(path: Path, fn):
    meta = json.loads(path.read_text())
    out = fn(meta)
    path.write_text(json.dumps(meta if out is None else out, indent=1) if not isinstance(out, str) else out)


def python_raises(read) -> bool:
    try:
        read()
    except Exception:
        return True
    return False


# ------------------------------------------------------------------------------------------
# Corrupt and truncated chunks, every codec
# ------------------------------------------------------------------------------------------

CODECS = {
    "blosc_lz4": Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE),
    "blosc_lz4_noshuffle": Blosc(cname="lz4", clevel=5, shuffle=Blosc.NOSHUFFLE),
    "blosc_blosclz": Blosc(cname="blosclz", clevel=5, shuffle=Blosc.SHUFFLE),
    "blosc_zstd": Blosc(cname="zstd", clevel=5, shuffle=Blosc.SHUFFLE),
    "blosc_zlib": Blosc(cname="zlib", clevel=5, shuffle=Blosc.SHUFFLE),
    "blosc_lz4_bitshuffle": Blosc(cname="lz4", clevel=5, shuffle=Blosc.BITSHUFFLE),
    "zstd": Zstd(level=3),
    "gzip": GZip(level=5),
    "zlib": Zlib(level=5),
    "lz4": LZ4(),
}
CHUNK = "0.0.1"


def chunk_cases():
    for name, codec in CODECS.items():
        raw16 = smooth_raw(dtype=np.uint16) * 13
        # Valid: the control read, exactly zarr-python's.
        c = simple(f"{name}_ok", codec, raw=raw16)
        write(f"{name}_ok", {"what": f"{name} chunks, intact", "expect": "data", "arrays": read_back(c)})

        c = simple(f"{name}_truncated", codec, raw=raw16)
        p = c / "raw" / CHUNK
        b = p.read_bytes()
        p.write_bytes(b[: len(b) * 2 // 3])
        write(f"{name}_truncated", {
            "what": f"{name} chunk {CHUNK} of raw cut to 2/3 of its bytes",
            "expect": "error", "stage": "read", "array": "raw", "class": "DataFormatError",
            "patterns": [r"\braw\b", CHUNK.replace(".", r"\.")]})

        # Flip bytes inside the compressed stream until zarr-python notices (it must, to count).
        c = simple(f"{name}_corrupt", codec, raw=raw16)
        p = c / "raw" / CHUNK
        good = p.read_bytes()
        start = 16 if name.startswith("blosc") else 4
        found = False
        for pos in range(start + 8, len(good)):
            b = bytearray(good)
            for k in range(pos, min(pos + 3, len(b))):
                b[k] ^= 0x5A
            p.write_bytes(bytes(b))
            if python_raises(lambda: zarr.open_array(str(c / "raw"), mode="r")[...]):
                found = True
                break
        if not found:  # zarr-python cannot tell either: no case (blosc has no checksum)
            shutil.rmtree(c)
            print(f"{name}: no 3-byte flip that zarr-python detects; no corrupt case")
            continue
        write(f"{name}_corrupt", {
            "what": f"{name} chunk {CHUNK} of raw with 3 bytes flipped at {pos} (zarr-python raises)",
            "expect": "error", "stage": "read", "array": "raw", "class": "DataFormatError",
            "patterns": [r"\braw\b", CHUNK.replace(".", r"\.")]})

    # Blosc stored without compression (flag 0x02): noise does not compress.
    noise = rng.integers(0, 256, SHAPE, dtype=np.uint8)
    codec = Blosc(cname="lz4", clevel=5, shuffle=Blosc.NOSHUFFLE)
    c = simple("blosc_memcpy_ok", codec, raw=noise)
    assert (c / "raw" / CHUNK).read_bytes()[2] & 0x02, "noise chunk was compressed"
    write("blosc_memcpy_ok", {"what": "blosc chunks stored uncompressed (flag 0x02)", "expect": "data",
                              "arrays": read_back(c)})
    c = simple("blosc_memcpy_truncated", codec, raw=noise)
    p = c / "raw" / CHUNK
    p.write_bytes(p.read_bytes()[:-10])
    write("blosc_memcpy_truncated", {
        "what": "blosc chunk stored uncompressed (flag 0x02), last 10 bytes cut",
        "expect": "error", "stage": "read", "array": "raw", "class": "DataFormatError",
        "patterns": [r"\braw\b", r"0\.0\.1"]})
    c = simple("blosc_empty_file", codec, raw=noise)
    (c / "raw" / CHUNK).write_bytes(b"")
    write("blosc_empty_file", {"what": "blosc chunk file of 0 bytes", "expect": "error", "stage": "read",
                               "array": "raw", "class": "DataFormatError", "patterns": [r"\braw\b", r"0\.0\.1"]})
    c = simple("raw_chunk_short", None, raw=noise)
    p = c / "raw" / CHUNK
    p.write_bytes(p.read_bytes()[:50])
    write("raw_chunk_short", {"what": "uncompressed chunk of 50 bytes where 64 are needed", "expect": "error",
                              "stage": "read", "array": "raw", "class": "DataFormatError",
                              "patterns": [r"\braw\b", r"0\.0\.1", r"50"]})


# ------------------------------------------------------------------------------------------
# Broken metadata
# ------------------------------------------------------------------------------------------

def open_error(case, what, edit, patterns, file=".zarray", array="raw", labels=None):
    c = simple(case, labels=labels)
    edit(c / array / file)
    write(case, {"what": what, "expect": "error", "stage": "open", "class": "DataFormatError",
                 "patterns": [rf"\b{array}\b", *patterns]})


def set_key(key, value):
    def edit(path):
        def fn(meta):
            meta[key] = value
        edit_json(path, fn)
    return edit


def drop_key(key):
    def edit(path):
        edit_json(path, lambda meta: [meta.pop(key), None][1])
    return edit


def write_text(text):
    return lambda path: path.write_text(text)


def replace_text(old, new):
    def edit(path):
        t = path.read_text()
        assert old in t, (path, old)
        path.write_text(t.replace(old, new))
    return edit


def metadata_cases():
    for key in ["shape", "chunks", "dtype", "compressor", "fill_value", "order", "filters", "zarr_format"]:
        open_error(f"zarray_no_{key}", f".zarray without {key}", drop_key(key), [key, r"\.zarray", "missing"])
    for case, value in [("chunks_zero", [0, 4, 4]), ("chunks_negative", [-4, 4, 4]), ("chunks_rank", [4, 4]),
                        ("chunks_fractional", [3.5, 4, 4]), ("chunks_not_list", 4), ("chunks_string", ["4", 4, 4])]:
        open_error(case, f"chunks {json.dumps(value)}", set_key("chunks", value), ["chunks", r"\.zarray"])
    for case, value in [("shape_negative", [-4, 8, 8]), ("shape_fractional", [4, 7.5, 8]),
                        ("shape_not_list", "4,8,8"), ("shape_huge", [2**60, 8, 8])]:
        open_error(case, f"shape {json.dumps(value)}", set_key("shape", value), ["shape", r"\.zarray"])
    for case, value, pat in [("dtype_complex", "<c8", "complex"), ("dtype_datetime", "<M8[ns]", "datetime"),
                             ("dtype_float16", "<f2", "float16"), ("dtype_unknown", "<q9", r"q9"),
                             ("dtype_structured", [["a", "<u1"]], "structured"), ("dtype_unicode", "<U4", "unicode")]:
        open_error(case, f"dtype {json.dumps(value)}", set_key("dtype", value), ["dtype", pat])
    open_error("compressor_unknown", "compressor id bz9", set_key("compressor", {"id": "bz9"}), ["compressor", "bz9"])
    open_error("filter_unknown", "filter id nope", set_key("filters", [{"id": "nope"}]), ["filters", "nope"])
    open_error("order_bad", "order X", set_key("order", "X"), ["order"])
    open_error("zarray_not_json", ".zarray cut short", write_text('{"zarr_format": 2, "shape": [4, 8'), [r"\.zarray", "JSON"])
    open_error("zarray_list", ".zarray holding a list", write_text("[1, 2]"), [r"\.zarray", "list"])
    open_error("zattrs_not_json", ".zattrs cut short", write_text('{"voxel_size": [4, 4'), [r"\.zattrs", "JSON"],
               file=".zattrs")
    open_error("zattrs_list", ".zattrs holding a list", write_text("[4, 4, 4]"), [r"\.zattrs", "list"], file=".zattrs")
    open_error("zattrs_binary", ".zattrs that is not UTF-8", lambda p: p.write_bytes(b"\xff\xfe\x00{"),
               [r"\.zattrs"], file=".zattrs")
    open_error("fill_uint64_nan", "uint64 labels with fill_value NaN", set_key("fill_value", "NaN"),
               ["fill_value", "NaN", "uint64"], array="labels", labels=labels_of().astype(np.uint64))
    open_error("fill_uint8_out_of_range", "uint8 raw with fill_value 300", set_key("fill_value", 300),
               ["fill_value", "300", "uint8"])
    open_error("fill_uint8_fractional", "uint8 raw with fill_value 0.5", set_key("fill_value", 0.5),
               ["fill_value", "0.5"])
    big = 2**53 + 2
    open_error("voxel_size_beyond_2_53", f"voxel_size entry {big}", replace_text('"voxel_size": [\n        4,', f'"voxel_size": [\n        {big},'),
               ["voxel_size"], file=".zattrs")
    open_error("offset_beyond_2_53", "offset entry 2^53 + 8", replace_text('"offset": [\n        0,', f'"offset": [\n        {2**53 + 8},'),
               ["offset"], file=".zattrs")
    open_error("voxel_size_string", 'voxel_size ["4", 4, 4]', set_key("voxel_size", ["4", 4, 4]), ["voxel_size"],
               file=".zattrs")
    c = simple("zgroup_not_json")
    (c / ".zgroup").write_text('{"zarr_format": ')
    write("zgroup_not_json", {"what": "root .zgroup cut short", "expect": "error", "stage": "open",
                              "class": "DataFormatError", "patterns": [r"\.zgroup", "JSON"]})


# ------------------------------------------------------------------------------------------
# Fill values (v2 via zarr-python; v3 by hand)
# ------------------------------------------------------------------------------------------

def fill_cases():
    # uint64 labels with huge fills, read where chunks are missing.
    for case, fill in [("fill_uint64_max", 2**64 - 1), ("fill_uint64_2_53_plus_1", 2**53 + 1)]:
        root = zarr.open_group(str(OUT / f"{case}.zarr"), mode="w")
        r = root.create_dataset("raw", data=smooth_raw(), chunks=CHUNKS, compressor=Blosc(), fill_value=0)
        r.attrs.update(ATTRS)
        lab = labels_of().astype(np.uint64) + np.uint64(2**40)
        a = root.create_dataset("labels", shape=SHAPE, chunks=CHUNKS, dtype=np.uint64, compressor=Blosc(),
                                fill_value=fill, write_empty_chunks=False)
        a[:, :, :4] = lab[:, :, :4]  # chunks 0.*.1 stay missing -> fill
        a.attrs.update(ATTRS)
        text = (OUT / f"{case}.zarr" / "labels" / ".zarray").read_text()
        assert str(fill) in text, text
        write(case, {"what": f"uint64 labels, fill_value {fill}, half the chunks missing", "expect": "data",
                     "arrays": read_back(OUT / f"{case}.zarr")})
    for case, fill in [("fill_float_nan_v2", "NaN"), ("fill_float_inf_v2", "Infinity"), ("fill_float_neginf_v2", "-Infinity")]:
        root = zarr.open_group(str(OUT / f"{case}.zarr"), mode="w")
        r = root.create_dataset("raw", shape=SHAPE, chunks=CHUNKS, dtype=np.float32, compressor=Blosc(),
                                fill_value=float(fill.replace("Infinity", "inf")), write_empty_chunks=False)
        r[:, :, :4] = smooth_raw()[:, :, :4].astype(np.float32) / 50
        r.attrs.update(ATTRS)
        lab = root.create_dataset("labels", data=labels_of(), chunks=CHUNKS, compressor=Blosc())
        lab.attrs.update(ATTRS)
        write(case, {"what": f"float32 raw, fill_value {fill}, half the chunks missing", "expect": "data",
                     "arrays": read_back(OUT / f"{case}.zarr")})


    c = simple("float_raw_unscaled", raw=smooth_raw().astype(np.float32) * 5)
    write("float_raw_unscaled", {"what": "float32 raw stored in [0, 245], not [0, 1] (read as stored, warned)",
                                 "expect": "data", "arrays": read_back(c)})


def variant_cases():
    """Odd but valid: each must read exactly as zarr-python reads it."""
    from numcodecs import Delta, Shuffle
    raw16 = smooth_raw(dtype=np.uint16) * 300
    for case, kw, raw in [
        ("variant_big_endian", {"dtype": ">u2"}, raw16),
        ("variant_order_f", {"order": "F"}, raw16),
        ("variant_partial_chunks", {"chunks": (3, 5, 5)}, raw16),
        ("variant_chunks_larger_than_shape", {"chunks": (8, 16, 16)}, raw16),
        ("variant_nested_keys", {"dimension_separator": "/"}, raw16),
        ("variant_delta_filter", {"filters": [Delta(dtype="<u2")]}, raw16),
        ("variant_shuffle_filter", {"filters": [Shuffle(elementsize=2)]}, raw16),
        ("variant_fill_null", {"fill_value": None}, raw16),
        ("variant_float64_raw", {}, smooth_raw().astype(np.float64) / 50),
    ]:
        root = zarr.open_group(str(OUT / f"{case}.zarr"), mode="w")
        opts = {"chunks": CHUNKS, "compressor": Blosc(), "fill_value": 0, **kw}
        r = root.create_dataset("raw", data=raw, **opts)
        r.attrs.update(ATTRS)
        lab = root.create_dataset("labels", data=labels_of(), chunks=CHUNKS, compressor=Blosc())
        lab.attrs.update(ATTRS)
        write(case, {"what": f"raw written with {kw or 'float64'}", "expect": "data",
                     "arrays": read_back(OUT / f"{case}.zarr")})
    for case, mask in [("variant_bool_mask", (labels_of() % 2).astype(bool)),
                       ("variant_int64_mask", (labels_of().astype(np.int64) - 3) * 2**40)]:
        c = simple(case)
        m = zarr.open_group(str(c), mode="a").create_dataset("mask", data=mask, chunks=CHUNKS, compressor=Blosc())
        m.attrs.update(ATTRS)
        write(case, {"what": f"{mask.dtype} mask", "expect": "data", "arrays": read_back(c, ("raw", "labels", "mask"))})


# zarr v3 by hand: zarr.json + chunks with the bytes codec (and sharding with crc32c).

def crc32c(data: bytes) -> int:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (0x82F63B78 ^ (c >> 1)) if c & 1 else c >> 1
        table.append(c)
    c = 0xFFFFFFFF
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def v3_array(folder: Path, data: np.ndarray, chunks, fill_json, dtype_name, missing=(), shard=None, attrs=None):
    """Writes one v3 array; `missing` chunk coords are left out; `shard` = inner chunk shape."""
    folder.mkdir(parents=True)
    codecs = [{"name": "bytes", "configuration": {"endian": "little"}}]
    if shard is not None:
        codecs = [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": list(shard), "codecs": codecs,
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
            "index_location": "end"}}]
    meta = {"zarr_format": 3, "node_type": "array", "shape": list(data.shape), "data_type": dtype_name,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": "FILL", "codecs": codecs, "attributes": attrs or ATTRS}
    text = json.dumps(meta, indent=1).replace('"FILL"', fill_json)
    (folder / "zarr.json").write_text(text)
    grid = [s // c for s, c in zip(data.shape, chunks)]
    for idx in np.ndindex(*grid):
        if idx in missing:
            continue
        block = data[tuple(slice(i * c, (i + 1) * c) for i, c in zip(idx, chunks))]
        if shard is None:
            payload = block.astype(block.dtype.newbyteorder("<")).tobytes()
        else:
            inner = [c // s for c, s in zip(chunks, shard)]
            body, index = b"", []
            for j in np.ndindex(*inner):
                piece = block[tuple(slice(k * s, (k + 1) * s) for k, s in zip(j, shard))]
                raw = piece.astype(piece.dtype.newbyteorder("<")).tobytes()
                index.append((len(body), len(raw)))
                body += raw
            idx_bytes = b"".join(struct.pack("<QQ", o, n) for o, n in index)
            payload = body + idx_bytes + struct.pack("<I", crc32c(idx_bytes))
        p = folder / "c" / "/".join(str(i) for i in idx)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(payload)


def v3_group(folder: Path):
    folder.mkdir(parents=True)
    (folder / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}))


def v3_simple(case, raw, raw_fill, raw_dtype, missing=(), shard=None, chunks=CHUNKS):
    c = OUT / f"{case}.zarr"
    v3_group(c)
    v3_array(c / "raw", raw, chunks, raw_fill, raw_dtype, missing=missing, shard=shard)
    v3_array(c / "labels", labels_of(raw.shape), CHUNKS, "0", "uint8")
    return c


def expected_with_missing(data, chunks, missing, fill):
    out = data.copy()
    for idx in missing:
        out[tuple(slice(i * c, (i + 1) * c) for i, c in zip(idx, chunks))] = fill
    return out


def v3_cases():
    raw = smooth_raw().astype(np.float32) / 50
    for case, fill_json, fill in [("v3_fill_hex_nan", '"0x7fc00000"', np.float32("nan")),
                                  ("v3_fill_nan", '"NaN"', np.float32("nan")),
                                  ("v3_fill_infinity", '"Infinity"', np.float32("inf")),
                                  ("v3_fill_hex_one", '"0x3f800000"', np.float32(1.0))]:
        v3_simple(case, raw, fill_json, "float32", missing=[(0, 0, 1)])
        write(case, {"what": f"v3 float32 raw, fill_value {fill_json}, chunk c/0/0/1 missing", "expect": "data",
                     "arrays": {"raw": array_entry(expected_with_missing(raw, CHUNKS, [(0, 0, 1)], fill)),
                                "labels": array_entry(labels_of())}})
    lab = labels_of().astype(np.uint64) + np.uint64(2**60)
    for case, fill in [("v3_fill_uint64_max", 2**64 - 1), ("v3_fill_uint64_2_63_plus_1", 2**63 + 1)]:
        c = OUT / f"{case}.zarr"
        v3_group(c)
        v3_array(c / "raw", smooth_raw(), CHUNKS, "0", "uint8")
        v3_array(c / "labels", lab, CHUNKS, str(fill), "uint64", missing=[(0, 1, 0)])
        write(case, {"what": f"v3 uint64 labels, fill_value {fill}, chunk c/0/1/0 missing", "expect": "data",
                     "arrays": {"raw": array_entry(smooth_raw()),
                                "labels": array_entry(expected_with_missing(lab, CHUNKS, [(0, 1, 0)], np.uint64(fill)))}})
    for case, fill_json, pat in [("v3_fill_uint64_nan", '"NaN"', "NaN"), ("v3_fill_uint8_hex_bad", '"0x7fc"', "0x7fc"),
                                 ("v3_fill_float_word", '"nan-ish"', "nan-ish")]:
        c = OUT / f"{case}.zarr"
        v3_group(c)
        dtype = "uint64" if "uint64" in case else ("uint8" if "uint8" in case else "float32")
        data = smooth_raw().astype({"uint64": np.uint64, "uint8": np.uint8, "float32": np.float32}[dtype])
        v3_array(c / "raw", data, CHUNKS, fill_json, dtype)
        v3_array(c / "labels", labels_of(), CHUNKS, "0", "uint8")
        write(case, {"what": f"v3 {dtype} raw with fill_value {fill_json}", "expect": "error", "stage": "open",
                     "class": "DataFormatError", "patterns": [r"\braw\b", "fill_value", pat]})
    c = v3_simple("v3_zarr_json_truncated", smooth_raw(), "0", "uint8")
    p = c / "raw" / "zarr.json"
    p.write_text(p.read_text()[:120])
    write("v3_zarr_json_truncated", {"what": "raw/zarr.json cut short", "expect": "error", "stage": "open",
                                     "class": "DataFormatError", "patterns": [r"raw/zarr\.json", "JSON"]})
    c = v3_simple("v3_root_zarr_json_truncated", smooth_raw(), "0", "uint8")
    p = c / "zarr.json"
    p.write_text(p.read_text()[:20])
    write("v3_root_zarr_json_truncated", {"what": "root zarr.json cut short", "expect": "error", "stage": "open",
                                          "class": "DataFormatError", "patterns": [r"zarr\.json", "JSON"]})
    for case, key, value in [("v3_data_type_complex", "data_type", '"complex64"'),
                             ("v3_data_type_float16", "data_type", '"float16"'),
                             ("v3_chunk_shape_zero", "chunk_grid", '{"name": "regular", "configuration": {"chunk_shape": [0, 4, 4]}}'),
                             ("v3_shape_negative", "shape", "[-4, 8, 8]"),
                             ("v3_codec_unknown", "codecs", '[{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "nope"}]')]:
        c = v3_simple(case, smooth_raw(), "0", "uint8")
        p = c / "raw" / "zarr.json"
        meta = json.loads(p.read_text())
        meta[key] = json.loads(value)
        p.write_text(json.dumps(meta))
        write(case, {"what": f"v3 raw with {key} {value}", "expect": "error", "stage": "open",
                     "class": "DataFormatError", "patterns": [r"\braw\b", key]})

    for key in ["zarr_format", "node_type", "shape", "data_type", "chunk_grid", "chunk_key_encoding", "fill_value",
                "codecs"]:
        case = f"v3_no_{key}"
        c = v3_simple(case, smooth_raw(), "0", "uint8")
        p = c / "raw" / "zarr.json"
        meta = json.loads(p.read_text())
        del meta[key]
        p.write_text(json.dumps(meta))
        write(case, {"what": f"v3 raw/zarr.json without {key}", "expect": "error", "stage": "open",
                     "class": "DataFormatError", "patterns": [r"\braw\b", key, r"zarr\.json"]})

    # Sharding: shards of [4, 8, 8] with inner chunks [4, 4, 4]; crc32c on the index.
    data = smooth_raw(dtype=np.uint16)
    v3_simple("v3_shard_ok", data, "0", "uint16", shard=(4, 4, 4), chunks=(4, 8, 8))
    write("v3_shard_ok", {"what": "sharded v3 raw, intact", "expect": "data",
                          "arrays": {"raw": array_entry(data), "labels": array_entry(labels_of())}})
    shard_key = "c/0/0/0"

    def damaged(case, what, damage):
        c = v3_simple(case, data, "0", "uint16", shard=(4, 4, 4), chunks=(4, 8, 8))
        p = c / "raw" / "c" / "0" / "0" / "0"
        p.write_bytes(damage(p.read_bytes()))
        write(case, {"what": what, "expect": "error", "stage": "read", "array": "raw", "class": "DataFormatError",
                     "patterns": [r"\braw\b", shard_key]})

    def index_past_end(b):
        n = 4  # inner chunks
        index = bytearray(b[-(16 * n + 4):-4])
        struct.pack_into("<QQ", index, 16, len(b) - 20, 200)
        return b[: -(16 * n + 4)] + bytes(index) + struct.pack("<I", crc32c(bytes(index)))

    damaged("v3_shard_index_past_end", "shard index entry 1 points past the end of the shard file", index_past_end)
    damaged("v3_shard_crc_mismatch", "shard index altered, crc32c not updated",
            lambda b: b[:-30] + bytes([b[-30] ^ 1]) + b[-29:])
    damaged("v3_shard_truncated", "shard file cut to 100 bytes", lambda b: b[:100])


# ------------------------------------------------------------------------------------------
# Names, symlinks, zips
# ------------------------------------------------------------------------------------------

def crops_container(case, crops):
    """train/test crops layout; crops = {"train/crop_a": seed, ...}."""
    c = OUT / f"{case}.zarr"
    root = zarr.open_group(str(c), mode="w")
    for path, seed in crops.items():
        g = root.require_group(path)
        raw = (smooth_raw() + seed * 11).astype(np.uint8)
        r = g.create_dataset("raw", data=raw, chunks=CHUNKS, compressor=Blosc())
        r.attrs.update(ATTRS)
        lab = g.create_dataset("labels", data=(labels_of() + seed).astype(np.uint8), chunks=CHUNKS, compressor=Blosc())
        lab.attrs.update(ATTRS)
    return c


def arrays_of(c: Path, groups):
    root = zarr.open_group(str(c), mode="r")
    return {f"{g}/{n}": array_entry(root[g][n][...]) for g in groups for n in ("raw", "labels")}


def name_cases():
    crops = {"train/crop_a": 1, "train/crop%5Fa": 2, "train/crop#1": 3, "train/crop?x": 4, "train/crop:b": 5,
             "test/crop%20b": 6, "test/crop b": 7}
    c = crops_container("names", crops)
    zarr.consolidate_metadata(str(c))  # so the http variant of the corpus can list the crops
    # zarr-python reads each folder by its file name.
    arrays = arrays_of(c, crops)
    assert arrays["train/crop_a/raw"] != arrays["train/crop%5Fa/raw"]
    write("names", {"what": "crop folders whose names look like URL escapes, fragments, queries, schemes",
                    "expect": "data", "crops": {"train": sorted(n.split("/")[1] for n in crops if n.startswith("train")),
                                                "test": sorted(n.split("/")[1] for n in crops if n.startswith("test"))},
                    "arrays": arrays})

    # The same names inside a zip (the store keys are file names there too).
    zip_of(c, OUT / "names_zip.zip", zipfile.ZIP_DEFLATED)
    write("names_zip", {"what": "the names container, zipped", "expect": "data",
                        "crops": {"train": sorted(n.split("/")[1] for n in crops if n.startswith("train")),
                                  "test": sorted(n.split("/")[1] for n in crops if n.startswith("test"))},
                        "arrays": arrays})

    c = crops_container("symlinks", {"train/crop_a": 1, "test/crop_t": 2, "elsewhere/crop_s": 3})
    os.symlink("../elsewhere/crop_s", c / "train" / "crop_linked")
    (c / "train" / "crop_b").mkdir()
    (c / "train" / "crop_b" / ".zgroup").write_text('{"zarr_format": 2}')
    os.symlink("../../elsewhere/crop_s/raw", c / "train" / "crop_b" / "raw")
    os.symlink("../../elsewhere/crop_s/labels", c / "train" / "crop_b" / "labels")
    root = zarr.open_group(str(c), mode="r")
    assert "crop_linked" in root["train"]
    write("symlinks", {"what": "a crop folder and array folders that are symbolic links", "expect": "data",
                       "crops": {"train": ["crop_a", "crop_b", "crop_linked"], "test": ["crop_t"]},
                       "arrays": arrays_of(c, ["train/crop_a", "train/crop_linked", "train/crop_b", "test/crop_t"])})


def zip_of(folder: Path, target: Path, compression):
    with zipfile.ZipFile(target, "w", compression=compression) as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                info = zipfile.ZipInfo(str(p.relative_to(folder)), date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = compression
                z.writestr(info, p.read_bytes())


def zip_cases():
    tmp = OUT / "_zip_src.zarr"
    root = zarr.open_group(str(tmp), mode="w")
    r = root.create_dataset("raw", data=smooth_raw(), chunks=CHUNKS, compressor=None)
    r.attrs.update(ATTRS)
    lab = root.create_dataset("labels", data=labels_of(), chunks=CHUNKS, compressor=None)
    lab.attrs.update(ATTRS)
    for case, compression in [("zip_stored", zipfile.ZIP_STORED), ("zip_deflated", zipfile.ZIP_DEFLATED)]:
        target = OUT / f"{case}_ok.zip"
        zip_of(tmp, target, compression)
        write(f"{case}_ok", {"what": f"{case} zip, intact", "expect": "data", "arrays": read_back(target)})
        target = OUT / f"{case}_bad_crc.zip"
        zip_of(tmp, target, compression)
        b = bytearray(target.read_bytes())
        with zipfile.ZipFile(target) as z:
            info = z.getinfo(f"raw/{CHUNK}")
        # Damage the entry: stored -> flip a data byte; deflated -> change the recorded CRC (both headers).
        name_len, extra_len = struct.unpack_from("<HH", b, info.header_offset + 26)
        data_at = info.header_offset + 30 + name_len + extra_len
        if compression == zipfile.ZIP_STORED:
            b[data_at + 5] ^= 0xFF
        else:
            bad = (info.CRC ^ 0x1234) & 0xFFFFFFFF
            struct.pack_into("<I", b, info.header_offset + 14, bad)
            central = bytes(b).rfind(b"PK\x01\x02" + bytes(b[info.header_offset + 4: info.header_offset + 6]), 0)
            for pos in range(len(b) - 4):
                if b[pos:pos + 4] == b"PK\x01\x02":
                    n = struct.unpack_from("<H", b, pos + 28)[0]
                    if bytes(b[pos + 46: pos + 46 + n]) == f"raw/{CHUNK}".encode():
                        struct.pack_into("<I", b, pos + 16, bad)
            del central
        target.write_bytes(bytes(b))
        assert python_raises(lambda: zarr.open_group(zarr.ZipStore(str(target), mode="r"), mode="r")["raw"][...])
        write(f"{case}_bad_crc", {"what": f"{case} zip whose raw/{CHUNK} fails its CRC-32 (zarr-python: Bad CRC-32)",
                                  "expect": "error", "stage": "read", "array": "raw", "class": "DataFormatError",
                                  "patterns": [r"raw/0\.0\.1", "CRC-32"]})
    shutil.rmtree(tmp)


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    chunk_cases()
    metadata_cases()
    fill_cases()
    variant_cases()
    v3_cases()
    name_cases()
    zip_cases()
    n = len(list(OUT.glob("*.expected.json")))
    size = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"{n} cases, {size / 1024:.0f} KiB in {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
