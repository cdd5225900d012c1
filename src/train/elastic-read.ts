/**
 * Reading a sample through an elastic deformation (elastic.ts): raw interpolated linearly, labels
 * and mask by nearest neighbour (ids are never mixed; an unknown mask voxel stays unknown, voxels
 * mapped outside the labels are unknown), from the box of the source that the deformed patch
 * needs (so no zero padding enters a patch where the raw has data).
 *
 * Two reads share every step after reading the source: `readElastic`, the sampler's step-by-step
 * read (a CropSample), and `readElasticStored`, the fused batch assembly's (a StoredSample of
 * pooled arrays, source read as stored, into reused buffers). Both give the same values.
 */
import { roiFromBounds, type Roi } from '../roi.js';
import type { Crop, CropSample, DType, LabelArray, StoredArray } from '../types.js';
import { newStoredArray } from '../zarr/volume.js';
import { readStored, type BufferPool, type StoredSample } from './assemble.js';
import type { AugmentPlan } from './augment.js';
import { gridMap, MapRows, orientMap, sourceBox, type ElasticPlan, type GridMap, type VoxelBox } from './elastic.js';

/** One grid of a deformed sample: its map, the source box it needs and that box in world units. */
interface WarpedGrid {
  map: GridMap;
  box: VoxelBox;
  from: Roi;
  voxels: number;
}

/** Mirror and transpose (augment.ts), applied through the maps. */
export type Geometry = Pick<AugmentPlan, 'mirror' | 'transpose'>;

/**
 * The plan left to apply after a read through oriented maps: its intensity and gamma, without
 * its mirror and transpose.
 */
export function withoutGeometry(plan: AugmentPlan): AugmentPlan {
  return { ...plan, mirror: plan.mirror.map(() => false), transpose: plan.transpose.map((_, i) => i) };
}

/** Boxes read through a sample's deformation in place of its raw and labels boxes (boxes around them). */
export interface ElasticOut {
  raw?: Roi;
  labels?: Roi;
}

/**
 * The maps of a sample's raw and labels grids (or of the boxes `out` around them: the deformation
 * is still the sample's), oriented by `geometry` (one map when both grids are the same).
 */
function frame(
  crop: Crop,
  rois: { raw: Roi; labels: Roi },
  plan: ElasticPlan,
  geometry: Geometry | null,
  out: ElasticOut = {},
): { raw: WarpedGrid; labels: WarpedGrid } {
  const rawVs = crop.raw.voxelSize;
  const labelVs = crop.voxelSize;
  const lo = rois.raw.offset.map((o, i) => Math.min(o, rois.labels.offset[i]!));
  const hi = rois.raw.offset.map((o, i) =>
    Math.max(o + rois.raw.shape[i]!, rois.labels.offset[i]! + rois.labels.shape[i]!),
  );
  const domain = roiFromBounds(lo, hi);
  // About the centre of the region the deformation covers (gunpowder: the master ROI).
  const centre = domain.offset.map((o, i) => o + domain.shape[i]! / 2);
  const finest = rawVs.map((v, i) => Math.min(v, labelVs[i]!));
  const oriented = (map: GridMap) => (geometry ? orientMap(map, geometry) : map);
  const rawBox = out.raw ?? rois.raw,
    labelsBox = out.labels ?? rois.labels;
  const rawMap = oriented(gridMap(plan, domain, centre, rawBox, rawVs, finest));
  const sameGrid =
    rawVs.every((v, i) => v === labelVs[i]) &&
    rawBox.offset.every((o, i) => o === labelsBox.offset[i] && rawBox.shape[i] === labelsBox.shape[i]);
  const labelMap = sameGrid ? rawMap : oriented(gridMap(plan, domain, centre, labelsBox, labelVs, finest));
  const grid = (map: GridMap, vs: readonly number[], linear: boolean): WarpedGrid => {
    const box = sourceBox(map, linear);
    return {
      map,
      box,
      from: roiFromBounds(
        box.begin.map((b, i) => b * vs[i]!),
        box.end.map((e, i) => e * vs[i]!),
      ),
      voxels: map.shape[0] * map.shape[1] * map.shape[2],
    };
  };
  return { raw: grid(rawMap, rawVs, true), labels: grid(labelMap, labelVs, false) };
}

/**
 * Reads one sample through a deformation: raw over `rois.raw`, labels and mask over `rois.labels`
 * (or over the boxes `out` around them), mirrored and transposed by `geometry` (then apply
 * `withoutGeometry` of the plan).
 */
export async function readElastic(
  crop: Crop,
  rois: { raw: Roi; labels: Roi },
  plan: ElasticPlan,
  geometry: Geometry | null,
  out: ElasticOut = {},
): Promise<CropSample> {
  const f = frame(crop, rois, plan, geometry, out);
  const src = await crop.read(f.raw.from, f.labels.from);
  const channels = src.rawShape[3]!;
  const raw = new Float32Array(f.raw.voxels * channels);
  const index = new Int32Array(f.labels.voxels);
  warp({ values: src.raw, table: null }, channels, f, raw, index);
  const labels = new (src.labels.constructor as new (n: number) => LabelArray)(index.length);
  gatherIds(src.labels, index, labels);
  const mask = new Uint8Array(index.length);
  gatherBytes(src.mask, index, mask);
  return {
    raw,
    rawShape: [...f.raw.map.shape, channels],
    labels,
    mask,
    labelShape: [...f.labels.map.shape],
  };
}

/**
 * The same sample for the fused batch assembly (train/assemble.ts): raw normalized (`rawScale` 1),
 * labels as stored, mask non-zero known or null (all known), in arrays from `pool` (given back by
 * releaseStored); the source is read into `regions`' buffers and given back before returning. For
 * a crop from openDataSplit whose mask is at the labels' voxel size (assemble.ts's canFuse).
 */
export async function readElasticStored(
  crop: Crop,
  rois: { raw: Roi; labels: Roi },
  plan: ElasticPlan,
  geometry: Geometry | null,
  buffers: { pool: BufferPool; regions: RegionBuffers },
): Promise<StoredSample> {
  const { pool, regions } = buffers;
  const f = frame(crop, rois, plan, geometry);
  const src = await readStored(crop, { raw: f.raw.from, labels: f.labels.from }, regions, { rawInPlace: false });
  if (!src.labels || !ArrayBuffer.isView(src.raw)) throw new Error('readElasticStored: the source was not read whole');
  const channels = crop.raw.channels;
  // Raw normalized as normalizeRaw does (one float32 rounding), so that both reads interpolate the
  // same values: 8- and 16-bit raw through a table of them, other types converted first.
  let values: Values['values'] = src.raw as Float32Array;
  let table: Float32Array | null = null;
  if ((src.raw instanceof Uint8Array || src.raw instanceof Uint16Array) && channels === 1) {
    values = src.raw;
    table = new Float32Array(src.raw instanceof Uint8Array ? 256 : 65536);
    for (let v = 0; v < table.length; v++) table[v] = v * src.rawScale;
  } else if (!(src.raw instanceof Float32Array && src.rawScale === 1)) {
    values = regions.take('float32', src.raw.length) as Float32Array;
    normalizeInto(src.raw, src.rawScale, values);
  }
  const pooled: { dtype: DType; array: StoredArray }[] = [];
  const take = (dtype: DType, n: number) => {
    const array = pool.take(dtype, n);
    pooled.push({ dtype, array });
    return array;
  };
  const raw = take('float32', f.raw.voxels * channels) as Float32Array;
  const index = pool.take('int32', f.labels.voxels) as Int32Array;
  warp({ values, table }, channels, f, raw, index);
  const labels = take(crop.labels.dtype, index.length) as LabelArray;
  gatherIds(src.labels, index, labels);
  let mask: Uint8Array | null = null;
  if (src.mask) {
    mask = take('uint8', index.length) as Uint8Array;
    gatherBytes(src.mask, index, mask);
  }
  pool.give('int32', index);
  if (values !== src.raw) regions.give('float32', values as Float32Array);
  for (const { dtype, array } of src.pooled ?? []) regions.give(dtype, array);
  return { raw, rawScale: 1, labels, mask, voxelSize: crop.voxelSize, rawVoxelSize: crop.raw.voxelSize, pooled };
}

/** out[i] = stored[i] · scale, rounded to float32 (normalizeRaw's values). */
function normalizeInto(stored: Exclude<StoredArray, BigInt64Array | BigUint64Array>, scale: number, out: Float32Array) {
  for (let i = 0; i < stored.length; i++) out[i] = stored[i]! * scale;
}

/** Raw interpolated into `raw`, and the labels' nearest source voxels into `index` (in one pass when the grids are one). */
function warp(
  values: Values,
  channels: number,
  f: { raw: WarpedGrid; labels: WarpedGrid },
  raw: Float32Array,
  index: Int32Array,
): void {
  if (f.raw.map === f.labels.map) {
    warpLinear(values, f.raw.box, channels, f.raw.map, raw, { box: f.labels.box, index });
  } else {
    warpLinear(values, f.raw.box, channels, f.raw.map, raw, null);
    nearestIndices(f.labels.map, f.labels.box, index);
  }
}

/**
 * Raw values of a source box: normalized floats (`table` null), or one channel of 8/16-bit
 * integers with the table of their normalized values.
 */
export interface Values {
  values: Float32Array | Uint8Array | Uint16Array;
  table: Float32Array | null;
}

/**
 * Linear interpolation of `source` ([z, y, x, c] over the voxel box `box`) at the positions of
 * `map`, into `out` ([z, y, x, c] over the map's shape). The box holds both neighbours of every
 * position on each axis (sourceBox), so no index is checked, and positions lie past its begin, so
 * `| 0` is their floor. With `nearest`, also the index of each position's nearest voxel in
 * `nearest.box` (nearestIndices over the same map). Positions as MapRows.fill computes them.
 */
export function warpLinear(
  source: Values,
  box: VoxelBox,
  C: number,
  map: GridMap,
  out: Float32Array,
  nearest: { box: VoxelBox; index: Int32Array } | null,
): void {
  if (source.table !== null) {
    if (C !== 1) throw new Error('warpLinear: integer raw through a table has one channel');
    warpTable(source.values as Uint8Array | Uint16Array, source.table, box, map, out, nearest);
  } else {
    warpFloat(source.values as Float32Array, box, C, map, out, nearest);
  }
}

/**
 * The box's strides and the offsets that make positions box-relative: voxel centres sit at
 * index + 0.5 for linear interpolation, and nearest neighbour takes the floor in its own box.
 */
function boxFrame(box: VoxelBox, C: number, nearest: { box: VoxelBox } | null) {
  const nx = box.end[2]! - box.begin[2]!,
    ny = box.end[1]! - box.begin[1]!;
  const n = nearest?.box ?? box;
  return {
    sy: nx * C,
    sz: ny * nx * C,
    z0: box.begin[0]! + 0.5,
    y0: box.begin[1]! + 0.5,
    x0: box.begin[2]! + 0.5,
    nz0: n.begin[0]!,
    ny0: n.begin[1]!,
    nx0: n.begin[2]!,
    nny: n.end[1]! - n.begin[1]!,
    nnx: n.end[2]! - n.begin[2]!,
  };
}

// warpTable and warpFloat are one loop written twice: the value of a tap through the table or
// straight from the floats (a per-tap branch costs a tenth of the loop, measured).

function warpTable(
  values: Uint8Array | Uint16Array,
  table: Float32Array,
  box: VoxelBox,
  map: GridMap,
  out: Float32Array,
  nearest: { box: VoxelBox; index: Int32Array } | null,
): void {
  const { sy, sz, z0, y0, x0, nz0, ny0, nx0, nny, nnx } = boxFrame(box, 1, nearest);
  const index = nearest?.index ?? null;
  const [Z, Y, X] = map.shape;
  const rows = new MapRows(map);
  const { runs, weight } = rows;
  for (let z = 0, row = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++, row += X) {
      rows.seek(z, y);
      const r = rows.values,
        at = rows.at;
      for (let k = 0; k < runs.length; k += 4) {
        const a = at + runs[k + 2]!,
          b = at + runs[k + 3]!;
        const az = r[a]!,
          ay = r[a + 1]!,
          ax = r[a + 2]!;
        const dz = r[b]! - az,
          dy = r[b + 1]! - ay,
          dx = r[b + 2]! - ax;
        for (let x = runs[k]!, q = row + x; x < runs[k + 1]!; x++, q++) {
          const t = weight[x]!;
          const uz = az + t * dz,
            uy = ay + t * dy,
            ux = ax + t * dx;
          const fz = uz - z0,
            fy = uy - y0,
            fx = ux - x0;
          const iz = fz | 0,
            iy = fy | 0,
            ix = fx | 0;
          const wz = fz - iz,
            wy = fy - iy,
            wx = fx - ix;
          const vy = 1 - wy,
            vx = 1 - wx;
          const i = iz * sz + iy * sy + ix;
          const c00 = table[values[i]!]! * vx + table[values[i + 1]!]! * wx;
          const c01 = table[values[i + sy]!]! * vx + table[values[i + sy + 1]!]! * wx;
          const c10 = table[values[i + sz]!]! * vx + table[values[i + sz + 1]!]! * wx;
          const c11 = table[values[i + sz + sy]!]! * vx + table[values[i + sz + sy + 1]!]! * wx;
          out[q] = (c00 * vy + c01 * wy) * (1 - wz) + (c10 * vy + c11 * wy) * wz;
          if (index !== null) index[q] = (((uz - nz0) | 0) * nny + ((uy - ny0) | 0)) * nnx + ((ux - nx0) | 0);
        }
      }
    }
  }
}

function warpFloat(
  values: Float32Array,
  box: VoxelBox,
  C: number,
  map: GridMap,
  out: Float32Array,
  nearest: { box: VoxelBox; index: Int32Array } | null,
): void {
  const { sy, sz, z0, y0, x0, nz0, ny0, nx0, nny, nnx } = boxFrame(box, C, nearest);
  const index = nearest?.index ?? null;
  const [Z, Y, X] = map.shape;
  const rows = new MapRows(map);
  const { runs, weight } = rows;
  for (let z = 0, row = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++, row += X) {
      rows.seek(z, y);
      const r = rows.values,
        at = rows.at;
      for (let k = 0; k < runs.length; k += 4) {
        const a = at + runs[k + 2]!,
          b = at + runs[k + 3]!;
        const az = r[a]!,
          ay = r[a + 1]!,
          ax = r[a + 2]!;
        const dz = r[b]! - az,
          dy = r[b + 1]! - ay,
          dx = r[b + 2]! - ax;
        for (let x = runs[k]!, q = row + x; x < runs[k + 1]!; x++, q++) {
          const t = weight[x]!;
          const uz = az + t * dz,
            uy = ay + t * dy,
            ux = ax + t * dx;
          const fz = uz - z0,
            fy = uy - y0,
            fx = ux - x0;
          const iz = fz | 0,
            iy = fy | 0,
            ix = fx | 0;
          const wz = fz - iz,
            wy = fy - iy,
            wx = fx - ix;
          const vy = 1 - wy,
            vx = 1 - wx;
          for (let c = 0, i = iz * sz + iy * sy + ix * C, p = q * C; c < C; c++, i++, p++) {
            const c00 = values[i]! * vx + values[i + C]! * wx;
            const c01 = values[i + sy]! * vx + values[i + sy + C]! * wx;
            const c10 = values[i + sz]! * vx + values[i + sz + C]! * wx;
            const c11 = values[i + sz + sy]! * vx + values[i + sz + sy + C]! * wx;
            out[p] = (c00 * vy + c01 * wy) * (1 - wz) + (c10 * vy + c11 * wy) * wz;
          }
          if (index !== null) index[q] = (((uz - nz0) | 0) * nny + ((uy - ny0) | 0)) * nnx + ((ux - nx0) | 0);
        }
      }
    }
  }
}

/**
 * Per output voxel of `map`, the index of its nearest source voxel in the C-order box `box`
 * (positions lie past the box's begin: `| 0` is their floor).
 */
export function nearestIndices(map: GridMap, box: VoxelBox, out: Int32Array): void {
  const nx = box.end[2]! - box.begin[2]!,
    ny = box.end[1]! - box.begin[1]!;
  const [z0, y0, x0] = box.begin as [number, number, number];
  const [Z, Y, X] = map.shape;
  const rows = new MapRows(map);
  const u = new Float64Array(3 * X);
  for (let z = 0, p = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      rows.fill(z, y, u);
      for (let o = 0; o < 3 * X; o += 3, p++) {
        out[p] = (((u[o]! - z0) | 0) * ny + ((u[o + 1]! - y0) | 0)) * nx + ((u[o + 2]! - x0) | 0);
      }
    }
  }
}

/**
 * dst[v] = src[index[v]] for ids of any label type. 64-bit ids move as float64 (one load and
 * store each, bit for bit except NaN, which a store may canonicalize): a sample that met a NaN
 * (ids from 2^64 − 2^52 on) is done again as pairs of 32-bit words.
 */
function gatherIds(src: LabelArray, index: Int32Array, dst: LabelArray): void {
  if (src.BYTES_PER_ELEMENT === 8) {
    const s = new Float64Array(src.buffer, src.byteOffset, src.length);
    const d = new Float64Array(dst.buffer, dst.byteOffset, dst.length);
    let nan = false;
    for (let v = 0; v < index.length; v++) {
      const id = s[index[v]!]!;
      d[v] = id;
      if (Number.isNaN(id)) nan = true;
    }
    if (!nan) return;
    const s32 = new Uint32Array(src.buffer, src.byteOffset, 2 * src.length);
    const d32 = new Uint32Array(dst.buffer, dst.byteOffset, 2 * dst.length);
    for (let v = 0; v < index.length; v++) {
      const i = 2 * index[v]!;
      d32[2 * v] = s32[i]!;
      d32[2 * v + 1] = s32[i + 1]!;
    }
    return;
  }
  const s = src as Uint32Array,
    d = dst as Uint32Array;
  for (let v = 0; v < index.length; v++) d[v] = s[index[v]!]!;
}

function gatherBytes(src: Uint8Array, index: Int32Array, dst: Uint8Array): void {
  for (let v = 0; v < index.length; v++) dst[v] = src[index[v]!]!;
}

/**
 * Reused buffers for source boxes, whose sizes change from sample to sample: `take` hands out a
 * view of the first idle buffer of the dtype that is large enough (or a new one, with room to
 * spare), `give` takes it back. Keeps a few idle buffers per dtype.
 */
export class RegionBuffers {
  private readonly free = new Map<DType, StoredArray[]>();
  constructor(private readonly keep = 8) {}
  take(dtype: DType, length: number): StoredArray {
    const list = this.free.get(dtype) ?? [];
    const i = list.findIndex((a) => a.length >= length);
    const whole = i >= 0 ? list.splice(i, 1)[0]! : newStoredArray(dtype, Math.ceil(length * 1.25));
    return whole.length === length ? whole : whole.subarray(0, length);
  }
  give(dtype: DType, array: StoredArray): void {
    const list = this.free.get(dtype) ?? [];
    const Typed = array.constructor as new (buffer: ArrayBufferLike) => StoredArray;
    if (list.length < this.keep) list.push(array.byteOffset === 0 ? new Typed(array.buffer) : array);
    this.free.set(dtype, list);
  }
}
