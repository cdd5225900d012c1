/**
 * A volume seen at another voxel size (DaCapo's resampled arrays), for models with one voxel size
 * when raw and labels are stored at two (`DataConfig.resample`). Values are taken at the centres
 * of the new voxels: by nearest neighbour (labels and masks: ids are never mixed), or by linear
 * interpolation between the stored voxel centres (raw; clamped at the array's border, zero
 * outside it, as every read is). The region is the stored one, cut to whole new voxels.
 */
import { OptionsError } from '../errors.js';
import { roi, roiIntersect, roiIsEmpty, roiIsMultipleOf, roiSnapOut, roiToString, type Roi } from '../roi.js';
import type { DType, StoredArray } from '../types.js';
import type { AxisType } from './metadata/funlib.js';
import type { ZarrVolume } from './volume.js';

export type Interpolation = 'nearest' | 'linear';

export class ResampledVolume {
  readonly source: ZarrVolume;
  readonly interpolation: Interpolation;
  readonly container: string;
  readonly path: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly axisNames: readonly string[];
  readonly types: readonly AxisType[];
  readonly voxelSize: readonly number[];
  readonly offset: readonly number[];
  readonly units: readonly string[];
  readonly roi: Roi;
  readonly channels: number;
  readonly chunks: readonly number[];
  readonly channelAxis: number | null;
  /** The source array's metadata convention (see ZarrVolume.convention). */
  readonly convention: string;

  constructor(source: ZarrVolume, voxelSize: readonly number[], interpolation: Interpolation) {
    this.source = source;
    this.interpolation = interpolation;
    this.container = source.container;
    this.path = source.path;
    // The stored dtype (it decides raw's normalization); linear reads return interpolated stored
    // values as a Float32Array, which normalizeRaw scales like any other array.
    this.dtype = source.dtype;
    this.axisNames = source.axisNames;
    this.types = source.types;
    this.voxelSize = [...voxelSize];
    this.units = source.units;
    this.channels = source.channels;
    this.chunks = source.chunks;
    this.channelAxis = source.channelAxis;
    this.convention = source.convention;
    // Whole new voxels inside the stored region (offsets are multiples of the coarser size).
    const begin = source.roi.offset.map((o, i) => Math.ceil(o / voxelSize[i]!) * voxelSize[i]!);
    const end = source.roi.offset.map((o, i) => Math.floor((o + source.roi.shape[i]!) / voxelSize[i]!) * voxelSize[i]!);
    this.offset = begin;
    this.roi = roi(
      begin,
      begin.map((b, i) => Math.max(0, end[i]! - b)),
    );
    const spatial = this.roi.shape.map((s, i) => s / voxelSize[i]!);
    let s = 0;
    this.shape = source.shape.map((n, axis) => (axis === source.channelAxis ? n : spatial[s++]!));
  }

  /** Values at this volume's voxel size over `region` (aligned to it), C order [spatial..., c]. */
  async read(region: Roi): Promise<StoredArray> {
    if (!roiIsMultipleOf(region, this.voxelSize)) {
      throw new OptionsError(
        `${this.container}, array ${this.path}: read ROI ${roiToString(region)} is not aligned to ` +
          `the resampled voxel size [${this.voxelSize.join(', ')}]`,
      );
    }
    const src = this.source;
    const vs = src.voxelSize;
    // Stored voxels around the region: one more on each side for linear interpolation.
    let from = roiSnapOut(region, vs);
    if (this.interpolation === 'linear') {
      from = roi(
        from.offset.map((o, i) => o - vs[i]!),
        from.shape.map((n, i) => n + 2 * vs[i]!),
      );
    }
    const stored = await src.read(from);
    const inside = roiIntersect(from, src.roi);
    const source = { stored, roi: from, voxelSize: vs, valid: inside };
    return resample(source, region, this.voxelSize, this.channels, this.interpolation);
  }
}

/** A stored array (C order [spatial..., c]) over world region `roi`, `valid` its own region within `roi`. */
export interface ResampleSource {
  stored: StoredArray;
  roi: Roi;
  voxelSize: readonly number[];
  valid?: Roi;
}

/**
 * Values of `source.stored` at the voxel centres of `to` (voxel size `toVoxel`). Nearest: the
 * stored voxel containing the centre. Linear: separable interpolation between stored voxel centres,
 * indices clamped to `valid` (default: the whole `roi`); a centre outside `valid` reads 0.
 */
export function resample(
  source: ResampleSource,
  to: Roi,
  toVoxel: readonly number[],
  channels: number,
  interpolation: Interpolation,
): StoredArray {
  const { stored, roi: from, voxelSize: fromVoxel } = source;
  const valid = source.valid ?? from;
  const d = fromVoxel.length;
  const inShape = from.shape.map((s, i) => s / fromVoxel[i]!);
  const outShape = to.shape.map((s, i) => s / toVoxel[i]!);
  const n = outShape.reduce((a, b) => a * b, 1) * channels;
  const out =
    interpolation === 'linear' ? new Float32Array(n) : new (stored.constructor as new (n: number) => StoredArray)(n);
  if (n === 0 || roiIsEmpty(valid)) return out;
  const inStride = new Array<number>(d);
  let st = channels;
  for (let a = d - 1; a >= 0; a--) {
    inStride[a] = st;
    st *= inShape[a]!;
  }
  const taps = inStride.map((stride, a) => axisTaps({ ...source, valid }, a, stride, to, toVoxel, interpolation));
  const i0 = taps.map((t) => t.i0);
  const i1 = taps.map((t) => t.i1);
  const w1 = taps.map((t) => t.w1);
  const zero = taps.map((t) => t.zero);
  if (d !== 3) throw new Error(`resample: 3 spatial axes expected, got ${d}`);
  const [Z, Y, X] = outShape as [number, number, number];
  const src = stored as unknown as ArrayLike<number>;
  const dst = out as unknown as { [i: number]: number };
  let o = 0;
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++, o += channels) {
        if (zero[0]![z] || zero[1]![y] || zero[2]![x]) continue;
        if (interpolation === 'nearest') {
          const p = i0[0]![z]! + i0[1]![y]! + i0[2]![x]!;
          for (let c = 0; c < channels; c++) dst[o + c] = src[p + c]!;
          continue;
        }
        const wz = w1[0]![z]!,
          wy = w1[1]![y]!,
          wx = w1[2]![x]!;
        const z0 = i0[0]![z]!,
          z1 = i1[0]![z]!,
          y0 = i0[1]![y]!,
          y1 = i1[1]![y]!,
          x0 = i0[2]![x]!,
          x1 = i1[2]![x]!;
        for (let c = 0; c < channels; c++) {
          const v = (p: number) => Number(src[p + c]!);
          const c00 = v(z0 + y0 + x0) * (1 - wx) + v(z0 + y0 + x1) * wx;
          const c01 = v(z0 + y1 + x0) * (1 - wx) + v(z0 + y1 + x1) * wx;
          const c10 = v(z1 + y0 + x0) * (1 - wx) + v(z1 + y0 + x1) * wx;
          const c11 = v(z1 + y1 + x0) * (1 - wx) + v(z1 + y1 + x1) * wx;
          dst[o + c] = (c00 * (1 - wy) + c01 * wy) * (1 - wz) + (c10 * (1 - wy) + c11 * wy) * wz;
        }
      }
    }
  }
  return out;
}

/**
 * Along axis `a`, per output index k: up to two source offsets (already multiplied by `stride`),
 * the second one's weight, and 1 in `zero` where the output voxel centre is outside `valid`.
 */
function axisTaps(
  { roi: from, voxelSize: fromVoxel, valid }: ResampleSource & { valid: Roi },
  a: number,
  stride: number,
  to: Roi,
  toVoxel: readonly number[],
  interpolation: Interpolation,
): { i0: Int32Array; i1: Int32Array; w1: Float64Array; zero: Uint8Array } {
  const m = to.shape[a]! / toVoxel[a]!;
  const lo = (valid.offset[a]! - from.offset[a]!) / fromVoxel[a]!;
  const hi = lo + valid.shape[a]! / fromVoxel[a]! - 1;
  const a0 = new Int32Array(m);
  const a1 = new Int32Array(m);
  const wa = new Float64Array(m);
  const za = new Uint8Array(m);
  for (let k = 0; k < m; k++) {
    // Position of the output voxel centre in source voxel units (0 = first source voxel's begin).
    const u = (to.offset[a]! - from.offset[a]! + (k + 0.5) * toVoxel[a]!) / fromVoxel[a]!;
    if (u < lo || u >= hi + 1) za[k] = 1;
    if (interpolation === 'nearest') {
      a0[k] = Math.floor(u) * stride;
    } else {
      const c = u - 0.5;
      const f = Math.floor(c);
      const clamp = (x: number) => Math.min(hi, Math.max(lo, x));
      a0[k] = clamp(f) * stride;
      a1[k] = clamp(f + 1) * stride;
      wa[k] = c - f;
    }
  }
  return { i0: a0, i1: a1, w1: wa, zero: za };
}
