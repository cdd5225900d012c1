/**
 * zarr v3 reference fixture: test/fixtures/v3.zarr (train/test layout) + v3.expected.json.
 *
 * Run:  node --import tsx scripts/make_v3_fixtures.ts
 *
 * Written with zarrita (`zarr.create` + `zarr.set`), except the sharded array: zarrita 0.7 reads
 * `sharding_indexed` but cannot write it (`set` throws "set on sharded arrays"), so its zarr.json is
 * created with `zarr.create` and its shard files are assembled here by hand following the v3
 * sharding spec (inner chunks bytes+gzip, index [offset, nbytes] uint64 little-endian per inner
 * chunk in C order, 2^64-1 pairs for empty inner chunks, index at the end, crc32c appended).
 *
 * Deterministic (own seeded PRNG, gzip without timestamp). Deletes and rewrites only v3.zarr and
 * v3.expected.json; everything else under test/fixtures belongs to scripts/make_fixtures.py.
 * Expected values come from the in-memory arrays written, never from reading the files back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import * as zarr from 'zarrita';
import { FileSystemStore } from '@zarrita/storage';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(REPO, 'test', 'fixtures');
const CONTAINER = path.join(OUT, 'v3.zarr');

// ------------------------------------------------------------------------------------------
// Deterministic data
// ------------------------------------------------------------------------------------------

/** mulberry32: small seeded PRNG, uniform in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Typed = Uint8Array | Int8Array | Uint16Array | Uint32Array | BigUint64Array;
type DType = 'uint8' | 'int8' | 'uint16' | 'uint32' | 'uint64';

interface Nd {
  dtype: DType;
  data: Typed;
  shape: number[];
}

const CTOR: Record<DType, new (n: number) => Typed> = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
};

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

function noise(r: () => number, dtype: 'uint8' | 'uint16', shape: number[]): Nd {
  const max = dtype === 'uint8' ? 256 : 65536;
  const data = new CTOR[dtype](size(shape));
  for (let i = 0; i < data.length; i++) (data as Uint8Array)[i] = Math.floor(r() * max);
  return { dtype, data, shape };
}

/** Piecewise-constant ids in blocks, some background. */
function blocky(r: () => number, dtype: DType, shape: number[], ids: (number | bigint)[], block: number[]): Nd {
  const grid = shape.map((s, i) => Math.ceil(s / block[i]!));
  const table = Array.from({ length: size(grid) }, () => (r() < 0.15 ? 0 : ids[Math.floor(r() * ids.length)]!));
  const data = new CTOR[dtype](size(shape));
  const gs = strides(grid);
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, shape);
    const t = idx.reduce((acc, v, d) => acc + Math.floor(v / block[d]!) * gs[d]!, 0);
    set(data, i, table[t]!);
  }
  return { dtype, data, shape };
}

function set(a: Typed, i: number, v: number | bigint): void {
  if (a instanceof BigUint64Array) a[i] = BigInt(v);
  else a[i] = Number(v);
}

function get(a: Typed, i: number): number | bigint {
  return a[i]!;
}

/** Set a box [begin, end) of an Nd to a value. */
function fillBox(a: Nd, begin: number[], end: number[], v: number | bigint): void {
  for (let i = 0; i < a.data.length; i++) {
    const idx = unravel(i, a.shape);
    if (idx.every((x, d) => x >= begin[d]! && x < end[d]!)) set(a.data, i, v);
  }
}

// ------------------------------------------------------------------------------------------
// Specs and the reference reader (same semantics as scripts/make_fixtures.py)
// ------------------------------------------------------------------------------------------

interface RoiJ {
  offset: number[];
  shape: number[];
}

interface Spec {
  path: string;
  arr: Nd;
  voxelSize: number[];
  offset: number[];
  axisNames: string[];
  units: string[];
}

function spec(p: string, arr: Nd, voxelSize: number[], offset: number[]): Spec {
  return {
    path: p,
    arr,
    voxelSize,
    offset,
    axisNames: ['z', 'y', 'x'],
    units: ['nanometer', 'nanometer', 'nanometer'],
  };
}

function specRoi(s: Spec): RoiJ {
  return { offset: [...s.offset], shape: s.arr.shape.map((n, i) => n * s.voxelSize[i]!) };
}

function describe(s: Spec): Record<string, unknown> {
  return {
    path: s.path,
    dtype: s.arr.dtype,
    shape: s.arr.shape,
    axis_names: s.axisNames,
    voxel_size: s.voxelSize,
    offset: s.offset,
    units: s.units,
    roi: specRoi(s),
    channels: 1,
  };
}

/** Stored values over a voxel-aligned world roi, zero-filled outside. */
function readWorld(s: Spec, roi: RoiJ): Nd {
  const vs = s.voxelSize;
  roi.offset.forEach((o, d) => {
    if ((o - s.offset[d]!) % vs[d]! !== 0 || roi.shape[d]! % vs[d]! !== 0) throw new Error(`unaligned ${s.path}`);
  });
  const begin = roi.offset.map((o, d) => (o - s.offset[d]!) / vs[d]!);
  const n = roi.shape.map((x, d) => x / vs[d]!);
  const out = new CTOR[s.arr.dtype](size(n));
  const st = strides(s.arr.shape);
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, n).map((v, d) => v + begin[d]!);
    if (idx.every((v, d) => v >= 0 && v < s.arr.shape[d]!)) {
      set(
        out,
        i,
        get(
          s.arr.data,
          idx.reduce((acc, v, d) => acc + v * st[d]!, 0),
        ),
      );
    }
  }
  return { dtype: s.arr.dtype, data: out, shape: n };
}

function flat(a: Typed): (number | string)[] {
  if (a instanceof BigUint64Array) return Array.from(a, (v) => v.toString());
  return Array.from(a as Uint8Array);
}

const NORM: Record<string, [string, number | null]> = { uint8: ['/255', 255], uint16: ['/65535', 65535] };

interface CropSpec {
  raw: Spec;
  labels: Spec;
  mask: Spec | null;
}

function volumeRead(key: string, s: Spec, roi: RoiJ, kind: string) {
  const v = readWorld(s, roi);
  return { array: key, kind, roi, shape: [...v.shape, 1], values: flat(v.data) };
}

function cropRead(c: CropSpec, roi: RoiJ, labelsRoi: RoiJ | null, kind: string) {
  const lroi = labelsRoi ?? roi;
  const r = readWorld(c.raw, roi);
  const scale = NORM[c.raw.arr.dtype]![1]!;
  const raw = Array.from(r.data as Uint8Array, (v) => Math.fround(v / scale));
  const lab = readWorld(c.labels, lroi);
  const L = specRoi(c.labels);
  const vs = c.labels.voxelSize;
  const n = lroi.shape.map((x, d) => x / vs[d]!);
  const m = c.mask ? readWorld(c.mask, lroi) : null;
  const mask = Array.from({ length: size(n) }, (_, i) => {
    const idx = unravel(i, n);
    const inside = idx.every((v, d) => {
      const w = lroi.offset[d]! + v * vs[d]!;
      return w >= L.offset[d]! && w + vs[d]! <= L.offset[d]! + L.shape[d]!;
    });
    return inside && (m === null || Number(get(m.data, i)) !== 0) ? 1 : 0;
  });
  return {
    kind,
    roi,
    labels_roi: labelsRoi,
    raw_shape: [...r.shape, 1],
    raw,
    label_shape: lab.shape,
    labels: flat(lab.data),
    mask,
  };
}

function grow(r: RoiJ, by: number[]): RoiJ {
  return { offset: r.offset.map((o, i) => o - by[i]!), shape: r.shape.map((s, i) => s + 2 * by[i]!) };
}

function makeRois(c: CropSpec): [string, RoiJ][] {
  const v = c.labels.voxelSize;
  const R = specRoi(c.raw);
  const L = specRoi(c.labels);
  const Rend = R.offset.map((o, i) => o + R.shape[i]!);
  const Lend = L.offset.map((o, i) => o + L.shape[i]!);
  return [
    [
      'inside',
      {
        offset: L.offset.map((o, i) => (L.shape[i]! >= 3 * v[i]! ? o + v[i]! : o)),
        shape: L.shape.map((s, i) => Math.min(Math.max(s - 2 * v[i]!, v[i]!), 3 * v[i]!)),
      },
    ],
    ['raw_low_corner', { offset: R.offset.map((o, i) => o - 2 * v[i]!), shape: v.map((x) => 4 * x) }],
    ['raw_high_corner', { offset: Rend.map((e, i) => e - 2 * v[i]!), shape: v.map((x) => 3 * x) }],
    ['labels_high_corner', { offset: Lend.map((e, i) => e - 2 * v[i]!), shape: v.map((x) => 4 * x) }],
    ['outside', { offset: Rend.map((e, i) => e + 3 * v[i]!), shape: v.map((x) => 2 * x) }],
    ['labels_roi', { offset: [...L.offset], shape: [...L.shape] }],
  ];
}

function cropExpected(name: string | null, c: CropSpec) {
  const arrays: Record<string, unknown> = {
    raw: { ...describe(c.raw), normalization: NORM[c.raw.arr.dtype]![0] },
    labels: describe(c.labels),
    mask: c.mask ? describe(c.mask) : null,
  };
  const rois = makeRois(c);
  const volumeReads = [];
  for (const [kind, roi] of rois) {
    for (const key of ['raw', 'labels', 'mask'] as const) {
      const s = c[key];
      if (s) volumeReads.push(volumeRead(key, s, roi, kind));
    }
  }
  const L = specRoi(c.labels);
  const v = c.labels.voxelSize;
  const cropReads = [cropRead(c, L, null, 'labels_roi'), cropRead(c, grow(L, v), L, 'context_1_voxel')];
  for (const [kind, roi] of rois) {
    if (['raw_low_corner', 'labels_high_corner', 'outside', 'inside'].includes(kind)) {
      cropReads.push(cropRead(c, roi, null, kind));
    }
  }
  const Lend = L.offset.map((o, i) => o + L.shape[i]!);
  const straddle = { offset: Lend.map((e, i) => e - 2 * v[i]!), shape: v.map((x) => 3 * x) };
  cropReads.push(
    cropRead(
      c,
      grow(
        straddle,
        v.map((x) => 2 * x),
      ),
      straddle,
      'context_2_voxels_straddling_labels',
    ),
  );
  return { name, voxel_size: v, arrays, volume_reads: volumeReads, crop_reads: cropReads };
}

// ------------------------------------------------------------------------------------------
// Writing
// ------------------------------------------------------------------------------------------

function attrs(s: Spec) {
  return { voxel_size: s.voxelSize, offset: s.offset, axis_names: s.axisNames, units: s.units };
}

async function writeRegular(
  store: FileSystemStore,
  s: Spec,
  chunkShape: number[],
  codecs: { name: string; configuration: Record<string, unknown> }[],
) {
  const arr = await zarr.create(zarr.root(store).resolve(s.path), {
    shape: s.arr.shape,
    dtype: s.arr.dtype,
    chunkShape,
    codecs,
    fillValue: 0,
    dimensionNames: s.axisNames,
    attributes: attrs(s),
  });
  // zarrita's typings want the exact typed array of the dtype; Nd carries it
  await zarr.set(arr as unknown as zarr.Array<zarr.DataType, FileSystemStore>, null, {
    data: s.arr.data,
    shape: s.arr.shape,
    stride: strides(s.arr.shape),
  } as never);
}

// crc32c (Castagnoli), reflected, as used by the v3 `crc32c` codec
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function littleEndianBytes(a: Typed): Uint8Array {
  // every platform we run on is little-endian; the bytes codec says so explicitly
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * A sharded array: zarr.json via zarr.create, shards assembled by hand. Shards whose every inner
 * chunk is all fill are not written; inner chunks all fill (or wholly outside the array) get the
 * 2^64-1 "empty" index entry. Returns the shard keys written and skipped.
 */
async function writeSharded(store: FileSystemStore, s: Spec, shardShape: number[], innerShape: number[]) {
  const innerCodecs = [
    { name: 'bytes', configuration: { endian: 'little' } },
    { name: 'gzip', configuration: { level: 5 } },
  ];
  const indexCodecs = [{ name: 'bytes', configuration: { endian: 'little' } }, { name: 'crc32c' }] as {
    name: string;
    configuration: Record<string, unknown>;
  }[];
  await zarr.create(zarr.root(store).resolve(s.path), {
    shape: s.arr.shape,
    dtype: s.arr.dtype,
    chunkShape: shardShape,
    codecs: [
      {
        name: 'sharding_indexed',
        configuration: {
          chunk_shape: innerShape,
          codecs: innerCodecs,
          index_codecs: indexCodecs,
          index_location: 'end',
        },
      },
    ],
    fillValue: 0,
    dimensionNames: s.axisNames,
    attributes: attrs(s),
  });
  const shardGrid = s.arr.shape.map((n, i) => Math.ceil(n / shardShape[i]!));
  const perShard = shardShape.map((n, i) => n / innerShape[i]!);
  const st = strides(s.arr.shape);
  const written: string[] = [];
  const skipped: string[] = [];
  const emptyInner: string[] = [];
  for (let si = 0; si < size(shardGrid); si++) {
    const shardCoord = unravel(si, shardGrid);
    const parts: Uint8Array[] = [];
    const index = new BigUint64Array(size(perShard) * 2);
    let offset = 0;
    let any = false;
    for (let ci = 0; ci < size(perShard); ci++) {
      const innerCoord = unravel(ci, perShard);
      const origin = innerCoord.map((c, d) => shardCoord[d]! * shardShape[d]! + c * innerShape[d]!);
      const chunk = new CTOR[s.arr.dtype](size(innerShape));
      let nonzero = false;
      for (let k = 0; k < chunk.length; k++) {
        const idx = unravel(k, innerShape).map((v, d) => v + origin[d]!);
        if (idx.every((v, d) => v < s.arr.shape[d]!)) {
          const v = get(
            s.arr.data,
            idx.reduce((acc, x, d) => acc + x * st[d]!, 0),
          );
          set(chunk, k, v);
          if (v !== 0 && v !== 0n) nonzero = true;
        }
      }
      if (!nonzero) {
        index[2 * ci] = 0xffffffffffffffffn;
        index[2 * ci + 1] = 0xffffffffffffffffn;
        emptyInner.push(`${shardCoord.join('/')} inner ${innerCoord.join(',')}`);
        continue;
      }
      any = true;
      const enc = new Uint8Array(zlib.gzipSync(littleEndianBytes(chunk), { level: 5 }));
      index[2 * ci] = BigInt(offset);
      index[2 * ci + 1] = BigInt(enc.length);
      parts.push(enc);
      offset += enc.length;
    }
    const key = `c/${shardCoord.join('/')}`;
    if (!any) {
      skipped.push(key);
      continue;
    }
    const indexBytes = new Uint8Array(index.buffer);
    const crc = new Uint8Array(4);
    new DataView(crc.buffer).setUint32(0, crc32c(indexBytes), true);
    const shard = Buffer.concat([...parts, indexBytes, crc]);
    await store.set(`/${s.path}/${key}`, new Uint8Array(shard));
    written.push(key);
  }
  return { written, skipped, emptyInner };
}

function chunkIsZero(a: Nd, chunkShape: number[], coord: number[]): boolean {
  const st = strides(a.shape);
  for (let k = 0; k < size(chunkShape); k++) {
    const idx = unravel(k, chunkShape).map((v, d) => v + coord[d]! * chunkShape[d]!);
    if (idx.every((v, d) => v < a.shape[d]!)) {
      const v = get(
        a.data,
        idx.reduce((acc, x, d) => acc + x * st[d]!, 0),
      );
      if (v !== 0 && v !== 0n) return false;
    }
  }
  return true;
}

/** zarrita writes every chunk; drop the all-fill ones the way zarr-python does by default in v3. */
function dropEmptyChunks(s: Spec, chunkShape: number[]): string[] {
  const grid = s.arr.shape.map((n, i) => Math.ceil(n / chunkShape[i]!));
  const dropped: string[] = [];
  for (let i = 0; i < size(grid); i++) {
    const coord = unravel(i, grid);
    if (chunkIsZero(s.arr, chunkShape, coord)) {
      const key = `c/${coord.join('/')}`;
      fs.rmSync(path.join(CONTAINER, s.path, key));
      dropped.push(key);
    }
  }
  return dropped;
}

function dumpJson(file: string, obj: unknown): void {
  let text = JSON.stringify(obj, null, 1);
  // every list of scalars on one line (as make_fixtures.py does)
  text = text.replace(/\[\s*([^[\]{}]*?)\s*\]/g, (_m, inner: string) => `[${inner.replace(/,\s+/g, ',')}]`);
  JSON.parse(text);
  fs.writeFileSync(file, `${text}\n`);
}

async function main(): Promise<void> {
  fs.rmSync(CONTAINER, { recursive: true, force: true });
  fs.rmSync(path.join(OUT, 'v3.expected.json'), { force: true });
  fs.mkdirSync(OUT, { recursive: true });
  const r = rng(8008);

  // train: uint8 raw (zstd), uint64 labels (bytes only; two all-zero chunks not written), int8 mask
  const vTrain = [8, 8, 8];
  const trainRaw = spec('train/raw', noise(r, 'uint8', [10, 12, 14]), vTrain, [8, 0, 16]);
  const lab = blocky(r, 'uint64', [6, 6, 8], [3n, 2n ** 32n + 1n, 2n ** 53n + 1n, 2n ** 64n - 3n], [2, 3, 2]);
  fillBox(lab, [0, 0, 0], [3, 3, 4], 0); // chunk c/0/0/0 all zero
  fillBox(lab, [3, 3, 4], [6, 6, 8], 0); // chunk c/1/1/1 all zero
  set(lab.data, strides(lab.shape)[0]! * 5, 2n ** 64n - 3n); // [5,0,0]
  const trainLabels = spec('train/labels', lab, vTrain, [24, 16, 40]);
  const m = { dtype: 'int8' as const, data: new Int8Array(size([6, 6, 8])).fill(1), shape: [6, 6, 8] };
  fillBox(m, [0, 0, 0], [6, 6, 1], 0);
  fillBox(m, [2, 2, 2], [3, 3, 5], -1);
  const trainMask = spec('train/mask', m, vTrain, [24, 16, 40]);

  // test: sharded uint16 raw (with a partial edge, an unwritten all-zero shard, empty inner
  // chunks), uint32 labels with zstd
  const vTest = [40, 4, 4];
  const rawT = noise(r, 'uint16', [8, 10, 12]);
  fillBox(rawT, [4, 8, 8], [8, 10, 12], 0); // shard c/1/1/1 entirely zero → not written
  fillBox(rawT, [0, 0, 0], [2, 4, 4], 0); // inner chunk (0,0,0) of shard c/0/0/0 empty
  const testRaw = spec('test/raw', rawT, vTest, [-80, 0, 8]);
  const testLabels = spec(
    'test/labels',
    blocky(r, 'uint32', [6, 6, 8], [1, 2, 4000000000, 77], [2, 2, 2]),
    vTest,
    [-40, 8, 16],
  );

  const store = new FileSystemStore(CONTAINER);
  await zarr.create(zarr.root(store), { attributes: {} });
  await zarr.create(zarr.root(store).resolve('train'), { attributes: {} });
  await zarr.create(zarr.root(store).resolve('test'), { attributes: {} });
  const zstd = [
    { name: 'bytes', configuration: { endian: 'little' } },
    { name: 'zstd', configuration: { level: 3, checksum: false } },
  ];
  const bytesOnly = [{ name: 'bytes', configuration: { endian: 'little' } }];
  await writeRegular(store, trainRaw, [4, 5, 6], zstd);
  await writeRegular(store, trainLabels, [3, 3, 4], bytesOnly);
  const dropped = dropEmptyChunks(trainLabels, [3, 3, 4]);
  await writeRegular(store, trainMask, [6, 6, 8], bytesOnly);
  const sharded = await writeSharded(store, testRaw, [4, 8, 8], [2, 4, 4]);
  await writeRegular(store, testLabels, [3, 3, 4], zstd);

  const train = { raw: trainRaw, labels: trainLabels, mask: trainMask };
  const test = { raw: testRaw, labels: testLabels, mask: null };
  dumpJson(path.join(OUT, 'v3.expected.json'), {
    container: 'v3.zarr',
    format: 'zarr v3',
    layout: 'train_test',
    missing_chunks: { 'train/labels': dropped, 'test/raw': sharded.skipped },
    sharded: { 'test/raw': { shards_written: sharded.written, empty_inner_chunks: sharded.emptyInner } },
    train: [cropExpected(null, train)],
    test: [cropExpected(null, test)],
  });
  console.log(
    `wrote ${CONTAINER}: dropped ${dropped.join(', ')}; shards ${sharded.written.join(', ')}, skipped ${sharded.skipped.join(', ')}`,
  );
}

await main();
