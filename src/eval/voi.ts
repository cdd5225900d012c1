/**
 * Variation of information between a ground-truth and a predicted segmentation.
 *
 * Convention (funlib.evaluate's `rand_voi`): only voxels with gt ≠ 0 and a known mask count;
 * label 0 in the prediction is an ordinary segment; logarithms are base 2.
 *   voiSplit = H(pred | gt)   (over-segmentation)
 *   voiMerge = H(gt | pred)   (under-segmentation)
 *
 * Ids are compared by their exact bit patterns: uint64 ids (BigUint64Array) are read as two
 * 32-bit halves through a Uint32Array view, never through Number or BigInt, so ids above 2^53
 * never collide and no voxel allocates.
 *
 * Strategy (all typed arrays, no Map):
 *  1. Small non-negative ids (uint64 arrays too when their high words are all 0): a direct
 *     contingency table indexed by (gt - 1) * (maxPred + 1) + pred, sized by a min/max pass.
 *  2. Otherwise (uint64, negative or large ids), in one pass: each array's ids are relabelled to
 *     dense 0..k-1 with an open-addressing hash on the (lo, hi) words (with a last-id cache,
 *     since ids come in runs) and pairs of dense ids are counted in an open-addressing table.
 * Voxels are accumulated in runs of identical (gt, pred) pairs; the direct table records which
 * cells became non-zero, so entropies visit only the distinct pairs.
 */
import { OptionsError } from '../errors.js';
import type { LabelArray } from '../types.js';

export interface VoiOptions {
  /** 0 = unknown voxel (not scored); any other value = known. Same length as gt. */
  mask?: Uint8Array | Float32Array | null;
}

export interface VoiResult {
  /** H(pred | gt), bits. */
  voiSplit: number;
  /** H(gt | pred), bits. */
  voiMerge: number;
  /** voiSplit + voiMerge. */
  voi: number;
}

type NarrowLabelArray = Uint8Array | Uint16Array | Uint32Array | Int32Array;
type Mask = Uint8Array | Float32Array | null;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Word index of the low / high 32-bit half of a uint64 inside a Uint32Array view. */
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;

/** Largest direct contingency table (cells, Uint32), 64 MiB; pages never touched stay free. */
const MAX_DIRECT_CELLS = 1 << 24;

function directLimit(n: number): number {
  return Math.min(MAX_DIRECT_CELLS, Math.max(8 * n, 1 << 16));
}

function hash2(a: number, b: number): number {
  let h = Math.imul(a ^ 0x3c6ef372, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16) ^ b, 0x85ebca77);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae3d);
  h ^= h >>> 16;
  return h;
}

/** Distinct (gt, pred) pairs with counts, gt/pred as dense indices, plus the number of each. */
interface PairList {
  g: Int32Array;
  p: Int32Array;
  c: Float64Array;
  m: number;
  nG: number;
  nP: number;
}

/** Growable Int32 list. */
class IntList {
  data = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
}

/**
 * A dense rows × cols contingency table of Uint32 counts that remembers which cells are non-zero.
 */
class DirectTable {
  readonly cells: Uint32Array;
  readonly nonzero = new IntList();
  constructor(
    readonly rows: number,
    readonly cols: number,
  ) {
    this.cells = new Uint32Array(rows * cols);
  }
  add(k: number, count: number): void {
    const old = this.cells[k];
    if (old === 0) this.nonzero.push(k);
    this.cells[k] = old + count;
  }
  toPairs(): PairList {
    const m = this.nonzero.length;
    const keys = this.nonzero.data;
    const cols = this.cols;
    const g = new Int32Array(m);
    const p = new Int32Array(m);
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const k = keys[i];
      const r = Math.floor(k / cols);
      g[i] = r;
      p[i] = k - r * cols;
      c[i] = this.cells[k];
    }
    return { g, p, c, m, nG: this.rows, nP: cols };
  }
}

/**
 * Open addressing (linear probing) over keys of two 32-bit words, with one value per slot; a slot
 * is free while its value is 0. Grows ×2 when half full.
 */
class WordPairSlots<V extends Int32Array | Float64Array> {
  protected keys: Int32Array;
  protected values: V;
  protected mask: number;
  size = 0;

  constructor(
    capacity: number,
    private readonly makeValues: (n: number) => V,
  ) {
    let cap = 16;
    while (cap < capacity) cap <<= 1;
    this.keys = new Int32Array(cap * 2);
    this.values = makeValues(cap);
    this.mask = cap - 1;
  }

  /** The slot holding (a, b), or the free slot where it belongs. */
  protected slot(a: number, b: number): number {
    const keys = this.keys;
    const values = this.values;
    const mask = this.mask;
    let s = hash2(a, b) & mask;
    while (values[s] !== 0 && (keys[s << 1] !== a || keys[(s << 1) + 1] !== b)) s = (s + 1) & mask;
    return s;
  }

  /** Fills free slot `s` with (a, b) → value. */
  protected fill(s: number, a: number, b: number, value: number): void {
    this.keys[s << 1] = a;
    this.keys[(s << 1) + 1] = b;
    this.values[s] = value;
    if (++this.size * 2 > this.values.length) this.grow();
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const cap = oldValues.length * 2;
    const keys = new Int32Array(cap * 2);
    const values = this.makeValues(cap);
    const mask = cap - 1;
    for (let i = 0; i < oldValues.length; i++) {
      const v = oldValues[i]!;
      if (v === 0) continue;
      const a = oldKeys[i << 1]!;
      const b = oldKeys[(i << 1) + 1]!;
      let s = hash2(a, b) & mask;
      while (values[s] !== 0) s = (s + 1) & mask;
      keys[s << 1] = a;
      keys[(s << 1) + 1] = b;
      values[s] = v;
    }
    this.keys = keys;
    this.values = values;
    this.mask = mask;
  }
}

/** Counts per pair of dense ids. */
class PairHashTable extends WordPairSlots<Float64Array> {
  constructor(initialCapacity = 1 << 12) {
    super(initialCapacity, (n) => new Float64Array(n));
  }

  add(g: number, p: number, count: number): void {
    const s = this.slot(g, p);
    if (this.values[s] === 0) this.fill(s, g, p, count);
    else this.values[s]! += count;
  }

  toPairs(nG: number, nP: number): PairList {
    const m = this.size;
    const g = new Int32Array(m);
    const p = new Int32Array(m);
    const c = new Float64Array(m);
    let j = 0;
    for (let s = 0; s < this.values.length; s++) {
      const v = this.values[s]!;
      if (v === 0) continue;
      g[j] = this.keys[s << 1]!;
      p[j] = this.keys[(s << 1) + 1]!;
      c[j] = v;
      j++;
    }
    return { g, p, c, m, nG, nP };
  }
}

/** Dense index 0..size-1 per 64-bit id (two 32-bit words); slots hold index + 1. */
class DenseIndex extends WordPairSlots<Int32Array> {
  constructor() {
    super(1 << 10, (n) => new Int32Array(n));
  }

  /** Dense index of (lo, hi), inserting it if new. */
  indexOf(lo: number, hi: number): number {
    const s = this.slot(lo, hi);
    const id = this.values[s]!;
    if (id !== 0) return id - 1;
    this.fill(s, lo, hi, this.size + 1);
    return this.size - 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Path 1: small non-negative ids, direct table over raw ids.

/**
 * Ids of one array as a strided lane of 32-bit values: narrow arrays as they are (stride 1);
 * uint64 arrays whose high words are all 0 as their low words (stride 2).
 */
interface Lane {
  data: NarrowLabelArray;
  stride: number;
  off: number;
}

/**
 * The lane and [min, max] of an array's ids, or null when they do not fit one 32-bit word
 * (uint64 with a non-zero high word).
 */
function laneOf(a: LabelArray): { lane: Lane; min: number; max: number } | null {
  if (a instanceof BigUint64Array) {
    const w = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
    let max = 0;
    let hiOr = 0;
    for (let i = 0; i < w.length; i += 2) {
      const v = w[i + LO];
      hiOr |= w[i + HI];
      if (v > max) max = v;
    }
    return hiOr === 0 ? { lane: { data: w, stride: 2, off: LO }, min: 0, max } : null;
  }
  let max = 0;
  let min = 0;
  if (a instanceof Int32Array) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v > max) max = v;
      else if (v < min) min = v;
    }
  } else {
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v > max) max = v;
    }
  }
  return { lane: { data: a, stride: 1, off: 0 }, min, max };
}

/** Rows are gt - 1 (gt 0 is never counted), columns are pred ids. Unit strides. */
function countRaw(gt: NarrowLabelArray, pred: NarrowLabelArray, mask: Mask, table: DirectTable): void {
  const n = gt.length;
  const cols = table.cols;
  let cg = 0;
  let cp = 0;
  let run = 0;
  if (mask === null) {
    for (let i = 0; i < n; i++) {
      const g = gt[i];
      if (g === 0) continue;
      const p = pred[i];
      if (g === cg && p === cp) {
        run++;
        continue;
      }
      if (run > 0) table.add((cg - 1) * cols + cp, run);
      cg = g;
      cp = p;
      run = 1;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const g = gt[i];
      if (g === 0 || mask[i] === 0) continue;
      const p = pred[i];
      if (g === cg && p === cp) {
        run++;
        continue;
      }
      if (run > 0) table.add((cg - 1) * cols + cp, run);
      cg = g;
      cp = p;
      run = 1;
    }
  }
  // cg is never 0 once a run started, so `run > 0` is the only "pair pending" flag needed.
  if (run > 0) table.add((cg - 1) * cols + cp, run);
}

/** As countRaw, for lanes with any stride (uint64 arrays holding 32-bit ids). */
function countRawStrided(gt: Lane, pred: Lane, mask: Mask, n: number, table: DirectTable): void {
  const gd = gt.data,
    gs = gt.stride,
    go = gt.off;
  const pd = pred.data,
    ps = pred.stride,
    po = pred.off;
  const cols = table.cols;
  let cg = 0;
  let cp = 0;
  let run = 0;
  for (let i = 0; i < n; i++) {
    const g = gd[i * gs + go];
    if (g === 0) continue;
    if (mask !== null && mask[i] === 0) continue;
    const p = pd[i * ps + po];
    if (g === cg && p === cp) {
      run++;
      continue;
    }
    if (run > 0) table.add((cg - 1) * cols + cp, run);
    cg = g;
    cp = p;
    run = 1;
  }
  if (run > 0) table.add((cg - 1) * cols + cp, run);
}

// ---------------------------------------------------------------------------------------------
// Path 2: any ids, relabelled to dense indices through DenseIndex.

/** A label array as 32-bit words: uint64 arrays as (lo, hi) pairs, others one word per id. */
interface Words {
  data: NarrowLabelArray;
  wide: boolean;
}

function asWords(a: LabelArray): Words {
  if (a instanceof BigUint64Array) {
    return { data: new Uint32Array(a.buffer, a.byteOffset, a.length * 2), wide: true };
  }
  return { data: a, wide: false };
}

/** Relabels both arrays to dense ids on the fly and counts runs of equal pairs into `table`. */
function countDense(
  gt: Words,
  pred: Words,
  mask: Mask,
  n: number,
  gIndex: DenseIndex,
  pIndex: DenseIndex,
  table: PairHashTable,
): void {
  const gd = gt.data,
    pd = pred.data;
  const gWide = gt.wide,
    pWide = pred.wide;
  // last seen raw ids and their dense indices, per array
  let gLo = 0,
    gHi = 0,
    gIdx = -1;
  let pLo = 0,
    pHi = 0,
    pIdx = -1;
  // current run of equal dense pairs
  let cg = -1,
    cp = -1,
    run = 0;
  for (let i = 0; i < n; i++) {
    let lo: number, hi: number;
    if (gWide) {
      lo = gd[2 * i + LO] | 0;
      hi = gd[2 * i + HI] | 0;
    } else {
      lo = gd[i] | 0;
      hi = 0;
    }
    if ((lo | hi) === 0) continue;
    if (mask !== null && mask[i] === 0) continue;
    if (gIdx < 0 || lo !== gLo || hi !== gHi) {
      gIdx = gIndex.indexOf(lo, hi);
      gLo = lo;
      gHi = hi;
    }
    if (pWide) {
      lo = pd[2 * i + LO] | 0;
      hi = pd[2 * i + HI] | 0;
    } else {
      lo = pd[i] | 0;
      hi = 0;
    }
    if (pIdx < 0 || lo !== pLo || hi !== pHi) {
      pIdx = pIndex.indexOf(lo, hi);
      pLo = lo;
      pHi = hi;
    }
    if (gIdx === cg && pIdx === cp) {
      run++;
      continue;
    }
    if (run > 0) table.add(cg, cp, run);
    cg = gIdx;
    cp = pIdx;
    run = 1;
  }
  if (run > 0) table.add(cg, cp, run);
}

// ---------------------------------------------------------------------------------------------

/** Conditional entropies (bits) from the distinct pairs. */
function entropies(pairs: PairList): VoiResult {
  const { g, p, c, m } = pairs;
  const gCount = new Float64Array(pairs.nG);
  const pCount = new Float64Array(pairs.nP);
  let total = 0;
  for (let i = 0; i < m; i++) {
    gCount[g[i]] += c[i];
    pCount[p[i]] += c[i];
    total += c[i];
  }
  if (total === 0) return { voiSplit: 0, voiMerge: 0, voi: 0 };
  // H(pred|gt) = -Σ p(g,p) log2(p(g,p)/p(g)) = Σ c log2(a_g / c) / N: every term is ≥ 0 and
  // exactly 0 when a gt segment lies in one pred segment (likewise for H(gt|pred)).
  let split = 0;
  let merge = 0;
  for (let i = 0; i < m; i++) {
    const ci = c[i];
    const a = gCount[g[i]];
    const b = pCount[p[i]];
    if (a !== ci) split += ci * Math.log2(a / ci);
    if (b !== ci) merge += ci * Math.log2(b / ci);
  }
  split /= total;
  merge /= total;
  return { voiSplit: split, voiMerge: merge, voi: split + merge };
}

/**
 * Variation of information of `pred` against `gt` (same length, any layout: only voxel-wise
 * correspondence matters). Voxels with gt = 0 or mask = 0 are ignored; with no voxel left, all
 * scores are 0.
 */
export function variationOfInformation(gt: LabelArray, pred: LabelArray, options: VoiOptions = {}): VoiResult {
  if (gt.length !== pred.length) {
    throw new OptionsError(`variationOfInformation: gt has length ${gt.length} but pred has length ${pred.length}`);
  }
  const mask = options.mask ?? null;
  if (mask !== null && mask.length !== gt.length) {
    throw new OptionsError(`variationOfInformation: mask has length ${mask.length} but gt has length ${gt.length}`);
  }
  const n = gt.length;
  const limit = directLimit(n);

  const gRange = laneOf(gt);
  const pRange = gRange === null ? null : laneOf(pred);
  if (
    gRange !== null &&
    pRange !== null &&
    gRange.min >= 0 &&
    pRange.min >= 0 &&
    gRange.max * (pRange.max + 1) <= limit
  ) {
    if (gRange.max === 0) return { voiSplit: 0, voiMerge: 0, voi: 0 };
    const table = new DirectTable(gRange.max, pRange.max + 1);
    if (gRange.lane.stride === 1 && pRange.lane.stride === 1) {
      countRaw(gRange.lane.data, pRange.lane.data, mask, table);
    } else {
      countRawStrided(gRange.lane, pRange.lane, mask, n, table);
    }
    return entropies(table.toPairs());
  }

  // One pass: dense ids on the fly, runs of equal pairs into an open-addressing pair table.
  const gw = asWords(gt);
  const pw = asWords(pred);
  const gIndex = new DenseIndex();
  const pIndex = new DenseIndex();
  const table = new PairHashTable();
  countDense(gw, pw, mask, n, gIndex, pIndex, table);
  const nG = gIndex.size;
  const nP = pIndex.size;
  return entropies(table.toPairs(nG, nP));
}
