import { test } from 'node:test';
import assert from 'node:assert/strict';
import { affinityComponents, connectedComponents, UnionFind } from '../../src/eval/components.js';
import { mulberry32 } from '../helpers/random.js';

/**
 * Brute-force labelling: BFS from each unlabelled voxel in raster order over the given
 * neighbour function; numbering follows raster order of first voxels by construction.
 */
function bruteForce(
  n: number,
  include: (v: number) => boolean,
  neighbours: (v: number) => number[],
): { labels: Uint32Array; count: number } {
  const labels = new Uint32Array(n);
  let count = 0;
  for (let s = 0; s < n; s++) {
    if (!include(s) || labels[s] !== 0) continue;
    count++;
    labels[s] = count;
    const queue = [s];
    while (queue.length > 0) {
      const v = queue.pop()!;
      for (const u of neighbours(v)) {
        if (include(u) && labels[u] === 0) {
          labels[u] = count;
          queue.push(u);
        }
      }
    }
  }
  return { labels, count };
}

function bruteForceCC(fg: Uint8Array, [nz, ny, nx]: number[]) {
  const idx = (z: number, y: number, x: number) => (z * ny + y) * nx + x;
  return bruteForce(
    fg.length,
    (v) => fg[v] !== 0,
    (v) => {
      const x = v % nx,
        y = Math.floor(v / nx) % ny,
        z = Math.floor(v / (nx * ny));
      const out: number[] = [];
      for (const [dz, dy, dx] of [
        [1, 0, 0],
        [-1, 0, 0],
        [0, 1, 0],
        [0, -1, 0],
        [0, 0, 1],
        [0, 0, -1],
      ]) {
        const zz = z + dz,
          yy = y + dy,
          xx = x + dx;
        if (zz >= 0 && zz < nz && yy >= 0 && yy < ny && xx >= 0 && xx < nx) out.push(idx(zz, yy, xx));
      }
      return out;
    },
  );
}

test('connected components: hand case', () => {
  // z=0:  1 1 0     z=1: 0 0 0
  //       0 0 1          1 0 1
  const fg = new Uint8Array([1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1]);
  const { labels, count } = connectedComponents(fg, [2, 2, 3]);
  assert.equal(count, 3);
  assert.deepEqual([...labels], [1, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 2]);
});

test('connected components: U shape merges two early roots', () => {
  // one slice, 3x3: a U whose arms start separately in raster order
  const fg = new Uint8Array([1, 0, 1, 1, 0, 1, 1, 1, 1]);
  const { labels, count } = connectedComponents(fg, [1, 3, 3]);
  assert.equal(count, 1);
  assert.deepEqual([...labels], [1, 0, 1, 1, 0, 1, 1, 1, 1]);
});

test('connected components match brute force on random volumes (exact numbering)', () => {
  const rand = mulberry32(1);
  for (let trial = 0; trial < 60; trial++) {
    const shape = [1 + Math.floor(rand() * 7), 1 + Math.floor(rand() * 9), 1 + Math.floor(rand() * 11)];
    const n = shape[0] * shape[1] * shape[2];
    const p = 0.2 + 0.6 * rand();
    const fg = Uint8Array.from({ length: n }, () => (rand() < p ? 1 + Math.floor(rand() * 3) : 0));
    const got = connectedComponents(fg, shape);
    const want = bruteForceCC(fg, shape);
    assert.equal(got.count, want.count);
    assert.deepEqual(got.labels, want.labels);
  }
});

test('connected components: empty, full, shape errors, connectivity', () => {
  assert.deepEqual(connectedComponents(new Uint8Array(8), [2, 2, 2]), { labels: new Uint32Array(8), count: 0 });
  const full = connectedComponents(new Uint8Array(24).fill(1), [2, 3, 4]);
  assert.equal(full.count, 1);
  assert.ok(full.labels.every((l) => l === 1));
  assert.deepEqual(connectedComponents(new Uint8Array(0), [0, 3, 3]).count, 0);
  assert.throws(() => connectedComponents(new Uint8Array(7), [2, 2, 2]), /length 7/);
  assert.throws(() => connectedComponents(new Uint8Array(8), [2, 4]), /shape/);
  assert.throws(() => connectedComponents(new Uint8Array(8), [2, 2, 2], { connectivity: 26 as 6 }), /connectivity/);
});

test('connected components of a 64^3 volume vs brute force', () => {
  const rand = mulberry32(9);
  const shape = [64, 64, 64];
  const fg = Uint8Array.from({ length: 64 ** 3 }, () => (rand() < 0.35 ? 1 : 0));
  const got = connectedComponents(fg, shape);
  const want = bruteForceCC(fg, shape);
  assert.equal(got.count, want.count);
  assert.deepEqual(got.labels, want.labels);
});

function bruteForceAffinity(aff: Float32Array, [nz, ny, nx]: number[], offsets: number[][], threshold: number) {
  const n = nz * ny * nx;
  const c = offsets.length;
  const adj: number[][] = Array.from({ length: n }, () => []);
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++) {
        const v = (z * ny + y) * nx + x;
        offsets.forEach(([dz, dy, dx], k) => {
          const zz = z + dz,
            yy = y + dy,
            xx = x + dx;
          if (zz < 0 || zz >= nz || yy < 0 || yy >= ny || xx < 0 || xx >= nx) return;
          if (!(aff[v * c + k] > threshold)) return;
          const u = (zz * ny + yy) * nx + xx;
          adj[v].push(u);
          adj[u].push(v);
        });
      }
  return bruteForce(
    n,
    () => true,
    (v) => adj[v],
  );
}

test('affinity components: hand case', () => {
  // 1x1x4 line, offset [0,0,-1]: affinity at x links x-1 and x.
  const aff = new Float32Array([0.9, 0.9, 0.1, 0.8]);
  const r = affinityComponents(aff, [1, 1, 4], [[0, 0, -1]], 0.5);
  assert.equal(r.count, 2);
  assert.deepEqual([...r.labels], [1, 1, 2, 2]);
  // threshold is strict: equal is not above
  assert.deepEqual([...affinityComponents(aff, [1, 1, 4], [[0, 0, -1]], 0.9).labels], [1, 2, 3, 4]);
  // positive offset: affinity at x links x and x+1; the last one points outside and is ignored
  const r2 = affinityComponents(new Float32Array([0.1, 0.9, 0.9, 0.9]), [1, 1, 4], [[0, 0, 1]], 0.5);
  assert.deepEqual([...r2.labels], [1, 2, 2, 2]);
});

test('affinity components match brute force on random volumes', () => {
  const rand = mulberry32(2);
  const offsetSets = [
    [
      [-1, 0, 0],
      [0, -1, 0],
      [0, 0, -1],
    ],
    [
      [-1, 0, 0],
      [0, -1, 0],
      [0, 0, -1],
      [0, 0, -3],
      [0, -2, 0],
      [-2, 0, 0],
    ],
    [
      [1, 0, 0],
      [0, 1, -1],
    ],
  ];
  for (let trial = 0; trial < 40; trial++) {
    const shape = [1 + Math.floor(rand() * 6), 1 + Math.floor(rand() * 7), 1 + Math.floor(rand() * 8)];
    const offsets = offsetSets[trial % offsetSets.length];
    const n = shape[0] * shape[1] * shape[2];
    const aff = Float32Array.from({ length: n * offsets.length }, () => rand());
    const threshold = 0.3 + 0.5 * rand();
    const got = affinityComponents(aff, shape, offsets, threshold);
    const want = bruteForceAffinity(aff, shape, offsets, threshold);
    assert.equal(got.count, want.count);
    assert.deepEqual(got.labels, want.labels);
    assert.ok(got.labels.every((l) => l >= 1));
  }
});

test('affinity components: errors', () => {
  assert.throws(
    () =>
      affinityComponents(
        new Float32Array(8),
        [2, 2, 2],
        [
          [-1, 0, 0],
          [0, 0, -1],
        ],
        0.5,
      ),
    /length 8/,
  );
  assert.throws(() => affinityComponents(new Float32Array(8), [2, 2, 2], [], 0.5), /offset/);
  assert.throws(() => affinityComponents(new Float32Array(8), [2, 2, 2], [[0, 1]], 0.5), /offsets/);
});

test('UnionFind: smallest element represents its set', () => {
  const uf = new UnionFind(6);
  uf.union(4, 5);
  uf.union(5, 2);
  assert.equal(uf.find(4), 2);
  assert.ok(uf.connected(2, 5));
  assert.ok(!uf.connected(0, 5));
  uf.union(3, 0);
  uf.union(4, 3);
  assert.equal(uf.find(5), 0);
  assert.equal(uf.find(1), 1);
});

test('growLabels: breadth-first from every segment, against brute-force nearest segment', async () => {
  const { growLabels } = await import('../../src/eval/components.js');
  const rand = mulberry32(7);
  for (let trial = 0; trial < 20; trial++) {
    const shape = [3 + (trial % 3), 4, 5];
    const n = shape[0]! * shape[1]! * shape[2]!;
    const labels = new Uint32Array(n);
    for (let i = 0; i < n; i++) if (rand() < 0.15) labels[i] = 1 + Math.floor(rand() * 4);
    const grown = growLabels(labels, shape);
    const any = labels.some((v) => v !== 0);
    for (let v = 0; v < n; v++) {
      if (labels[v] !== 0) assert.equal(grown[v], labels[v]);
      else if (!any) assert.equal(grown[v], 0);
      else {
        // The grown id must belong to a segment voxel at the minimal city-block distance.
        const [z, y, x] = [Math.floor(v / 20), Math.floor(v / 5) % 4, v % 5];
        let best = Infinity;
        const ids = new Set<number>();
        for (let u = 0; u < n; u++) {
          if (labels[u] === 0) continue;
          const d = Math.abs(Math.floor(u / 20) - z) + Math.abs((Math.floor(u / 5) % 4) - y) + Math.abs((u % 5) - x);
          if (d < best) {
            best = d;
            ids.clear();
          }
          if (d === best) ids.add(labels[u]!);
        }
        assert.ok(ids.has(grown[v]!), `voxel ${v}`);
      }
    }
  }
});
