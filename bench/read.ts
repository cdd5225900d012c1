/**
 * Read benchmark: a 512^3 uint8 raw written by zarr-python with 64^3 blosc chunks (created once in
 * bench/data/, git-ignored). Random unaligned 64^3 patches per second through plain zarrita `get`
 * and through tfjs-zarr with its chunk cache, full-volume MB/s, and zarr-python on the same data.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import seedrandom from 'seedrandom';
import { openDataSplit, roi, DataConfig } from '../src/index.js';
import { ZarrVolume } from '../src/zarr/volume.js';
import { registerFastCodecs } from '../src/zarr/codecs.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const PY = '/usr/bin/python3';

function ensureVolume(n: number): string {
  const dir = path.join(here, 'data', `read${n}.zarr`);
  if (!existsSync(path.join(dir, '.zarray'))) {
    execFileSync(PY, [path.join(here, 'make_read_volume.py'), dir, String(n)], { stdio: 'inherit' });
  }
  return dir;
}

function starts(count: number, n: number, seed: string): number[][] {
  const rng = seedrandom(seed);
  return Array.from({ length: count }, () => [0, 1, 2].map(() => Math.floor(rng() * (n - 64))));
}

async function openVolume(dir: string, cacheBytes: number): Promise<ZarrVolume> {
  // The benchmark array is a bare array: wrap it as a one-array container through the public path.
  const split = await openDataSplit(new DataConfig({ path: dir, cacheBytes })).catch(() => null);
  if (split) return split.train[0]!.raw as ZarrVolume;
  const { ChunkCache } = await import('../src/zarr/chunk-cache.js');
  const { readArrayMetadata } = await import('../src/zarr/metadata/array.js');
  const arr = await zarr.open(new FileSystemStore(dir), { kind: 'array' });
  return new ZarrVolume({
    container: dir,
    path: '',
    array: arr,
    stored: await readArrayMetadata(new FileSystemStore(dir), { container: dir, path: '' }),
    metadata: {
      axisNames: ['z', 'y', 'x'],
      types: ['space', 'space', 'space'],
      voxelSize: [8, 8, 8],
      offset: [0, 0, 0],
      units: ['nanometer', 'nanometer', 'nanometer'],
      channelAxis: null,
    },
    cache: new ChunkCache({ maxBytes: cacheBytes }),
  });
}

export async function benchRead(options: { n?: number; patches?: number } = {}): Promise<Record<string, number>> {
  const n = options.n ?? 512;
  const count = options.patches ?? 400;
  const dir = ensureVolume(n);
  const results: Record<string, number> = {};
  const list = starts(count, n, 'bench-read');

  // Plain zarrita (its own numcodecs blosc, no cache).
  const plain = await zarr.open(new FileSystemStore(dir), { kind: 'array' });
  let t = performance.now();
  const plainCount = Math.min(count, 100);
  for (const s of list.slice(0, plainCount)) {
    await zarr.get(
      plain,
      s.map((b) => zarr.slice(b, b + 64)),
    );
  }
  results['zarritaPatchesPerSecond'] = plainCount / ((performance.now() - t) / 1000);

  registerFastCodecs();
  for (const [label, cacheBytes] of [
    ['cache512MiB', 512 * 2 ** 20],
    ['cache64MiB', 64 * 2 ** 20],
  ] as const) {
    const volume = await openVolume(dir, cacheBytes);
    // Sequential patches, like one reader; then 8 in flight, like a prefetching pipeline.
    t = performance.now();
    for (const s of list)
      await volume.read(
        roi(
          s.map((v) => v * 8),
          [512, 512, 512],
        ),
      );
    results[`${label}FirstPassPatchesPerSecond`] = count / ((performance.now() - t) / 1000);
    // The same patches again: what a training loop sees once the chunks it samples are cached.
    t = performance.now();
    for (const s of list)
      await volume.read(
        roi(
          s.map((v) => v * 8),
          [512, 512, 512],
        ),
      );
    results[`${label}SecondPassPatchesPerSecond`] = count / ((performance.now() - t) / 1000);
    const again = starts(count, n, 'bench-read-2');
    t = performance.now();
    for (let i = 0; i < again.length; i += 8) {
      await Promise.all(
        again.slice(i, i + 8).map((s) =>
          volume.read(
            roi(
              s.map((v) => v * 8),
              [512, 512, 512],
            ),
          ),
        ),
      );
    }
    results[`${label}Concurrent8PatchesPerSecond`] = count / ((performance.now() - t) / 1000);
    results[`${label}RssMiB`] = process.memoryUsage().rss / 2 ** 20;
  }
  const cold = await openVolume(dir, 512 * 2 ** 20);
  t = performance.now();
  await cold.read(roi([0, 0, 0], [n * 8, n * 8, n * 8]));
  results['fullVolumeColdMBps'] = n ** 3 / 1e6 / ((performance.now() - t) / 1000);

  try {
    const out = execFileSync(PY, [path.join(here, 'read_zarr_python.py'), dir, String(Math.min(count, 300))], {
      encoding: 'utf8',
    });
    Object.assign(results, JSON.parse(out.trim().split('\n').pop()!));
  } catch (e) {
    console.warn(`zarr-python comparison skipped: ${(e as Error).message.split('\n')[0]}`);
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchRead();
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(40)} ${v.toFixed(1)}`);
}
