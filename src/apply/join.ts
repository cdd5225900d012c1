/**
 * Joining blocks labelled alone into one labelling of the whole ROI, exactly.
 *
 * Every block is labelled by itself (ids 1..count per block). A whole-volume labelling joins two
 * voxels when an edge between them is "on": for boundary predictions, two 6-neighbours both in
 * the foreground; for affinities, voxel v and v + offset[k] when affinity k at v is above the
 * threshold. Edges inside a block are the block's own labelling; the others cross a block face.
 * So each block keeps its "shell" — its labels within h voxels of each face (h = the largest
 * offset per axis) and, per shell voxel, a bit per offset saying whether that edge is on — and the
 * join runs a union-find over (block, local id) for every crossing edge that is on and lands on a
 * labelled voxel. Final ids are numbered 1..n in order of (block, local id) of each segment's
 * first piece. The result equals the whole-volume labelling up to a renaming of ids.
 */
import { UnionFind } from '../eval/components.js';
import { OptionsError } from '../errors.js';
import { blockIndexAt, type BlockGrid, unravel } from './blocks.js';

export interface Slab {
  /** Box inside the block (voxels, relative to the block's first voxel). */
  offset: number[];
  shape: number[];
  /** Local ids over the box, C order. */
  labels: Uint32Array;
  /** Bit k set: the edge from this voxel along offset k is on. */
  bits: Uint32Array;
}

export interface Shell {
  count: number;
  slabs: Slab[];
}

/** Shell thickness per axis: the largest |offset| along it. */
export function shellThickness(offsets: readonly (readonly number[])[]): number[] {
  return [0, 1, 2].map((a) => Math.max(0, ...offsets.map((o) => Math.abs(o[a]!))));
}

/** Checks offsets: integers, at most 32, none longer than a block along any axis. */
export function checkOffsets(offsets: readonly (readonly number[])[], blockShape: readonly number[]): void {
  if (offsets.length === 0 || offsets.length > 32) {
    throw new OptionsError(`between 1 and 32 affinity offsets are needed, got ${offsets.length}`);
  }
  for (const o of offsets) {
    if (o.length !== 3 || o.some((d) => !Number.isInteger(d))) {
      throw new OptionsError(`affinity offsets must be [dz, dy, dx] integers, got [${o.join(', ')}]`);
    }
    if (o.some((d, a) => Math.abs(d) > blockShape[a]!)) {
      throw new OptionsError(
        `affinity offset [${o.join(', ')}] is longer than the block shape [${blockShape.join(', ')}]`,
      );
    }
  }
}

/**
 * The shell of one labelled block: for each axis with thickness h > 0, the slabs of the h first
 * and h last planes (overlapping where the block is thin). `edgeOn(v, k)` tells whether edge k of
 * block voxel v (raster index) is on.
 */
export function blockShell(
  labels: Uint32Array,
  count: number,
  shape: readonly number[],
  offsets: readonly (readonly number[])[],
  edgeOn: (v: number, k: number) => boolean,
): Shell {
  const h = shellThickness(offsets);
  const [Z, Y, X] = shape as [number, number, number];
  const slabs: Slab[] = [];
  for (let a = 0; a < 3; a++) {
    const t = Math.min(h[a]!, shape[a]!);
    if (t === 0) continue;
    for (const start of [0, shape[a]! - t]) {
      const offset = [0, 0, 0];
      const boxShape = [Z, Y, X];
      offset[a] = start;
      boxShape[a] = t;
      const [nz, ny, nx] = boxShape as [number, number, number];
      const slabLabels = new Uint32Array(nz * ny * nx);
      const bits = new Uint32Array(nz * ny * nx);
      let i = 0;
      for (let z = 0; z < nz; z++) {
        for (let y = 0; y < ny; y++) {
          for (let x = 0; x < nx; x++, i++) {
            const v = ((z + offset[0]!) * Y + (y + offset[1]!)) * X + (x + offset[2]!);
            slabLabels[i] = labels[v]!;
            let b = 0;
            for (let k = 0; k < offsets.length; k++) if (edgeOn(v, k)) b |= 1 << k;
            bits[i] = b >>> 0;
          }
        }
      }
      slabs.push({ offset, shape: boxShape, labels: slabLabels, bits });
    }
  }
  return { count, slabs };
}

function labelInShell(shell: Shell, local: readonly number[]): number {
  for (const s of shell.slabs) {
    const dz = local[0]! - s.offset[0]!;
    const dy = local[1]! - s.offset[1]!;
    const dx = local[2]! - s.offset[2]!;
    if (dz >= 0 && dy >= 0 && dx >= 0 && dz < s.shape[0]! && dy < s.shape[1]! && dx < s.shape[2]!) {
      return s.labels[(dz * s.shape[1]! + dy) * s.shape[2]! + dx]!;
    }
  }
  throw new Error(`voxel [${local.join(', ')}] is not in the block's shell`);
}

export interface JoinResult {
  /** Provisional id of (block b, local id l) is base[b] + l. */
  base: number[];
  /** Final id per provisional id (index 0: background, 0). */
  finalIds: Float64Array;
  /** Number of segments (final ids are 1..segments). */
  segments: number;
}

export function joinShells(
  grid: BlockGrid,
  offsets: readonly (readonly number[])[],
  shells: readonly Shell[],
): JoinResult {
  const base: number[] = [];
  let total = 0;
  for (const s of shells) {
    base.push(total);
    total += s.count;
  }
  if (total + 1 > 0x7fffffff) throw new Error(`joinShells: ${total} block segments are more than the union-find holds`);
  const uf = new UnionFind(total + 1);
  const target = [0, 0, 0];
  const local = [0, 0, 0];
  grid.blocks.forEach((block, b) => {
    const shell = shells[b]!;
    for (const slab of shell.slabs) {
      const n = slab.labels.length;
      for (let i = 0; i < n; i++) {
        const l = slab.labels[i]!;
        const bits = slab.bits[i]!;
        if (l === 0 || bits === 0) continue;
        const p = unravel(i, slab.shape);
        for (let k = 0; k < offsets.length; k++) {
          if (((bits >>> k) & 1) === 0) continue;
          let inside = true;
          for (let a = 0; a < 3; a++) {
            const q = slab.offset[a]! + p[a]! + offsets[k]![a]!;
            if (q < 0 || q >= block.voxelShape[a]!) inside = false;
            target[a] = block.voxelOffset[a]! + q;
          }
          if (inside) continue; // the block's own labelling has this edge
          const other = blockIndexAt(grid, target);
          if (other < 0) continue; // leaves the ROI: no edge in a whole-volume labelling either
          for (let a = 0; a < 3; a++) local[a] = target[a]! - grid.blocks[other]!.voxelOffset[a]!;
          const l2 = labelInShell(shells[other]!, local);
          if (l2 !== 0) uf.union(base[b]! + l, base[other]! + l2);
        }
      }
    }
  });
  const finalIds = new Float64Array(total + 1);
  let segments = 0;
  for (let p = 1; p <= total; p++) {
    const r = uf.find(p);
    finalIds[p] = r === p ? ++segments : finalIds[r]!;
  }
  return { base, finalIds, segments };
}

/** Serialized shell: u32 header length, header JSON, padding to 4, then each slab's labels and bits. */
export function encodeShell(shell: Shell): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ count: shell.count, slabs: shell.slabs.map((s) => ({ offset: s.offset, shape: s.shape })) }),
  );
  const headerBytes = 4 + Math.ceil(header.length / 4) * 4;
  const voxels = shell.slabs.reduce((a, s) => a + s.labels.length, 0);
  const out = new Uint8Array(headerBytes + voxels * 8);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  let at = headerBytes;
  for (const s of shell.slabs) {
    out.set(new Uint8Array(s.labels.buffer, s.labels.byteOffset, s.labels.byteLength), at);
    at += s.labels.byteLength;
    out.set(new Uint8Array(s.bits.buffer, s.bits.byteOffset, s.bits.byteLength), at);
    at += s.bits.byteLength;
  }
  return out;
}

export function decodeShell(bytes: Uint8Array): Shell {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength))) as {
    count: number;
    slabs: { offset: number[]; shape: number[] }[];
  };
  let at = 4 + Math.ceil(headerLength / 4) * 4;
  const copy = (n: number) => {
    const a = new Uint32Array(n);
    new Uint8Array(a.buffer).set(bytes.subarray(at, at + n * 4));
    at += n * 4;
    return a;
  };
  const slabs = header.slabs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const labels = copy(n);
    const bits = copy(n);
    return { offset: s.offset, shape: s.shape, labels, bits };
  });
  return { count: header.count, slabs };
}
