/**
 * Variation of information and adapted Rand error between a ground-truth and a predicted
 * segmentation, from one contingency table (one pass over the voxels).
 *
 * Convention (funlib.evaluate's `rand_voi`, scikit-image's `adapted_rand_error`): only voxels with
 * gt ≠ 0 and a known mask count; label 0 in the prediction is an ordinary segment; logarithms are
 * base 2.
 *   voiSplit = H(pred | gt)   (over-segmentation)
 *   voiMerge = H(gt | pred)   (under-segmentation)
 *   ARand: with c the voxels of a (gt, pred) pair, a of a gt segment, b of a pred segment and N in
 *   all, precision = (Σc² − N) / (Σa² − N), recall = (Σc² − N) / (Σb² − N) (scikit-image's names:
 *   its issue #6485), are = 1 − 2·precision·recall / (precision + recall).
 *
 * Ids are compared by their exact bit patterns, never through Number or BigInt, so ids above 2^53
 * never collide and no voxel allocates: uint64 ids (BigUint64Array) are taken as two 32-bit
 * words through a Uint32Array view, and compared voxel to voxel as their 8 bytes read as one
 * float64 ({@link IdLane}); Int32 ids are read as their uint32 bit patterns.
 *
 * Strategy: typed arrays only (no Map, no BigInt), one sequential scan over the voxels, every
 * random access in cache, little fresh memory (touching a new page costs about as much as
 * scanning a thousand voxels).
 *  1. The scan finds runs of one (gt, pred) pair (segmentations come in runs along x: in the
 *     benchmark volumes 9 % of the voxels start one) and drops those with gt 0 or mask 0. gt,
 *     pred and the mask are each scanned for the end of their own current run, uint32 ids two
 *     voxels per load, so per voxel there is about one load and compare ({@link narrowRuns}).
 *  2. Each run is added to a small direct-mapped cache of pair counts ({@link PairCounts}); an
 *     entry pushed out by another pair is appended to a list of (gt, pred, voxels) triples. A
 *     segment pair recurs row after row, so the list holds a few % of the runs; a pair may occur
 *     in it more than once.
 *  3. The triples' ids become indices (the ids themselves when small, else dense indices from a
 *     hash), the triples are grouped by gt segment (a counting sort), and each gt segment's
 *     overlaps, summed in an array indexed by pred, give the entropy terms.
 * A contingency table indexed by (gt, pred) instead would miss the cache on almost every run.
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

/** scikit-image's `adapted_rand_error` (NaN where it divides 0 by 0). */
export interface AdaptedRandResult {
  /** 1 − F-score of precision and recall. */
  are: number;
  precision: number;
  recall: number;
}

/** Both scores of one contingency table, and the voxels scored. */
export interface SegmentationScores extends VoiResult, AdaptedRandResult {
  voxels: number;
}

/** Ids that fit one 32-bit word, read as they are (Int32 through a Uint32Array view). */
type NarrowIds = Uint8Array | Uint16Array | Uint32Array;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Word index of the low / high 32-bit half of a uint64 inside a Uint32Array view. */
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;

/** Voxels scanned between two checks of the triple list's capacity (a voxel adds at most one). */
const BLOCK = 1 << 16;

/** log2 of the pair cache's entries (4,096: 64 kB, 128 kB for uint64; in L2). */
const CACHE_BITS = 12;

/** Ids below this are their own index when dense enough; others go through a hash. */
const MAX_DIRECT_ID = 1 << 22;

/** No voxel scored: VOI 0 (funlib), ARand 0 / 0 (scikit-image's NaN). */
const EMPTY: SegmentationScores = {
  voiSplit: 0,
  voiMerge: 0,
  voi: 0,
  are: NaN,
  precision: NaN,
  recall: NaN,
  voxels: 0,
};

// ---------------------------------------------------------------------------------------------
// Steps 1 and 2: runs of equal (gt, pred) pairs into a cache of pair counts.

/**
 * Voxel counts per (gt, pred) pair: a direct-mapped cache in front of a growable list of
 * (gt, pred, voxels) triples. Ids are 32-bit words; high words exist for uint64 arrays only.
 */
class PairCounts {
  length = 0;
  gLo: Uint32Array = new Uint32Array(BLOCK);
  pLo: Uint32Array = new Uint32Array(BLOCK);
  gHi: Uint32Array | null;
  pHi: Uint32Array | null;
  /** Voxels of the triple; a pair with more than 2^31 - 1 voxels is split over several triples. */
  count: Uint32Array = new Uint32Array(BLOCK);

  /**
   * Cache entries of `stride` words: gt lo, pred lo, voxels (0 = empty entry), and for uint64
   * input gt hi, pred hi. One array, so that an entry is one cache line and one bounds check.
   */
  private readonly cache: Int32Array;
  private readonly stride: number;

  constructor(gWide: boolean, pWide: boolean) {
    this.gHi = gWide ? new Uint32Array(BLOCK) : null;
    this.pHi = pWide ? new Uint32Array(BLOCK) : null;
    this.stride = gWide || pWide ? 8 : 4;
    this.cache = new Int32Array(this.stride << CACHE_BITS);
  }

  /** Makes room for `extra` more triples. */
  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.count.length) return;
    const cap = Math.max(need, this.count.length * 2);
    const grow = (a: Uint32Array): Uint32Array => {
      const b = new Uint32Array(cap);
      b.set(a.subarray(0, this.length));
      return b;
    };
    this.gLo = grow(this.gLo);
    this.pLo = grow(this.pLo);
    if (this.gHi !== null) this.gHi = grow(this.gHi);
    if (this.pHi !== null) this.pHi = grow(this.pHi);
    this.count = grow(this.count);
  }

  /**
   * Adds `voxels` (≤ {@link BLOCK}) to the pair of narrow ids (gt not 0); appends at most one
   * triple (room must be reserved).
   */
  addNarrow(g: number, p: number, voxels: number): void {
    g |= 0;
    p |= 0;
    const cache = this.cache;
    const k = ((Math.imul(g, 0x9e3779b1) ^ Math.imul(p, 0x85ebca77)) >>> (32 - CACHE_BITS)) << 2;
    if (cache[k] === g && cache[k + 1] === p) {
      const sum = cache[k + 2] + voxels;
      if (sum <= 0x7fffffff) {
        cache[k + 2] = sum;
        return;
      }
    }
    if (cache[k + 2] !== 0) this.append(k);
    cache[k] = g;
    cache[k + 1] = p;
    cache[k + 2] = voxels;
  }

  /** As addNarrow, for ids as (lo, hi) words (a PairCounts made for uint64 input). */
  addWide(gLo: number, gHi: number, pLo: number, pHi: number, voxels: number): void {
    gLo |= 0;
    gHi |= 0;
    pLo |= 0;
    pHi |= 0;
    const cache = this.cache;
    const h =
      Math.imul(gLo ^ Math.imul(gHi, 0x27d4eb2f), 0x9e3779b1) ^ Math.imul(pLo ^ Math.imul(pHi, 0x165667b1), 0x85ebca77);
    const k = (h >>> (32 - CACHE_BITS)) << 3;
    if (cache[k] === gLo && cache[k + 1] === pLo && cache[k + 3] === gHi && cache[k + 4] === pHi) {
      const sum = cache[k + 2] + voxels;
      if (sum <= 0x7fffffff) {
        cache[k + 2] = sum;
        return;
      }
    }
    if (cache[k + 2] !== 0) this.append(k);
    cache[k] = gLo;
    cache[k + 1] = pLo;
    cache[k + 3] = gHi;
    cache[k + 4] = pHi;
    cache[k + 2] = voxels;
  }

  /** Empties the cache into the triple list. */
  flush(): void {
    this.reserve(1 << CACHE_BITS);
    for (let k = 0; k < this.cache.length; k += this.stride) {
      if (this.cache[k + 2] === 0) continue;
      this.append(k);
    }
    this.cache.fill(0);
  }

  /** Appends the cache entry at word k. */
  private append(k: number): void {
    const t = this.length++;
    const cache = this.cache;
    this.gLo[t] = cache[k];
    this.pLo[t] = cache[k + 1];
    this.count[t] = cache[k + 2];
    if (this.gHi !== null) this.gHi[t] = cache[k + 3];
    if (this.pHi !== null) this.pHi[t] = cache[k + 4];
  }
}

/** Scratch for {@link twice}. */
const TWICE_WORDS = new Uint32Array(2);
const TWICE_DOUBLE = new Float64Array(TWICE_WORDS.buffer);

/** The float64 whose two 32-bit words are both v: what a pair of voxels with id v reads as. */
function twice(v: number): number {
  TWICE_WORDS[0] = v;
  TWICE_WORDS[1] = v;
  return TWICE_DOUBLE[0] as number;
}

/**
 * A narrow id array as the scan reads it: the ids, and for 8-byte aligned Uint32Arrays the same
 * memory as float64s, one per pair of voxels, so that the inside of a run costs one load per two
 * voxels. Equal doubles have equal bits except +0 = -0 (pairs (0, 0) and (0, 2^31): zero runs
 * compare words instead) and NaN ≠ NaN (such ids are scanned one voxel at a time).
 */
interface NarrowLane {
  ids: NarrowIds;
  pairs: Float64Array | null;
}

function narrowLane(ids: NarrowIds): NarrowLane {
  const pairs =
    ids instanceof Uint32Array && ids.byteOffset % 8 === 0
      ? new Float64Array(ids.buffer, ids.byteOffset, ids.length >>> 1)
      : null;
  return { ids, pairs };
}

/** The first index in [i, to) whose id (in a, a2 of a {@link NarrowLane}) is not v, or `to`. */
function nextChange(a: NarrowIds, a2: Float64Array | null, i: number, to: number, v: number): number {
  // voxel by voxel up to an even index, and at once if the run ends there (noisy data)
  if (i >= to || a[i] !== v) return i;
  i++;
  if (a2 !== null) {
    if ((i & 1) === 1) {
      if (i >= to || a[i] !== v) return i;
      i++;
    }
    const rv = twice(v);
    const jEnd = to >>> 1;
    let j = i >>> 1;
    if (rv !== 0 && !Number.isNaN(rv)) {
      while (j < jEnd && a2[j] === rv) j++;
    } else if (v === 0) {
      while (j < jEnd && ((a[2 * j] as number) | (a[2 * j + 1] as number)) === 0) j++;
    }
    i = j << 1;
  }
  while (i < to && a[i] === v) i++;
  return i;
}

/** A mask as the scan reads it; a 4-byte aligned Uint8Array also as words of four voxels. */
interface MaskLane {
  values: Uint8Array | Float32Array;
  quads: Uint32Array | null;
}

function maskLane(mask: Uint8Array | Float32Array): MaskLane {
  const quads =
    mask instanceof Uint8Array && mask.byteOffset % 4 === 0
      ? new Uint32Array(mask.buffer, mask.byteOffset, mask.length >>> 2)
      : null;
  return { values: mask, quads };
}

/** The first index in [i, to) where the mask's known-ness (value ≠ 0) is not `known`, or `to`. */
function nextMaskChange(lane: MaskLane, i: number, to: number, known: boolean): number {
  const m = lane.values;
  const quads = lane.quads;
  if (quads !== null) {
    for (; (i & 3) !== 0; i++) if (i >= to || (m[i] !== 0) !== known) return i;
    const qEnd = to >>> 2;
    let q = i >>> 2;
    // a word without a zero byte: (x - 0x01010101) & ~x & 0x80808080 is 0
    if (known) while (q < qEnd && (((quads[q] as number) - 0x01010101) & ~(quads[q] as number) & 0x80808080) === 0) q++;
    else while (q < qEnd && quads[q] === 0) q++;
    i = q << 2;
  }
  if (known) while (i < to && m[i] !== 0) i++;
  else while (i < to && m[i] === 0) i++;
  return i;
}

/**
 * Runs of voxels [from, to) of two narrow arrays into `counts`. Each array (and the mask) is
 * scanned on its own for the end of its current run; a run of the pair ends at the first of
 * these. gt 0 and unknown voxels are dropped per run, not per voxel.
 */
function narrowRuns(
  gt: NarrowLane,
  pred: NarrowLane,
  mask: MaskLane | null,
  from: number,
  to: number,
  counts: PairCounts,
): void {
  const g = gt.ids;
  const g2 = gt.pairs;
  const p = pred.ids;
  const p2 = pred.pairs;
  let cg = g[from] as number;
  let cp = p[from] as number;
  let known = mask === null || mask.values[from] !== 0;
  let gEnd = nextChange(g, g2, from + 1, to, cg);
  let pEnd = nextChange(p, p2, from + 1, to, cp);
  let mEnd = mask === null ? to : nextMaskChange(mask, from + 1, to, known);
  let start = from;
  for (;;) {
    let end = gEnd; // Math.min, without its cost in this loop
    if (pEnd < end) end = pEnd;
    if (mEnd < end) end = mEnd;
    if (cg !== 0 && known) counts.addNarrow(cg, cp, end - start);
    if (end === to) return;
    start = end;
    if (gEnd === end) {
      cg = g[end] as number;
      gEnd = nextChange(g, g2, end + 1, to, cg);
    }
    if (pEnd === end) {
      cp = p[end] as number;
      pEnd = nextChange(p, p2, end + 1, to, cp);
    }
    if (mEnd === end) {
      known = !known;
      mEnd = nextMaskChange(mask as MaskLane, end + 1, to, known);
    }
  }
}

/**
 * An id array as the scan reads it. `words`: its exact 32-bit words (uint64 as (lo, hi) pairs
 * through a Uint32Array view). `keys`: one number per voxel, equal for equal ids — the id itself
 * for narrow arrays; for uint64 the voxel's 8 bytes read as a float64 (one load instead of two).
 * Equal doubles have equal bits except +0 = -0 (ids 0 and 2^63, told apart by the high word) and
 * NaN ≠ NaN (such ids end a run at every voxel, which changes no count).
 */
interface IdLane {
  keys: NarrowIds | Float64Array;
  words: NarrowIds;
  wide: boolean;
}

function laneOf(a: LabelArray): IdLane {
  if (a instanceof BigUint64Array) {
    return {
      keys: new Float64Array(a.buffer, a.byteOffset, a.length),
      words: new Uint32Array(a.buffer, a.byteOffset, a.length * 2),
      wide: true,
    };
  }
  const words = a instanceof Int32Array ? new Uint32Array(a.buffer, a.byteOffset, a.length) : a;
  return { keys: words, words, wide: false };
}

/** Adds the run [start, end) with the ids of voxel `start`, unless its gt is 0. */
function addRun(gt: IdLane, pred: IdLane, start: number, end: number, counts: PairCounts): void {
  const gw = gt.words;
  const pw = pred.words;
  const gLo = gt.wide ? gw[2 * start + LO] : gw[start];
  const gHi = gt.wide ? gw[2 * start + HI] : 0;
  if ((gLo | gHi) === 0) return;
  const pLo = pred.wide ? pw[2 * start + LO] : pw[start];
  const pHi = pred.wide ? pw[2 * start + HI] : 0;
  counts.addWide(gLo, gHi, pLo, pHi, end - start);
}

/**
 * The first index in [i, to) whose uint64 id is not the one with float64 key `key` and high word
 * `hi`, or `to`. A NaN key matches nothing (runs of one voxel); a ±0 key is id 0 or 2^63, told
 * apart by the high word.
 */
function nextWideChange(lane: IdLane, i: number, to: number, key: number, hi: number): number {
  const keys = lane.keys;
  if (key !== 0) {
    while (i < to && keys[i] === key) i++;
  } else {
    const words = lane.words;
    while (i < to && keys[i] === 0 && words[2 * i + HI] === hi) i++;
  }
  return i;
}

/** The end of the run of `lane` (uint64, or narrow as `narrow`) that starts at `at`. */
function runEnd(lane: IdLane, narrow: NarrowLane, at: number, to: number): number {
  if (lane.wide) return nextWideChange(lane, at + 1, to, lane.keys[at] as number, lane.words[2 * at + HI] as number);
  return nextChange(narrow.ids, narrow.pairs, at + 1, to, narrow.ids[at] as number);
}

/**
 * As narrowRuns when gt or pred (or both) are uint64 (`gn`, `pn`: the lanes of narrow ones).
 * (params: the per-row inner loop of the score; it takes the same lanes as narrowRuns, unpacked,
 * so no object is built per row.)
 */
function wideRuns(
  gt: IdLane,
  pred: IdLane,
  gn: NarrowLane,
  pn: NarrowLane,
  mask: MaskLane | null,
  from: number,
  to: number,
  counts: PairCounts,
): void {
  let known = mask === null || mask.values[from] !== 0;
  let gEnd = runEnd(gt, gn, from, to);
  let pEnd = runEnd(pred, pn, from, to);
  let mEnd = mask === null ? to : nextMaskChange(mask, from + 1, to, known);
  let start = from;
  for (;;) {
    let end = gEnd;
    if (pEnd < end) end = pEnd;
    if (mEnd < end) end = mEnd;
    if (known) addRun(gt, pred, start, end, counts);
    if (end === to) return;
    start = end;
    if (gEnd === end) gEnd = runEnd(gt, gn, end, to);
    if (pEnd === end) pEnd = runEnd(pred, pn, end, to);
    if (mEnd === end) {
      known = !known;
      mEnd = nextMaskChange(mask as MaskLane, end + 1, to, known);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Step 3: indices, then entropies.

function hash2(a: number, b: number): number {
  let h = Math.imul(a ^ 0x3c6ef372, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16) ^ b, 0x85ebca77);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae3d);
  h ^= h >>> 16;
  return h;
}

/** Open-addressing (linear probing) map from a 64-bit id (two 32-bit words) to 0..size-1. */
class DenseIndex {
  private keys: Int32Array;
  private ids: Int32Array; // dense index + 1; 0 = empty slot
  private mask: number;
  size = 0;

  constructor() {
    const cap = 1 << 10;
    this.keys = new Int32Array(cap * 2);
    this.ids = new Int32Array(cap);
    this.mask = cap - 1;
  }

  /** Dense index of (lo, hi), inserting it as the next index if new. */
  indexOf(lo: number, hi: number): number {
    lo |= 0;
    hi |= 0;
    const keys = this.keys;
    const ids = this.ids;
    const mask = this.mask;
    let s = hash2(lo, hi) & mask;
    for (;;) {
      const id = ids[s];
      if (id === 0) {
        keys[s << 1] = lo;
        keys[(s << 1) + 1] = hi;
        ids[s] = ++this.size;
        if (this.size * 2 > ids.length) this.grow();
        return this.size - 1;
      }
      if (keys[s << 1] === lo && keys[(s << 1) + 1] === hi) return id - 1;
      s = (s + 1) & mask;
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldIds = this.ids;
    const cap = oldIds.length * 2;
    const keys = new Int32Array(cap * 2);
    const ids = new Int32Array(cap);
    const mask = cap - 1;
    for (let i = 0; i < oldIds.length; i++) {
      const id = oldIds[i];
      if (id === 0) continue;
      const lo = oldKeys[i << 1];
      const hi = oldKeys[(i << 1) + 1];
      let s = hash2(lo, hi) & mask;
      while (ids[s] !== 0) s = (s + 1) & mask;
      keys[s << 1] = lo;
      keys[(s << 1) + 1] = hi;
      ids[s] = id;
    }
    this.keys = keys;
    this.ids = ids;
    this.mask = mask;
  }
}

/**
 * Turns the first `m` ids (lo words, plus hi words for uint64) into indices 0..k-1 in place and
 * returns k. Narrow ids that are not too sparse are their own index (with gaps, no lookup at
 * all); others are numbered in order of first appearance.
 */
function toIndices(lo: Uint32Array, hi: Uint32Array | null, m: number): number {
  let max = 0;
  let hiOr = 0;
  for (let t = 0; t < m; t++) if (lo[t] > max) max = lo[t];
  if (hi !== null) for (let t = 0; t < m; t++) hiOr |= hi[t];
  if (hiOr === 0 && max < Math.max(1 << 16, Math.min(MAX_DIRECT_ID, 4 * m))) return max + 1;

  const index = new DenseIndex();
  for (let t = 0; t < m; t++) lo[t] = index.indexOf(lo[t], hi === null ? 0 : hi[t]);
  return index.size;
}

/** x log2 x for x = 0..1023 (x·log2 x of a count: most pairs of noisy data have small counts). */
const X_LOG2_X = Float64Array.from({ length: 1024 }, (_, x) => (x === 0 ? 0 : x * Math.log2(x)));

function xLog2X(x: number): number {
  return x < 1024 ? X_LOG2_X[x] : x * Math.log2(x);
}

/**
 * Conditional entropies (bits) and the adapted Rand error of m (gt, pred, voxels) triples, gt in
 * [0, nG), pred in [0, nP): one walk over the distinct pairs, gt segment by gt segment.
 */
function tableScores(
  g: Uint32Array,
  p: Uint32Array,
  count: Uint32Array,
  m: number,
  nG: number,
  nP: number,
): SegmentationScores {
  const gCount = new Float64Array(nG);
  const pCount = new Float64Array(nP);
  const bucketStart = new Int32Array(nG + 1);
  let total = 0;
  for (let t = 0; t < m; t++) {
    const c = count[t];
    gCount[g[t]] += c;
    pCount[p[t]] += c;
    bucketStart[g[t] + 1]++;
    total += c;
  }
  if (total === 0) return EMPTY;
  for (let k = 0; k < nG; k++) bucketStart[k + 1] += bucketStart[k];

  // Counting sort of the triples by gt: their pred and voxels, gt segment after gt segment.
  const next = bucketStart.slice(0, nG);
  const sortedP = new Uint32Array(m);
  const sortedCount = new Uint32Array(m);
  for (let t = 0; t < m; t++) {
    const j = next[g[t]]++;
    sortedP[j] = p[t];
    sortedCount[j] = count[t];
  }

  // With c the voxels of a pair (g, p), a and b those of segments g and p, and N in all:
  //   N·H(pred|gt) = Σ_g (a log2 a − Σ_p c log2 c),   N·H(gt|pred) = Σ_p (b log2 b − Σ_g c log2 c).
  // One log per distinct pair (none for the many small counts: a table). A segment that lies in
  // one segment of the other side adds exactly 0 and is skipped, so such a segmentation scores
  // exactly 0.
  const overlap = new Float64Array(nP); // voxels of the current gt segment per pred; 0 between
  const predSeen = new Int32Array(nP);
  const predSplit = new Uint8Array(nP); // 1: the pred segment overlaps several gt segments
  let split = 0;
  let merge = 0;
  let pairSquares = 0; // Σ c² over distinct pairs
  for (let k = 0; k < nG; k++) {
    let np = 0;
    for (let j = bucketStart[k], e = bucketStart[k + 1]; j < e; j++) {
      const q = sortedP[j];
      if (overlap[q] === 0) predSeen[np++] = q;
      overlap[q] += sortedCount[j];
    }
    let pairTerms = 0;
    for (let v = 0; v < np; v++) {
      const q = predSeen[v];
      const c = overlap[q];
      overlap[q] = 0;
      const cLogC = xLog2X(c);
      pairTerms += cLogC;
      pairSquares += c * c;
      if (c !== pCount[q]) {
        merge -= cLogC;
        predSplit[q] = 1;
      }
    }
    if (np > 1) split += xLog2X(gCount[k]) - pairTerms;
  }
  let gSquares = 0,
    pSquares = 0;
  for (let k = 0; k < nG; k++) gSquares += gCount[k] * gCount[k];
  for (let q = 0; q < nP; q++) {
    pSquares += pCount[q] * pCount[q];
    if (predSplit[q] !== 0) merge += xLog2X(pCount[q]);
  }
  split /= total;
  merge /= total;
  // As scikit-image, in float64 (0 / 0 is NaN).
  const precision = (pairSquares - total) / (gSquares - total);
  const recall = (pairSquares - total) / (pSquares - total);
  const are = 1 - (2 * precision * recall) / (precision + recall);
  return { voiSplit: split, voiMerge: merge, voi: split + merge, are, precision, recall, voxels: total };
}

// ---------------------------------------------------------------------------------------------

/**
 * VOI and adapted Rand error of `pred` against `gt` (same length, any layout: only voxel-wise
 * correspondence matters), from one contingency table. Voxels with gt = 0 or mask = 0 are ignored.
 */
export function segmentationScores(gt: LabelArray, pred: LabelArray, options: VoiOptions = {}): SegmentationScores {
  return scoresOf('segmentationScores', gt, pred, options);
}

/**
 * Variation of information of `pred` against `gt` (same length, any layout: only voxel-wise
 * correspondence matters). Voxels with gt = 0 or mask = 0 are ignored; with no voxel left, all
 * scores are 0.
 */
export function variationOfInformation(gt: LabelArray, pred: LabelArray, options: VoiOptions = {}): VoiResult {
  const { voiSplit, voiMerge, voi } = scoresOf('variationOfInformation', gt, pred, options);
  return { voiSplit, voiMerge, voi };
}

/**
 * Adapted Rand error of `pred` against `gt`, as scikit-image's `adapted_rand_error(gt, pred)`
 * (gt 0 ignored, pred 0 an ordinary segment; its precision and recall), voxels with mask 0
 * ignored too; exact for uint64 ids. NaN where scikit-image divides 0 by 0 (no pair of voxels).
 */
export function adaptedRandError(gt: LabelArray, pred: LabelArray, options: VoiOptions = {}): AdaptedRandResult {
  const { are, precision, recall } = scoresOf('adaptedRandError', gt, pred, options);
  return { are, precision, recall };
}

/** The CREMI score, √(VOI · ARand) (VOI = split + merge in bits, ARand = the adapted Rand error). */
export function cremiScore(scores: Pick<SegmentationScores, 'voi' | 'are'>): number {
  return Math.sqrt(scores.voi * scores.are);
}

function scoresOf(who: string, gt: LabelArray, pred: LabelArray, options: VoiOptions): SegmentationScores {
  if (gt.length !== pred.length) {
    throw new OptionsError(`${who}: gt has length ${gt.length} but pred has length ${pred.length}`);
  }
  const mask = options.mask ?? null;
  if (mask !== null && mask.length !== gt.length) {
    throw new OptionsError(`${who}: mask has length ${mask.length} but gt has length ${gt.length}`);
  }
  const n = gt.length;
  const gl = laneOf(gt);
  const pl = laneOf(pred);
  const wide = gl.wide || pl.wide;
  const counts = new PairCounts(gl.wide, pl.wide);
  // the narrow lanes of narrow arrays (those of a uint64 array are never read)
  const gn = narrowLane(gl.words);
  const pn = narrowLane(pl.words);
  const ml = mask === null ? null : maskLane(mask);
  for (let from = 0; from < n; from += BLOCK) {
    const to = Math.min(n, from + BLOCK);
    counts.reserve(to - from);
    if (wide) wideRuns(gl, pl, gn, pn, ml, from, to, counts);
    else narrowRuns(gn, pn, ml, from, to, counts);
    if (from === 0 && to < n) {
      // Data without runs (noise) leaves about one triple per voxel: size the list once, from
      // the first block, rather than growing (copying, touching new pages) again and again.
      const expected = (counts.length / to) * n * 1.15;
      counts.reserve(Math.min(n + (1 << CACHE_BITS), Math.ceil(expected)) - counts.length);
    }
  }
  counts.flush();
  const m = counts.length;
  if (m === 0) return EMPTY;
  const nG = toIndices(counts.gLo, counts.gHi, m);
  const nP = toIndices(counts.pLo, counts.pHi, m);
  return tableScores(counts.gLo, counts.pLo, counts.count, m, nG, nP);
}
