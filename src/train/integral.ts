/**
 * Summed-area tables over a 3D mask, for `minMasked`: how many known voxels a box holds, exactly,
 * in O(1) per box, and the list of box positions that hold enough of them.
 *
 * The table is a Float64Array of shape [z+1, y+1, x+1] (C order) with
 * table[k, j, i] = number of non-zero mask voxels in [0, k) × [0, j) × [0, i). Counts are
 * integers ≤ 2^53, so they stay exact for any volume that fits in memory (a Uint32Array would
 * overflow beyond 2^32 voxels, e.g. 2048^3).
 */
import type { Rng } from './random.js';
import { OptionsError } from '../errors.js';

function checkShape(fn: string, shape: readonly number[]): [number, number, number] {
  if (shape.length !== 3 || !shape.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new OptionsError(`${fn}: shape must be [z, y, x] of non-negative integers, got [${shape.join(', ')}]`);
  }
  return shape as [number, number, number];
}

function checkTable(fn: string, table: Float64Array, Z: number, Y: number, X: number): void {
  const n = (Z + 1) * (Y + 1) * (X + 1);
  if (table.length !== n) {
    throw new OptionsError(`${fn}: the table has ${table.length} entries, shape [${Z}, ${Y}, ${X}] needs ${n}`);
  }
}

/** Summed-area table of `mask` (non-zero = known), shape [z+1, y+1, x+1]. */
export function integralVolume(mask: Uint8Array, shape: readonly number[]): Float64Array {
  const [Z, Y, X] = checkShape('integralVolume', shape);
  if (mask.length !== Z * Y * X) {
    throw new OptionsError(
      `integralVolume: mask has ${mask.length} elements, shape [${shape.join(', ')}] needs ${Z * Y * X}`,
    );
  }
  const Y1 = Y + 1,
    X1 = X + 1,
    S = Y1 * X1;
  const t = new Float64Array((Z + 1) * S);
  // Row prefix sums along x, then accumulate along y, then along z.
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      const src = (z * Y + y) * X;
      const dst = (z + 1) * S + (y + 1) * X1 + 1;
      let acc = 0;
      for (let x = 0; x < X; x++) {
        if (mask[src + x] !== 0) acc++;
        t[dst + x] = acc;
      }
    }
    const plane = (z + 1) * S;
    for (let y = 1; y <= Y; y++) {
      const row = plane + y * X1,
        prev = row - X1;
      for (let x = 1; x <= X; x++) t[row + x]! += t[prev + x]!;
    }
    if (z > 0) {
      const prevPlane = plane - S;
      for (let i = X1; i < S; i++) t[plane + i]! += t[prevPlane + i]!;
    }
  }
  return t;
}

/**
 * Known voxels in the box [begin, end) (voxel indices, per axis z, y, x). The box is clipped to
 * the volume: parts outside count as nothing; an empty or fully outside box gives 0.
 */
export function boxSum(
  table: Float64Array,
  shape: readonly number[],
  begin: readonly number[],
  end: readonly number[],
): number {
  const [Z, Y, X] = checkShape('boxSum', shape);
  checkTable('boxSum', table, Z, Y, X);
  const z0 = clamp(begin[0]!, Z),
    z1 = clamp(end[0]!, Z);
  const y0 = clamp(begin[1]!, Y),
    y1 = clamp(end[1]!, Y);
  const x0 = clamp(begin[2]!, X),
    x1 = clamp(end[2]!, X);
  if (z1 <= z0 || y1 <= y0 || x1 <= x0) return 0;
  const X1 = X + 1,
    S = (Y + 1) * X1;
  const a = z0 * S,
    b = z1 * S,
    c = y0 * X1,
    d = y1 * X1;
  return (
    table[b + d + x1]! -
    table[b + d + x0]! -
    table[b + c + x1]! +
    table[b + c + x0]! -
    table[a + d + x1]! +
    table[a + d + x0]! +
    table[a + c + x1]! -
    table[a + c + x0]!
  );
}

function clamp(v: number, n: number): number {
  return v < 0 ? 0 : Math.min(v, n);
}

/**
 * The valid box positions found by {@link validCentres}, stored as runs along x so that a
 * mostly-valid region costs little memory. Positions are enumerated in C order (z, then y, then x).
 */
export class ValidCentres {
  /** Number of valid positions. */
  readonly count: number;
  /** The searched range [low, high) per axis (voxel indices; may extend outside the volume). */
  readonly low: readonly number[];
  readonly high: readonly number[];
  // Run r covers positions (z, y, x) with x in [runX0[r], runX0[r] + runLen[r]), where
  // (z, y) = (low[0] + floor(runRow[r] / ny), low[1] + runRow[r] % ny); runStart[r] is the number
  // of positions in runs before r.
  private readonly runRow: Int32Array;
  private readonly runX0: Int32Array;
  private readonly runStart: Float64Array;
  private readonly ny: number;
  /** Spacing of the candidate positions per axis (1: every voxel). */
  readonly step: readonly number[];

  /** @internal (params: built only by validCentres from its run arrays) */
  constructor(
    low: number[],
    high: number[],
    runRow: Int32Array,
    runX0: Int32Array,
    runStart: Float64Array,
    count: number,
    step: readonly number[] = [1, 1, 1],
  ) {
    this.low = low;
    this.high = high;
    this.runRow = runRow;
    this.runX0 = runX0;
    this.runStart = runStart;
    this.count = count;
    this.step = step;
    this.ny = Math.max(0, Math.ceil((high[1]! - low[1]!) / step[1]!));
  }

  /** The i-th valid position [z, y, x] (0 ≤ i < count), in C order. */
  at(i: number): [number, number, number] {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) {
      throw new RangeError(`ValidCentres.at: index ${i} outside [0, ${this.count})`);
    }
    // Last run whose start ≤ i.
    let lo = 0,
      hi = this.runStart.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.runStart[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    const row = this.runRow[lo]!;
    const [sz, sy, sx] = this.step as [number, number, number];
    return [
      this.low[0]! + Math.floor(row / this.ny) * sz,
      this.low[1]! + (row % this.ny) * sy,
      this.runX0[lo]! + (i - this.runStart[lo]!) * sx,
    ];
  }

  /** The same positions moved by `dz` planes along z. */
  shifted(dz: number): ValidCentres {
    const low = [this.low[0]! + dz, this.low[1]!, this.low[2]!];
    const high = [this.high[0]! + dz, this.high[1]!, this.high[2]!];
    return new ValidCentres(low, high, this.runRow, this.runX0, this.runStart, this.count, this.step);
  }

  /**
   * Parts that tile [low, high) along z, in order, each spanning the whole y and x range: one
   * ValidCentres over the union (positions in C order, as if found in one pass).
   */
  static concat(
    parts: ValidCentres[],
    low: number[],
    high: number[],
    step: readonly number[] = parts[0]?.step ?? [1, 1, 1],
  ): ValidCentres {
    const ny = Math.max(0, Math.ceil((high[1]! - low[1]!) / step[1]!));
    const runs = parts.reduce((n, p) => n + p.runRow.length, 0);
    const runRow = new Int32Array(runs);
    const runX0 = new Int32Array(runs);
    const runStart = new Float64Array(runs);
    let r = 0;
    let count = 0;
    for (const p of parts) {
      if (p.low[1] !== low[1] || p.high[1] !== high[1] || p.low[2] !== low[2] || p.high[2] !== high[2]) {
        throw new Error('ValidCentres.concat: parts must span the whole y and x range');
      }
      // Rows count candidate positions (every step[0]-th plane); parts begin on that grid.
      const rowShift = ((p.low[0]! - low[0]!) / step[0]!) * ny;
      for (let k = 0; k < p.runRow.length; k++, r++) {
        runRow[r] = p.runRow[k]! + rowShift;
        runX0[r] = p.runX0[k]!;
        runStart[r] = p.runStart[k]! + count;
      }
      count += p.count;
    }
    return new ValidCentres([...low], [...high], runRow, runX0, runStart, count, [...step]);
  }

  /** A uniformly drawn valid position, or null when there is none. */
  sample(rng: Rng): [number, number, number] | null {
    if (this.count === 0) return null;
    return this.at(rng.int(this.count));
  }

  /** All valid positions, flattened [count, 3] (z, y, x per row). Mostly for tests. */
  toArray(): Int32Array {
    const out = new Int32Array(this.count * 3);
    let k = 0;
    for (let r = 0; r < this.runRow.length; r++) {
      const len = (r + 1 < this.runStart.length ? this.runStart[r + 1]! : this.count) - this.runStart[r]!;
      const row = this.runRow[r]!;
      const z = this.low[0]! + Math.floor(row / this.ny) * this.step[0]!,
        y = this.low[1]! + (row % this.ny) * this.step[1]!;
      for (let j = 0; j < len; j++) {
        out[k++] = z;
        out[k++] = y;
        out[k++] = this.runX0[r]! + j * this.step[2]!;
      }
    }
    return out;
  }
}

/** Which centres validCentres looks at, and what it asks of the box around each (voxel indices). */
export interface CentreQuery {
  /** The box around a centre p: [p - floor(box / 2), p - floor(box / 2) + box). */
  box: readonly number[];
  /** The least fraction of the full box volume that must be known. */
  minFraction: number;
  /** Candidate centres [low, high) per axis z, y, x (may lie outside the volume). */
  low: readonly number[];
  high: readonly number[];
  /** Only the centres low + k · step are candidates (default [1, 1, 1]). */
  step?: readonly number[];
}

/**
 * Positions p in [low, high) (per axis z, y, x; voxel indices, may lie outside the volume) where
 * the box [p - floor(box / 2), p - floor(box / 2) + box) holds at least `minFraction` known voxels,
 * relative to the full box volume (box voxels outside the volume count as unknown). Exact:
 * count ≥ ceil(minFraction · boxVolume − 1e-9). minFraction ≤ 0 accepts every position;
 * minFraction > 1 none. With `step`, only the positions low + k · step are candidates (samples on
 * a coarser grid than the mask's).
 */
export function validCentres(table: Float64Array, shape: readonly number[], query: CentreQuery): ValidCentres {
  const [Z, Y, X] = checkShape('validCentres', shape);
  checkTable('validCentres', table, Z, Y, X);
  const { box: boxShape, minFraction, step } = checkCentreQuery(query);
  const low = [...query.low],
    high = [...query.high];
  const [sz, sy, sx] = step as [number, number, number];
  const nz = Math.max(0, Math.ceil((high[0]! - low[0]!) / sz)),
    ny = Math.max(0, Math.ceil((high[1]! - low[1]!) / sy)),
    nx = Math.max(0, Math.ceil((high[2]! - low[2]!) / sx));
  const boxVolume = boxShape[0]! * boxShape[1]! * boxShape[2]!;
  const need = Math.max(0, Math.ceil(minFraction * boxVolume - 1e-9));
  const half = boxShape.map((s) => Math.floor(s / 2));

  const runs = new CentreRuns();
  if (nz > 0 && ny > 0 && nx > 0 && need <= boxVolume) {
    if (need === 0) {
      for (let row = 0; row < nz * ny; row++) runs.push(row, low[2]!, nx);
    } else {
      const X1 = X + 1,
        S = (Y + 1) * X1;
      // Clipped box bounds along x for every candidate x, shared by all rows.
      const xa = new Int32Array(nx),
        xb = new Int32Array(nx);
      for (let i = 0; i < nx; i++) {
        const b = low[2]! + i * sx - half[2]!;
        xa[i] = clamp(b, X);
        xb[i] = clamp(b + boxShape[2]!, X);
      }
      for (let iz = 0; iz < nz; iz++) {
        const bz = low[0]! + iz * sz - half[0]!;
        const z0 = clamp(bz, Z),
          z1 = clamp(bz + boxShape[0]!, Z);
        for (let iy = 0; iy < ny; iy++) {
          const row = iz * ny + iy;
          const by = low[1]! + iy * sy - half[1]!;
          const y0 = clamp(by, Y),
            y1 = clamp(by + boxShape[1]!, Y);
          if (z1 <= z0 || y1 <= y0) continue; // box entirely outside: 0 known < need
          const p11 = z1 * S + y1 * X1,
            p10 = z1 * S + y0 * X1;
          const p01 = z0 * S + y1 * X1,
            p00 = z0 * S + y0 * X1;
          let runBegin = -1;
          for (let i = 0; i < nx; i++) {
            const a = xa[i]!,
              b = xb[i]!;
            const s =
              table[p11 + b]! -
              table[p11 + a]! -
              table[p10 + b]! +
              table[p10 + a]! -
              table[p01 + b]! +
              table[p01 + a]! +
              table[p00 + b]! -
              table[p00 + a]!;
            if (s >= need) {
              if (runBegin < 0) runBegin = i;
            } else if (runBegin >= 0) {
              runs.push(row, low[2]! + runBegin * sx, i - runBegin);
              runBegin = -1;
            }
          }
          if (runBegin >= 0) runs.push(row, low[2]! + runBegin * sx, nx - runBegin);
        }
      }
    }
  }
  return new ValidCentres(
    low,
    high,
    Int32Array.from(runs.row),
    Int32Array.from(runs.x0),
    Float64Array.from(runs.start),
    runs.count,
    [...step],
  );
}

/** Runs of valid centres as validCentres finds them (ValidCentres's run arrays, growing). */
class CentreRuns {
  readonly row: number[] = [];
  readonly x0: number[] = [];
  readonly start: number[] = [];
  count = 0;
  push(row: number, x0: number, len: number): void {
    this.row.push(row);
    this.x0.push(x0);
    this.start.push(this.count);
    this.count += len;
  }
}

/** validCentres's query checked, its step defaulted. */
function checkCentreQuery(query: CentreQuery): CentreQuery & { step: readonly number[] } {
  const { box, minFraction, low, high, step = [1, 1, 1] } = query;
  if (box.length !== 3 || !box.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new OptionsError(`validCentres: boxShape must be 3 positive integers, got [${box.join(', ')}]`);
  }
  if (low.length !== 3 || high.length !== 3 || ![...low, ...high].every((v) => Number.isInteger(v))) {
    throw new OptionsError(
      `validCentres: centreLow/centreHigh must be 3 integers each, got [${low.join(', ')}] / [${high.join(', ')}]`,
    );
  }
  if (Number.isNaN(minFraction)) throw new OptionsError('validCentres: minFraction is NaN');
  if (step.length !== 3 || !step.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new Error(`validCentres: step must be 3 positive integers, got [${step.join(', ')}]`);
  }
  return { ...query, step };
}

/** Planes [zBegin, zEnd) of the known mask (non-zero = known), C order [zEnd - zBegin, y, x]. */
export type MaskPlanes = (zBegin: number, zEnd: number) => Promise<Uint8Array>;

/** Default number of mask voxels per slab of the blockwise builders (4 Mi: a 32 MiB table). */
export const DEFAULT_SLAB_VOXELS = 2 ** 22;

/**
 * The planes to read per slab: the centres of planes [c0, c1) need the box's reach around them.
 * A slab holds at least one box depth, whatever `slabVoxels` says.
 */
function slabDepth(shape: readonly number[], boxDepth: number, slabVoxels: number): number {
  const plane = shape[1]! * shape[2]!;
  return Math.max(boxDepth, Math.floor(slabVoxels / Math.max(1, plane)));
}

/**
 * {@link validCentres} over the whole volume (centres [0, shape)) without a whole-volume table:
 * the mask is read slab by slab along z (each slab the centres' planes plus the box's reach), so
 * memory is bounded by the slab, not the volume. Also counts the known voxels. With `centreStep`,
 * only every centreStep-th position per axis is a candidate (as validCentres' `step`).
 */
export async function validCentresBlockwise(
  readPlanes: MaskPlanes,
  shape: readonly number[],
  boxShape: readonly number[],
  minFraction: number,
  slabVoxels = DEFAULT_SLAB_VOXELS,
  centreStep: readonly number[] = [1, 1, 1],
): Promise<{ centres: ValidCentres; known: number }> {
  const [Z, Y, X] = checkShape('validCentresBlockwise', shape);
  const depth = slabDepth(shape, boxShape[0]!, slabVoxels);
  const half = Math.floor(boxShape[0]! / 2);
  const sz = centreStep[0]!;
  // Slabs begin on the candidates' z grid.
  const step = Math.max(sz, Math.floor(Math.max(1, depth - boxShape[0]! + 1) / sz) * sz);
  const parts: ValidCentres[] = [];
  let known = 0;
  let countedTo = 0;
  for (let c0 = 0; c0 < Z || (Z === 0 && parts.length === 0); c0 += step) {
    const c1 = Math.min(Z, c0 + step);
    const p0 = Math.max(0, c0 - half);
    const p1 = Math.min(Z, c1 - half + boxShape[0]! - 1);
    const planes = p1 > p0 ? await readPlanes(p0, p1) : new Uint8Array(0);
    for (let z = Math.max(p0, countedTo); z < p1; z++) {
      for (let i = (z - p0) * Y * X, end = i + Y * X; i < end; i++) if (planes[i] !== 0) known++;
    }
    countedTo = Math.max(countedTo, p1);
    const slabShape = [Math.max(0, p1 - p0), Y, X];
    let table: Float64Array;
    try {
      table = integralVolume(planes, slabShape);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      const n = (slabShape[0]! + 1) * (Y + 1) * (X + 1);
      throw new RangeError(
        `a mask table slab of [${slabShape.join(', ')}] voxels needs ${n} entries, more than can be allocated`,
      );
    }
    const part = validCentres(table, slabShape, {
      box: boxShape,
      minFraction,
      low: [c0 - p0, 0, 0],
      high: [c1 - p0, Y, X],
      step: centreStep,
    });
    parts.push(part.shifted(p0));
    if (Z === 0) break;
  }
  return { centres: ValidCentres.concat(parts, [0, 0, 0], [Z, Y, X], centreStep), known };
}

/** Known voxels of the whole volume, read slab by slab. */
export async function countKnownBlockwise(
  readPlanes: MaskPlanes,
  shape: readonly number[],
  slabVoxels = DEFAULT_SLAB_VOXELS,
): Promise<number> {
  const [Z, Y, X] = checkShape('countKnownBlockwise', shape);
  const depth = slabDepth(shape, 1, slabVoxels);
  let known = 0;
  for (let z0 = 0; z0 < Z; z0 += depth) {
    const planes = await readPlanes(z0, Math.min(Z, z0 + depth));
    for (let i = 0, n = Math.min(planes.length, (Math.min(Z, z0 + depth) - z0) * Y * X); i < n; i++) {
      if (planes[i] !== 0) known++;
    }
  }
  return known;
}

/**
 * {@link validCentresBlockwise} for a volume known everywhere (a crop without a mask: its labels
 * region is its known region), without reading or tabling anything: a box's known voxels are the
 * product of its overlaps with the volume along each axis. The same positions, in the same order.
 */
export function validCentresOfBox(
  shape: readonly number[],
  boxShape: readonly number[],
  minFraction: number,
  centreStep: readonly number[] = [1, 1, 1],
): ValidCentres {
  const dims = checkShape('validCentresOfBox', shape);
  const boxVolume = boxShape[0]! * boxShape[1]! * boxShape[2]!;
  const need = Math.max(0, Math.ceil(minFraction * boxVolume - 1e-9));
  // Overlap of the box with [0, n) at every candidate position of each axis.
  const overlaps = dims.map((n, a) => {
    const half = Math.floor(boxShape[a]! / 2);
    const count = Math.max(0, Math.ceil(n / centreStep[a]!));
    return Float64Array.from({ length: count }, (_, i) => {
      const b = i * centreStep[a]! - half;
      return clamp(b + boxShape[a]!, n) - clamp(b, n);
    });
  }) as [Float64Array, Float64Array, Float64Array];
  const [oz, oy, ox] = overlaps;
  const runRow: number[] = [],
    runX0: number[] = [],
    runStart: number[] = [];
  let count = 0;
  if (need <= boxVolume) {
    for (let iz = 0; iz < oz.length; iz++) {
      for (let iy = 0; iy < oy.length; iy++) {
        const plane = oz[iz]! * oy[iy]!;
        if (plane === 0 && need > 0) continue; // box entirely outside: 0 known < need (as validCentres)
        let runBegin = -1;
        for (let i = 0; i <= ox.length; i++) {
          if (i < ox.length && plane * ox[i]! >= need) {
            if (runBegin < 0) runBegin = i;
          } else if (runBegin >= 0) {
            runRow.push(iz * oy.length + iy);
            runX0.push(runBegin * centreStep[2]!);
            runStart.push(count);
            count += i - runBegin;
            runBegin = -1;
          }
        }
      }
    }
  }
  return new ValidCentres(
    [0, 0, 0],
    [...dims],
    Int32Array.from(runRow),
    Int32Array.from(runX0),
    Float64Array.from(runStart),
    count,
    [...centreStep],
  );
}
