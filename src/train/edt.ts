/**
 * Exact Euclidean distance transforms of 3D grids (Felzenszwalb–Huttenlocher's separable lower
 * envelopes, with Maurer's integer test for dropping a parabola), in exact integer arithmetic.
 *
 * Distances are returned squared and scaled to integers: along axis a a step of k grid positions
 * costs (k · step[a])², so with `step` the voxel size (world units) the result is the squared world
 * distance, and on a grid of half voxels with `step` the voxel size it is 4 × the squared world
 * distance. Every sum and product stays an integer below 2^53, so the result does not depend on the
 * order of the axes (a mirrored or transposed input gives the mirrored or transposed result, bit
 * for bit). Values at or above `cap` are reported as `cap` (callers need distances up to a radius).
 *
 * Inputs are [z, y, x] windows in C order; the output covers a box inside the window (the distances
 * are exact there: every feature of the window is seen). Results and intermediates are held as
 * 32-bit integers when the cap allows it (4 bytes a value), else as float64.
 */

/** Integers up to `cap`: 32-bit when they fit. */
export type Distances = Uint32Array | Float64Array;

function distances(n: number, cap: number): Distances {
  return cap < 2 ** 32 ? new Uint32Array(n) : new Float64Array(n);
}

/** A box of a window: voxel offset and shape per axis [z, y, x]. */
export interface Box {
  offset: readonly number[];
  shape: readonly number[];
}

/**
 * The lower envelope of parabolas f_r + (m · (q − x_r))², r < count, with f_r = src[s0 + r · sStep]
 * (entries ≥ cap are absent) at integer positions x_r = x0 + r · xStep, at the integer query
 * positions q (ascending), into out[o + i · os].
 *
 * (params: the per-line kernel of the transform, called once per row: scalars and reused
 * buffers keep it allocation-free)
 */
function envelope(
  src: Distances,
  s0: number,
  sStep: number,
  count: number,
  x0: number,
  xStep: number,
  m2: number,
  cap: number,
  q: Int32Array,
  nq: number,
  out: Distances,
  o: number,
  os: number,
  stack: Stack,
): void {
  const sx = stack.x,
    sf = stack.f;
  let k = -1;
  for (let r = 0, s = s0, xj = x0; r < count; r++, s += sStep, xj += xStep) {
    const fj = src[s]!;
    if (fj >= cap) continue;
    // Drop the last parabola while the new one and the one before it hide it (Maurer's test:
    // with a = v − u, b = w − v, c = w − u, v is hidden when c·f_v − b·f_u − a·f_w ≥ m²·a·b·c).
    while (k >= 1) {
      const a = sx[k]! - sx[k - 1]!,
        b = xj - sx[k]!,
        c = a + b;
      if (c * sf[k]! - b * sf[k - 1]! - a * fj - m2 * a * b * c < 0) break;
      k--;
    }
    k++;
    sx[k] = xj;
    sf[k] = fj;
  }
  if (k < 0) {
    for (let i = 0; i < nq; i++) out[o + i * os] = cap;
    return;
  }
  let e = 0;
  for (let i = 0; i < nq; i++) {
    const qi = q[i]!;
    let d = qi - sx[e]!;
    let best = sf[e]! + m2 * d * d;
    while (e < k) {
      d = qi - sx[e + 1]!;
      const next = sf[e + 1]! + m2 * d * d;
      if (next > best) break;
      best = next;
      e++;
    }
    out[o + i * os] = Math.min(best, cap);
  }
}

/** The envelope's parabolas (position, value), and the feature coordinates of a row. */
class Stack {
  readonly x: Float64Array;
  readonly f: Float64Array;
  readonly at: Int32Array;
  constructor(n: number) {
    this.x = new Float64Array(n);
    this.f = new Float64Array(n);
    this.at = new Int32Array(n);
  }
}

/**
 * The feature coordinates `at` (ascending, `n` of them) nearest each query position of `q`
 * (ascending): squared distance (m · Δ)² into out[o + i], `cap` when there is none.
 *
 * (params: called once per row of the transform; scalars keep it allocation-free)
 */
function nearestOf(
  at: Int32Array,
  n: number,
  m2: number,
  cap: number,
  q: Int32Array,
  nq: number,
  out: Distances,
  o: number,
): void {
  if (n === 0) {
    out.fill(cap, o, o + nq);
    return;
  }
  let j = 0;
  for (let i = 0; i < nq; i++) {
    const qi = q[i]!;
    while (j + 1 < n && at[j + 1]! <= qi) j++;
    let d = qi - at[j]!;
    if (d < 0) d = -d;
    if (j + 1 < n && at[j + 1]! - qi < d) d = at[j + 1]! - qi;
    const e = m2 * d * d;
    out[o + i] = Math.min(e, cap);
  }
}

/** Half-voxel coordinates 2p + 1 of the faces between x = p and p + 1 where a row of `bits` (from `base`) changes. */
function facesAlong(bits: Uint8Array, base: number, X: number, at: Int32Array): number {
  let n = 0;
  for (let p = 0, v = bits[base]; p + 1 < X; p++) {
    const w = bits[base + p + 1];
    if (w !== v) at[n++] = 2 * p + 1;
    v = w;
  }
  return n;
}

/** Half-voxel coordinates 2p of the voxels p where two rows of `bits` (from `a` and `b`) differ. */
function facesBetween(bits: Uint8Array, a: number, b: number, X: number, at: Int32Array): number {
  let n = 0;
  for (let p = 0; p < X; p++) if (bits[a + p] !== bits[b + p]) at[n++] = 2 * p;
  return n;
}

/** Voxel coordinates p of a row of `bits` (from `base`) that are non-zero. */
function featuresOf(bits: Uint8Array, base: number, X: number, at: Int32Array): number {
  let n = 0;
  for (let p = 0; p < X; p++) if (bits[base + p] !== 0) at[n++] = p;
  return n;
}

/**
 * 4 × the squared world distance from each voxel centre of `box` to the nearest face between two
 * face-adjacent voxels of the window where `inside` differs (DaCapo's boundaries on the doubled
 * grid: a voxel next to a boundary is half a voxel from it), `cap` where none is nearer.
 * `inside` is [z, y, x] over `window` (non-zero: in the class); `voxelSize` per axis (integers).
 */
export function faceDistances(
  inside: Uint8Array,
  window: readonly number[],
  box: Box,
  voxelSize: readonly number[],
  cap: number,
): Distances {
  const [Z, Y, X] = window as [number, number, number];
  const [bz, by, bx] = box.offset as [number, number, number];
  const [nz, ny, nx] = box.shape as [number, number, number];
  const [mz2, my2, mx2] = voxelSize.map((v) => v * v) as [number, number, number];
  const plane = Y * X;
  const cells = ny * nx;
  // Per plane position along z (2z: voxel planes, 2z + 1: the faces between z and z + 1), the
  // plane's 2D result over the box's (y, x): the distance within the plane to its features.
  const planes = distances((2 * Z - 1) * cells, cap);
  const stack = new Stack(2 * Math.max(Z, Y, X));
  const qx = Int32Array.from({ length: nx }, (_, i) => 2 * (bx + i));
  const qy = Int32Array.from({ length: ny }, (_, i) => 2 * (by + i));
  // Feature coordinates of a row (the envelope's scratch, free while rows are scanned).
  // Per row position along y (2y rows and 2y + 1 half rows), the distance along x at the box's x.
  const rows = distances((2 * Y - 1) * nx, cap);
  const at = stack.at;
  for (let z = 0; z < Z; z++) {
    // Voxel plane z: X-faces along rows (at half x), Y-faces on half rows (at whole x).
    for (let y = 0, row = z * plane; y < Y; y++, row += X) {
      nearestOf(at, facesAlong(inside, row, X, at), mx2, cap, qx, nx, rows, 2 * y * nx);
      if (y + 1 < Y) nearestOf(at, facesBetween(inside, row, row + X, X, at), mx2, cap, qx, nx, rows, (2 * y + 1) * nx);
    }
    columnsAlongY(rows, 2 * Y - 1, 0, 1, nx, my2, cap, qy, ny, planes, 2 * z * cells, stack);
    if (z + 1 === Z) break;
    // Half plane z + 1/2: the Z-faces, at whole (y, x).
    for (let y = 0, row = z * plane; y < Y; y++, row += X) {
      nearestOf(at, facesBetween(inside, row, row + plane, X, at), mx2, cap, qx, nx, rows, 2 * y * nx);
    }
    columnsAlongY(rows, Y, 0, 2, nx, my2, cap, qy, ny, planes, (2 * z + 1) * cells, stack);
  }
  // Along z: every (y, x) of the box over the 2Z − 1 plane positions, at the box's z.
  const out = distances(nz * cells, cap);
  const qz = Int32Array.from({ length: nz }, (_, i) => 2 * (bz + i));
  for (let c = 0; c < cells; c++) envelope(planes, c, cells, 2 * Z - 1, 0, 1, mz2, cap, qz, nz, out, c, cells, stack);
  return out;
}

/**
 * The columns of `rows` (`count` rows at half-voxel y positions `first + r · rowStep`, stored at
 * rows[(first + r · rowStep) · nx …], nx columns) through their lower envelope along y, at the
 * positions `qy`, into out[o + y · nx + x].
 *
 * (params: called once per plane of the transform; scalars keep the pass allocation-free)
 */
function columnsAlongY(
  rows: Distances,
  count: number,
  first: number,
  rowStep: number,
  nx: number,
  m2: number,
  cap: number,
  qy: Int32Array,
  ny: number,
  out: Distances,
  o: number,
  stack: Stack,
): void {
  for (let c = 0; c < nx; c++) {
    envelope(rows, first * nx + c, rowStep * nx, count, first, rowStep, m2, cap, qy, ny, out, o + c, nx, stack);
  }
}

/**
 * The squared world distance from each voxel centre of `box` to the nearest voxel centre of the
 * window where `feature` is non-zero (0 on features), `cap` where none is nearer: scipy's
 * `distance_transform_edt(feature == 0, sampling=voxelSize) ** 2`.
 */
export function voxelDistances(
  feature: Uint8Array,
  window: readonly number[],
  box: Box,
  voxelSize: readonly number[],
  cap: number,
): Distances {
  const [Z, Y, X] = window as [number, number, number];
  const [bz, by, bx] = box.offset as [number, number, number];
  const [nz, ny, nx] = box.shape as [number, number, number];
  const [mz2, my2, mx2] = voxelSize.map((v) => v * v) as [number, number, number];
  const cells = ny * nx;
  const planes = distances(Z * cells, cap);
  const stack = new Stack(Math.max(Z, Y, X));
  const qx = Int32Array.from({ length: nx }, (_, i) => bx + i);
  const qy = Int32Array.from({ length: ny }, (_, i) => by + i);
  const rows = distances(Y * nx, cap);
  for (let z = 0; z < Z; z++) {
    for (let y = 0, base = z * Y * X; y < Y; y++, base += X) {
      nearestOf(stack.at, featuresOf(feature, base, X, stack.at), mx2, cap, qx, nx, rows, y * nx);
    }
    columnsAlongY(rows, Y, 0, 1, nx, my2, cap, qy, ny, planes, z * cells, stack);
  }
  const out = distances(nz * cells, cap);
  const qz = Int32Array.from({ length: nz }, (_, i) => bz + i);
  for (let c = 0; c < cells; c++) envelope(planes, c, cells, Z, 0, 1, mz2, cap, qz, nz, out, c, cells, stack);
  return out;
}
