#!/usr/bin/python3
"""Reference zarr v2 fixtures for the reading layer, with expected values computed by numpy.

Run:  /usr/bin/python3 scripts/make_fixtures.py      (zarr 2.13, numcodecs 0.11, numpy)

Writes under test/fixtures/ (every entry there is deleted and rewritten, except the v3.* entries,
which scripts/make_v3_fixtures.ts owns). Deterministic: fixed seeds, gzip without timestamps,
zip entries with a fixed date; re-running reproduces the same bytes.

Good containers get `<name>.expected.json` (format described in test/fixtures/README.md); the bad
containers are described in `bad.expected.json`.

The expected values never come from reading the zarr files back: they are computed from the numpy
arrays that were written, by plain slicing + zero padding (`read_world` below). The script does
read the files back with zarr-python once, only to check it wrote what it meant to.
"""
from __future__ import annotations

import gzip as _gzip
import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import numcodecs
import numcodecs.gzip
import zarr
from numcodecs import Blosc, GZip, Zstd

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "test" / "fixtures"


# numcodecs' GZip writes the current time into the gzip header; write mtime=0 instead so the
# chunk bytes are reproducible. The format (and the codec id in .zarray) is unchanged.
def _gzip_encode_deterministic(self, buf):
    buf = numcodecs.compat.ensure_contiguous_ndarray(buf)
    return _gzip.compress(memoryview(buf).cast("B").tobytes(), compresslevel=self.level, mtime=0)


numcodecs.gzip.GZip.encode = _gzip_encode_deterministic
numcodecs.blosc.use_threads = False

BLOSC_LZ4 = Blosc(cname="lz4", clevel=5, shuffle=Blosc.SHUFFLE)
ZSTD = Zstd(level=3)
GZIP = GZip(level=5)


# --------------------------------------------------------------------------------------------
# Array specs and the reference reader
# --------------------------------------------------------------------------------------------

class Spec:
    """One array as written: its data (as stored, channel axes included) and world metadata."""

    def __init__(self, path, data, voxel_size, offset, axis_names=None, units=None, types=None):
        self.path = path
        self.data = data
        self.voxel_size = [int(v) for v in voxel_size]
        self.offset = [int(o) for o in offset]
        nd = data.ndim
        self.axis_names = list(axis_names) if axis_names is not None else ["z", "y", "x"][-nd:]
        self.units = list(units) if units is not None else ["nanometer"] * len(self.voxel_size)
        # funlib.persistence >= 0.6: `types` decides the channel axes (no '^' needed in the names)
        self.types = list(types) if types is not None else None
        is_channel = ([t == "channel" for t in self.types] if self.types is not None
                      else ["^" in n for n in self.axis_names])
        self.channel_axes = [i for i, c in enumerate(is_channel) if c]
        self.spatial_axes = [i for i, c in enumerate(is_channel) if not c]
        assert len(self.spatial_axes) == len(self.voxel_size) == len(self.offset)

    @property
    def dtype(self):
        return str(self.data.dtype)

    @property
    def spatial_shape(self):
        return [int(self.data.shape[i]) for i in self.spatial_axes]

    @property
    def channels(self):
        c = 1
        for i in self.channel_axes:
            c *= int(self.data.shape[i])
        return c

    @property
    def roi(self):
        return {"offset": list(self.offset),
                "shape": [s * v for s, v in zip(self.spatial_shape, self.voxel_size)]}

    def channels_last(self):
        """Data as [spatial..., c] (c axis present only if the array has channel axes)."""
        if not self.channel_axes:
            return self.data
        moved = np.moveaxis(self.data, self.channel_axes, list(range(-len(self.channel_axes), 0)))
        return moved.reshape(moved.shape[: len(self.spatial_axes)] + (self.channels,))

    def describe(self):
        d = {
            "path": self.path,
            "dtype": self.dtype,
            "shape": [int(s) for s in self.data.shape],
            "axis_names": self.axis_names,
            **({"types": self.types} if self.types is not None else {}),
            "voxel_size": self.voxel_size,
            "offset": self.offset,
            "units": self.units,
            "roi": self.roi,
            "channels": self.channels,
        }
        return d


def read_world(spec: Spec, roi) -> np.ndarray:
    """Stored values over a voxel-aligned world roi, zero-filled outside; [spatial..., c]."""
    vs = np.array(spec.voxel_size)
    off = np.array(roi["offset"])
    shp = np.array(roi["shape"])
    assert np.all(off % vs == 0) and np.all(shp % vs == 0), (spec.path, roi)
    begin = (off - np.array(spec.offset)) // vs  # voxel index in the array
    assert np.all((off - np.array(spec.offset)) % vs == 0)
    n = shp // vs
    data = spec.channels_last()
    out_shape = tuple(int(x) for x in n) + data.shape[len(spec.spatial_axes):]
    out = np.zeros(out_shape, dtype=spec.data.dtype)
    src, dst = [], []
    for d in range(len(n)):
        lo = max(begin[d], 0)
        hi = min(begin[d] + n[d], spec.spatial_shape[d])
        if hi <= lo:
            return out
        src.append(slice(int(lo), int(hi)))
        dst.append(slice(int(lo - begin[d]), int(hi - begin[d])))
    out[tuple(dst)] = data[tuple(src)]
    return out


NORMALIZATION = {"uint8": ("/255", 255.0), "uint16": ("/65535", 65535.0),
                 "float32": ("none", None), "float64": ("none", None)}


def roi_contains_point_mask(roi_outer, roi_read, voxel_size):
    """1 where the voxels of roi_read lie inside roi_outer (world units), else 0."""
    vs = np.array(voxel_size)
    n = np.array(roi_read["shape"]) // vs
    grids = []
    for d in range(len(n)):
        w = roi_read["offset"][d] + np.arange(n[d]) * vs[d]  # voxel begin in world units
        inside = (w >= roi_outer["offset"][d]) & (w + vs[d] <= roi_outer["offset"][d] + roi_outer["shape"][d])
        grids.append(inside)
    m = grids[0]
    for g in grids[1:]:
        m = np.logical_and.outer(m, g)
    return m.astype(np.uint8)


def flat(a: np.ndarray):
    a = np.ascontiguousarray(a).ravel(order="C")
    if a.dtype == np.uint64 or a.dtype == np.int64:
        return [str(int(v)) for v in a]
    if a.dtype.kind == "f":
        return [float(v) for v in a]
    return [int(v) for v in a]


def volume_read_entry(array_key, spec, roi, kind):
    v = read_world(spec, roi)
    shape = [int(s) for s in v.shape]
    if not spec.channel_axes:
        shape = shape + [1]
    return {"array": array_key, "kind": kind, "roi": roi, "shape": shape, "values": flat(v)}


def crop_read_entry(crop, roi, labels_roi, kind):
    raw, labels, mask = crop["raw"], crop["labels"], crop["mask"]
    lroi = labels_roi if labels_roi is not None else roi
    r = read_world(raw, roi)
    if not raw.channel_axes:
        r = r[..., None]
    norm, scale = NORMALIZATION[raw.dtype]
    if scale is None:
        rn = r.astype(np.float32)
    else:
        rn = (r.astype(np.float64) / scale).astype(np.float32)
    lab = read_world(labels, lroi)
    known = roi_contains_point_mask(labels.roi, lroi, labels.voxel_size)
    if mask is not None:
        known = known * (mask_at_labels_grid(mask, labels, lroi) != 0).astype(np.uint8)
    return {
        "kind": kind,
        "roi": roi,
        "labels_roi": labels_roi,
        "raw_shape": [int(s) for s in rn.shape],
        "raw": flat(rn),
        "label_shape": [int(s) for s in lab.shape],
        "labels": flat(lab),
        "mask": flat(known),
    }


def mask_at_labels_grid(mask: Spec, labels: Spec, lroi):
    """The mask over lroi at the labels' voxel size: each label voxel takes the mask voxel that
    contains its centre (np.repeat when the mask is coarser, a strided slice when finer)."""
    if mask.voxel_size == labels.voxel_size:
        return read_world(mask, lroi)
    mv, lv = np.array(mask.voxel_size), np.array(labels.voxel_size)
    snapped = {"offset": [int(o // m * m) for o, m in zip(lroi["offset"], mv)],
               "shape": [0] * len(mv)}
    end = [-(-(o + s) // m) * m for o, s, m in zip(lroi["offset"], lroi["shape"], mv)]
    snapped["shape"] = [int(e - o) for e, o in zip(end, snapped["offset"])]
    m = read_world(mask, snapped)
    for d in range(len(mv)):
        if mv[d] > lv[d]:
            m = np.repeat(m, mv[d] // lv[d], axis=d)
        elif mv[d] < lv[d]:
            f = lv[d] // mv[d]
            m = np.take(m, np.arange(f // 2, m.shape[d], f), axis=d)
    start = [(o - so) // l for o, so, l in zip(lroi["offset"], snapped["offset"], lv)]
    n = [s // l for s, l in zip(lroi["shape"], lv)]
    return m[tuple(slice(int(a), int(a + b)) for a, b in zip(start, n))]


def grow(roi, by):
    return {"offset": [o - b for o, b in zip(roi["offset"], by)],
            "shape": [s + 2 * b for s, b in zip(roi["shape"], by)]}


def make_rois(crop):
    """Voxel-aligned world rois for one crop: inside, partly outside (several sides), outside."""
    raw, labels = crop["raw"], crop["labels"]
    v = [max(a, b) for a, b in zip(raw.voxel_size, labels.voxel_size)]  # rois on the coarser grid
    R, L = raw.roi, labels.roi
    Rend = [o + s for o, s in zip(R["offset"], R["shape"])]
    Lend = [o + s for o, s in zip(L["offset"], L["shape"])]
    rois = []
    # entirely inside both raw and labels (labels lie inside raw in every good fixture)
    inside_shape = [min(max(s - 2 * vv, vv), 3 * vv) for s, vv in zip(L["shape"], v)]
    inside_off = [o + vv if s >= 3 * vv else o for o, s, vv in zip(L["offset"], L["shape"], v)]
    rois.append(("inside", {"offset": inside_off, "shape": inside_shape}))
    # across raw's low corner (zero-fill before raw's offset)
    rois.append(("raw_low_corner", {"offset": [o - 2 * vv for o, vv in zip(R["offset"], v)],
                                    "shape": [4 * vv for vv in v]}))
    # across raw's high corner
    rois.append(("raw_high_corner", {"offset": [e - 2 * vv for e, vv in zip(Rend, v)],
                                     "shape": [3 * vv for vv in v]}))
    # across labels' high corner, inside raw where raw extends beyond labels
    rois.append(("labels_high_corner", {"offset": [e - 2 * vv for e, vv in zip(Lend, v)],
                                        "shape": [4 * vv for vv in v]}))
    # entirely outside every array
    rois.append(("outside", {"offset": [e + 3 * vv for e, vv in zip(Rend, v)],
                             "shape": [2 * vv for vv in v]}))
    # exactly the labels' region
    rois.append(("labels_roi", {"offset": list(L["offset"]), "shape": list(L["shape"])}))
    return rois


def crop_expected(name, crop):
    arrays = {k: (crop[k].describe() if crop[k] is not None else None) for k in ("raw", "labels", "mask")}
    norm = NORMALIZATION.get(crop["raw"].dtype)
    arrays["raw"]["normalization"] = norm[0] if norm else None
    rois = make_rois(crop)
    volume_reads = []
    for kind, roi in rois:
        for key in ("raw", "labels", "mask"):
            if crop[key] is not None:
                volume_reads.append(volume_read_entry(key, crop[key], roi, kind))
    crop_reads = []
    L = crop["labels"].roi
    v = [max(a, b) for a, b in zip(crop["raw"].voxel_size, crop["labels"].voxel_size)]
    crop_reads.append(crop_read_entry(crop, L, None, "labels_roi"))
    crop_reads.append(crop_read_entry(crop, grow(L, v), L, "context_1_voxel"))
    for kind, roi in rois:
        if kind in ("raw_low_corner", "labels_high_corner", "outside", "inside"):
            crop_reads.append(crop_read_entry(crop, roi, None, kind))
    # raw with two voxels of context, labels over a region that straddles the labels' high corner
    Lend = [o + s for o, s in zip(L["offset"], L["shape"])]
    straddle = {"offset": [e - 2 * vv for e, vv in zip(Lend, v)], "shape": [3 * vv for vv in v]}
    crop_reads.append(crop_read_entry(crop, grow(straddle, [2 * vv for vv in v]), straddle,
                                      "context_2_voxels_straddling_labels"))
    return {
        "name": name,
        "voxel_size": crop["labels"].voxel_size,
        "arrays": arrays,
        "volume_reads": volume_reads,
        "crop_reads": crop_reads,
    }


# --------------------------------------------------------------------------------------------
# Writing helpers
# --------------------------------------------------------------------------------------------

def attrs_of(spec: Spec):
    attrs = {"voxel_size": spec.voxel_size, "offset": spec.offset,
             "axis_names": spec.axis_names, "units": spec.units}
    if spec.types is not None:
        attrs["types"] = spec.types
    return attrs


def write_array(group, name, data, chunks, compressor, attrs=None, dimension_separator=".",
                write_empty_chunks=True):
    arr = group.create_dataset(name, shape=data.shape, chunks=chunks, dtype=data.dtype,
                               compressor=compressor, fill_value=0,
                               dimension_separator=dimension_separator,
                               write_empty_chunks=write_empty_chunks)
    arr[...] = data
    if attrs is not None:
        arr.attrs.update(attrs)
    # sanity: zarr-python reads back exactly what we meant to write
    back = zarr.open_array(arr.store, path=arr.path, mode="r")[...]
    assert back.dtype == data.dtype and np.array_equal(back, data), (group.path, name)
    return arr


def write_spec(group, name, spec, chunks, compressor, **kw):
    return write_array(group, name, spec.data, chunks, compressor, attrs_of(spec), **kw)


def dump_json(path: Path, obj, collapse=True):
    """Indented structure, but every list of scalars on one line (keeps the files small)."""
    text = json.dumps(obj, indent=1, sort_keys=False)
    if collapse:
        text = re.sub(r"\[\s*([^\[\]{}]*?)\s*\]",
                      lambda m: "[" + re.sub(r",\s+", ",", m.group(1)) + "]", text)
    assert json.loads(text) == json.loads(json.dumps(obj))
    path.write_text(text + "\n")


def blocky_labels(rng, shape, ids, block=(2, 3, 3), background=0.15):
    """Piecewise-constant label ids (segments), some background, as stored dtype of `ids`."""
    grid = tuple(-(-s // b) for s, b in zip(shape, block))
    table = rng.choice(ids, size=grid)
    table[rng.random(grid) < background] = 0
    idx = np.ix_(*[np.arange(s) // b for s, b in zip(shape, block)])
    return table[idx].astype(ids.dtype)


def noise(rng, shape, dtype):
    if dtype == np.float32:
        return rng.random(shape, dtype=np.float32)
    info = np.iinfo(dtype)
    return rng.integers(0, int(info.max) + 1, size=shape, dtype=dtype)


def crop_dict(raw, labels, mask=None):
    return {"raw": raw, "labels": labels, "mask": mask}


def container_expected(name, layout, train, test, **extra):
    """`test` is the string "train" when the layout has one crop for both (the simple layout)."""
    d = {"container": name, "format": "zarr v2", "layout": layout}
    d.update(extra)
    d["train"] = train
    d["test"] = test
    return d


# --------------------------------------------------------------------------------------------
# Good containers
# --------------------------------------------------------------------------------------------

def make_simple():
    rng = np.random.default_rng(1001)
    vs = [4, 4, 4]
    raw = Spec("raw", noise(rng, (12, 14, 16), np.uint8), vs, [0, 0, 0])
    ids = np.array([7, 2**32 + 7, 2**40 + 123, 2**53 + 1, 2**63 + 5, 2**64 - 2, 4294967296],
                   dtype=np.uint64)
    lab = blocky_labels(rng, (6, 8, 7), ids)
    # labels chunks are (3, 4, 4): grid 2×2×2; make two chunks all background so that zarr does
    # not write them (write_empty_chunks=False) and the reader must fill them with 0
    lab[0:3, 4:8, 0:4] = 0
    lab[3:6, 0:4, 4:7] = 0
    lab[0, 0, 0] = 2**64 - 2
    lab[5, 7, 6] = 2**53 + 1
    labels = Spec("labels", lab, vs, [8, 4, 12])
    m = np.ones((6, 8, 7), dtype=np.uint8)
    m[:, :, 0] = 0            # a slab of unknown voxels
    m[2, 3, 4] = 2            # non-zero values other than 1 are known too
    m[4, 1, 2] = 255
    mask = Spec("mask", m, vs, [8, 4, 12])

    root = zarr.open_group(str(OUT / "simple.zarr"), mode="w")
    write_spec(root, "raw", raw, (5, 6, 7), BLOSC_LZ4)
    write_spec(root, "labels", labels, (3, 4, 4), BLOSC_LZ4, dimension_separator="/",
               write_empty_chunks=False)
    write_spec(root, "mask", mask, (6, 8, 7), BLOSC_LZ4)
    for key in ("labels/0/1/0", "labels/1/0/1"):
        assert not (OUT / "simple.zarr" / key).exists(), key
    assert (OUT / "simple.zarr" / "labels/0/0/0").exists()

    crop = crop_expected(None, crop_dict(raw, labels, mask))
    exp = container_expected("simple.zarr", "simple", [crop], "train",
                             missing_chunks={"labels": ["0/1/0", "1/0/1"]},
                             nested_chunk_keys=["labels"])
    dump_json(OUT / "simple.expected.json", exp)

    # the same container as a zip file: entries relative to the zarr root, stored, fixed dates
    zpath = OUT / "simple.zarr.zip"
    base = OUT / "simple.zarr"
    files = sorted(p for p in base.rglob("*") if p.is_file())
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_STORED) as zf:
        for p in files:
            info = zipfile.ZipInfo(p.relative_to(base).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, p.read_bytes())


def make_traintest():
    rng = np.random.default_rng(2002)
    vs = [40, 4, 4]
    ids = np.array([1, 2, 3, 17, 1000, 65537, 2**31 + 11, 2**32 - 1], dtype=np.uint32)
    train = crop_dict(
        Spec("train/raw", noise(rng, (8, 16, 14), np.uint16), vs, [120, 16, 8]),
        Spec("train/labels", blocky_labels(rng, (4, 10, 10), ids), vs, [200, 28, 16]),
    )
    # negative offsets are legal (multiples of the voxel size); labels share raw's z extent and
    # sit off-centre in y/x
    test = crop_dict(
        Spec("test/raw", noise(rng, (6, 12, 12), np.uint16), vs, [-40, -8, 0]),
        Spec("test/labels", blocky_labels(rng, (6, 8, 8), ids), vs, [-40, 0, 8]),
    )
    root = zarr.open_group(str(OUT / "traintest.zarr"), mode="w")
    for split, crop in (("train", train), ("test", test)):
        g = root.create_group(split)
        write_spec(g, "raw", crop["raw"], (4, 8, 8), ZSTD)
        write_spec(g, "labels", crop["labels"], (4, 8, 8), ZSTD)
    exp = container_expected("traintest.zarr", "train_test",
                             [crop_expected(None, train)], [crop_expected(None, test)])
    dump_json(OUT / "traintest.expected.json", exp)


def make_crops():
    rng = np.random.default_rng(3003)
    crops = {}
    # crop_01: float32 raw, uint8 labels, uint8 mask with an unknown slab
    v1 = [8, 8, 8]
    m1 = np.ones((6, 6, 8), dtype=np.uint8)
    m1[0:2] = 0
    crops[("train", "crop_01")] = crop_dict(
        Spec("train/crop_01/raw", noise(rng, (10, 12, 14), np.float32), v1, [0, 0, 0]),
        Spec("train/crop_01/labels", blocky_labels(rng, (6, 6, 8), np.array([1, 2, 3, 200, 255], np.uint8)),
             v1, [16, 16, 24]),
        Spec("train/crop_01/mask", m1, v1, [16, 16, 24]),
    )
    # crop_02: uint8 raw, uint16 labels aligned with raw's low corner (context on one side only)
    v2 = [8, 8, 8]
    crops[("train", "crop_02")] = crop_dict(
        Spec("train/crop_02/raw", noise(rng, (9, 11, 10), np.uint8), v2, [80, 40, 0]),
        Spec("train/crop_02/labels", blocky_labels(rng, (5, 11, 6), np.array([5, 6, 300, 65535], np.uint16)),
             v2, [80, 40, 0]),
    )
    # crop_03: float32 raw, uint32 labels, int8 mask with a y slab of 0 and some -1 (known)
    v3 = [8, 4, 4]
    m3 = np.ones((8, 6, 6), dtype=np.int8)
    m3[:, 2:4, :] = 0
    m3[1, 0, :] = -1
    m3[6, 5, 1:4] = 7
    crops[("test", "crop_03")] = crop_dict(
        Spec("test/crop_03/raw", noise(rng, (8, 10, 12), np.float32), v3, [0, 8, 16]),
        Spec("test/crop_03/labels",
             blocky_labels(rng, (8, 6, 6), np.array([9, 10, 70000, 2**31 + 1], np.uint32)),
             v3, [0, 24, 48]),
        Spec("test/crop_03/mask", m3, v3, [0, 24, 48]),
    )
    # crop_04: uint8 raw, uint64 labels, bigger voxels
    v4 = [16, 8, 8]
    crops[("test", "crop_04")] = crop_dict(
        Spec("test/crop_04/raw", noise(rng, (7, 9, 9), np.uint8), v4, [16, 8, 8]),
        Spec("test/crop_04/labels",
             blocky_labels(rng, (3, 5, 5), np.array([1, 2**33, 2**53 + 3, 2**64 - 5], np.uint64),
                           block=(1, 2, 2)),
             v4, [48, 24, 24]),
    )
    root = zarr.open_group(str(OUT / "crops.zarr"), mode="w")
    groups = {"train": root.create_group("train"), "test": root.create_group("test")}
    # deliberately out of sort order
    for split, name in (("train", "crop_02"), ("test", "crop_04"), ("train", "crop_01"), ("test", "crop_03")):
        g = groups[split].create_group(name)
        c = crops[(split, name)]
        for key in ("raw", "labels", "mask"):
            if c[key] is not None:
                write_spec(g, key, c[key], (4, 5, 6), GZIP)
    zarr.consolidate_metadata(root.store)
    exp = container_expected(
        "crops.zarr", "crops",
        [crop_expected(n, crops[("train", n)]) for n in ("crop_01", "crop_02")],
        [crop_expected(n, crops[("test", n)]) for n in ("crop_03", "crop_04")],
        consolidated=True)
    dump_json(OUT / "crops.expected.json", exp)


def make_channels():
    rng = np.random.default_rng(4004)
    vs = [4, 4, 4]
    base = noise(rng, (8, 10, 12), np.uint8)
    rawdata = np.stack([base, (255 - base) // 2]).astype(np.uint8)
    raw = Spec("raw", rawdata, vs, [0, 0, 0], axis_names=["c^", "z", "y", "x"])
    labels = Spec("labels", blocky_labels(rng, (6, 8, 8), np.array([3, 4, 5, 99], np.uint32)), vs, [4, 4, 8])
    root = zarr.open_group(str(OUT / "channels.zarr"), mode="w")
    write_spec(root, "raw", raw, (1, 4, 5, 6), BLOSC_LZ4)
    write_spec(root, "labels", labels, (3, 4, 4), BLOSC_LZ4)
    exp = container_expected("channels.zarr", "simple", [crop_expected(None, crop_dict(raw, labels))],
                             "train")
    dump_json(OUT / "channels.expected.json", exp)


def make_ome():
    rng = np.random.default_rng(5005)
    raw0 = noise(rng, (10, 12, 14), np.uint8)
    lab0 = blocky_labels(rng, (6, 8, 8), np.array([1, 2, 3, 4, 5000], np.uint16))
    root = zarr.open_group(str(OUT / "ome.zarr"), mode="w")

    def multiscale(name, s0_translation):
        return {"multiscales": [{
            "version": "0.4",
            "name": name,
            "axes": [{"name": "z", "type": "space", "unit": "nanometer"},
                     {"name": "y", "type": "space", "unit": "nanometer"},
                     {"name": "x", "type": "space", "unit": "nanometer"}],
            "datasets": [
                {"path": "s0", "coordinateTransformations": [
                    {"type": "scale", "scale": [8, 8, 8]},
                    {"type": "translation", "translation": s0_translation}]},
                {"path": "s1", "coordinateTransformations": [
                    {"type": "scale", "scale": [16, 16, 16]},
                    {"type": "translation", "translation": [t - t % 16 for t in s0_translation]}]},
            ],
            "type": "stride-2 subsampling",
        }]}

    specs = {}
    for name, data, tr in (("raw", raw0, [16, 0, 8]), ("labels", lab0, [32, 16, 24])):
        g = root.create_group(name)
        g.attrs.update(multiscale(name, tr))
        write_array(g, "s0", data, (4, 5, 6), BLOSC_LZ4, dimension_separator="/")
        write_array(g, "s1", data[::2, ::2, ::2].copy(), (4, 5, 6), BLOSC_LZ4, dimension_separator="/")
        specs[name] = Spec(f"{name}/s0", data, [8, 8, 8], tr)
    crop = crop_expected(None, crop_dict(specs["raw"], specs["labels"]))
    exp = container_expected("ome.zarr", "simple", [crop], "train", ome_ngff=True,
                             note="array paths are the s0 arrays; metadata from 'multiscales'")
    dump_json(OUT / "ome.expected.json", exp)


def make_defaults():
    rng = np.random.default_rng(6006)
    raw = Spec("raw", noise(rng, (6, 7, 8), np.uint8), [1, 1, 1], [0, 0, 0], units=["", "", ""])
    labels = Spec("labels", blocky_labels(rng, (4, 5, 6), np.array([1, 2, 3], np.uint8)), [1, 1, 1],
                  [0, 0, 0], units=["", "", ""])
    root = zarr.open_group(str(OUT / "defaults.zarr"), mode="w")
    write_array(root, "raw", raw.data, (3, 4, 4), BLOSC_LZ4, attrs=None)
    write_array(root, "labels", labels.data, (3, 4, 4), BLOSC_LZ4, attrs=None)
    assert not (OUT / "defaults.zarr" / "raw" / ".zattrs").exists()
    crop = crop_expected(None, crop_dict(raw, labels))
    for a in crop["arrays"].values():
        if a is not None:
            a["axis_names"] = None  # funlib's default names are not fixed by the design; any spatial names
    exp = container_expected("defaults.zarr", "simple", [crop], "train", warns_missing_attributes=True)
    dump_json(OUT / "defaults.expected.json", exp)


def make_types():
    """funlib.persistence >= 0.6: `types` beside `axis_names`; the channel axis named "c" (no '^')."""
    rng = np.random.default_rng(8008)
    vs = [4, 4, 4]
    raw = Spec("raw", noise(rng, (2, 8, 10, 12), np.uint8), vs, [0, 0, 0],
               axis_names=["c", "z", "y", "x"], types=["channel", "space", "space", "space"])
    labels = Spec("labels", blocky_labels(rng, (6, 6, 8), np.array([3, 4, 5], np.uint8)), vs, [4, 8, 8],
                  types=["space", "space", "space"])
    root = zarr.open_group(str(OUT / "types.zarr"), mode="w")
    write_spec(root, "raw", raw, (1, 4, 5, 6), BLOSC_LZ4)
    write_spec(root, "labels", labels, (3, 4, 4), BLOSC_LZ4)
    crop = crop_dict(raw, labels)
    dump_json(OUT / "types.expected.json",
              container_expected("types.zarr", "simple", [crop_expected(None, crop)], "train"))


def make_scales():
    """Raw and labels at different voxel sizes, written with `types` (funlib.persistence 0.6):
    upsample.zarr as DaCapo's upsample fixture (raw 4 nm, labels 2 nm; a mask at raw's 4 nm on the
    train crop), downsample.zarr the reverse and anisotropic (raw [4, 2, 2], labels [4, 4, 4])."""
    rng = np.random.default_rng(9009)
    t3 = ["space", "space", "space"]

    def container(name, raw_vs, lab_vs, mask_vs):
        crops = {}
        for split, raw_world, raw_off, lab_off in (
                ("train", (40, 48, 56), (0, 0, 0), (8, 8, 8)),
                ("test", (36, 48, 40), (-8, 0, 16), (0, 8, 24))):
            raw_shape = tuple(int(w // v) for w, v in zip(raw_world, raw_vs))
            # labels: inside raw, leaving 8 world units of context at the low side, more at the high side
            lab_world = [w - 8 - (lo - ro) - 4 for w, lo, ro in zip(raw_world, lab_off, raw_off)]
            lab_shape = tuple(int(w // v) for w, v in zip(lab_world, lab_vs))
            rspec = Spec(f"{split}/raw", noise(rng, raw_shape, np.uint8), raw_vs, raw_off, types=t3)
            lspec = Spec(f"{split}/labels",
                         blocky_labels(rng, lab_shape, np.array([1, 2, 3, 2**40 + 9], np.uint64)),
                         lab_vs, lab_off, types=t3)
            mspec = None
            if split == "train" and mask_vs is not None:
                mask_shape = tuple(int(w // v) for w, v in zip(lab_world, mask_vs))
                mdata = np.ones(mask_shape, np.uint8)
                mdata[:, :1, :] = 0
                mdata[1, :, 2:4] = 0
                mspec = Spec(f"{split}/mask", mdata, mask_vs, lab_off, types=t3)
            crops[split] = crop_dict(rspec, lspec, mspec)
        root = zarr.open_group(str(OUT / name), mode="w")
        for split, c in crops.items():
            g = root.create_group(split)
            for key in ("raw", "labels", "mask"):
                if c[key] is not None:
                    write_spec(g, key, c[key], (8, 12, 14), GZIP)
        dump_json(OUT / name.replace(".zarr", ".expected.json"),
                  container_expected(name, "train_test", [crop_expected(None, crops["train"])],
                                     [crop_expected(None, crops["test"])]))

    container("upsample.zarr", [4, 4, 4], [2, 2, 2], [4, 4, 4])
    container("downsample.zarr", [4, 2, 2], [4, 4, 4], None)


# --------------------------------------------------------------------------------------------
# Bad containers: one fault each
# --------------------------------------------------------------------------------------------

def make_bad():
    rng = np.random.default_rng(7007)
    cases = {}

    def simple(name, raw_data, raw_attrs, lab_data=None, lab_attrs=None, compressor=BLOSC_LZ4,
               raw_chunks=(4, 4, 4), lab_chunks=(4, 4, 4)):
        root = zarr.open_group(str(OUT / name), mode="w")
        if raw_data is not None:
            write_array(root, "raw", raw_data, raw_chunks, compressor, raw_attrs)
        if lab_data is not None:
            write_array(root, "labels", lab_data, lab_chunks, compressor, lab_attrs)
        return root

    def a(vs=(4, 4, 4), off=(0, 0, 0), names=("z", "y", "x"), units=None):
        return {"voxel_size": list(vs), "offset": list(off), "axis_names": list(names),
                "units": list(units) if units is not None else ["nanometer"] * len(vs)}

    r8 = noise(rng, (6, 6, 6), np.uint8)
    l8 = blocky_labels(rng, (4, 4, 4), np.array([1, 2], np.uint8))

    zarr.open_group(str(OUT / "bad_no_arrays.zarr"), mode="w")
    cases["bad_no_arrays.zarr"] = dict(stage="open", path=None, attribute=None,
                                       patterns=["raw|labels|array|layout"],
                                       what="an empty group: no raw/labels anywhere")

    simple("bad_raw_only.zarr", r8, a())
    cases["bad_raw_only.zarr"] = dict(stage="open", path=None, attribute=None, patterns=["labels"],
                                      what="raw without labels")

    simple("bad_float_labels.zarr", r8, a(), rng.random((4, 4, 4), dtype=np.float32), a())
    cases["bad_float_labels.zarr"] = dict(stage="open", path="labels", attribute="dtype",
                                          patterns=["float32"], what="labels stored as float32")

    simple("bad_int32_raw.zarr", rng.integers(0, 1000, (6, 6, 6), dtype=np.int32), a(), l8, a())
    cases["bad_int32_raw.zarr"] = dict(stage="open", path="raw", attribute="dtype",
                                       patterns=["int32"],
                                       what="raw stored as int32 with no explicit scale")

    simple("bad_attr_length.zarr", r8, a(vs=(4, 4)), l8, a())
    cases["bad_attr_length.zarr"] = dict(stage="open", path="raw", attribute="voxel_size",
                                         patterns=["voxel_size"],
                                         what="voxel_size of length 2 on a 3D array")

    simple("bad_voxel_size.zarr", r8, a(vs=(4, 0, 4)), l8, a())
    cases["bad_voxel_size.zarr"] = dict(stage="open", path="raw", attribute="voxel_size",
                                        patterns=["voxel_size"], what="voxel_size [4, 0, 4] on raw")

    simple("bad_voxel_size_float.zarr", r8, a(), l8, a(vs=(4, 2.5, 4)))
    cases["bad_voxel_size_float.zarr"] = dict(stage="open", path="labels", attribute="voxel_size",
                                              patterns=["voxel_size"],
                                              what="voxel_size [4, 2.5, 4] on labels")

    simple("bad_voxel_size_negative.zarr", r8, a(vs=(-4, 4, 4)), l8, a(vs=(-4, 4, 4)))
    cases["bad_voxel_size_negative.zarr"] = dict(stage="open", path="raw", attribute="voxel_size",
                                                 patterns=["voxel_size"],
                                                 what="voxel_size [-4, 4, 4] on raw and labels")

    simple("bad_offset.zarr", r8, a(off=(3, 0, 0)), l8, a(off=(4, 4, 4)))
    cases["bad_offset.zarr"] = dict(stage="open", path="raw", attribute="offset",
                                    patterns=["offset"], what="offset [3, 0, 0] with voxel size [4, 4, 4]")

    simple("bad_voxel_mismatch.zarr", r8, a(vs=(4, 4, 4)), l8, a(vs=(4, 6, 4), off=(0, 12, 0)))
    cases["bad_voxel_mismatch.zarr"] = dict(stage="open", path="labels", attribute="voxel_size",
                                            patterns=["voxel.?size", "raw", "multiple"],
                                            what="raw voxel size [4,4,4], labels [4,6,4] (ratio 1.5: not an integer)")

    simple("bad_no_overlap.zarr", r8, a(), l8, a(off=(100, 100, 100)))
    cases["bad_no_overlap.zarr"] = dict(stage="open", path="labels", attribute=None,
                                        patterns=["overlap|outside|roi|region|intersect"],
                                        what="labels region [100:116]^3 outside raw's [0:24]^3")

    simple("bad_two_channels.zarr", noise(rng, (2, 3, 6, 6), np.uint8),
           a(vs=(4, 4), off=(0, 0), names=("c^", "b^", "y", "x")),
           blocky_labels(rng, (4, 4), np.array([1, 2], np.uint8), block=(2, 2)),
           a(vs=(4, 4), off=(4, 4), names=("y", "x")), raw_chunks=(2, 3, 4, 4), lab_chunks=(4, 4))
    cases["bad_two_channels.zarr"] = dict(stage="open", path="raw", attribute="axis_names",
                                          patterns=["axis_names|channel"],
                                          what="two non-spatial axes c^ and b^")

    simple("bad_chunk.zarr", noise(rng, (12, 8, 12), np.uint8), a(), l8, a(off=(8, 8, 8)),
           compressor=GZIP, raw_chunks=(6, 8, 6))
    chunk = OUT / "bad_chunk.zarr" / "raw" / "1.0.1"
    assert chunk.exists()
    chunk.write_bytes(bytes(np.random.default_rng(99).integers(0, 256, 57, dtype=np.uint8)))
    cases["bad_chunk.zarr"] = dict(stage="read", path="raw", attribute=None, chunk_key="1.0.1",
                                   store_key="raw/1.0.1", patterns=["1\\.0\\.1"],
                                   what="chunk raw/1.0.1 overwritten with 57 garbage bytes (gzip)")

    root = simple("bad_mixed_layout.zarr", r8, a(), l8, a())
    t = root.create_group("train")
    write_array(t, "raw", r8, (4, 4, 4), BLOSC_LZ4, a())
    write_array(t, "labels", l8, (4, 4, 4), BLOSC_LZ4, a())
    cases["bad_mixed_layout.zarr"] = dict(stage="open", path=None, attribute=None,
                                          patterns=["train|layout|ambiguous"],
                                          what="raw/labels at the root AND a train/ group")

    simple("bad_grid_offset.zarr", r8, a(vs=(8, 8, 8)), l8, a(vs=(4, 4, 4), off=(4, 0, 0)))
    cases["bad_grid_offset.zarr"] = dict(stage="open", path="labels", attribute="offset",
                                         patterns=["offset", "coarse"],
                                         what="raw at [8,8,8], labels at [4,4,4] with offset [4,0,0]: off the coarser grid")

    simple("bad_types_time.zarr", noise(rng, (2, 6, 6, 6), np.uint8),
           {**a(names=("t", "z", "y", "x")), "types": ["time", "space", "space", "space"]}, l8, a(),
           raw_chunks=(1, 4, 4, 4))
    cases["bad_types_time.zarr"] = dict(stage="open", path="raw", attribute="types",
                                        patterns=["time"], what="types [time, space, space, space]")

    simple("bad_types_length.zarr", noise(rng, (2, 6, 6, 6), np.uint8),
           {**a(names=("c", "z", "y", "x")), "types": ["space", "space", "space"]}, l8, a(),
           raw_chunks=(1, 4, 4, 4))
    cases["bad_types_length.zarr"] = dict(stage="open", path="raw", attribute="types",
                                          patterns=["3 entries", "4 axes"],
                                          what="types of length 3 on a 4D raw")

    dump_json(OUT / "bad.expected.json", cases, collapse=False)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for p in OUT.iterdir():
        if p.name.startswith("v3.") or p.name in ("README.md", "broken", "lz4", "codecs", "n5"):
            continue  # written by make_v3_fixtures.ts, make_broken_fixtures.py, make_lz4_fixtures.py, make_codec_fixtures.py, make_n5_fixtures.py
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
    make_simple()
    make_traintest()
    make_crops()
    make_channels()
    make_ome()
    make_defaults()
    make_types()
    make_scales()
    make_bad()
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {OUT} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
