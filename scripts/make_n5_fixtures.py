#!/usr/bin/python3
"""N5 fixtures (test/fixtures/n5/), for test/zarr/n5.test.ts.

Run:  /usr/bin/python3 scripts/make_n5_fixtures.py      (zarr 2.13, numcodecs 0.11, numpy)

- crops.n5: a DaCapo crops layout written by zarr-python's N5Store (DaCapo's attributes as
  zarr-python stores them), every compression zarr-python writes to N5 (raw, gzip, gzip with zlib,
  bzip2, xz, blosc, zstd, lz4), uint8/uint16/float32 raw, uint16/uint32/uint64 labels, masks,
  edge blocks, a block never written (all 0).
- blocks.n5: one dataset per block encoding, the ones zarr-python writes and the ones N5's own
  libraries (n5-java) write: truncated edge blocks, the varlength header (mode 1), lz4-java's
  block stream, missing blocks, big-endian int16/uint16/uint64/int64/float32/float64.
- gunpowder.n5, n5viewer.n5, cosem.n5, neuroglancer.n5: the metadata conventions of the tools that
  write N5 (gunpowder's `resolution` + `offset`, N5-viewer's `pixelResolution`, COSEM's `transform`
  and multiscale groups with half-voxel-shifted levels, Neuroglancer's `scales`), laid out as on
  their buckets (cosem.n5: em/fibsem-uint8/s0..s2 and labels/mito_seg/s0..s1 as on OpenOrganelle).

Expected values (`<name>.expected.json`, test/fixtures/README.md describes the format) are computed
from the numpy arrays written, as scripts/make_fixtures.py does; every dataset is read back with
zarr-python's N5Store and must equal them, except the encodings zarr-python cannot read (lz4-java
streams, varlength headers: there the N5 specification is followed), which are marked.
"""
from __future__ import annotations

import bz2 as _bz2
import gzip as _gzip
import hashlib
import json
import lzma
import shutil
import struct
import sys
import zlib
from pathlib import Path

import lz4.block
import numpy as np
import zarr
from numcodecs import BZ2, LZ4, LZMA, Blosc, GZip, Zlib, Zstd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (its Spec, readers and expected-value helpers)

OUT = mf.OUT / "n5"


# --------------------------------------------------------------------------------------------
# A small N5 writer, as n5-java writes: truncated edge blocks, optional varlength headers
# --------------------------------------------------------------------------------------------

def xxhash32(data: bytes, seed: int) -> int:
    P1, P2, P3, P4, P5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
    M = 0xFFFFFFFF

    def rotl(x, r):
        return ((x << r) | (x >> (32 - r))) & M

    def rnd(acc, lane):
        return (rotl((acc + lane * P2) & M, 13) * P1) & M

    n, i = len(data), 0
    if n >= 16:
        v = [(seed + P1 + P2) & M, (seed + P2) & M, seed & M, (seed - P1) & M]
        while i + 16 <= n:
            for k in range(4):
                v[k] = rnd(v[k], struct.unpack_from("<I", data, i + 4 * k)[0])
            i += 16
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M
    else:
        h = (seed + P5) & M
    h = (h + n) & M
    while i + 4 <= n:
        h = (rotl((h + struct.unpack_from("<I", data, i)[0] * P3) & M, 17) * P4) & M
        i += 4
    while i < n:
        h = (rotl((h + data[i] * P5) & M, 11) * P1) & M
        i += 1
    h ^= h >> 15
    h = (h * P2) & M
    h ^= h >> 13
    h = (h * P3) & M
    return h ^ (h >> 16)


def lz4_java_stream(raw: bytes, block=64) -> bytes:
    """lz4-java's LZ4BlockOutputStream (what n5-java's lz4 writes), small blocks so there are several."""
    out = b""
    for i in range(0, len(raw), block):
        part = raw[i:i + block]
        comp = lz4.block.compress(part, store_size=False)
        method, payload = (0x20, comp) if len(comp) < len(part) else (0x10, part)
        out += b"LZ4Block" + bytes([method | 5]) + struct.pack("<iiI", len(payload), len(part),
                                                                xxhash32(part, 0x9747B28C) & 0xFFFFFFF) + payload
    return out + b"LZ4Block" + bytes([0x10]) + struct.pack("<iiI", 0, 0, 0)


def compress(raw: bytes, compression: dict) -> bytes:
    t = compression["type"]
    if t == "raw":
        return raw
    if t == "gzip":
        return zlib.compress(raw, 6) if compression.get("useZlib") else _gzip.compress(raw, 6, mtime=0)
    if t == "bzip2":
        return _bz2.compress(raw, compression.get("blockSize", 9))
    if t == "xz":
        return lzma.compress(raw, format=lzma.FORMAT_XZ, preset=compression.get("preset", 6))
    if t == "blosc":
        return Blosc(compression["cname"], compression["clevel"], compression["shuffle"]).encode(raw)
    if t == "zstd":
        return Zstd(compression.get("level", 3)).encode(raw)
    if t == "lz4":
        return lz4_java_stream(raw)
    raise ValueError(t)


def write_attrs(folder: Path, attrs: dict):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "attributes.json").write_text(json.dumps(attrs))


def write_dataset(root: Path, path: str, data: np.ndarray, block, compression: dict, attrs=None,
                  truncate=True, mode=0, skip=()):
    """An N5 dataset as n5-java writes it; `block` in C order; blocks in `skip` (C order) left out."""
    folder = root / path
    write_attrs(folder, {"dimensions": list(data.shape[::-1]), "blockSize": list(block[::-1]),
                         "dataType": str(data.dtype), "compression": compression, **(attrs or {})})
    grid = [-(-s // b) for s, b in zip(data.shape, block)]
    for idx in np.ndindex(*grid):
        if tuple(idx) in skip:
            continue
        sl = tuple(slice(i * b, min((i + 1) * b, s)) for i, b, s in zip(idx, block, data.shape))
        part = data[sl]
        if not truncate and part.shape != tuple(block):
            full = np.zeros(block, data.dtype)
            full[tuple(slice(0, s) for s in part.shape)] = part
            part = full
        header = struct.pack(">HH", mode, part.ndim) + b"".join(struct.pack(">I", d) for d in part.shape[::-1])
        if mode == 1:
            header += struct.pack(">I", part.size)
        raw = np.ascontiguousarray(part).astype(part.dtype.newbyteorder(">")).tobytes()
        f = folder.joinpath(*[str(i) for i in idx[::-1]])
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(header + compress(raw, compression))


def zarr_python_reads(container: Path, path: str, data: np.ndarray):
    back = zarr.open_array(zarr.N5Store(str(container)), path=path, mode="r")[...]
    assert back.dtype == data.dtype and np.array_equal(back, data), (container.name, path)


def n5_root(name: str) -> Path:
    root = OUT / name
    shutil.rmtree(root, ignore_errors=True)
    write_attrs(root, {"n5": "2.3.0"})
    return root


def sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# crops.n5: zarr-python's N5Store, DaCapo's attributes, every compression it writes
# --------------------------------------------------------------------------------------------

def make_crops():
    rng = np.random.default_rng(5151)
    store = zarr.N5Store(str(OUT / "crops.n5"))
    root = zarr.group(store=store, overwrite=True)
    crops = {}
    la = mf.blocky_labels(rng, (6, 7, 9), np.array([1, 2**40 + 3, 2**63 + 9, 2**64 - 2], np.uint64))
    la[0:4, 0:5, 0:6] = 0  # one block all 0: not written (write_empty_chunks=False)
    ma = np.ones((6, 7, 9), np.uint8)
    ma[:, :2, :] = 0
    crops[("train", "crop_a")] = (
        mf.Spec("train/crop_a/raw", mf.noise(rng, (10, 12, 14), np.uint8), [4, 4, 4], [0, 0, 0]), GZip(5),
        mf.Spec("train/crop_a/labels", la, [4, 4, 4], [8, 8, 8]), Blosc("lz4", 5, Blosc.SHUFFLE),
        mf.Spec("train/crop_a/mask", ma, [4, 4, 4], [8, 8, 8]), None)
    crops[("train", "crop_b")] = (
        mf.Spec("train/crop_b/raw", mf.noise(rng, (9, 11, 10), np.uint16), [8, 8, 8], [16, 8, 0]), BZ2(9),
        mf.Spec("train/crop_b/labels", mf.blocky_labels(rng, (5, 6, 5), np.array([3, 70000, 2**32 - 1], np.uint32)),
                [8, 8, 8], [24, 16, 8]), Zstd(3), None, None)
    crops[("test", "crop_c")] = (
        mf.Spec("test/crop_c/raw", mf.noise(rng, (8, 9, 10), np.float32), [4, 4, 4], [-8, 0, 4]), LZMA(preset=6),
        mf.Spec("test/crop_c/labels", mf.blocky_labels(rng, (4, 5, 6), np.array([9, 300, 65535], np.uint16)),
                [4, 4, 4], [0, 8, 12]), Zlib(5), None, None)
    crops[("test", "crop_d")] = (
        mf.Spec("test/crop_d/raw", mf.noise(rng, (7, 9, 9), np.uint8), [16, 8, 8], [16, 8, 8]),
        Blosc("zstd", 5, Blosc.BITSHUFFLE),
        mf.Spec("test/crop_d/labels", mf.blocky_labels(rng, (3, 5, 5), np.array([5, 2**53 + 1], np.uint64),
                                                        block=(1, 2, 2)), [16, 8, 8], [48, 24, 24]), LZ4(1), None, None)
    for (split, name), (raw, rc, lab, lc, mask, mc) in crops.items():
        g = root.require_group(f"{split}/{name}")
        for key, spec, comp in (("raw", raw, rc), ("labels", lab, lc), ("mask", mask, mc)):
            if spec is None:
                continue
            arr = g.create_dataset(key, shape=spec.data.shape, chunks=(4, 5, 6), dtype=spec.data.dtype,
                                   compressor=comp, write_empty_chunks=False)
            arr[...] = spec.data
            arr.attrs.update(mf.attrs_of(spec))
            zarr_python_reads(OUT / "crops.n5", spec.path, spec.data)
    assert not (OUT / "crops.n5/train/crop_a/labels/0/0/0").exists()
    compressions = json.loads((OUT / "crops.n5/test/crop_c/raw/attributes.json").read_text())["compression"]
    assert compressions["type"] == "xz", compressions
    dicts = {k: mf.crop_dict(v[0], v[2], v[4]) for k, v in crops.items()}
    exp = mf.container_expected(
        "crops.n5", "crops",
        [mf.crop_expected(n, dicts[("train", n)]) for n in ("crop_a", "crop_b")],
        [mf.crop_expected(n, dicts[("test", n)]) for n in ("crop_c", "crop_d")])
    exp["format"] = "n5"
    mf.dump_json(OUT / "crops.expected.json", exp)


# --------------------------------------------------------------------------------------------
# blocks.n5: block encodings, by zarr-python and as n5-java writes them
# --------------------------------------------------------------------------------------------

def make_blocks():
    rng = np.random.default_rng(6262)
    name = "blocks.n5"
    root = n5_root(name)
    shape, block = (5, 6, 7), (4, 4, 5)  # 2 x 2 x 2 blocks, seven of them truncated
    idx = np.indices(shape).sum(axis=0)
    datas = {
        "int16": (idx * 37 - 300).astype(np.int16),
        "uint16": (idx * 1031 + rng.integers(0, 9, shape)).astype(np.uint16),
        "uint64": (idx.astype(np.uint64) * np.uint64(2**40 + 7)),
        "int64": (idx.astype(np.int64) * -(2**41) + 5),
        "float32": (idx / 7.0).astype(np.float32),
        "float64": (idx / 3.0 - 2.5).astype(np.float64),
        "uint8": (idx % 251).astype(np.uint8),
    }
    cases = {}

    def add(path, data, how, zarr_python=True, **kw):
        write_dataset(root, path, data, block, **kw)
        if zarr_python:
            zarr_python_reads(root, path, data)
        cases[path] = {"dtype": str(data.dtype), "shape": list(data.shape), "sha256": sha(data),
                       "zarr_python_reads": zarr_python, "what": how}

    comps = {"raw": {"type": "raw"}, "gzip": {"type": "gzip", "level": 6},
             "zlib": {"type": "gzip", "level": 6, "useZlib": True}, "bzip2": {"type": "bzip2", "blockSize": 9},
             "xz": {"type": "xz", "preset": 6},
             "blosc": {"type": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 2, "blocksize": 0, "nthreads": 1},
             "zstd": {"type": "zstd", "level": 3}}
    for dtype, data in datas.items():
        add(f"raw/{dtype}", data, f"uncompressed, truncated edge blocks, big-endian {dtype}", compression=comps["raw"])
    for cname, comp in comps.items():
        for dtype in ("uint16", "uint64") if cname != "raw" else ():
            add(f"{cname}/{dtype}", datas[dtype], f"n5-java style {cname}, truncated edge blocks, big-endian {dtype}",
                compression=comp)
    add("lz4java/uint16", datas["uint16"], "lz4-java block streams (n5-java's lz4)", zarr_python=False,
        compression={"type": "lz4", "blockSize": 65536})
    add("lz4java/uint64", datas["uint64"], "lz4-java block streams (n5-java's lz4)", zarr_python=False,
        compression={"type": "lz4", "blockSize": 65536})
    add("varlength/uint16", datas["uint16"], "mode 1 (varlength) headers: N5 specification", zarr_python=False,
        compression={"type": "gzip", "level": 6}, mode=1)
    add("padded/uint16", datas["uint16"], "full-size edge blocks (as zarr-python writes)",
        compression={"type": "raw"}, truncate=False)
    missing = datas["float32"].copy()
    missing[0:4, 4:6, 0:5] = 0
    missing[4:5, 0:4, 5:7] = 0
    add("missing/float32", missing, "two blocks not stored: read as 0", compression={"type": "gzip", "level": -1},
        skip={(0, 1, 0), (1, 0, 1)})
    (OUT / "blocks.expected.json").write_text(json.dumps(cases, indent=1) + "\n")


# --------------------------------------------------------------------------------------------
# Metadata conventions
# --------------------------------------------------------------------------------------------

def simple_expected(name, raw, labels, **extra):
    exp = mf.container_expected(name, "simple", [mf.crop_expected(None, mf.crop_dict(raw, labels))], "train",
                                **extra)
    exp["format"] = "n5"
    mf.dump_json(OUT / name.replace(".n5", ".expected.json"), exp)


def make_gunpowder():
    rng = np.random.default_rng(7373)
    name = "gunpowder.n5"
    root = n5_root(name)
    raw = mf.Spec("raw", mf.noise(rng, (6, 12, 14), np.uint8), [40, 4, 4], [80, 4, 8], units=["", "", ""])
    lab = mf.Spec("labels", mf.blocky_labels(rng, (4, 8, 8), np.array([1, 2, 3], np.uint16)), [40, 4, 4],
                  [120, 12, 16], units=["", "", ""])
    for s in (raw, lab):
        # gunpowder's attributes in N5's x-fastest order
        write_dataset(root, s.path, s.data, (4, 5, 6), {"type": "gzip", "level": 6},
                      attrs={"resolution": s.voxel_size[::-1], "offset": s.offset[::-1]})
        zarr_python_reads(root, s.path, s.data)
    simple_expected(name, raw, lab, convention="gunpowder")


def make_n5viewer():
    rng = np.random.default_rng(8484)
    name = "n5viewer.n5"
    root = n5_root(name)
    raw = mf.Spec("raw", mf.noise(rng, (8, 10, 12), np.uint16), [8, 4, 4], [0, 0, 0], units=["nm"] * 3)
    lab = mf.Spec("labels", mf.blocky_labels(rng, (4, 6, 6), np.array([4, 5], np.uint8)), [8, 4, 4], [16, 8, 12],
                  units=["nm"] * 3)
    write_dataset(root, "raw", raw.data, (4, 4, 4), {"type": "raw"},
                  attrs={"pixelResolution": {"dimensions": [4.0, 4.0, 8.0], "unit": "nm"}})
    write_dataset(root, "labels", lab.data, (4, 4, 4), {"type": "bzip2", "blockSize": 9},
                  attrs={"pixelResolution": {"dimensions": [4, 4, 8], "unit": "nm"}, "offset": [12, 8, 16]})
    for s in (raw, lab):
        zarr_python_reads(root, s.path, s.data)
    simple_expected(name, raw, lab, convention="N5-viewer")


def downsample_mean(a, f=2):
    s = [d // f * f for d in a.shape]
    a = a[: s[0], : s[1], : s[2]].astype(np.float64)
    return a.reshape(s[0] // f, f, s[1] // f, f, s[2] // f, f).mean(axis=(1, 3, 5))


def downsample_mode(a, f=2):
    """The most frequent id of each 2x2x2 block (ties: the smallest id), as label pyramids do."""
    s = [d // f * f for d in a.shape]
    b = a[: s[0], : s[1], : s[2]].reshape(s[0] // f, f, s[1] // f, f, s[2] // f, f)
    b = b.transpose(0, 2, 4, 1, 3, 5).reshape(s[0] // f, s[1] // f, s[2] // f, f ** 3)
    out = np.empty(b.shape[:3], a.dtype)
    for i in np.ndindex(*b.shape[:3]):
        v, c = np.unique(b[i], return_counts=True)
        out[i] = v[np.argmax(c)]
    return out


def cosem_transform(scale, translate):
    return {"axes": ["z", "y", "x"], "ordering": "C", "scale": scale, "translate": translate,
            "units": ["nm", "nm", "nm"]}


def make_cosem():
    """OpenOrganelle's layout: em/fibsem-uint8/s0..s2 and labels/mito_seg/s0..s1, COSEM multiscale
    groups with per-level transforms (voxel centres: s1 at 8 nm translate 2, s2 at 16 nm translate 6)."""
    rng = np.random.default_rng(9595)
    name = "cosem.n5"
    root = n5_root(name)
    raw0 = mf.noise(rng, (8, 12, 16), np.uint8)
    ids = np.array([1, 2, 7, 2**33 + 1], np.uint64)
    lab0 = mf.blocky_labels(rng, (6, 8, 8), ids, block=(2, 4, 4))
    levels = {"em/fibsem-uint8": [raw0], "labels/mito_seg": [lab0]}
    for _ in range(2):
        levels["em/fibsem-uint8"].append(np.round(downsample_mean(levels["em/fibsem-uint8"][-1])).astype(np.uint8))
    levels["labels/mito_seg"].append(downsample_mode(lab0))
    # labels annotate part of the raw (on the 8 nm grid of their s1)
    lab_offset = [8, 16, 16]
    specs = {}
    for group, arrays in levels.items():
        base = [0, 0, 0] if group.startswith("em") else lab_offset
        datasets = []
        for i, data in enumerate(arrays):
            s = 4 * 2 ** i
            translate = [b + (s - 4) / 2 for b in base]
            translate = [int(t) if float(t).is_integer() else t for t in translate]
            t = cosem_transform([s, s, s], translate)
            write_dataset(root, f"{group}/s{i}", data, (4, 8, 8), {"type": "gzip", "level": 6},
                          attrs={"transform": t, "pixelResolution": {"dimensions": [s, s, s], "unit": "nm"}})
            zarr_python_reads(root, f"{group}/s{i}", data)
            datasets.append({"path": f"s{i}", "transform": t})
            specs[(group, i)] = mf.Spec(f"{group}/s{i}", data, [s, s, s], base, units=["nm"] * 3)
        write_attrs(root / group, {"multiscales": [{"name": group.split("/")[-1], "datasets": datasets}]})
    write_attrs(root / "em", {})
    # raw at 4 nm (s0), labels at 8 nm (s1): DataConfig voxelSize {raw: [4,4,4], labels: [8,8,8]}
    simple_expected(name, specs[("em/fibsem-uint8", 0)], specs[("labels/mito_seg", 1)],
                    config={"rawName": "em/fibsem-uint8", "gtName": "labels/mito_seg",
                            "voxelSize": {"raw": [4, 4, 4], "labels": [8, 8, 8]}},
                    convention="COSEM multiscales")


def make_neuroglancer():
    rng = np.random.default_rng(1717)
    name = "neuroglancer.n5"
    root = n5_root(name)
    raw0 = mf.noise(rng, (8, 12, 16), np.uint8)
    raw1 = np.round(downsample_mean(raw0)).astype(np.uint8)
    write_attrs(root / "raw", {"scales": [[1, 1, 1], [2, 2, 2]], "resolution": [4, 4, 8], "axes": ["x", "y", "z"],
                               "units": ["nm", "nm", "nm"]})
    for i, data in enumerate((raw0, raw1)):
        write_dataset(root, f"raw/s{i}", data, (4, 8, 8), {"type": "raw"},
                      attrs={"downsamplingFactors": [2 ** i] * 3})
        zarr_python_reads(root, f"raw/s{i}", data)
    lab = mf.Spec("labels", mf.blocky_labels(rng, (6, 8, 8), np.array([1, 9], np.uint32)), [8, 4, 4], [8, 8, 16],
                  units=["", "", ""])
    write_dataset(root, "labels", lab.data, (4, 8, 8), {"type": "gzip", "level": 6},
                  attrs={"resolution": [4, 4, 8], "offset": [16, 8, 8]})
    zarr_python_reads(root, "labels", lab.data)
    raw = mf.Spec("raw/s0", raw0, [8, 4, 4], [0, 0, 0], units=["nm"] * 3)
    simple_expected(name, raw, lab, convention="Neuroglancer N5")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    make_crops()
    make_blocks()
    make_gunpowder()
    make_n5viewer()
    make_cosem()
    make_neuroglancer()
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {OUT} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
