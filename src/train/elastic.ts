/**
 * Elastic augmentation as gunpowder's ElasticAugment defines it, in world units: control points
 * every `controlPointSpacing` over the sample's region, each displaced by a Gaussian of
 * `jitterSigma` per axis, the displacement interpolated smoothly between them (cubic), plus a
 * rotation about the sample's centre (around z, drawn from `rotationInterval`; or uniform in 3D).
 *
 * A deformation is a coordinate map: for every voxel of an output patch, the position it takes its
 * value from (`gridMap`, a lattice of exact positions interpolated linearly in between; the
 * lattice is every voxel unless `subsample` is given). One continuous map serves raw and labels,
 * whatever their voxel sizes, so they stay aligned. Reading a sample through it is
 * train/elastic-read.ts.
 *
 * `planElastic` draws every random number up front, always the same count for a given region
 * shape; the rest is pure.
 */
import { OptionsError } from '../errors.js';
import type { Roi } from '../roi.js';
import type { Rng } from './random.js';

export interface ElasticOptions {
  /** Distance between control points, world units, per axis [z, y, x] or one for all. */
  controlPointSpacing: number | readonly number[];
  /** Standard deviation of the control points' displacement, world units, per axis or one. Default 0. */
  jitterSigma?: number | readonly number[];
  /** Rotation around z (in the y–x plane), radians, uniform in [low, high]. Default [0, 0]. */
  rotationInterval?: readonly [number, number];
  /** A uniformly random 3D rotation instead of rotationInterval. Default false. */
  uniform3d?: boolean;
  /**
   * Compute the deformation every `subsample` finest voxels and interpolate linearly in between
   * (much faster; gunpowder's `subsample`). Default 1 (every voxel).
   */
  subsample?: number;
}

export interface ElasticPlan {
  /** Control points per axis. */
  readonly controlShape: readonly number[];
  /** Displacements (world units) per control point, C order over controlShape, 3 per point (z, y, x). */
  readonly displacements: Float64Array;
  /** Rotation, 3×3 row-major over (z, y, x) offsets from the centre. */
  readonly rotation: readonly number[];
  readonly subsample: number;
}

const perAxis = (name: string, v: number | readonly number[] | undefined, fallback: number, positive: boolean) => {
  const list = v === undefined ? [fallback, fallback, fallback] : typeof v === 'number' ? [v, v, v] : [...v];
  if (list.length !== 3 || list.some((x) => !Number.isFinite(x) || (positive ? x <= 0 : x < 0))) {
    throw new OptionsError(
      `augment.elastic.${name} must be ${positive ? 'a positive number' : 'a number ≥ 0'} or 3 of them [z, y, x], got ${JSON.stringify(v)}`,
    );
  }
  return list;
};

/** Checks the options (messages name the option); returns them resolved. */
export function checkElasticOptions(options: ElasticOptions): {
  spacing: number[];
  sigma: number[];
  rotation: [number, number];
  uniform3d: boolean;
  subsample: number;
} {
  if (!options || typeof options !== 'object') {
    throw new OptionsError(`augment.elastic must be an object, got ${String(options)}`);
  }
  const spacing = perAxis('controlPointSpacing', options.controlPointSpacing, NaN, true);
  const sigma = perAxis('jitterSigma', options.jitterSigma, 0, false);
  const rotation = options.rotationInterval ?? [0, 0];
  if (
    !Array.isArray(rotation) ||
    rotation.length !== 2 ||
    !rotation.every(Number.isFinite) ||
    rotation[0] > rotation[1]
  ) {
    throw new OptionsError(
      `augment.elastic.rotationInterval must be [low, high] radians, got ${JSON.stringify(rotation)}`,
    );
  }
  const subsample = options.subsample ?? 1;
  if (!Number.isInteger(subsample) || subsample < 1) {
    throw new OptionsError(`augment.elastic.subsample must be a positive integer, got ${JSON.stringify(subsample)}`);
  }
  return { spacing, sigma, rotation: [rotation[0], rotation[1]], uniform3d: options.uniform3d ?? false, subsample };
}

/**
 * Draws a deformation for a region of `extent` (world units per axis). Always
 * 2 · 3 · (control points) + 4 draws, so the stream after it does not depend on the values.
 */
export function planElastic(rng: Rng, options: ElasticOptions, extent: readonly number[]): ElasticPlan {
  const o = checkElasticOptions(options);
  // As gunpowder: round(extent / spacing) control points per axis, at least one.
  const controlShape = extent.map((e, i) => Math.max(1, Math.round(e / o.spacing[i]!)));
  const n = controlShape.reduce((a, b) => a * b, 1);
  const displacements = new Float64Array(n * 3);
  for (let k = 0; k < n * 3; k++) displacements[k] = gaussian(rng) * o.sigma[k % 3]!;
  const uAngle = rng.next();
  const u = [rng.next(), rng.next(), rng.next()] as const;
  let rotation: number[];
  if (o.uniform3d) {
    rotation = uniformRotation(u[0], u[1], u[2]);
  } else {
    const angle = o.rotation[0] + (o.rotation[1] - o.rotation[0]) * uAngle;
    const c = Math.cos(angle),
      s = Math.sin(angle);
    rotation = [1, 0, 0, 0, c, -s, 0, s, c];
  }
  return { controlShape, displacements, rotation, subsample: o.subsample };
}

/** Standard normal from two uniforms (Box–Muller; always two draws). */
function gaussian(rng: Rng): number {
  const u1 = 1 - rng.next(); // (0, 1]
  const u2 = rng.next();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Rotation matrix of a uniformly random unit quaternion (Shoemake), over (z, y, x). */
function uniformRotation(u1: number, u2: number, u3: number): number[] {
  const a = Math.sqrt(1 - u1),
    b = Math.sqrt(u1);
  const [w, x, y, z] = [
    a * Math.sin(2 * Math.PI * u2),
    a * Math.cos(2 * Math.PI * u2),
    b * Math.sin(2 * Math.PI * u3),
    b * Math.cos(2 * Math.PI * u3),
  ];
  // Matrix over (x, y, z), then reordered to (z, y, x).
  const m = [
    [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
    [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
    [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
  ];
  const order = [2, 1, 0];
  return order.flatMap((r) => order.map((c) => m[r]![c]!));
}

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

/** Interpolation taps along one axis: per point, control-point indices and weights. */
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
 * A deformation seen from one output grid. Source positions are known exactly (cubic from the
 * control points, plus the rotation) on a lattice; every output voxel interpolates them linearly
 * between the two lattice points around it along each axis. Without `subsample` the lattice is the
 * grid's own voxel centres (every weight 0: exact at each voxel); with it, a lattice every
 * `subsample` finest voxels from the domain's begin, shared by raw and labels, so that one
 * continuous map serves both.
 *
 * Positions are in voxels of the output grid's voxel size (world / voxel size; voxel i spans
 * [i, i + 1)), so that samplers take integer indices and fractions straight from them.
 */
export interface GridMap {
  /** Output voxels [Z, Y, X]. */
  readonly shape: readonly [number, number, number];
  /** Lattice points per axis. */
  readonly latticeShape: readonly [number, number, number];
  /** Source position (z, y, x, in voxels) per lattice point, C order over latticeShape. */
  readonly lattice: Float64Array;
  /** Per axis, per output voxel: the lattice points below and above it, and the weight of the one above. */
  readonly below: readonly [Int32Array, Int32Array, Int32Array];
  readonly above: readonly [Int32Array, Int32Array, Int32Array];
  readonly weight: readonly [Float64Array, Float64Array, Float64Array];
}

/** One axis of a GridMap: its lattice (world positions begin + m · step, m < count) and each voxel's place on it. */
interface AxisLattice {
  begin: number;
  step: number;
  count: number;
  below: Int32Array;
  above: Int32Array;
  weight: Float64Array;
}

/** gridMap's lattice along axis `a`, for the voxel centres of `out` (voxel size `voxelSizes`). */
function axisLattice(
  plan: ElasticPlan,
  domain: Roi,
  a: number,
  out: Roi,
  voxelSizes: readonly number[],
  finestSizes: readonly number[],
): AxisLattice {
  const voxelSize = voxelSizes[a]!;
  const first = out.offset[a]! + voxelSize / 2;
  const voxels = out.shape[a]! / voxelSize;
  const finest = finestSizes[a]!;
  const below = new Int32Array(voxels);
  const above = new Int32Array(voxels);
  const weight = new Float64Array(voxels);
  if (plan.subsample <= 1) {
    for (let k = 0; k < voxels; k++) below[k] = above[k] = k;
    return { begin: first, step: voxelSize, count: voxels, below, above, weight };
  }
  // Lattice m of the domain at domain.offset + m · L, m < nL; only the points this grid uses are kept.
  const L = finest * plan.subsample;
  const d0 = domain.offset[a]!;
  const nL = Math.ceil(domain.shape[a]! / L) + 1;
  let lowest = Infinity,
    highest = -Infinity;
  for (let k = 0; k < voxels; k++) {
    const t = Math.min(nL - 1, Math.max(0, (first + k * voxelSize - d0) / L));
    const j = Math.min(Math.max(0, nL - 2), Math.floor(t));
    below[k] = j;
    above[k] = Math.min(j + 1, nL - 1);
    weight[k] = nL > 1 ? t - j : 0;
    lowest = Math.min(lowest, j);
    highest = Math.max(highest, above[k]!);
  }
  if (voxels === 0) lowest = highest = 0;
  for (let k = 0; k < voxels; k++) {
    below[k] -= lowest;
    above[k] -= lowest;
  }
  return { begin: d0 + lowest * L, step: L, count: highest - lowest + 1, below, above, weight };
}

/**
 * The deformation's map for the output patch `out` (voxel size `voxelSize`): centre + R · (p −
 * centre) + displacement(p) for every voxel centre p. `domain` is the region the control points
 * span (the sample's raw ∪ labels box), `centre` the rotation centre, `finest` the finest voxel size
 * of the sample (the lattice step with `subsample`).
 */
export function gridMap(
  plan: ElasticPlan,
  domain: Roi,
  centre: readonly number[],
  out: Roi,
  voxelSize: readonly number[],
  finest: readonly number[],
): GridMap {
  const shape = out.shape.map((s, i) => s / voxelSize[i]!) as [number, number, number];
  const along = (a: number) => axisLattice(plan, domain, a, out, voxelSize, finest);
  const axes: [AxisLattice, AxisLattice, AxisLattice] = [along(0), along(1), along(2)];
  const taps = axes.map((l, a) => cubicAxisTaps(plan, domain, a, l.begin, l.step, l.count)) as [Taps, Taps, Taps];
  const lattice = contract(plan, taps);
  const [nz, ny, nx] = axes.map((l) => l.count) as [number, number, number];
  const R = plan.rotation;
  const [cz, cy, cx] = centre as [number, number, number];
  const [vz, vy, vx] = voxelSize as [number, number, number];
  for (let mz = 0, o = 0; mz < nz; mz++) {
    const dz = axes[0].begin + mz * axes[0].step - cz;
    for (let my = 0; my < ny; my++) {
      const dy = axes[1].begin + my * axes[1].step - cy;
      for (let mx = 0; mx < nx; mx++, o += 3) {
        const dx = axes[2].begin + mx * axes[2].step - cx;
        lattice[o] = (cz + R[0]! * dz + R[1]! * dy + R[2]! * dx + lattice[o]!) / vz;
        lattice[o + 1] = (cy + R[3]! * dz + R[4]! * dy + R[5]! * dx + lattice[o + 1]!) / vy;
        lattice[o + 2] = (cx + R[6]! * dz + R[7]! * dy + R[8]! * dx + lattice[o + 2]!) / vx;
      }
    }
  }
  return {
    shape,
    latticeShape: [nz, ny, nx],
    lattice,
    below: [axes[0].below, axes[1].below, axes[2].below],
    above: [axes[0].above, axes[1].above, axes[2].above],
    weight: [axes[0].weight, axes[1].weight, axes[2].weight],
  };
}

/**
 * Source positions of a map, one output row at a time: the lattice interpolated along z (a plane,
 * again only when z changes), then y (a row: `seek`), then x per voxel as a + w · (b − a) between
 * the two lattice points around it (a itself where w is 0). This is the map's definition: `fill`
 * writes a row's positions, and samplers compute them inline the same way (run by run over `runs`,
 * from `values` at `at`), without storing them.
 */
export class MapRows {
  /** Lattice values of the current row: point m's position (z, y, x) at `values[at + 3m …]`. */
  values: Float64Array;
  at = 0;
  /** Runs of output x between the same two lattice points: [first x, end x, offset of a, offset of b] each. */
  readonly runs: Int32Array;
  /** Per output x, the weight w of the lattice point after it. */
  readonly weight: Float64Array;
  private readonly plane: Float64Array;
  private readonly row: Float64Array;
  private planeValues: Float64Array;
  private planeAt = 0;
  private z = -1;

  constructor(private readonly map: GridMap) {
    const [, ny, nx] = map.latticeShape;
    this.plane = new Float64Array(ny * nx * 3);
    this.row = new Float64Array(nx * 3);
    this.values = this.planeValues = map.lattice;
    const X = map.shape[2];
    const [below, above] = [map.below[2], map.above[2]];
    const runs: number[] = [];
    for (let x = 0; x < X; x++) {
      if (x === 0 || below[x] !== below[x - 1] || above[x] !== above[x - 1])
        runs.push(x, x + 1, 3 * below[x]!, 3 * above[x]!);
      else runs[runs.length - 3] = x + 1;
    }
    this.runs = Int32Array.from(runs);
    this.weight = map.weight[2];
  }

  /** Makes output row (z, y) the current one. */
  seek(z: number, y: number): void {
    const map = this.map;
    const [, ny, nx] = map.latticeShape;
    const rowLength = nx * 3,
      planeLength = ny * rowLength;
    if (z !== this.z) {
      // A weight of 0 takes the lattice's own values (a + 0 · b would give them too).
      const w = map.weight[0][z]!;
      this.planeValues = map.lattice;
      this.planeAt = map.below[0][z]! * planeLength;
      if (w !== 0) {
        lerpInto(map.lattice, this.planeAt, map.above[0][z]! * planeLength, w, this.plane, planeLength);
        this.planeValues = this.plane;
        this.planeAt = 0;
      }
      this.z = z;
    }
    const v = map.weight[1][y]!;
    this.values = this.planeValues;
    this.at = this.planeAt + map.below[1][y]! * rowLength;
    if (v !== 0) {
      lerpInto(this.planeValues, this.at, this.planeAt + map.above[1][y]! * rowLength, v, this.row, rowLength);
      this.values = this.row;
      this.at = 0;
    }
  }

  /** Positions (z, y, x in voxels, 3 per voxel) of output row (z, y) into `u`. */
  fill(z: number, y: number, u: Float64Array): void {
    this.seek(z, y);
    const { runs, weight, values: r, at } = this;
    for (let k = 0; k < runs.length; k += 4) {
      const a = at + runs[k + 2]!,
        b = at + runs[k + 3]!;
      const az = r[a]!,
        ay = r[a + 1]!,
        ax = r[a + 2]!;
      const dz = r[b]! - az,
        dy = r[b + 1]! - ay,
        dx = r[b + 2]! - ax;
      for (let x = runs[k]!, o = 3 * x; x < runs[k + 1]!; x++, o += 3) {
        const t = weight[x]!;
        u[o] = az + t * dz;
        u[o + 1] = ay + t * dy;
        u[o + 2] = ax + t * dx;
      }
    }
  }
}

/** out[k] = src[a + k] · (1 − w) + src[b + k] · w for k < n. */
function lerpInto(src: Float64Array, a: number, b: number, w: number, out: Float64Array, n: number): void {
  const s = 1 - w;
  for (let k = 0; k < n; k++) out[k] = src[a + k]! * s + src[b + k]! * w;
}

/** A box of voxels [begin, end) per axis (integers, in the grid's voxels). */
export interface VoxelBox {
  readonly begin: readonly number[];
  readonly end: readonly number[];
}

/**
 * Rounding of the interpolation can take a position a few units in the last place beyond the
 * lattice's bounds; the source box allows for this much.
 */
const ROUNDING = 1e-6;

/**
 * The voxels a sampler needs for every position of `map`: the nearest voxel of each, and for
 * linear interpolation the one after it on each axis too. From the lattice's bounds (positions are
 * interpolated between lattice points), so it may hold a voxel more than needed.
 */
export function sourceBox(map: GridMap, linear: boolean): VoxelBox {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  const l = map.lattice;
  for (let i = 0; i < l.length; i += 3) {
    for (let a = 0; a < 3; a++) {
      const v = l[i + a]!;
      if (v < lo[a]!) lo[a] = v;
      if (v > hi[a]!) hi[a] = v;
    }
  }
  if (l.length === 0 || map.shape.some((n) => n === 0)) return { begin: [0, 0, 0], end: [0, 0, 0] };
  const shift = linear ? 0.5 : 0;
  return {
    begin: lo.map((v) => Math.floor(v - shift - ROUNDING)),
    end: hi.map((v) => Math.floor(v - shift + ROUNDING) + (linear ? 2 : 1)),
  };
}

/**
 * The map of the mirrored and transposed patch (augment.ts's geometry, as remapOf reads it): output
 * axis i is the patch's axis transpose[i], reversed where that axis is mirrored. Positions are
 * unchanged; only which output voxel takes which one.
 */
export function orientMap(
  map: GridMap,
  geometry: { mirror: readonly boolean[]; transpose: readonly number[] },
): GridMap {
  const t = geometry.transpose;
  if (t.every((a, i) => a === i) && !geometry.mirror.some(Boolean)) return map;
  const n = map.latticeShape;
  const shape = t.map((a) => n[a]!) as [number, number, number];
  const stride = [n[1] * n[2] * 3, n[2] * 3, 3];
  const lattice = new Float64Array(map.lattice.length);
  const [s0, s1, s2] = t.map((a) => stride[a]!) as [number, number, number];
  for (let i = 0, o = 0; i < shape[0]; i++)
    for (let j = 0; j < shape[1]; j++)
      for (let k = 0, q = i * s0 + j * s1; k < shape[2]; k++, q += s2, o += 3) {
        lattice[o] = map.lattice[q]!;
        lattice[o + 1] = map.lattice[q + 1]!;
        lattice[o + 2] = map.lattice[q + 2]!;
      }
  const axis = <T extends Int32Array | Float64Array>(arrays: readonly T[], a: number): T =>
    geometry.mirror[a] ? (arrays[a]!.slice().reverse() as T) : arrays[a]!;
  return {
    shape: t.map((a) => map.shape[a]!) as [number, number, number],
    latticeShape: shape,
    lattice,
    below: t.map((a) => axis(map.below, a)) as [Int32Array, Int32Array, Int32Array],
    above: t.map((a) => axis(map.above, a)) as [Int32Array, Int32Array, Int32Array],
    weight: t.map((a) => axis(map.weight, a)) as [Float64Array, Float64Array, Float64Array],
  };
}
