/**
 * Deterministic synthetic EM-like volumes: Voronoi "cells" with dark membranes between them.
 *
 * Cells come from seed points (spread by rejection sampling, so no cell is tiny); a voxel is on a
 * membrane when its distance to the Voronoi boundary between its nearest and second-nearest seed
 * is under membraneWidth/2. Raw = membranes dark (0.2), cell interiors bright with a per-cell
 * intensity (0.6–0.8), then a Gaussian blur and Gaussian noise, clipped to [0, 1]. Labels are the
 * cell ids (1..cells) with membrane voxels 0. Everything is a function of the options alone.
 *
 * Nearest seeds are found exactly but fast: per 8³ block, only seeds whose distance to the block
 * can beat the block's second-best worst-case distance are candidates.
 */
import seedrandom from 'seedrandom';

export interface SyntheticOptions {
  /** [z, y, x] in voxels. */
  shape: [number, number, number];
  seed: number;
  /** Number of cells (seed points). Default: one per ~12000 voxels, between 4 and 160. */
  cells?: number;
  /** Membrane thickness, in voxels of the finest axis. Default 2. */
  membraneWidth?: number;
  /** Standard deviation of the additive Gaussian noise. Default 0.06. */
  noise?: number;
  /** Gaussian blur sigma, in voxels of the finest axis (0 = none). Default 0.8. */
  blur?: number;
  /** Voxel size [z, y, x] (anisotropy: cells are round in world units). Default [1, 1, 1]. */
  voxelSize?: [number, number, number];
}

export interface SyntheticCrop {
  /** [z, y, x], values in [0, 1]. */
  raw: Float32Array;
  /** [z, y, x], cell ids 1..cells, 0 on membranes. */
  labels: Uint32Array;
  shape: [number, number, number];
  cells: number;
}

export const MEMBRANE_INTENSITY = 0.2;

export function defaultCellCount(shape: readonly number[]): number {
  const voxels = shape.reduce((a, b) => a * b, 1);
  return Math.max(4, Math.min(160, Math.round(voxels / 12000)));
}

export function syntheticCrop(options: SyntheticOptions): SyntheticCrop {
  const shape = options.shape;
  const [Z, Y, X] = shape;
  if (shape.length !== 3 || shape.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new Error(`syntheticCrop: shape must be three positive integers, got ${JSON.stringify(shape)}`);
  }
  const nCells = options.cells ?? defaultCellCount(shape);
  if (!Number.isInteger(nCells) || nCells < 1)
    throw new Error(`syntheticCrop: cells must be a positive integer, got ${nCells}`);
  const vs = options.voxelSize ?? [1, 1, 1];
  const unit = Math.min(...vs);
  // Physical scale per axis, in units of the finest axis.
  const sz = vs[0] / unit;
  const sy = vs[1] / unit;
  const sx = vs[2] / unit;
  const halfWidth = (options.membraneWidth ?? 2) / 2;
  const noise = options.noise ?? 0.06;
  const blur = options.blur ?? 0.8;
  const rng = seedrandom.alea(`tfjs-zarr-synthetic:${options.seed}`);

  // --- seed points, in physical units, spread out by rejection sampling ---
  const extent = [Z * sz, Y * sy, X * sx];
  const volume = extent[0]! * extent[1]! * extent[2]!;
  const spacing = Math.cbrt(volume / nCells);
  const minDist = 0.6 * spacing;
  const seeds = new Float64Array(nCells * 3);
  for (let i = 0; i < nCells; i++) {
    let best: number[] = [0, 0, 0];
    let bestD = -1;
    for (let attempt = 0; attempt < 30; attempt++) {
      const p = [rng() * extent[0]!, rng() * extent[1]!, rng() * extent[2]!];
      let d = Infinity;
      for (let j = 0; j < i; j++) {
        const dz = p[0]! - seeds[3 * j]!;
        const dy = p[1]! - seeds[3 * j + 1]!;
        const dx = p[2]! - seeds[3 * j + 2]!;
        d = Math.min(d, dz * dz + dy * dy + dx * dx);
      }
      if (d > bestD) {
        bestD = d;
        best = p;
      }
      if (d >= minDist * minDist) break;
    }
    seeds[3 * i] = best[0]!;
    seeds[3 * i + 1] = best[1]!;
    seeds[3 * i + 2] = best[2]!;
  }
  const cellIntensity = new Float32Array(nCells + 1);
  cellIntensity[0] = MEMBRANE_INTENSITY;
  for (let i = 1; i <= nCells; i++) cellIntensity[i] = 0.6 + 0.2 * rng();

  // --- labels: nearest seed, membranes where the bisector is near ---
  const n = Z * Y * X;
  const labels = new Uint32Array(n);
  const B = 8;
  const cand = new Int32Array(nCells);
  const dmaxs = new Float64Array(nCells);
  for (let bz = 0; bz < Z; bz += B) {
    const ez = Math.min(Z, bz + B);
    for (let by = 0; by < Y; by += B) {
      const ey = Math.min(Y, by + B);
      for (let bx = 0; bx < X; bx += B) {
        const ex = Math.min(X, bx + B);
        // Block bounds in physical units (voxel centres).
        const lo = [bz * sz, by * sy, bx * sx];
        const hi = [(ez - 1) * sz, (ey - 1) * sy, (ex - 1) * sx];
        let u1 = Infinity;
        let u2 = Infinity;
        for (let s = 0; s < nCells; s++) {
          let dmax = 0;
          for (let a = 0; a < 3; a++) {
            const p = seeds[3 * s + a]!;
            const f = Math.max(Math.abs(p - lo[a]!), Math.abs(p - hi[a]!));
            dmax += f * f;
          }
          dmaxs[s] = dmax;
          if (dmax < u1) {
            u2 = u1;
            u1 = dmax;
          } else if (dmax < u2) u2 = dmax;
        }
        let nc = 0;
        for (let s = 0; s < nCells; s++) {
          let dmin = 0;
          for (let a = 0; a < 3; a++) {
            const p = seeds[3 * s + a]!;
            const f = p < lo[a]! ? lo[a]! - p : p > hi[a]! ? p - hi[a]! : 0;
            dmin += f * f;
          }
          if (dmin <= u2) cand[nc++] = s;
        }
        for (let z = bz; z < ez; z++) {
          const pz = z * sz;
          for (let y = by; y < ey; y++) {
            const py = y * sy;
            let idx = (z * Y + y) * X + bx;
            for (let x = bx; x < ex; x++, idx++) {
              const px = x * sx;
              let d1 = Infinity;
              let d2 = Infinity;
              let s1 = 0;
              let s2 = 0;
              for (let c = 0; c < nc; c++) {
                const s = cand[c]!;
                const dz = pz - seeds[3 * s]!;
                const dy = py - seeds[3 * s + 1]!;
                const dx = px - seeds[3 * s + 2]!;
                const d = dz * dz + dy * dy + dx * dx;
                if (d < d1) {
                  d2 = d1;
                  s2 = s1;
                  d1 = d;
                  s1 = s;
                } else if (d < d2) {
                  d2 = d;
                  s2 = s;
                }
              }
              let label = s1 + 1;
              if (d2 < Infinity) {
                const qz = seeds[3 * s1]! - seeds[3 * s2]!;
                const qy = seeds[3 * s1 + 1]! - seeds[3 * s2 + 1]!;
                const qx = seeds[3 * s1 + 2]! - seeds[3 * s2 + 2]!;
                const sep = Math.sqrt(qz * qz + qy * qy + qx * qx);
                // Distance from the voxel to the bisector plane of its two nearest seeds.
                const toBoundary = sep > 0 ? (d2 - d1) / (2 * sep) : 0;
                if (toBoundary < halfWidth) label = 0;
              }
              labels[idx] = label;
            }
          }
        }
      }
    }
  }

  // --- raw: intensities, blur, noise, clip ---
  let raw: Float32Array = new Float32Array(n);
  for (let i = 0; i < n; i++) raw[i] = cellIntensity[labels[i]!]!;
  if (blur > 0) raw = gaussianBlur3d(raw, shape, [blur / sz, blur / sy, blur / sx]);
  if (noise > 0) {
    for (let i = 0; i < n; i += 2) {
      // Box–Muller: two normals per pair of uniforms.
      const u1 = Math.max(rng(), 1e-12);
      const u2 = rng();
      const r = Math.sqrt(-2 * Math.log(u1)) * noise;
      raw[i] = raw[i]! + r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < n) raw[i + 1] = raw[i + 1]! + r * Math.sin(2 * Math.PI * u2);
    }
  }
  for (let i = 0; i < n; i++) {
    const v = raw[i]!;
    raw[i] = v < 0 ? 0 : Math.min(v, 1);
  }
  return { raw, labels, shape: [Z, Y, X], cells: nCells };
}

/** Separable Gaussian blur with edge clamping; sigma per axis [z, y, x] in voxels. */
export function gaussianBlur3d(
  data: Float32Array,
  shape: readonly [number, number, number],
  sigma: readonly [number, number, number],
): Float32Array {
  const [Z, Y, X] = shape;
  const strides = [Y * X, X, 1];
  let src = data;
  for (let axis = 0; axis < 3; axis++) {
    const s = sigma[axis]!;
    const len = shape[axis]!;
    if (!(s > 0.05) || len < 2) continue;
    const radius = Math.max(1, Math.ceil(3 * s));
    const kernel = new Float64Array(2 * radius + 1);
    let sum = 0;
    for (let k = -radius; k <= radius; k++) {
      const w = Math.exp(-(k * k) / (2 * s * s));
      kernel[k + radius] = w;
      sum += w;
    }
    for (let k = 0; k < kernel.length; k++) kernel[k] = kernel[k]! / sum;
    const dst = new Float32Array(src.length);
    const stride = strides[axis]!;
    const line = new Float64Array(len);
    // Iterate over all lines along `axis`.
    const outer = axis === 0 ? Y * X : axis === 1 ? Z * X : Z * Y;
    for (let o = 0; o < outer; o++) {
      let base: number;
      if (axis === 0) base = o;
      else if (axis === 1) base = Math.floor(o / X) * Y * X + (o % X);
      else base = o * X;
      for (let i = 0; i < len; i++) line[i] = src[base + i * stride]!;
      for (let i = 0; i < len; i++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) {
          let j = i + k;
          j = j < 0 ? 0 : j >= len ? len - 1 : j;
          acc += kernel[k + radius]! * line[j]!;
        }
        dst[base + i * stride] = acc;
      }
    }
    src = dst;
  }
  return src === data ? data.slice() : src;
}
