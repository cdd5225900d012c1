import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataConfig, openDataSplit, roi } from '../../src/index.js';
import { ChunkCache } from '../../src/zarr/chunk-cache.js';

test('ChunkCache: LRU bounded in bytes, hits refresh recency', async () => {
  const cache = new ChunkCache<string>({ maxBytes: 30 });
  const load = (v: string) => () => Promise.resolve(v);
  const size = () => 10;
  await cache.get('a', load('A'), size);
  await cache.get('b', load('B'), size);
  await cache.get('c', load('C'), size);
  await cache.get('a', load('x'), size); // hit: a becomes most recent
  await cache.get('d', load('D'), size); // evicts b, the least recent
  assert.equal(await cache.get('a', load('new'), size), 'A');
  assert.equal(await cache.get('b', load('B2'), size), 'B2');
  const s = cache.stats();
  assert.ok(s.bytes <= 30);
  assert.equal(s.evictions, 2);
});

test('ChunkCache: reserve takes part of the cap for derived data (evicting to fit), at most half of it', async () => {
  const cache = new ChunkCache<string>({ maxBytes: 40 });
  const size = () => 10;
  for (const k of ['a', 'b', 'c', 'd']) await cache.get(k, () => Promise.resolve(k), size);
  assert.equal(cache.stats().bytes, 40);
  assert.equal(cache.reserve(15), true);
  assert.deepEqual([cache.stats().bytes, cache.stats().evictions], [20, 2], 'chunks evicted down to the 25 left');
  assert.equal(cache.reserve(6), false, 'past half the cap');
  assert.equal(cache.reserve(5), true);
  await cache.get('e', () => Promise.resolve('e'), size);
  assert.ok(cache.stats().bytes <= 20);
  assert.equal(
    await cache.get(
      'big',
      () => Promise.resolve('big'),
      () => 25,
    ),
    'big',
  );
  assert.ok(cache.stats().bytes <= 20, 'a chunk larger than what is left is not kept');
});

test('ChunkCache: concurrent requests for one key load it once; loads run at most `concurrency` at a time', async () => {
  const cache = new ChunkCache<number>({ concurrency: 2 });
  let running = 0;
  let peak = 0;
  let loads = 0;
  const load = (v: number) => async () => {
    loads++;
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    return v;
  };
  const results = await Promise.all([
    ...Array.from({ length: 5 }, () => cache.get('same', load(1), () => 8)),
    ...Array.from({ length: 6 }, (_, i) => cache.get(`k${i}`, load(i), () => 8)),
  ]);
  assert.deepEqual(results.slice(0, 5), [1, 1, 1, 1, 1]);
  assert.equal(loads, 7);
  assert.ok(peak <= 2, `peak ${peak}`);
});

test('ChunkCache: a failed load is not cached', async () => {
  const cache = new ChunkCache<number>();
  await assert.rejects(
    cache.get(
      'k',
      () => Promise.reject(new Error('boom')),
      () => 1,
    ),
    /boom/,
  );
  assert.equal(
    await cache.get(
      'k',
      () => Promise.resolve(3),
      () => 1,
    ),
    3,
  );
});

test('overlapping patch reads decode each chunk once while it is cached', async () => {
  // crops.zarr crop_01 raw: read two overlapping regions; the second decodes only new chunks.
  const split = await openDataSplit(new DataConfig({ path: 'test/fixtures/crops.zarr' }));
  const raw = split.train[0]!.raw;
  const vs = raw.voxelSize;
  const chunks = raw.chunks;
  const total = raw.shape.map((s, i) => Math.ceil(s / chunks[i]!)).reduce((a, b) => a * b, 1);
  await raw.read(raw.roi);
  const afterFull = split.cache.stats();
  assert.equal(afterFull.misses, total);
  // Any sub-region now comes from the cache alone.
  await raw.read(
    roi(
      raw.roi.offset.map((o, i) => o + vs[i]!),
      raw.roi.shape.map((s, i) => s - 2 * vs[i]!),
    ),
  );
  await raw.read(raw.roi);
  const after = split.cache.stats();
  assert.equal(after.misses, total);
  assert.ok(after.hits >= 2 * total - 8);
});

test('a small cache cap still reads correctly (chunks evicted and decoded again)', async () => {
  const big = await openDataSplit(new DataConfig({ path: 'test/fixtures/crops.zarr' }));
  const tiny = await openDataSplit(new DataConfig({ path: 'test/fixtures/crops.zarr', cacheBytes: 64 }));
  const a = big.train[0]!.raw;
  const b = tiny.train[0]!.raw;
  assert.deepEqual(await b.read(b.roi), await a.read(a.roi));
  assert.deepEqual(await b.read(b.roi), await a.read(a.roi));
  assert.ok(tiny.cache.stats().bytes <= 64);
});
