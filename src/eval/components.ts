/**
 * Connected components of 3D volumes (C order [z, y, x]) with union-find on typed arrays.
 *
 * Every union links the larger root under the smaller one, so a component's root is always its
 * first voxel in raster order; labelling in a second raster pass therefore numbers components
 * 1..count in the raster order of their first voxel.
 */
import { OptionsError } from '../errors.js';

export interface ComponentsResult {
  /** Component id per voxel, [z, y, x]; 0 = background (never for affinity components). */
  labels: Uint32Array;
  /** Number of components; ids are 1..count. */
  count: number;
}

/** Root of `i`, with path halving. */
function find(parent: Int32Array, i: number): number {
  let p = parent[i];
  while (p !== i) {
    const g = parent[p];
    parent[i] = g;
    i = g;
    p = parent[i];
  }
  return i;
}

/** Joins the sets of `a` and `b`; the smaller root becomes the root. Returns that root. */
function union(parent: Int32Array, a: number, b: number): number {
  let ra = find(parent, a);
  let rb = find(parent, b);
  if (ra === rb) return ra;
  if (ra > rb) {
    const t = ra;
    ra = rb;
    rb = t;
  }
  parent[rb] = ra;
  return ra;
}

/**
 * Disjoint sets over 0..n-1 on an Int32Array. `union` makes the smaller root the representative,
 * so `find(i)` is the smallest element of i's set.
 */
export class UnionFind {
  readonly parent: Int32Array;

  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }

  find(i: number): number {
    return find(this.parent, i);
  }

  union(a: number, b: number): number {
    return union(this.parent, a, b);
  }

  connected(a: number, b: number): boolean {
    return find(this.parent, a) === find(this.parent, b);
  }
}

function checkShape(what: string, shape: readonly number[], length: number, channels = 1): number {
  if (shape.length !== 3 || shape.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new OptionsError(`${what}: shape must be [z, y, x] non-negative integers, got [${shape.join(', ')}]`);
  }
  const n = shape[0] * shape[1] * shape[2];
  if (n * channels !== length) {
    throw new OptionsError(
      `${what}: array has length ${length} but shape [${shape.join(', ')}]` +
        (channels !== 1 ? ` with ${channels} channels` : '') +
        ` needs ${n * channels}`,
    );
  }
  if (n > 0x7fffffff) throw new OptionsError(`${what}: volume of ${n} voxels is too large`);
  return n;
}

/**
 * Second pass: number roots 1..count in raster order; `include` filters voxels (null = all).
 * Requires every parent pointer to point to a smaller (or the same) index.
 */
function labelRoots(parent: Int32Array, include: Uint8Array | null, n: number): ComponentsResult {
  const labels = new Uint32Array(n);
  let count = 0;
  for (let v = 0; v < n; v++) {
    if (include !== null && include[v] === 0) continue;
    // parent[v] < v for every non-root (links only ever point to smaller indices) and lies in
    // v's component, whose voxels before v are already labelled.
    const q = parent[v];
    labels[v] = q === v ? ++count : labels[q];
  }
  return { labels, count };
}

/**
 * 6-connected components of the non-zero voxels of `foreground` ([z, y, x], C order).
 * Background stays 0; components are numbered 1..count in raster order of their first voxel.
 */
export function connectedComponents(
  foreground: Uint8Array,
  shape: readonly number[],
  options: { connectivity?: 6 } = {},
): ComponentsResult {
  const connectivity = options.connectivity ?? 6;
  if (connectivity !== 6) {
    throw new OptionsError(`connectedComponents: only connectivity 6 is supported, got ${connectivity}`);
  }
  const n = checkShape('connectedComponents', shape, foreground.length);
  const [nz, ny, nx] = shape;
  const sy = nx;
  const sz = ny * nx;
  const fg = foreground;
  const parent = new Int32Array(n);
  let v = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, v++) {
        if (fg[v] === 0) continue;
        const left = x > 0 && fg[v - 1] !== 0;
        // A fresh voxel: hang it under its left neighbour (whose root is smaller) or itself.
        parent[v] = left ? v - 1 : v;
        if (y > 0 && fg[v - sy] !== 0) {
          // Already joined through the left neighbour when the left-up voxel is foreground.
          if (!(left && fg[v - 1 - sy] !== 0)) union(parent, v, v - sy);
        }
        if (z > 0 && fg[v - sz] !== 0) {
          if (!(left && fg[v - 1 - sz] !== 0)) union(parent, v, v - sz);
        }
      }
    }
  }
  return labelRoots(parent, fg, n);
}

/**
 * Components of the affinity graph: `affinities` is channels-last [z, y, x, c] with
 * c = offsets.length; channel k at voxel v is the affinity between v and v + offsets[k]
 * (offsets [dz, dy, dx], e.g. [-1, 0, 0]). Voxels joined by an edge with affinity > threshold
 * share a segment; every voxel gets a label ≥ 1 (isolated voxels are their own segments),
 * numbered 1..count in raster order of each segment's first voxel.
 */
export function affinityComponents(
  affinities: Float32Array,
  shape: readonly number[],
  offsets: readonly (readonly number[])[],
  threshold: number,
): ComponentsResult {
  const c = offsets.length;
  if (c === 0) throw new OptionsError('affinityComponents: at least one offset is needed');
  for (const o of offsets) {
    if (o.length !== 3 || o.some((d) => !Number.isInteger(d))) {
      throw new OptionsError(`affinityComponents: offsets must be [dz, dy, dx] integers, got [${o.join(', ')}]`);
    }
  }
  const n = checkShape('affinityComponents', shape, affinities.length, c);
  const [nz, ny, nx] = shape;
  const sy = nx;
  const sz = ny * nx;
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const oz = Int32Array.from(offsets, (o) => o[0]);
  const oy = Int32Array.from(offsets, (o) => o[1]);
  const ox = Int32Array.from(offsets, (o) => o[2]);
  const delta = Int32Array.from(offsets, (o) => o[0] * sz + o[1] * sy + o[2]);
  let v = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, v++) {
        const base = v * c;
        for (let k = 0; k < c; k++) {
          if (!(affinities[base + k] > threshold)) continue;
          const zz = z + oz[k],
            yy = y + oy[k],
            xx = x + ox[k];
          if (zz < 0 || zz >= nz || yy < 0 || yy >= ny || xx < 0 || xx >= nx) continue;
          union(parent, v, v + delta[k]);
        }
      }
    }
  }
  return labelRoots(parent, null, n);
}

/**
 * Grows labelled segments into the unlabelled (0) voxels, 6-connected, each 0 voxel taking the
 * segment that reaches it first (breadth-first from all segments at once, ties in raster order):
 * a seeded watershed on distance. Thresholded boundary predictions leave the membranes unlabelled;
 * without this, every voxel near a membrane falls in one shared "0" segment, a large merge error.
 * Voxels that no segment reaches stay 0.
 */
export function growLabels(labels: Uint32Array, shape: readonly number[]): Uint32Array {
  const [Z, Y, X] = shape as [number, number, number];
  const n = Z * Y * X;
  if (labels.length !== n)
    throw new OptionsError(`growLabels: labels have ${labels.length} voxels, shape [${shape.join(', ')}] needs ${n}`);
  const out = Uint32Array.from(labels);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let v = 0; v < n; v++) if (out[v] !== 0) queue[tail++] = v;
  const XY = X * Y;
  while (head < tail) {
    const v = queue[head++]!;
    const id = out[v]!;
    const x = v % X;
    const y = ((v - x) / X) % Y;
    const z = (v - x - y * X) / XY;
    if (x > 0 && out[v - 1] === 0) {
      out[v - 1] = id;
      queue[tail++] = v - 1;
    }
    if (x < X - 1 && out[v + 1] === 0) {
      out[v + 1] = id;
      queue[tail++] = v + 1;
    }
    if (y > 0 && out[v - X] === 0) {
      out[v - X] = id;
      queue[tail++] = v - X;
    }
    if (y < Y - 1 && out[v + X] === 0) {
      out[v + X] = id;
      queue[tail++] = v + X;
    }
    if (z > 0 && out[v - XY] === 0) {
      out[v - XY] = id;
      queue[tail++] = v - XY;
    }
    if (z < Z - 1 && out[v + XY] === 0) {
      out[v + XY] = id;
      queue[tail++] = v + XY;
    }
  }
  return out;
}
