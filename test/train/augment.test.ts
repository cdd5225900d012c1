import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyAugment, planAugment, type AugmentPlan, type AugmentSample } from '../../src/train/augment.js';
import { makeRng } from '../../src/train/random.js';

/**
 * A sample whose raw holds, per voxel, its own world coordinate (3 channels: z, y, x) and whose
 * labels/mask are functions of the label voxel's world coordinate. Raw is centred on the labels:
 * raw voxel r ↔ world r; label voxel l ↔ world l + ctx.
 */
function coordSample(labelShape: number[], rawSpatial: number[], Big = false): AugmentSample {
  const ctx = rawSpatial.map((r, i) => (r - labelShape[i]!) / 2);
  const [RZ, RY, RX] = rawSpatial as [number, number, number];
  const raw = new Float32Array(RZ * RY * RX * 3);
  for (let z = 0; z < RZ; z++)
    for (let y = 0; y < RY; y++)
      for (let x = 0; x < RX; x++) {
        const i = ((z * RY + y) * RX + x) * 3;
        raw[i] = z;
        raw[i + 1] = y;
        raw[i + 2] = x;
      }
  const [LZ, LY, LX] = labelShape as [number, number, number];
  const n = LZ * LY * LX;
  const labels = Big ? new BigUint64Array(n) : new Uint32Array(n);
  const mask = new Uint8Array(n);
  for (let z = 0; z < LZ; z++)
    for (let y = 0; y < LY; y++)
      for (let x = 0; x < LX; x++) {
        const i = (z * LY + y) * LX + x;
        const w = [z + ctx[0]!, y + ctx[1]!, x + ctx[2]!];
        const id = encode(w);
        if (labels instanceof BigUint64Array) labels[i] = BigInt(id) * 2n ** 32n + 5n;
        else labels[i] = id;
        mask[i] = maskOf(w);
      }
  return { raw, rawShape: [...rawSpatial, 3], labels, mask, labelShape };
}

const encode = (w: number[]) => 1 + w[0]! * 10000 + w[1]! * 100 + w[2]!;
const maskOf = (w: number[]) => (w[0]! * 7 + w[1]! * 3 + w[2]! * 11) % 251;
const decodeLabel = (v: number | bigint): number[] => {
  const id = typeof v === 'bigint' ? Number((v - 5n) / 2n ** 32n) : v;
  const k = id - 1;
  return [Math.floor(k / 10000), Math.floor(k / 100) % 100, k % 100];
};

/** Every label voxel's world coordinate equals the coordinate stored in raw at the matching voxel. */
function checkAligned(out: AugmentSample): void {
  const [LZ, LY, LX] = out.labelShape as [number, number, number];
  const [RZ, RY, RX] = out.rawShape as [number, number, number];
  const cz = (RZ - LZ) / 2,
    cy = (RY - LY) / 2,
    cx = (RX - LX) / 2;
  for (let z = 0; z < LZ; z++)
    for (let y = 0; y < LY; y++)
      for (let x = 0; x < LX; x++) {
        const i = (z * LY + y) * LX + x;
        const w = decodeLabel(out.labels[i]!);
        const r = (((z + cz) * RY + (y + cy)) * RX + (x + cx)) * 3;
        assert.deepEqual([out.raw[r], out.raw[r + 1], out.raw[r + 2]], w, `label voxel ${z},${y},${x}`);
        assert.equal(out.mask[i], maskOf(w), `mask at ${z},${y},${x}`);
      }
}

/** Reference: out[o] = in[q], q[t[i]] = mirror[t[i]] ? n - 1 - o[i] : o[i]. */
function checkGeometry(plan: AugmentPlan, inp: AugmentSample, out: AugmentSample): void {
  const s = inp.labelShape,
    t = plan.transpose;
  const os = out.labelShape;
  assert.deepEqual(
    os,
    t.map((a) => s[a]),
  );
  for (let z = 0; z < os[0]!; z++)
    for (let y = 0; y < os[1]!; y++)
      for (let x = 0; x < os[2]!; x++) {
        const o = [z, y, x];
        const q = [0, 0, 0];
        for (let i = 0; i < 3; i++) q[t[i]!] = plan.mirror[t[i]!] ? s[t[i]!]! - 1 - o[i]! : o[i]!;
        assert.equal(out.labels[(z * os[1]! + y) * os[2]! + x], inp.labels[(q[0]! * s[1]! + q[1]!) * s[2]! + q[2]!]);
      }
}

test('makeRng: deterministic, forks depend on seed and label only', () => {
  const a = makeRng(42),
    b = makeRng('42');
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(
    Array.from({ length: 5 }, () => b.next()),
    xs,
  );
  assert.ok(xs.every((v) => v >= 0 && v < 1));
  const f1 = makeRng(42).fork('sample/3');
  const p = makeRng(42);
  p.next();
  p.next();
  const f2 = p.fork('sample/3');
  assert.equal(f1.next(), f2.next());
  assert.notEqual(makeRng(42).fork(3).next(), makeRng(42).fork(4).next());
  assert.notEqual(makeRng(42).fork(3).next(), makeRng(43).fork(3).next());
  const r = makeRng(1);
  for (let i = 0; i < 1000; i++) {
    const k = r.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
  }
  assert.throws(() => r.int(0));
  // seedrandom's ARC4 treats '1' and '11' alike; ours must not.
  assert.notEqual(makeRng(1).next(), makeRng(11).next());
  assert.notEqual(makeRng('ab').next(), makeRng('abab').next());
  assert.equal(makeRng(5).fork('a').seed, '5/a');
});

test('cube: raw, labels and mask stay aligned; all mirrors and permutations occur', () => {
  const inp = coordSample([5, 5, 5], [5, 5, 5]);
  const seen = new Set<string>();
  for (let s = 0; s < 200; s++) {
    const plan = planAugment(makeRng(s), {}, [5, 5, 5], [1, 1, 1]);
    const out = applyAugment(plan, inp);
    checkAligned(out);
    checkGeometry(plan, inp, out);
    seen.add(`${plan.mirror}|${plan.transpose}`);
  }
  assert.equal(seen.size, 8 * 6);
  // Inputs untouched.
  checkAligned(inp);
  checkGeometry({ mirror: [false, false, false], transpose: [0, 1, 2], intensity: null, gamma: null }, inp, inp);
});

test('raw bigger than labels (even context): aligned everywhere', () => {
  const labelShape = [4, 6, 6],
    rawSpatial = [8, 10, 10];
  const inp = coordSample(labelShape, rawSpatial);
  const transposes = new Set<string>();
  const mirrors = new Set<string>();
  for (let s = 0; s < 100; s++) {
    const plan = planAugment(makeRng(`e${s}`), { transpose: true, mirror: true }, [labelShape, rawSpatial], [8, 8, 8]);
    assert.equal(plan.transpose[0], 0, 'z has another extent, never transposed');
    const out = applyAugment(plan, inp);
    checkAligned(out);
    checkGeometry(plan, inp, out);
    transposes.add(`${plan.transpose}`);
    mirrors.add(`${plan.mirror}`);
  }
  assert.deepEqual([...transposes].sort(), ['0,1,2', '0,2,1']);
  assert.equal(mirrors.size, 8);
});

test('odd context: that axis is never mirrored; anisotropic voxels are never transposed', () => {
  const labelShape = [4, 6, 6],
    rawSpatial = [7, 10, 9];
  const inp = coordSample(labelShape, [8, 10, 10]);
  for (let s = 0; s < 50; s++) {
    const plan = planAugment(makeRng(s), {}, [labelShape, rawSpatial], [1, 1, 1]);
    assert.equal(plan.mirror[0], false);
    assert.equal(plan.mirror[2], false);
    assert.deepEqual(plan.transpose, [0, 1, 2]); // y and x differ in raw extent
  }
  const cube = coordSample([6, 6, 6], [6, 6, 6]);
  for (let s = 0; s < 50; s++) {
    const plan = planAugment(makeRng(s), {}, [6, 6, 6], [40, 4, 4]);
    assert.equal(plan.transpose[0], 0);
    checkAligned(applyAugment(plan, cube));
  }
  // A plan that does not suit the sample is refused.
  const badPlan: AugmentPlan = { mirror: [true, false, false], transpose: [0, 1, 2], intensity: null, gamma: null };
  assert.throws(
    () => applyAugment(badPlan, { ...inp, raw: new Float32Array(7 * 10 * 10 * 3), rawShape: [7, 10, 10, 3] }),
    /odd/,
  );
  const badT: AugmentPlan = { mirror: [false, false, false], transpose: [1, 0, 2], intensity: null, gamma: null };
  assert.throws(() => applyAugment(badT, inp), /transposes axes/);
});

test('per-axis mirror option and transpose off', () => {
  for (let s = 0; s < 40; s++) {
    const plan = planAugment(makeRng(s), { mirror: [false, true, false], transpose: false }, [4, 4, 4], [1, 1, 1]);
    assert.equal(plan.mirror[0], false);
    assert.equal(plan.mirror[2], false);
    assert.deepEqual(plan.transpose, [0, 1, 2]);
  }
  assert.throws(() => planAugment(makeRng(0), { mirror: [true] }, [4, 4, 4], [1, 1, 1]), /per spatial axis/);
});

test('determinism from the seed; the draw count does not depend on the options', () => {
  const opts = {
    intensity: { scale: [0.8, 1.2] as [number, number], shift: [-0.1, 0.1] as [number, number] },
    gamma: [0.5, 2] as [number, number],
  };
  const a = planAugment(makeRng('x').fork(7), opts, [6, 6, 6], [1, 1, 1]);
  const b = planAugment(makeRng('x').fork(7), opts, [6, 6, 6], [1, 1, 1]);
  assert.deepEqual(a, b);
  const inp = coordSample([6, 6, 6], [6, 6, 6]);
  inp.raw = inp.raw.map((v) => v / 10);
  assert.deepEqual(applyAugment(a, inp), applyAugment(b, inp));
  // Turning intensity off leaves the geometry drawn from the same stream unchanged.
  const c = planAugment(makeRng('x').fork(7), {}, [6, 6, 6], [1, 1, 1]);
  assert.deepEqual([c.mirror, c.transpose], [a.mirror, a.transpose]);
  const r1 = makeRng(9),
    r2 = makeRng(9);
  planAugment(r1, {}, [6, 6, 6], [1, 1, 1]);
  planAugment(r2, opts, [6, 6, 6], [1, 1, 1]);
  assert.equal(r1.next(), r2.next());
  const plans = new Set<string>();
  for (let s = 0; s < 20; s++) plans.add(JSON.stringify(planAugment(makeRng(s), opts, [6, 6, 6], [1, 1, 1])));
  assert.equal(plans.size, 20);
});

test('intensity and gamma on raw only, values as specified', () => {
  const opts = {
    mirror: false,
    transpose: false,
    intensity: { scale: [0.5, 1.5] as [number, number], shift: [-0.2, 0.2] as [number, number] },
    gamma: [0.5, 2] as [number, number],
  };
  const inp = coordSample([3, 3, 3], [3, 3, 3]);
  inp.raw = inp.raw.map((v, i) => ((v * 7 + i) % 11) / 10 - 0.05); // some values outside [0, 1]
  for (let s = 0; s < 10; s++) {
    const plan = planAugment(makeRng(s), opts, [3, 3, 3], [1, 1, 1]);
    const { scale, shift } = plan.intensity!;
    assert.ok(scale >= 0.5 && scale <= 1.5 && shift >= -0.2 && shift <= 0.2);
    assert.ok(plan.gamma! >= 0.5 && plan.gamma! <= 2);
    const out = applyAugment(plan, inp);
    for (let i = 0; i < inp.raw.length; i++) {
      const v = Math.min(1, Math.max(0, inp.raw[i]! * scale + shift));
      assert.ok(Math.abs(out.raw[i]! - v ** plan.gamma!) < 1e-6);
    }
    assert.deepEqual(out.labels, inp.labels);
    assert.deepEqual(out.mask, inp.mask);
  }
  // Gamma alone clips first; no intensity options: raw untouched.
  const g = applyAugment({ mirror: [false, false, false], transpose: [0, 1, 2], intensity: null, gamma: 2 }, inp);
  for (let i = 0; i < inp.raw.length; i++) {
    assert.ok(Math.abs(g.raw[i]! - Math.min(1, Math.max(0, inp.raw[i]!)) ** 2) < 1e-6);
  }
  const id = applyAugment(planAugment(makeRng(1), { mirror: false, transpose: false }, [3, 3, 3], [1, 1, 1]), inp);
  assert.deepEqual(id.raw, inp.raw);
  assert.notEqual(id.raw, inp.raw, 'a new array');
  assert.throws(() => planAugment(makeRng(0), { gamma: [0, 1] }, [3, 3, 3], [1, 1, 1]), /gamma must be > 0/);
  assert.throws(() => planAugment(makeRng(0), { intensity: { scale: [2, 1] } }, [3, 3, 3], [1, 1, 1]), /low ≤ high/);
});

test('BigUint64Array labels keep their type and exact ids', () => {
  const labelShape = [4, 4, 4],
    rawSpatial = [6, 8, 8];
  const inp = coordSample(labelShape, rawSpatial, true);
  assert.ok(inp.labels instanceof BigUint64Array);
  for (let s = 0; s < 30; s++) {
    const plan = planAugment(makeRng(s), {}, [labelShape, rawSpatial], [1, 1, 1]);
    const out = applyAugment(plan, inp);
    assert.ok(out.labels instanceof BigUint64Array);
    checkAligned(out);
    checkGeometry(plan, inp, out);
  }
  for (const Type of [Uint8Array, Uint16Array, Int32Array]) {
    const labels = new Type(8).map((_, i) => i);
    const out = applyAugment(planAugment(makeRng(3), {}, [2, 2, 2], [1, 1, 1]), {
      raw: new Float32Array(8),
      rawShape: [2, 2, 2, 1],
      labels,
      mask: new Uint8Array(8),
      labelShape: [2, 2, 2],
    });
    assert.equal(out.labels.constructor, Type);
    assert.deepEqual([...out.labels].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  }
});
