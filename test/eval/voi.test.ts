import { test } from 'node:test';
import assert from 'node:assert/strict';
import { variationOfInformation } from '../../src/eval/voi.js';
import type { LabelArray } from '../../src/types.js';
import { mulberry32 } from '../helpers/random.js';

/** Straightforward reference: Map-keyed contingency table over string ids. */
function naiveVoi(
  gt: ArrayLike<number | bigint>,
  pred: ArrayLike<number | bigint>,
  mask?: ArrayLike<number> | null,
): { voiSplit: number; voiMerge: number } {
  const pairs = new Map<string, number>();
  const a = new Map<string, number>();
  const b = new Map<string, number>();
  let n = 0;
  for (let i = 0; i < gt.length; i++) {
    if (gt[i] === 0 || gt[i] === 0n || (mask && mask[i] === 0)) continue;
    const g = String(gt[i]);
    const p = String(pred[i]);
    const k = `${g}|${p}`;
    pairs.set(k, (pairs.get(k) ?? 0) + 1);
    a.set(g, (a.get(g) ?? 0) + 1);
    b.set(p, (b.get(p) ?? 0) + 1);
    n++;
  }
  if (n === 0) return { voiSplit: 0, voiMerge: 0 };
  let hab = 0,
    ha = 0,
    hb = 0;
  for (const c of pairs.values()) hab -= (c / n) * Math.log2(c / n);
  for (const c of a.values()) ha -= (c / n) * Math.log2(c / n);
  for (const c of b.values()) hb -= (c / n) * Math.log2(c / n);
  return { voiSplit: hab - ha, voiMerge: hab - hb };
}

function close(actual: number, expected: number, tol = 1e-12, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} != ${expected} (tol ${tol})`);
}

function assertVoi(
  r: { voiSplit: number; voiMerge: number; voi: number },
  split: number,
  merge: number,
  tol = 1e-12,
): void {
  close(r.voiSplit, split, tol, 'split');
  close(r.voiMerge, merge, tol, 'merge');
  close(r.voi, split + merge, tol, 'voi');
}

test('funlib.evaluate reference values', () => {
  const truth = new Uint32Array([1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4]);
  const pred = new Uint32Array([3, 3, 3, 3, 4, 5, 6, 6, 5, 5, 5]);
  assertVoi(variationOfInformation(truth, pred), 0.6140806820148608, 0.7272727272727271);
  assertVoi(variationOfInformation(new Uint64(truth), new Uint64(pred)), 0.6140806820148608, 0.7272727272727271);
  assertVoi(variationOfInformation(new Uint32Array([1, 1, 2, 2]), new Uint32Array([2, 2, 2, 2])), 0, 1);
});

/** BigUint64Array from small numbers. */
class Uint64 extends BigUint64Array {
  constructor(values: ArrayLike<number>) {
    super(values.length);
    for (let i = 0; i < values.length; i++) this[i] = BigInt(values[i]);
  }
}

test('hand-computed cases: gt background, pred 0, masks', () => {
  // gt 1 split evenly in two: 1 bit over half the voxels.
  assertVoi(variationOfInformation(new Uint8Array([1, 1, 2, 2]), new Uint8Array([1, 2, 3, 3])), 0.5, 0);
  // gt 0 voxels are ignored, even where pred merges them with gt 2.
  assertVoi(variationOfInformation(new Uint8Array([0, 0, 1, 1, 2, 2]), new Uint8Array([3, 3, 1, 2, 3, 3])), 0.5, 0);
  // pred 0 is an ordinary segment.
  assertVoi(variationOfInformation(new Uint16Array([1, 1, 2, 2]), new Uint16Array([0, 0, 0, 0])), 0, 1);
  assertVoi(variationOfInformation(new Uint16Array([1, 1, 2, 2]), new Uint16Array([0, 0, 1, 1])), 0, 0);
  // masks
  const gt = new Uint32Array([1, 1, 1, 1]);
  const pred = new Uint32Array([1, 1, 2, 2]);
  assertVoi(variationOfInformation(gt, pred), 1, 0);
  assertVoi(variationOfInformation(gt, pred, { mask: new Uint8Array([1, 1, 0, 0]) }), 0, 0);
  const h3 = Math.log2(3) - 2 / 3; // H(2/3, 1/3)
  assertVoi(variationOfInformation(gt, pred, { mask: new Uint8Array([1, 1, 1, 0]) }), h3, 0);
  assertVoi(variationOfInformation(gt, pred, { mask: new Float32Array([0.5, 1, 2, 0]) }), h3, 0);
  assertVoi(variationOfInformation(gt, pred, { mask: null }), 1, 0);
  // 3 gt segments, pred merges two of them: merge = (2/3)·1 bit... over 6 voxels: 4/6 voxels in a
  // pred segment holding two gt segments evenly.
  assertVoi(variationOfInformation(new Uint32Array([1, 1, 2, 2, 3, 3]), new Uint32Array([7, 7, 7, 7, 8, 8])), 0, 4 / 6);
});

test('no counted voxels gives zeros', () => {
  assertVoi(variationOfInformation(new Uint32Array(5), new Uint32Array([1, 2, 3, 4, 5])), 0, 0);
  assertVoi(variationOfInformation(new Uint32Array(0), new Uint32Array(0)), 0, 0);
  assertVoi(
    variationOfInformation(new Uint32Array([1, 2]), new Uint32Array([1, 1]), { mask: new Uint8Array(2) }),
    0,
    0,
  );
  assertVoi(variationOfInformation(new BigUint64Array(3), new BigUint64Array(3)), 0, 0);
});

test('length mismatch throws naming both lengths', () => {
  assert.throws(
    () => variationOfInformation(new Uint32Array(3), new Uint32Array(4)),
    (e: Error) => /3/.test(e.message) && /4/.test(e.message),
  );
  assert.throws(
    () => variationOfInformation(new Uint32Array(3), new Uint32Array(3), { mask: new Uint8Array(2) }),
    /mask has length 2/,
  );
});

test('uint64 ids above 2^53 stay distinct', () => {
  const big = 2n ** 60n;
  const gt = new BigUint64Array([big + 1n, big + 1n, big + 2n, big + 2n]);
  const pred = new BigUint64Array([big + 3n, big + 3n, big + 3n, big + 3n]);
  const small = variationOfInformation(new Uint32Array([1, 1, 2, 2]), new Uint32Array([3, 3, 3, 3]));
  const r = variationOfInformation(gt, pred);
  assert.deepEqual(r, small);
  assertVoi(r, 0, 1);
  // 2^53 and 2^53+1 collide as Numbers; they must not here.
  const g2 = new BigUint64Array([2n ** 53n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 53n + 1n]);
  assertVoi(variationOfInformation(g2, new BigUint64Array([5n, 5n, 5n, 5n])), 0, 1);
  assertVoi(variationOfInformation(new BigUint64Array([5n, 5n, 5n, 5n]), g2), 1, 0);
  // ids equal in the low 32 bits, different in the high ones.
  const g3 = new BigUint64Array([1n, 1n, (1n << 32n) + 1n, (1n << 32n) + 1n]);
  assertVoi(variationOfInformation(g3, new BigUint64Array([9n, 9n, 9n, 9n])), 0, 1);
  // a high-word-only id is not background
  const g4 = new BigUint64Array([1n << 32n, 1n << 32n, 0n, 0n]);
  assertVoi(variationOfInformation(g4, new BigUint64Array([1n, 2n, 3n, 3n])), 1, 0);
  // max uint64
  const max = 2n ** 64n - 1n;
  const g5 = new BigUint64Array([max, max, max - 1n, max - 1n]);
  assertVoi(variationOfInformation(g5, new BigUint64Array([0n, 0n, 0n, 0n])), 0, 1);
});

test('uint64 against narrow arrays (mixed dtypes)', () => {
  const big = 2n ** 60n;
  const gt = new BigUint64Array([big + 1n, big + 1n, big + 2n, big + 2n, 0n]);
  const pred = new Uint8Array([3, 3, 3, 3, 4]);
  assertVoi(variationOfInformation(gt, pred), 0, 1);
  // pred 4 is alone; pred 3 is split into two gt ids over 4 of 5 voxels.
  assertVoi(variationOfInformation(pred, gt), 0.8, 0);
});

test('random volumes match a naive implementation, all dtypes, masks and gt background', () => {
  const rand = mulberry32(7);
  for (let trial = 0; trial < 30; trial++) {
    const n = 1 + Math.floor(rand() * 3000);
    const ng = 1 + Math.floor(rand() * 40);
    const np = 1 + Math.floor(rand() * 60);
    const runny = rand() < 0.5; // long runs of equal pairs exercise the run accumulation
    const gt = new Uint32Array(n);
    const pred = new Uint32Array(n);
    const mask = new Uint8Array(n);
    let g = 0,
      p = 0;
    for (let i = 0; i < n; i++) {
      if (!runny || rand() < 0.1) g = Math.floor(rand() * ng);
      if (!runny || rand() < 0.1) p = Math.floor(rand() * np);
      gt[i] = g;
      pred[i] = p;
      mask[i] = rand() < 0.8 ? 1 : 0;
    }
    for (const m of [null, mask]) {
      const ref = naiveVoi(gt, pred, m);
      const variants: [LabelArray, LabelArray][] = [
        [gt, pred],
        [Int32Array.from(gt), Int32Array.from(pred)],
        [Uint16Array.from(gt), Uint16Array.from(pred)],
        [Uint8Array.from(gt), Uint8Array.from(pred)],
        [new Uint64(gt), new Uint64(pred)],
        [gt, new Uint64(pred)],
        [new Uint64(gt), pred],
      ];
      for (const [a, b] of variants) {
        const r = variationOfInformation(a, b, { mask: m });
        assertVoi(r, ref.voiSplit, ref.voiMerge, 1e-9);
        assert.ok(r.voiSplit >= 0 && r.voiMerge >= 0);
      }
    }
  }
});

test('many distinct pairs (hash table growth)', () => {
  const rand = mulberry32(11);
  const n = 200_000;
  const gt = new Uint32Array(n);
  const pred = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    gt[i] = ((rand() * 0xffffffff) >>> 0) | 1;
    pred[i] = Math.floor(rand() * 3000);
  }
  const ref = naiveVoi(gt, pred);
  assertVoi(variationOfInformation(gt, pred), ref.voiSplit, ref.voiMerge, 1e-9);
});

test('relabelling by a permutation leaves VOI unchanged; swapping gt and pred swaps split/merge', () => {
  const rand = mulberry32(3);
  for (let trial = 0; trial < 10; trial++) {
    const n = 2000;
    const k = 50;
    const gt = new Uint32Array(n);
    const pred = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      gt[i] = 1 + Math.floor(rand() * k); // no gt 0
      pred[i] = Math.floor(rand() * k);
    }
    // random permutations of 0..k (keeping 0 -> 0 for gt so background stays background)
    const perm = (keep0: boolean) => {
      const ids = Array.from({ length: k + 1 }, (_, i) => i);
      for (let i = ids.length - 1; i > (keep0 ? 1 : 0); i--) {
        const j = (keep0 ? 1 : 0) + Math.floor(rand() * (i + 1 - (keep0 ? 1 : 0)));
        [ids[i], ids[j]] = [ids[j], ids[i]];
      }
      return ids.map((v) => v * 7919 + 100_000); // also move ids far away
    };
    const pg = perm(true);
    const pp = perm(false);
    const gt2 = gt.map((v) => pg[v]);
    const pred2 = pred.map((v) => pp[v]);
    const r1 = variationOfInformation(gt, pred);
    const r2 = variationOfInformation(gt2, pred2);
    assertVoi(r2, r1.voiSplit, r1.voiMerge, 1e-12);
    // swap: pred has 0 ids here; shift pred so it has no 0 either
    const predNo0 = pred.map((v) => v + 1);
    const a = variationOfInformation(gt, predNo0);
    const b = variationOfInformation(predNo0, gt);
    assertVoi(b, a.voiMerge, a.voiSplit, 1e-12);
  }
});

test('identical segmentations score exactly 0', () => {
  const rand = mulberry32(5);
  const gt = Uint32Array.from({ length: 5000 }, () => Math.floor(rand() * 100));
  const r = variationOfInformation(gt, gt.slice());
  assert.equal(r.voiSplit, 0);
  assert.equal(r.voiMerge, 0);
  assert.equal(r.voi, 0);
});

test('negative Int32 ids and large sparse ids (relabelling path) match small ids', () => {
  const rand = mulberry32(13);
  const n = 5000;
  const gt = new Uint32Array(n);
  const pred = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    gt[i] = Math.floor(rand() * 30);
    pred[i] = Math.floor(rand() * 40);
  }
  const mask = Uint8Array.from({ length: n }, () => (rand() < 0.7 ? 1 : 0));
  for (const m of [null, mask]) {
    const ref = variationOfInformation(gt, pred, { mask: m });
    const naive = naiveVoi(gt, pred, m);
    assertVoi(ref, naive.voiSplit, naive.voiMerge, 1e-12);
    // negative ids (gt 0 stays 0)
    const gNeg = Int32Array.from(gt, (v) => (v === 0 ? 0 : -v * 1000));
    const pNeg = Int32Array.from(pred, (v) => -v - 1);
    assertVoi(variationOfInformation(gNeg, pNeg, { mask: m }), ref.voiSplit, ref.voiMerge, 1e-12);
    // ids spread over the whole uint32 range
    const gBig = Uint32Array.from(gt, (v) => (v === 0 ? 0 : (v * 0x9e3779b1) >>> 0));
    const pBig = Uint32Array.from(pred, (v) => (v * 0x7fffffff + 3) >>> 0);
    assertVoi(variationOfInformation(gBig, pBig, { mask: m }), ref.voiSplit, ref.voiMerge, 1e-12);
    // uint64 with the same low words but every id moved above 2^53
    const hi = 1n << 55n;
    const g64 = BigUint64Array.from(gt, (v) => (v === 0 ? 0n : hi + BigInt(v)));
    const p64 = BigUint64Array.from(pred, (v) => hi * 3n + BigInt(v));
    assertVoi(variationOfInformation(g64, p64, { mask: m }), ref.voiSplit, ref.voiMerge, 1e-12);
  }
});

test('uint64 subarray views (non-zero byteOffset) are read correctly', () => {
  const big = 2n ** 60n;
  const backing = new BigUint64Array([7n, big + 1n, big + 1n, big + 2n, big + 2n, 9n]);
  const gt = backing.subarray(1, 5);
  assertVoi(variationOfInformation(gt, new Uint32Array([1, 1, 1, 1])), 0, 1);
});

/** Runs of random lengths (up to maxRun) of random ids below k (gt 0 on about a tenth of them). */
function runsOf(rand: () => number, n: number, k: number, maxRun: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; ) {
    const id = rand() < 0.1 ? 0 : 1 + Math.floor(rand() * k);
    const end = Math.min(n, i + 1 + Math.floor(rand() * maxRun));
    a.fill(id, i, end);
    i = end;
  }
  return a;
}

test('volumes of many scan blocks: runs across block ends, masks, every dtype', () => {
  const rand = mulberry32(21);
  const n = 200_001; // a few 65,536-voxel blocks, and a partial one
  for (const [maxRun, maskKind] of [
    [3, 'none'],
    [40, 'uint8'],
    [150_000, 'float32'],
  ] as const) {
    const gt = runsOf(rand, n, 30, maxRun);
    const pred = runsOf(rand, n, 50, maxRun);
    const mask01 = runsOf(rand, n, 1, maxRun); // 0 / 1 in runs of their own
    const mask =
      maskKind === 'none'
        ? null
        : maskKind === 'uint8'
          ? Uint8Array.from(mask01)
          : Float32Array.from(mask01, (v) => v * 0.5);
    const ref = naiveVoi(gt, pred, mask);
    const variants: [LabelArray, LabelArray][] = [
      [gt, pred],
      [Uint16Array.from(gt), Uint8Array.from(pred)],
      [new Uint64(gt), pred],
      [gt, new Uint64(pred)],
    ];
    for (const [a, b] of variants) assertVoi(variationOfInformation(a, b, { mask }), ref.voiSplit, ref.voiMerge, 1e-9);
  }
});

test('more distinct pairs than the pair cache holds, recurring after being pushed out', () => {
  // 12,000 distinct pairs (the cache holds 4,096), each met in many runs spread over the volume
  const rand = mulberry32(22);
  const n = 200_000;
  const gt = new Uint32Array(n);
  const pred = new Uint32Array(n);
  for (let i = 0; i < n; ) {
    const pair = Math.floor(rand() * 12_000);
    const end = Math.min(n, i + 1 + Math.floor(rand() * 8));
    gt.fill(1 + (pair % 400), i, end);
    pred.fill(Math.floor(pair / 400) * 7, i, end);
    i = end;
  }
  const ref = naiveVoi(gt, pred);
  assertVoi(variationOfInformation(gt, pred), ref.voiSplit, ref.voiMerge, 1e-9);
  const hi = 1n << 60n;
  const g64 = BigUint64Array.from(gt, (v) => hi + BigInt(v));
  const p64 = BigUint64Array.from(pred, (v) => hi * 2n + BigInt(v));
  assertVoi(variationOfInformation(g64, p64), ref.voiSplit, ref.voiMerge, 1e-9);
});

test('uint64 ids whose 8 bytes read as float64 are ±0, NaN, infinite or subnormal', () => {
  // The scan compares uint64 ids as float64 keys: +0 = -0 (ids 0 and 2^63) and NaN ≠ NaN must
  // not merge or lose anything.
  const special = [
    0n, // +0
    1n << 63n, // -0
    1n, // smallest subnormal
    0x7ff0000000000000n, // +Infinity
    0xfff0000000000000n, // -Infinity
    0x7ff8000000000000n, // quiet NaN
    0x7ff0000000000001n, // signalling NaN
    0xffffffffffffffffn, // NaN, max uint64
    (1n << 63n) + 1n, // negative subnormal
  ];
  const rand = mulberry32(23);
  for (let trial = 0; trial < 20; trial++) {
    const n = 1 + Math.floor(rand() * 500);
    const gt = new BigUint64Array(n);
    const pred = new BigUint64Array(n);
    for (let i = 0; i < n; ) {
      const end = Math.min(n, i + 1 + Math.floor(rand() * 6));
      gt.fill(special[Math.floor(rand() * special.length)], i, end);
      i = end;
    }
    for (let i = 0; i < n; ) {
      const end = Math.min(n, i + 1 + Math.floor(rand() * 6));
      pred.fill(special[Math.floor(rand() * special.length)], i, end);
      i = end;
    }
    const mask = Uint8Array.from({ length: n }, () => (rand() < 0.8 ? 1 : 0));
    for (const m of [null, mask]) {
      const ref = naiveVoi(gt, pred, m);
      assertVoi(variationOfInformation(gt, pred, { mask: m }), ref.voiSplit, ref.voiMerge, 1e-9);
      // against a narrow array on the other side
      const narrow = Uint32Array.from({ length: n }, (_, i) => Number(pred[i] & 7n));
      const ref2 = naiveVoi(gt, narrow, m);
      assertVoi(variationOfInformation(gt, narrow, { mask: m }), ref2.voiSplit, ref2.voiMerge, 1e-9);
    }
  }
  // the exact ±0 case: gt 2^63 next to background 0 in one run of float keys
  const g = new BigUint64Array([1n << 63n, 0n, 1n << 63n, 0n, 1n << 63n, 1n << 63n]);
  const p = new BigUint64Array([0n, 0n, 1n << 63n, 1n << 63n, 0n, 0n]);
  const ref = naiveVoi(g, p);
  assertVoi(variationOfInformation(g, p), ref.voiSplit, ref.voiMerge, 1e-12);
});

test('ids far apart: sparse narrow ids are numbered densely, small ones index directly', () => {
  const rand = mulberry32(24);
  const n = 50_000;
  const base = runsOf(rand, n, 40, 20);
  const pred = runsOf(rand, n, 60, 20);
  const ref = naiveVoi(base, pred);
  // a few ids near 2^32 among small ones, so that the ids are too sparse to index
  const sparse = base.map((v) => (v % 5 === 1 ? 0xffffffff - v : v));
  const refSparse = naiveVoi(sparse, pred);
  assertVoi(variationOfInformation(sparse, pred), refSparse.voiSplit, refSparse.voiMerge, 1e-9);
  // ids up to ~2^21: dense enough to index directly
  const spread = base.map((v) => (v === 0 ? 0 : v * 50_000));
  assertVoi(variationOfInformation(spread, pred), ref.voiSplit, ref.voiMerge, 1e-9);
  const refSwapped = naiveVoi(pred, base);
  assertVoi(
    variationOfInformation(
      pred.map((v) => v * 60_000),
      spread,
    ),
    refSwapped.voiSplit,
    refSwapped.voiMerge,
    1e-9,
  );
});

test('no runs at all (noise) over several blocks, and empty or fully masked volumes of several blocks', () => {
  const rand = mulberry32(25);
  const n = 140_000;
  const gt = Uint32Array.from({ length: n }, () => 1 + Math.floor(rand() * 300));
  const pred = Uint32Array.from({ length: n }, () => Math.floor(rand() * 500));
  const ref = naiveVoi(gt, pred);
  assertVoi(variationOfInformation(gt, pred), ref.voiSplit, ref.voiMerge, 1e-9);
  assertVoi(variationOfInformation(new Uint32Array(n), pred), 0, 0);
  assertVoi(variationOfInformation(gt, pred, { mask: new Uint8Array(n) }), 0, 0);
  assertVoi(variationOfInformation(new BigUint64Array(n), new BigUint64Array(n)), 0, 0);
  // NaN in a Float32 mask is a known voxel (only 0 is unknown)
  const nanMask = new Float32Array(n).fill(Number.NaN);
  assertVoi(variationOfInformation(gt, pred, { mask: nanMask }), ref.voiSplit, ref.voiMerge, 1e-9);
});

test('views with byte offsets: Int32 and uint64 subarrays', () => {
  const rand = mulberry32(26);
  const n = 5_000;
  const gt = runsOf(rand, n + 3, 20, 9);
  const pred = runsOf(rand, n + 3, 20, 9);
  const ref = naiveVoi(gt.subarray(3), pred.subarray(1, n + 1));
  const g32 = Int32Array.from(gt).subarray(3);
  const p64 = BigUint64Array.from(pred, (v) => BigInt(v)).subarray(1, n + 1);
  assertVoi(variationOfInformation(g32, p64), ref.voiSplit, ref.voiMerge, 1e-9);
  assertVoi(variationOfInformation(gt.subarray(3), pred.subarray(1, n + 1)), ref.voiSplit, ref.voiMerge, 1e-9);
});

test('uint32 ids whose voxel pairs read as float64 ±0, NaN or subnormal; unaligned views', () => {
  // The narrow scan compares two voxels at a time as one float64: pairs (0, 2^31) = -0 = +0 = (0, 0),
  // NaN ≠ NaN (ids from 0x7ff00000 up, and from 0xfff00000 up), small ids read as subnormals.
  const special = [0, 0x80000000, 1, 5, 0x7ff00000, 0x7ff80001, 0xfff00000, 0xffffffff, 0x000fffff, 0x80000001];
  const rand = mulberry32(27);
  for (let trial = 0; trial < 30; trial++) {
    const n = 2 + Math.floor(rand() * 600);
    const gt = new Uint32Array(n);
    const pred = new Uint32Array(n);
    for (const a of [gt, pred]) {
      for (let i = 0; i < n; ) {
        const end = Math.min(n, i + 1 + Math.floor(rand() * 9));
        a.fill(special[Math.floor(rand() * special.length)] as number, i, end);
        i = end;
      }
    }
    const mask = Uint8Array.from({ length: n }, () => (rand() < 0.85 ? 1 : 0));
    for (const m of [null, mask]) {
      const ref = naiveVoi(gt, pred, m);
      assertVoi(variationOfInformation(gt, pred, { mask: m }), ref.voiSplit, ref.voiMerge, 1e-9);
      // views starting at an odd voxel: not 8-byte aligned, and pairs shifted by one voxel
      const refShifted = naiveVoi(gt.subarray(1), pred.subarray(1), m?.subarray(1));
      assertVoi(
        variationOfInformation(gt.subarray(1), pred.subarray(1), { mask: m?.subarray(1) ?? null }),
        refShifted.voiSplit,
        refShifted.voiMerge,
        1e-9,
      );
    }
  }
  // gt 2^31 right after gt 0 in one pair, and pred 2^31 after pred 0
  const g = new Uint32Array([0, 0x80000000, 0, 0x80000000, 7, 7]);
  const p = new Uint32Array([0, 0, 0, 0x80000000, 0, 0x80000000]);
  const ref = naiveVoi(g, p);
  assertVoi(variationOfInformation(g, p), ref.voiSplit, ref.voiMerge, 1e-12);
  assert.notEqual(ref.voiMerge, 0);
});
