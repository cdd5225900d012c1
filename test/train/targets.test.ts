import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  affinitiesTarget,
  boundaryFlags,
  boundaryTarget,
  interiorInto,
  idWords,
  concatTargetMask,
  makeTarget,
  semanticTarget,
  targetChannels,
  type TargetResult,
} from '../../src/train/targets.js';
import { makeRng } from '../../src/train/random.js';
import { remapOf, scatterOf } from '../../src/train/augment.js';
import type { LabelArray } from '../../src/types.js';

type Ctor = new (n: number) => LabelArray;

function randomVolume(
  seed: string,
  shape: number[],
  ids: number,
  Type: Ctor,
  bigIds = true,
): { labels: LabelArray; mask: Uint8Array } {
  const rng = makeRng(seed);
  const n = shape[0]! * shape[1]! * shape[2]!;
  const labels = new Type(n);
  const mask = new Uint8Array(n);
  // Blocky labels so that interiors exist: ids constant over 2x2x2 cells, with some noise.
  for (let z = 0; z < shape[0]!; z++)
    for (let y = 0; y < shape[1]!; y++)
      for (let x = 0; x < shape[2]!; x++) {
        const i = (z * shape[1]! + y) * shape[2]! + x;
        const cell = makeRng(`${seed}/${z >> 1},${y >> 1},${x >> 1}`).int(ids);
        const id = rng.next() < 0.1 ? rng.int(ids) : cell;
        labels[i] = labels instanceof BigUint64Array ? BigInt(id) + (id && bigIds ? 2n ** 40n : 0n) : id;
        mask[i] = rng.next() < 0.8 ? 1 : 0;
      }
  return { labels, mask };
}

const at = (l: LabelArray, shape: number[], z: number, y: number, x: number) => l[(z * shape[1]! + y) * shape[2]! + x]!;
const inside = (shape: number[], z: number, y: number, x: number) =>
  z >= 0 && y >= 0 && x >= 0 && z < shape[0]! && y < shape[1]! && x < shape[2]!;

const types: [string, Ctor][] = [
  ['Uint8Array', Uint8Array],
  ['Uint16Array', Uint16Array],
  ['Uint32Array', Uint32Array],
  ['Int32Array', Int32Array],
  ['BigUint64Array', BigUint64Array],
];

test('boundaryTarget matches brute force', () => {
  for (const [name, Type] of types) {
    for (const shape of [
      [5, 6, 7],
      [1, 4, 9],
      [3, 1, 1],
      [4, 4, 4],
    ]) {
      const { labels, mask } = randomVolume(`b/${name}/${shape}`, shape, 4, Type);
      const r = boundaryTarget(labels, mask, shape);
      assert.equal(r.channels, 1);
      assert.equal(r.maskChannels, 1);
      let ones = 0;
      for (let z = 0; z < shape[0]!; z++)
        for (let y = 0; y < shape[1]!; y++)
          for (let x = 0; x < shape[2]!; x++) {
            const l = at(labels, shape, z, y, x);
            let interior = Number(l) !== 0;
            for (const [dz, dy, dx] of [
              [1, 0, 0],
              [-1, 0, 0],
              [0, 1, 0],
              [0, -1, 0],
              [0, 0, 1],
              [0, 0, -1],
            ] as const) {
              if (inside(shape, z + dz, y + dy, x + dx) && at(labels, shape, z + dz, y + dy, x + dx) !== l)
                interior = false;
            }
            const i = (z * shape[1]! + y) * shape[2]! + x;
            assert.equal(r.target[i], interior ? 1 : 0, `${name} ${shape} at ${z},${y},${x}`);
            assert.equal(r.mask[i], mask[i]);
            ones += interior ? 1 : 0;
          }
      if (shape[0] === 4 && shape[1] === 4) assert.ok(ones > 0, 'some interiors exist');
    }
  }
});

/** Every mirror × transpose plan of 3 axes. */
function allPlans(): { mirror: boolean[]; transpose: number[] }[] {
  const perms = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ];
  const plans = [];
  for (let m = 0; m < 8; m++)
    for (const transpose of perms) plans.push({ mirror: [!!(m & 4), !!(m & 2), !!(m & 1)], transpose });
  return plans;
}

test('boundary flags through interiorInto (target ⊕ mask into ys) = boundaryTarget read through remapOf, every plan, thin shapes', () => {
  // uint64 ids whose float64 readings are NaN, ±Infinity or −0, next to ordinary ones: the
  // float64 comparisons must give way to word pairs, exactly.
  const odd = [
    0n,
    5n,
    2n ** 63n, // −0
    0x7ff0000000000000n, // +Infinity
    0x7ff0000000000001n, // NaN
    0xfff8000000000000n, // NaN
    0x7fefffffffffffffn, // the largest finite
    2n ** 33n + 5n, // the same low word as 5 under another high word
  ];
  const shapes = [
    [4, 4, 4],
    [3, 5, 2],
    [1, 1, 1],
    [1, 4, 5],
    [6, 1, 1],
    [2, 1, 7],
  ];
  let cases = 0;
  for (const shape of shapes) {
    const n = shape[0]! * shape[1]! * shape[2]!;
    const volumes: [string, LabelArray][] = types.map(([name, Type]) => [
      name,
      randomVolume(`s/${name}/${shape}`, shape, 3, Type).labels,
    ]);
    const rng = makeRng(`odd/${shape}`);
    // Halves of one id each (interiors of every odd id), and a noisy mix.
    for (const a of odd)
      for (const b of [odd[1]!, odd[2]!, odd[4]!]) {
        const half = BigUint64Array.from({ length: n }, (_, i) => (i % shape[2]! < shape[2]! / 2 ? a : b));
        volumes.push([`uint64 ${a} | ${b}`, half]);
      }
    volumes.push(['odd uint64', BigUint64Array.from({ length: n }, () => odd[rng.int(odd.length)]!)]);
    const known = Uint8Array.from({ length: n }, () => [0, 1, 255][rng.int(3)]!);
    for (const [name, labels] of volumes) {
      const want = boundaryTarget(labels, known, shape).target;
      for (const plan of allPlans()) {
        for (const mask of [known, null]) {
          const ys = new Float32Array(2 * n + 3).fill(-1);
          const flags = new Uint8Array(n);
          boundaryFlags(idWords(labels), shape, flags);
          interiorInto(flags, mask, shape, scatterOf(shape, 2, plan), ys, 3);
          const map = remapOf(shape, 1, plan);
          const [Z, Y, X] = map.shape as [number, number, number];
          const expected = new Float32Array(2 * n + 3).fill(-1);
          for (let z = 0, v = 0; z < Z; z++)
            for (let y = 0; y < Y; y++)
              for (let x = 0; x < X; x++, v++) {
                const q = map.base + z * map.steps[0]! + y * map.steps[1]! + x * map.steps[2]!;
                expected[3 + 2 * v] = want[q]!;
                expected[3 + 2 * v + 1] = mask === null || mask[q] !== 0 ? 1 : 0;
              }
          assert.deepEqual(ys, expected, `${name} ${shape} plan ${JSON.stringify(plan)} mask ${mask !== null}`);
          cases++;
        }
      }
    }
  }
  assert.ok(cases > 500);
});

test('boundaryTarget: border neighbours outside the volume are ignored', () => {
  const shape = [2, 2, 2];
  const r = boundaryTarget(new Uint8Array(8).fill(3), new Uint8Array(8).fill(1), shape);
  assert.deepEqual([...r.target], new Array(8).fill(1));
  const r0 = boundaryTarget(new Uint8Array(8), new Uint8Array(8), shape);
  assert.deepEqual([...r0.target], new Array(8).fill(0));
});

test('affinitiesTarget matches brute force, including the mask semantics', () => {
  const offsetSets = [
    undefined,
    [
      [-1, 0, 0],
      [0, -1, 0],
      [0, 0, -1],
      [0, 0, -3],
      [2, 1, 0],
      [0, 0, 1],
    ],
  ];
  for (const [name, Type] of types) {
    for (const offsets of offsetSets) {
      const shape = [4, 5, 6];
      const { labels, mask } = randomVolume(`a/${name}`, shape, 3, Type);
      const r = affinitiesTarget(labels, mask, shape, offsets);
      const offs = offsets ?? [
        [-1, 0, 0],
        [0, -1, 0],
        [0, 0, -1],
      ];
      const K = offs.length;
      assert.equal(r.channels, K);
      assert.equal(r.maskChannels, K);
      assert.equal(r.target.length, 4 * 5 * 6 * K);
      assert.equal(r.mask.length, 4 * 5 * 6 * K);
      for (let z = 0; z < 4; z++)
        for (let y = 0; y < 5; y++)
          for (let x = 0; x < 6; x++) {
            const i = (z * 5 + y) * 6 + x;
            offs.forEach(([dz, dy, dx], k) => {
              const [z2, y2, x2] = [z + dz!, y + dy!, x + dx!];
              let aff = 0,
                known = 0;
              if (inside(shape, z2, y2, x2)) {
                const j = (z2 * 5 + y2) * 6 + x2;
                const l = at(labels, shape, z, y, x);
                aff = Number(l) !== 0 && labels[j] === l ? 1 : 0;
                known = mask[i] && mask[j] ? 1 : 0;
              }
              assert.equal(r.target[i * K + k], aff, `${name} aff ${k} at ${z},${y},${x}`);
              assert.equal(r.mask[i * K + k], known, `${name} mask ${k} at ${z},${y},${x}`);
            });
          }
    }
  }
});

test('affinities: a voxel pair is unknown if either voxel is unknown', () => {
  const shape = [1, 1, 3];
  const labels = new Uint8Array([1, 1, 1]);
  const r = affinitiesTarget(labels, new Uint8Array([1, 0, 1]), shape, [[0, 0, -1]]);
  assert.deepEqual([...r.target], [0, 1, 1]); // voxel 0 has no neighbour at x-1
  assert.deepEqual([...r.mask], [0, 0, 0]); // 0: outside; 1: itself unknown; 2: neighbour unknown
  const r2 = affinitiesTarget(labels, new Uint8Array([1, 1, 1]), shape, [[0, 0, -1]]);
  assert.deepEqual([...r2.mask], [0, 1, 1]);
});

test('semanticTarget one-hot and errors', () => {
  for (const [name, Type] of types) {
    const shape = [2, 3, 4];
    const { labels, mask } = randomVolume(`s/${name}`, shape, 3, Type, false);
    const r = semanticTarget(labels, mask, shape, 3);
    assert.equal(r.channels, 3);
    assert.equal(r.maskChannels, 1);
    for (let i = 0; i < 24; i++) {
      for (let c = 0; c < 3; c++) assert.equal(r.target[i * 3 + c], Number(labels[i]) === c ? 1 : 0);
      assert.equal(r.mask[i], mask[i]);
    }
  }
  const shape = [1, 1, 3];
  assert.throws(
    () => semanticTarget(new Uint8Array([0, 5, 1]), new Uint8Array(3), shape, 3),
    /label 5.*numClasses = 3/,
  );
  assert.throws(
    () => semanticTarget(new BigUint64Array([0n, 2n ** 63n, 1n]), new Uint8Array(3), shape, 3),
    /label 9223372036854775808.*numClasses = 3/,
  );
  assert.throws(() => semanticTarget(new Int32Array([0, -1, 1]), new Uint8Array(3), shape, 3), /label -1/);
});

test('input validation', () => {
  assert.throws(() => boundaryTarget(new Uint8Array(5), new Uint8Array(6), [1, 2, 3]), /labels have 5/);
  assert.throws(() => boundaryTarget(new Uint8Array(6), new Uint8Array(5), [1, 2, 3]), /mask has 5/);
  assert.throws(() => affinitiesTarget(new Uint8Array(6), new Uint8Array(6), [1, 2, 3], [[0, 1]]), /offset/);
});

test('makeTarget dispatches and validates user functions', () => {
  const shape = [2, 2, 2];
  const labels = new Uint16Array([1, 1, 2, 2, 1, 1, 2, 0]);
  const mask = new Uint8Array([1, 1, 1, 1, 0, 1, 1, 1]);
  assert.deepEqual(makeTarget('boundary', labels, mask, shape), boundaryTarget(labels, mask, shape));
  assert.deepEqual(makeTarget('affinities', labels, mask, shape), affinitiesTarget(labels, mask, shape));
  assert.deepEqual(
    makeTarget('affinities', labels, mask, shape, { offsets: [[0, 0, -1]] }),
    affinitiesTarget(labels, mask, shape, [[0, 0, -1]]),
  );
  assert.deepEqual(
    makeTarget('semantic', labels, mask, shape, { numClasses: 3 }),
    semanticTarget(labels, mask, shape, 3),
  );
  assert.throws(() => makeTarget('semantic', labels, mask, shape), /numClasses/);
  assert.throws(() => makeTarget('nope' as 'boundary', labels, mask, shape), /unknown target 'nope'/);

  const fn = (l: LabelArray, m: Uint8Array): TargetResult => ({
    target: Float32Array.from(l as Uint16Array, (v) => v * 2),
    channels: 1,
    mask: Float32Array.from(m),
    maskChannels: 1,
  });
  const r = makeTarget(fn, labels, mask, shape);
  assert.deepEqual([...r.target], [2, 2, 4, 4, 2, 2, 4, 0]);
  const bad = (): TargetResult => ({
    target: new Float32Array(3),
    channels: 1,
    mask: new Float32Array(8),
    maskChannels: 1,
  });
  assert.throws(() => makeTarget(bad, labels, mask, shape), /target of 3 elements/);

  assert.deepEqual(targetChannels('boundary'), { channels: 1, maskChannels: 1 });
  assert.deepEqual(targetChannels('affinities'), { channels: 3, maskChannels: 3 });
  assert.deepEqual(targetChannels('semantic', { numClasses: 4 }), { channels: 4, maskChannels: 1 });
  assert.equal(targetChannels(fn), null);
});

test('concatTargetMask interleaves target then mask per voxel', () => {
  const r: TargetResult = {
    target: new Float32Array([1, 2, 3, 4, 5, 6]),
    channels: 3,
    mask: new Float32Array([7, 8]),
    maskChannels: 1,
  };
  assert.deepEqual([...concatTargetMask(r)], [1, 2, 3, 7, 4, 5, 6, 8]);
});
