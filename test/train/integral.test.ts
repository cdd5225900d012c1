import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxSum, integralVolume, validCentres } from '../../src/train/integral.js';
import { makeRng } from '../../src/train/random.js';

function randomMask(seed: string, shape: number[], p: number): Uint8Array {
  const rng = makeRng(seed);
  const n = shape[0]! * shape[1]! * shape[2]!;
  return Uint8Array.from({ length: n }, () => (rng.next() < p ? (rng.next() < 0.5 ? 1 : 7) : 0));
}

function bruteSum(mask: Uint8Array, shape: number[], begin: number[], end: number[]): number {
  let s = 0;
  for (let z = begin[0]!; z < end[0]!; z++)
    for (let y = begin[1]!; y < end[1]!; y++)
      for (let x = begin[2]!; x < end[2]!; x++) {
        if (z < 0 || y < 0 || x < 0 || z >= shape[0]! || y >= shape[1]! || x >= shape[2]!) continue;
        if (mask[(z * shape[1]! + y) * shape[2]! + x]) s++;
      }
  return s;
}

test('integralVolume: corner entries and total', () => {
  const shape = [3, 4, 5];
  const mask = randomMask('t', shape, 0.5);
  const t = integralVolume(mask, shape);
  assert.ok(t instanceof Float64Array);
  assert.equal(t.length, 4 * 5 * 6);
  assert.equal(
    t[t.length - 1],
    mask.reduce((a, v) => a + (v ? 1 : 0), 0),
  );
  for (let y = 0; y <= 4; y++) for (let x = 0; x <= 5; x++) assert.equal(t[y * 6 + x], 0);
  for (let z = 0; z <= 3; z++)
    for (let y = 0; y <= 4; y++)
      for (let x = 0; x <= 5; x++) {
        assert.equal(t[(z * 5 + y) * 6 + x], bruteSum(mask, shape, [0, 0, 0], [z, y, x]));
      }
});

test('boxSum equals brute force, including boxes sticking out or fully outside', () => {
  for (const shape of [
    [6, 7, 8],
    [1, 5, 9],
    [4, 1, 3],
  ]) {
    const mask = randomMask(`b${shape}`, shape, 0.6);
    const t = integralVolume(mask, shape);
    const rng = makeRng(`boxes${shape}`);
    for (let k = 0; k < 400; k++) {
      const begin = shape.map((s) => rng.int(s + 8) - 4);
      const end = begin.map((b) => b + rng.int(12) - 1);
      assert.equal(boxSum(t, shape, begin, end), bruteSum(mask, shape, begin, end), `${begin} ${end}`);
    }
    assert.equal(boxSum(t, shape, [-100, -100, -100], [100, 100, 100]), bruteSum(mask, shape, [0, 0, 0], shape));
    assert.equal(boxSum(t, shape, [100, 0, 0], [200, 5, 5]), 0);
  }
});

test('validCentres equals brute force', () => {
  const cases: { shape: number[]; box: number[]; f: number; low: number[]; high: number[] }[] = [
    { shape: [6, 7, 8], box: [3, 4, 5], f: 0.5, low: [0, 0, 0], high: [6, 7, 8] },
    { shape: [6, 7, 8], box: [4, 4, 4], f: 0.3, low: [-3, -2, -4], high: [9, 9, 11] },
    { shape: [6, 7, 8], box: [2, 3, 2], f: 1, low: [0, 0, 0], high: [6, 7, 8] },
    { shape: [6, 7, 8], box: [5, 5, 5], f: 0, low: [-1, 0, 1], high: [3, 4, 5] },
    { shape: [6, 7, 8], box: [1, 1, 1], f: 0.5, low: [0, 0, 0], high: [6, 7, 8] },
    { shape: [5, 5, 5], box: [10, 10, 10], f: 0.05, low: [-2, -2, -2], high: [7, 7, 7] },
    { shape: [5, 5, 5], box: [3, 3, 3], f: 1.5, low: [0, 0, 0], high: [5, 5, 5] },
    { shape: [5, 5, 5], box: [3, 3, 3], f: 0.5, low: [3, 0, 0], high: [3, 5, 5] },
  ];
  for (const [ci, c] of cases.entries()) {
    for (const p of [0.3, 0.7, 0.95]) {
      const mask = randomMask(`v${ci}/${p}`, c.shape, p);
      const t = integralVolume(mask, c.shape);
      const vc = validCentres(t, c.shape, { box: c.box, minFraction: c.f, low: c.low, high: c.high });
      const boxVolume = c.box[0]! * c.box[1]! * c.box[2]!;
      const expected: number[] = [];
      for (let z = c.low[0]!; z < c.high[0]!; z++)
        for (let y = c.low[1]!; y < c.high[1]!; y++)
          for (let x = c.low[2]!; x < c.high[2]!; x++) {
            const begin = [z, y, x].map((v, i) => v - Math.floor(c.box[i]! / 2));
            const end = begin.map((b, i) => b + c.box[i]!);
            if (bruteSum(mask, c.shape, begin, end) / boxVolume >= c.f - 1e-12) expected.push(z, y, x);
          }
      assert.deepEqual([...vc.toArray()], expected, `case ${ci} p ${p}`);
      assert.equal(vc.count, expected.length / 3);
      for (let i = 0; i < vc.count; i += Math.max(1, Math.floor(vc.count / 37))) {
        assert.deepEqual(vc.at(i), expected.slice(3 * i, 3 * i + 3));
      }
    }
  }
});

test('validCentres: exact threshold (fraction of the full box, no float slack)', () => {
  // 10 voxels along x, box of 10: a centre sees exactly k known voxels.
  const shape = [1, 1, 10];
  const mask = new Uint8Array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
  const t = integralVolume(mask, shape);
  // Box [p-5, p+5): at p = 5 covers all 10 voxels, 3 known → fraction 0.3.
  assert.equal(validCentres(t, shape, { box: [1, 1, 10], minFraction: 0.3, low: [0, 0, 5], high: [1, 1, 6] }).count, 1);
  assert.equal(
    validCentres(t, shape, { box: [1, 1, 10], minFraction: 0.3000001, low: [0, 0, 5], high: [1, 1, 6] }).count,
    0,
  );
  // 0.1 + 0.2 = 0.30000000000000004 still means 3 voxels.
  assert.equal(
    validCentres(t, shape, { box: [1, 1, 10], minFraction: 0.1 + 0.2, low: [0, 0, 5], high: [1, 1, 6] }).count,
    1,
  );
});

test('validCentres.sample is uniform-ish over valid positions and deterministic', () => {
  const shape = [8, 8, 8];
  const mask = randomMask('s', shape, 0.5);
  const t = integralVolume(mask, shape);
  const vc = validCentres(t, shape, { box: [4, 4, 4], minFraction: 0.5, low: [0, 0, 0], high: shape });
  assert.ok(vc.count > 10);
  const valid = new Set<string>();
  const a = vc.toArray();
  for (let i = 0; i < a.length; i += 3) valid.add(`${a[i]},${a[i + 1]},${a[i + 2]}`);
  const r1 = makeRng(5),
    r2 = makeRng(5);
  for (let k = 0; k < 200; k++) {
    const p = vc.sample(r1)!;
    assert.ok(valid.has(p.join(',')));
    assert.deepEqual(vc.sample(r2), p);
  }
  const none = validCentres(t, shape, { box: [4, 4, 4], minFraction: 2, low: [0, 0, 0], high: shape });
  assert.equal(none.sample(r1), null);
  assert.throws(() => vc.at(vc.count), RangeError);
});

test('validCentres is fast enough for 128^3 positions', () => {
  const shape = [128, 128, 128];
  const big = new Uint8Array(128 ** 3);
  for (let z = 0; z < 128; z++)
    for (let y = 0; y < 128; y++)
      for (let x = 0; x < 128; x++) {
        big[(z * 128 + y) * 128 + x] = (x + y + z) % 5 === 0 || z > 64 ? 1 : 0;
      }
  const t0 = performance.now();
  const t = integralVolume(big, shape);
  const vc = validCentres(t, shape, { box: [32, 64, 64], minFraction: 0.5, low: [0, 0, 0], high: shape });
  const ms = performance.now() - t0;
  assert.ok(vc.count > 0);
  assert.ok(ms < 5000, `took ${ms} ms`);
});

test('validation errors', () => {
  const t = integralVolume(new Uint8Array(8), [2, 2, 2]);
  assert.throws(() => boxSum(t, [2, 2, 3], [0, 0, 0], [1, 1, 1]), /table has 27 entries/);
  assert.throws(() => integralVolume(new Uint8Array(7), [2, 2, 2]), /mask has 7/);
  assert.throws(
    () => validCentres(t, [2, 2, 2], { box: [0, 1, 1], minFraction: 0.5, low: [0, 0, 0], high: [2, 2, 2] }),
    /boxShape/,
  );
});

test('validCentresBlockwise: slab by slab, the same centres and known count as one whole table', async () => {
  const { validCentresBlockwise, countKnownBlockwise } = await import('../../src/train/integral.js');
  for (const [shape, box, fraction] of [
    [[13, 6, 7], [4, 3, 3], 0.5],
    [[9, 5, 8], [5, 2, 4], 0.2],
    [[3, 4, 4], [6, 2, 2], 0.1],
    [[1, 3, 3], [1, 1, 1], 1],
  ] as [number[], number[], number][]) {
    const mask = randomMask(`b${shape}`, shape, 0.4);
    const whole = validCentres(integralVolume(mask, shape), shape, {
      box,
      minFraction: fraction,
      low: [0, 0, 0],
      high: shape,
    });
    const plane = shape[1]! * shape[2]!;
    const planes = async (z0: number, z1: number) => mask.subarray(z0 * plane, z1 * plane);
    const known = mask.reduce((a, v) => a + (v ? 1 : 0), 0);
    for (const slabVoxels of [1, plane * 2, plane * 5, 10 ** 6]) {
      const got = await validCentresBlockwise(planes, shape, box, fraction, slabVoxels);
      assert.equal(got.centres.count, whole.count, `count, shape ${shape}, slab ${slabVoxels}`);
      assert.deepEqual(got.centres.toArray(), whole.toArray());
      for (let i = 0; i < whole.count; i += 7) assert.deepEqual(got.centres.at(i), whole.at(i));
      assert.equal(got.known, known);
      assert.equal(await countKnownBlockwise(planes, shape, slabVoxels), known);
    }
  }
});

test('validCentresOfBox: the centres of an all-known volume, as its table gives them', async () => {
  const { validCentresBlockwise, validCentresOfBox } = await import('../../src/train/integral.js');
  for (const [shape, box, fraction, step] of [
    [[13, 6, 7], [4, 3, 3], 0.5, [1, 1, 1]],
    [[9, 5, 8], [5, 2, 4], 0.2, [1, 1, 1]],
    [[3, 4, 4], [6, 2, 2], 0.9, [1, 1, 1]],
    [[20, 12, 10], [16, 9, 12], 0.6, [2, 1, 3]],
    [[7, 7, 7], [8, 8, 8], 0, [1, 2, 1]],
    [[7, 7, 7], [8, 8, 8], 1, [1, 1, 1]],
  ] as [number[], number[], number, number[]][]) {
    const ones = new Uint8Array(shape[0]! * shape[1]! * shape[2]!).fill(1);
    const plane = shape[1]! * shape[2]!;
    const planes = async (z0: number, z1: number) => ones.subarray(z0 * plane, z1 * plane);
    const want = (await validCentresBlockwise(planes, shape, box, fraction, undefined, step)).centres;
    const got = validCentresOfBox(shape, box, fraction, step);
    assert.equal(got.count, want.count, `count, shape ${shape}, box ${box}, ${fraction}`);
    assert.deepEqual(got.toArray(), want.toArray());
    const rng = makeRng('box');
    for (let i = 0; i < 20 && want.count > 0; i++) {
      const r = rng.fork(i);
      assert.deepEqual(got.sample(r), want.sample(rng.fork(i)));
    }
  }
});
