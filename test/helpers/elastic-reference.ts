/**
 * The step-by-step reference for elastic reads (the first implementation, kept for tests): the
 * displacement evaluated at every voxel from separable cubic taps (with `subsample`, linear
 * between cubic values on the lattice, composed into the taps), the rotation added per voxel, every
 * source position stored, then raw sampled linearly and labels/mask by nearest neighbour, and the
 * mirror/transpose applied afterwards by applyAugment. train/elastic-read.ts computes the same map
 * another way (a lattice of positions interpolated per row) and must agree with this.
 */
import { roi, roiFromBounds, type Roi } from '../../src/roi.js';
import type { Crop, CropSample, LabelArray } from '../../src/types.js';
import type { ElasticPlan } from '../../src/train/elastic.js';
/** Catmull–Rom weights and (clamped) indices of the 4 control points around t ∈ [0, n − 1]. */
function cubicTaps(t: number, n: number): { index: number[]; weight: number[] } {
  if (n === 1) return { index: [0, 0, 0, 0], weight: [1, 0, 0, 0] };
  const i = Math.min(n - 2, Math.max(0, Math.floor(t)));
  const f = t - i;
  const f2 = f * f,
    f3 = f2 * f;
  const clamp = (k: number) => Math.min(n - 1, Math.max(0, k));
  return {
    index: [clamp(i - 1), i, i + 1, clamp(i + 2)],
    weight: [(-f3 + 2 * f2 - f) / 2, (3 * f3 - 5 * f2 + 2) / 2, (-3 * f3 + 4 * f2 + f) / 2, (f3 - f2) / 2],
  };
}

/** Interpolation taps along one axis: per output point, control-point indices and weights. */
type Taps = { index: number[]; weight: number[] }[];

/**
 * Cubic taps at world positions `begin + k · step` (k < count) along axis `a`: the control points
 * span `domain` (first and last on its bounds, as scipy's zoom places them).
 */
function cubicAxisTaps(plan: ElasticPlan, domain: Roi, a: number, begin: number, step: number, count: number): Taps {
  const n = plan.controlShape[a]!;
  const spacing = n > 1 ? domain.shape[a]! / (n - 1) : 1;
  return Array.from({ length: count }, (_, k) => {
    const t = n > 1 ? (begin + k * step - domain.offset[a]!) / spacing : 0;
    return cubicTaps(Math.min(n - 1, Math.max(0, t)), n);
  });
}

/**
 * With `subsample`: the displacement on a lattice every `lattice` world units from the domain's
 * begin (cubic from the control points), then linear to the points — composed into one set of
 * taps over the control points, so the evaluation stays separable.
 */
function subsampledAxisTaps(
  plan: ElasticPlan,
  domain: Roi,
  a: number,
  begin: number,
  step: number,
  count: number,
  lattice: number,
): Taps {
  const nLattice = Math.ceil(domain.shape[a]! / lattice) + 1;
  const onLattice = cubicAxisTaps(plan, domain, a, domain.offset[a]!, lattice, nLattice);
  return Array.from({ length: count }, (_, k) => {
    const t = Math.min(nLattice - 1, Math.max(0, (begin + k * step - domain.offset[a]!) / lattice));
    const j = Math.min(Math.max(0, nLattice - 2), Math.floor(t));
    const w = nLattice > 1 ? t - j : 0;
    const merged = new Map<number, number>();
    for (const [jj, wj] of [
      [j, 1 - w],
      [Math.min(j + 1, nLattice - 1), w],
    ] as const) {
      if (wj === 0) continue;
      const tap = onLattice[jj]!;
      tap.index.forEach((c, i) => {
        merged.set(c, (merged.get(c) ?? 0) + wj * tap.weight[i]!);
      });
    }
    return { index: [...merged.keys()], weight: [...merged.values()] };
  });
}

/** Σ over control points of taps_z · taps_y · taps_x · displacement: [Z, Y, X, 3], separably. */
function contract(plan: ElasticPlan, taps: [Taps, Taps, Taps]): Float64Array {
  const [cz, cy, cx] = plan.controlShape as [number, number, number];
  const [Z, Y, X] = taps.map((t) => t.length) as [number, number, number];
  const d = plan.displacements;
  // along x: [cz, cy, X, 3]
  const ax = new Float64Array(cz * cy * X * 3);
  for (let r = 0; r < cz * cy; r++)
    for (let x = 0; x < X; x++) {
      const { index, weight } = taps[2][x]!;
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let k = 0; k < index.length; k++) v += weight[k]! * d[(r * cx + index[k]!) * 3 + c]!;
        ax[(r * X + x) * 3 + c] = v;
      }
    }
  // along y: [cz, Y, X, 3]
  const ay = new Float64Array(cz * Y * X * 3);
  const rowY = X * 3;
  for (let z = 0; z < cz; z++)
    for (let y = 0; y < Y; y++) {
      const { index, weight } = taps[1][y]!;
      const o = (z * Y + y) * rowY;
      for (let k = 0; k < index.length; k++) {
        const w = weight[k]!;
        const src = (z * cy + index[k]!) * rowY;
        for (let i = 0; i < rowY; i++) ay[o + i] += w * ax[src + i]!;
      }
    }
  // along z: [Z, Y, X, 3]
  const out = new Float64Array(Z * Y * X * 3);
  const plane = Y * X * 3;
  for (let z = 0; z < Z; z++) {
    const { index, weight } = taps[0][z]!;
    const o = z * plane;
    for (let k = 0; k < index.length; k++) {
      const w = weight[k]!;
      if (w === 0) continue;
      const src = index[k]! * plane;
      for (let i = 0; i < plane; i++) out[o + i] += w * ay[src + i]!;
    }
  }
  return out;
}

/**
 * Source world position (z, y, x per voxel, C order) of every voxel centre of the patch `out`
 * (voxel size `voxelSize`): centre + R · (p − centre) + displacement(p). `domain` is the region the
 * control points span (the sample's raw ∪ labels box), `centre` the rotation centre, `finest` the
 * finest voxel size of the sample (with `subsample`, the displacement is computed every
 * `subsample` finest voxels from the domain's begin and interpolated linearly: the same lattice
 * for raw and labels, so one continuous map serves both).
 */
export function sourcePositions(
  plan: ElasticPlan,
  domain: Roi,
  centre: readonly number[],
  out: Roi,
  voxelSize: readonly number[],
  finest: readonly number[],
): Float64Array {
  const shape = out.shape.map((s, i) => s / voxelSize[i]!) as [number, number, number];
  const [Z, Y, X] = shape;
  const first = out.offset.map((o, i) => o + voxelSize[i]! / 2);
  const taps = [0, 1, 2].map((a) =>
    plan.subsample <= 1
      ? cubicAxisTaps(plan, domain, a, first[a]!, voxelSize[a]!, shape[a]!)
      : subsampledAxisTaps(plan, domain, a, first[a]!, voxelSize[a]!, shape[a]!, finest[a]! * plan.subsample),
  ) as [Taps, Taps, Taps];
  const disp = contract(plan, taps);
  const R = plan.rotation;
  const pos = new Float64Array(Z * Y * X * 3);
  let o = 0;
  for (let z = 0; z < Z; z++) {
    const dz = first[0]! + z * voxelSize[0]! - centre[0]!;
    for (let y = 0; y < Y; y++) {
      const dy = first[1]! + y * voxelSize[1]! - centre[1]!;
      for (let x = 0; x < X; x++, o += 3) {
        const dx = first[2]! + x * voxelSize[2]! - centre[2]!;
        pos[o] = centre[0]! + R[0]! * dz + R[1]! * dy + R[2]! * dx + disp[o]!;
        pos[o + 1] = centre[1]! + R[3]! * dz + R[4]! * dy + R[5]! * dx + disp[o + 1]!;
        pos[o + 2] = centre[2]! + R[6]! * dz + R[7]! * dy + R[8]! * dx + disp[o + 2]!;
      }
    }
  }
  return pos;
}

/**
 * The voxel-aligned region (voxel size `voxelSize`) holding every voxel a sampler needs for
 * `positions`: the nearest voxel of each, and for linear interpolation its neighbours too.
 */
export function sourceRegion(positions: Float64Array, voxelSize: readonly number[], linear: boolean): Roi {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < positions.length; i += 3) {
    for (let a = 0; a < 3; a++) {
      const v = positions[i + a]!;
      if (v < lo[a]!) lo[a] = v;
      if (v > hi[a]!) hi[a] = v;
    }
  }
  if (positions.length === 0) return roi([0, 0, 0], [0, 0, 0]);
  const begin = lo.map((l, a) => {
    const vs = voxelSize[a]!;
    return (linear ? Math.floor(l / vs - 0.5) : Math.floor(l / vs)) * vs;
  });
  const end = hi.map((h, a) => {
    const vs = voxelSize[a]!;
    return (linear ? Math.floor(h / vs - 0.5) + 2 : Math.floor(h / vs) + 1) * vs;
  });
  return roiFromBounds(begin, end);
}

/** Linear interpolation of `src` ([z, y, x, c] over world region `from`) at `positions`. */
export function sampleLinear(
  src: Float32Array,
  from: Roi,
  voxelSize: readonly number[],
  channels: number,
  positions: Float64Array,
): Float32Array {
  const n = from.shape.map((s, i) => s / voxelSize[i]!) as [number, number, number];
  const out = new Float32Array((positions.length / 3) * channels);
  const sy = n[2] * channels,
    sz = n[1] * sy;
  const idx = [0, 0, 0],
    w = [0, 0, 0],
    step = [sz, sy, channels];
  for (let v = 0, p = 0; p < positions.length; v++, p += 3) {
    let base = 0;
    for (let a = 0; a < 3; a++) {
      const u = (positions[p + a]! - from.offset[a]!) / voxelSize[a]! - 0.5;
      let i = Math.floor(u);
      let f = u - i;
      if (i < 0 || i >= n[a]! - 1) {
        // At the region's edge (the region holds every needed voxel, so only a weight of 0 is cut).
        i = i < 0 ? 0 : n[a]! - 1;
        f = 0;
      }
      idx[a] = i;
      w[a] = f;
      base += i * step[a]!;
    }
    // Neighbour offsets along each axis (0 where the weight is 0: at the region's edge).
    const oz = w[0]! > 0 ? sz : 0,
      oy = w[1]! > 0 ? sy : 0,
      ox = w[2]! > 0 ? channels : 0;
    const [wz, wy, wx] = w as [number, number, number];
    for (let c = 0; c < channels; c++) {
      const b = base + c;
      const c00 = src[b]! * (1 - wx) + src[b + ox]! * wx;
      const c01 = src[b + oy]! * (1 - wx) + src[b + oy + ox]! * wx;
      const c10 = src[b + oz]! * (1 - wx) + src[b + oz + ox]! * wx;
      const c11 = src[b + oz + oy]! * (1 - wx) + src[b + oz + oy + ox]! * wx;
      out[v * channels + c] = (c00 * (1 - wy) + c01 * wy) * (1 - wz) + (c10 * (1 - wy) + c11 * wy) * wz;
    }
  }
  return out;
}

/** Nearest neighbour of `src` ([z, y, x] over world region `from`) at `positions`, same type; outside → 0. */
export function sampleNearest<T extends LabelArray | Uint8Array | Int32Array>(
  src: T,
  from: Roi,
  voxelSize: readonly number[],
  positions: Float64Array,
): T {
  const n = from.shape.map((s, i) => s / voxelSize[i]!) as [number, number, number];
  const out = new (src.constructor as new (n: number) => T)(positions.length / 3);
  const dst = out as unknown as { [i: number]: number | bigint };
  const s = src as unknown as ArrayLike<number | bigint>;
  for (let v = 0, p = 0; p < positions.length; v++, p += 3) {
    const z = Math.floor((positions[p]! - from.offset[0]!) / voxelSize[0]!);
    const y = Math.floor((positions[p + 1]! - from.offset[1]!) / voxelSize[1]!);
    const x = Math.floor((positions[p + 2]! - from.offset[2]!) / voxelSize[2]!);
    if (z < 0 || y < 0 || x < 0 || z >= n[0] || y >= n[1] || x >= n[2]) continue;
    dst[v] = s[(z * n[1] + y) * n[2] + x]!;
  }
  return out;
}

/**
 * Reads one sample through a deformation: raw over `rois.raw` and labels/mask over `rois.labels`
 * as seen through `plan` (positions mapped about the centre of both boxes, control points over
 * both boxes), reading only the source region the positions need.
 */
export async function readElasticReference(
  crop: Crop,
  rois: { raw: Roi; labels: Roi },
  plan: ElasticPlan,
): Promise<CropSample> {
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
  const rawPos = sourcePositions(plan, domain, centre, rois.raw, rawVs, finest);
  const labelPos = sourcePositions(plan, domain, centre, rois.labels, labelVs, finest);
  const rawFrom = sourceRegion(rawPos, rawVs, true);
  const labelsFrom = sourceRegion(labelPos, labelVs, false);
  const src = await crop.read(rawFrom, labelsFrom);
  const channels = src.rawShape[3]!;
  return {
    raw: sampleLinear(src.raw, rawFrom, rawVs, channels, rawPos),
    rawShape: [...rois.raw.shape.map((s, i) => s / rawVs[i]!), channels],
    labels: sampleNearest(src.labels, labelsFrom, labelVs, labelPos),
    mask: sampleNearest(src.mask, labelsFrom, labelVs, labelPos),
    labelShape: rois.labels.shape.map((s, i) => s / labelVs[i]!),
  };
}
