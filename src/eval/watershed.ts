/**
 * Seeded watershed of 3D volumes ([z, y, x], C order), as scikit-image's
 * `skimage.segmentation.watershed(image, markers, connectivity=1, mask=mask)` floods them: a
 * priority queue ordered by (value, age) — the voxel's elevation, then the order it was reached
 * in — from every marker voxel (in raster order), a voxel taking the label of the voxel that first
 * reaches it; the same binary heap as scikit-image's, so that ties (plateaus) are split the same
 * way, voxel for voxel. Voxels outside the mask, and voxels no marker reaches, stay 0.
 *
 * `regionalMaxima` is `skimage.morphology.local_maxima(image, connectivity=1)`: plateaus (6-connected
 * sets of equal value) strictly higher than every voxel next to them, borders allowed.
 */
import { OptionsError } from '../errors.js';

/** 6-neighbourhood in scikit-image's order: −z, −y, −x, +x, +y, +z. */
const NEIGHBOURS = [
  [-1, 0, 0],
  [0, -1, 0],
  [0, 0, -1],
  [0, 0, 1],
  [0, 1, 0],
  [1, 0, 0],
] as const;

function check(who: string, length: number, shape: readonly number[], what: string): number {
  const n = shape.length === 3 ? shape[0]! * shape[1]! * shape[2]! : -1;
  if (n < 0 || !shape.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new OptionsError(`${who}: shape must be [z, y, x], got [${shape.join(', ')}]`);
  }
  if (length !== n)
    throw new OptionsError(`${who}: ${what} has ${length} voxels, shape [${shape.join(', ')}] needs ${n}`);
  return n;
}

/** scikit-image's heap (heap_general.pxi): smallest (value, age) first, the same sifts. */
class Heap {
  private value = new Float64Array(1024);
  private age = new Int32Array(1024);
  private index = new Int32Array(1024);
  size = 0;

  private smaller(a: number, b: number): boolean {
    if (this.value[a] !== this.value[b]) return this.value[a]! < this.value[b]!;
    return this.age[a]! < this.age[b]!;
  }

  private swap(a: number, b: number): void {
    const v = this.value[a]!,
      g = this.age[a]!,
      i = this.index[a]!;
    this.value[a] = this.value[b]!;
    this.age[a] = this.age[b]!;
    this.index[a] = this.index[b]!;
    this.value[b] = v;
    this.age[b] = g;
    this.index[b] = i;
  }

  push(value: number, age: number, index: number): void {
    if (this.size === this.value.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.value = grow(this.value);
      this.age = grow(this.age);
      this.index = grow(this.index);
    }
    let child = this.size++;
    this.value[child] = value;
    this.age[child] = age;
    this.index[child] = index;
    while (child > 0) {
      const parent = ((child + 1) >> 1) - 1;
      if (!this.smaller(child, parent)) break;
      this.swap(parent, child);
      child = parent;
    }
  }

  /** Removes the smallest entry; returns its index. */
  pop(): number {
    const top = this.index[0]!;
    this.size--;
    if (this.size === 0) return top;
    this.swap(0, this.size);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1,
        r = l + 1;
      if (l >= this.size) break;
      let smallest = i;
      if (this.smaller(l, i)) smallest = l;
      if (r < this.size && this.smaller(r, smallest)) smallest = r;
      if (smallest === i) break;
      this.swap(i, smallest);
      i = smallest;
    }
    return top;
  }
}

/**
 * Floods `image` (the elevation) from `markers` (non-zero: a seed and its label) within `mask`
 * (null: everywhere): scikit-image's watershed with connectivity 1, no compactness, no lines.
 */
export function seededWatershed(
  image: Float32Array | Float64Array,
  shape: readonly number[],
  markers: Uint32Array,
  mask: Uint8Array | null = null,
): Uint32Array {
  const n = check('seededWatershed', image.length, shape, 'image');
  check('seededWatershed', markers.length, shape, 'markers');
  if (mask) check('seededWatershed', mask.length, shape, 'mask');
  const [Z, Y, X] = shape as [number, number, number];
  const out = new Uint32Array(n);
  const heap = new Heap();
  for (let i = 0; i < n; i++) {
    if (markers[i] === 0 || (mask !== null && mask[i] === 0)) continue;
    out[i] = markers[i]!;
    heap.push(image[i]!, 0, i);
  }
  const steps = NEIGHBOURS.map(([dz, dy, dx]) => (dz * Y + dy) * X + dx);
  let age = 1;
  while (heap.size > 0) {
    const i = heap.pop();
    const x = i % X,
      y = ((i - x) / X) % Y,
      z = (i - x - y * X) / (X * Y);
    for (let k = 0; k < 6; k++) {
      const [dz, dy, dx] = NEIGHBOURS[k]!;
      const zz = z + dz,
        yy = y + dy,
        xx = x + dx;
      if (zz < 0 || yy < 0 || xx < 0 || zz >= Z || yy >= Y || xx >= X) continue;
      const j = i + steps[k]!;
      if ((mask !== null && mask[j] === 0) || out[j] !== 0) continue;
      age++;
      // Labelled when pushed: without compactness nothing reaches it cheaper later.
      out[j] = out[i]!;
      heap.push(image[j]!, age, j);
    }
  }
  return out;
}

/**
 * 1 on the voxels of every plateau (6-connected, equal values) strictly higher than all voxels
 * next to it (borders allowed); NaN is never a maximum.
 */
export function regionalMaxima(image: Float32Array | Float64Array, shape: readonly number[]): Uint8Array {
  const n = check('regionalMaxima', image.length, shape, 'image');
  const [Z, Y, X] = shape as [number, number, number];
  const out = new Uint8Array(n);
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const plateau = new Int32Array(n);
  const steps = NEIGHBOURS.map(([dz, dy, dx]) => (dz * Y + dy) * X + dx);
  for (let start = 0; start < n; start++) {
    if (seen[start]) continue;
    const v = image[start]!;
    seen[start] = 1;
    if (Number.isNaN(v)) continue;
    // Flood the plateau of `start`, noting whether some neighbour is higher.
    let top = 0,
      size = 0,
      maximum = true;
    stack[top++] = start;
    while (top > 0) {
      const i = stack[--top]!;
      plateau[size++] = i;
      const x = i % X,
        y = ((i - x) / X) % Y,
        z = (i - x - y * X) / (X * Y);
      for (let k = 0; k < 6; k++) {
        const [dz, dy, dx] = NEIGHBOURS[k]!;
        const zz = z + dz,
          yy = y + dy,
          xx = x + dx;
        if (zz < 0 || yy < 0 || xx < 0 || zz >= Z || yy >= Y || xx >= X) continue;
        const j = i + steps[k]!;
        const w = image[j]!;
        if (w > v) maximum = false;
        else if (w === v && !seen[j]) {
          seen[j] = 1;
          stack[top++] = j;
        }
      }
    }
    if (maximum) for (let p = 0; p < size; p++) out[plateau[p]!] = 1;
  }
  return out;
}
