/**
 * Read benchmark: a 512^3 uint8 raw written by zarr-python with 64^3 blosc chunks (created once in
 * bench/data/, git-ignored). Random unaligned 64^3 patches per second through plain zarrita `get`,
 * through tfjs-zarr in this thread with its chunk cache, and through worker threads (WorkerReader,
 * the reads the training workers do), all cold (fresh caches) unless said; full-volume MB/s; and
 * zarr-python on the same patches of the same data in the same run (just before and just after the
 * worker runs, as the load of a shared machine drifts), with the CPU a patch costs on each side.
 * zarr-python runs at its best (malloc's mmap threshold raised: bench/python.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import seedrandom from 'seedrandom';
import { openDataSplit, roi, DataConfig, type Roi, type StoredArray } from '../src/index.js';
import { WorkerReader } from '../src/train/workers/reader.js';
import type { ZarrVolume } from '../src/zarr/volume.js';
import { PY, runPython } from './python.js';

const here = path.dirname(new URL(import.meta.url).pathname);

function ensureVolume(n: number): string {
  const dir = path.join(here, 'data', `read${n}.zarr`);
  if (!existsSync(path.join(dir, 'raw', '.zarray'))) {
    execFileSync(PY, [path.join(here, 'make_read_volume.py'), dir, String(n)], { stdio: 'inherit' });
  }
  return dir;
}

function starts(count: number, n: number, seed: string): number[][] {
  const rng = seedrandom(seed);
  return Array.from({ length: count }, () => [0, 1, 2].map(() => Math.floor(rng() * (n - 64))));
}

const patch = (s: number[]): Roi =>
  roi(
    s.map((v) => v * 8),
    [512, 512, 512],
  );

/** Patches per second reading `list` with `inFlight` reads at a time, and the CPU a patch took (ms, all threads). */
async function rateAndCpu(
  list: number[][],
  inFlight: number,
  read: (r: Roi) => Promise<StoredArray>,
): Promise<{ rate: number; cpu: number }> {
  const t = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < list.length; i += inFlight)
    await Promise.all(list.slice(i, i + inFlight).map((s) => read(patch(s))));
  const used = process.cpuUsage(cpu);
  return { rate: list.length / ((performance.now() - t) / 1000), cpu: (used.user + used.system) / 1000 / list.length };
}

async function rate(list: number[][], inFlight: number, read: (r: Roi) => Promise<StoredArray>): Promise<number> {
  return (await rateAndCpu(list, inFlight, read)).rate;
}

/** zarr-python on the same patches (cold: it has no chunk cache) and a full read; null without Python. */
function zarrPython(dir: string, list: number[][]): Record<string, number> | null {
  try {
    return runPython(path.join(here, 'read_zarr_python.py'), [dir], { input: JSON.stringify(list) });
  } catch (e) {
    console.warn(`zarr-python comparison skipped: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

export async function benchRead(
  options: { n?: number; patches?: number } = {},
): Promise<Record<string, number | string>> {
  const n = options.n ?? 512;
  const count = options.patches ?? 400;
  const dir = ensureVolume(n);
  const results: Record<string, number> = {};
  const notes: Record<string, string> = {};
  const list = starts(count, n, 'bench-read');
  const open = async (
    cacheBytes: number,
  ): Promise<{ volume: ZarrVolume; split: Awaited<ReturnType<typeof openDataSplit>> }> => {
    const split = await openDataSplit(new DataConfig({ path: dir, cacheBytes }));
    return { volume: split.train[0]!.raw as ZarrVolume, split };
  };

  // Plain zarrita (its own numcodecs blosc, no cache).
  const plain = await zarr.open(new FileSystemStore(path.join(dir, 'raw')), { kind: 'array' });
  let t = performance.now();
  const plainCount = Math.min(count, 100);
  for (const s of list.slice(0, plainCount)) {
    await zarr.get(
      plain,
      s.map((b) => zarr.slice(b, b + 64)),
    );
  }
  results['zarritaPatchesPerSecond'] = plainCount / ((performance.now() - t) / 1000);

  for (const [label, cacheBytes] of [
    ['cache512MiB', 512 * 2 ** 20],
    ['cache64MiB', 64 * 2 ** 20],
  ] as const) {
    const { volume } = await open(cacheBytes);
    // Sequential patches, like one reader; then 8 in flight, like a prefetching pipeline.
    results[`${label}FirstPassPatchesPerSecond`] = await rate(list, 1, (r) => volume.read(r));
    // The same patches again: what a training loop sees once the chunks it samples are cached.
    results[`${label}SecondPassPatchesPerSecond`] = await rate(list, 1, (r) => volume.read(r));
    results[`${label}Concurrent8PatchesPerSecond`] = await rate(starts(count, n, 'bench-read-2'), 8, (r) =>
      volume.read(r),
    );
    results[`${label}RssMiB`] = process.memoryUsage().rss / 2 ** 20;
  }

  // Through worker threads (cold: fresh workers and caches; the pool's startup is timed apart),
  // with zarr-python on the same patches just before and just after (the machine's load drifts).
  const pythonBefore = zarrPython(dir, list);
  for (const workers of [1, 2]) {
    for (const inFlight of [1, 8]) {
      const { volume, split } = await open(512 * 2 ** 20);
      const reader = new WorkerReader(split, { workers });
      t = performance.now();
      await reader.read(volume, roi([0, 0, 0], [8, 8, 8])); // start the workers
      results[`workers${workers}StartupSeconds`] = (performance.now() - t) / 1000;
      const measured = await rateAndCpu(list, inFlight, (r) => reader.read(volume, r));
      results[`workers${workers}FirstPass${inFlight}InFlightPatchesPerSecond`] = measured.rate;
      results[`workers${workers}FirstPass${inFlight}InFlightCpuMsPerPatch`] = measured.cpu;
      results[`workers${workers}RssMiB`] = process.memoryUsage().rss / 2 ** 20;
      reader.close();
    }
  }
  const pythonAfter = zarrPython(dir, list);

  const cold = await open(512 * 2 ** 20);
  t = performance.now();
  await cold.volume.read(roi([0, 0, 0], [n * 8, n * 8, n * 8]));
  results['fullVolumeColdMBps'] = n ** 3 / 1e6 / ((performance.now() - t) / 1000);

  if (pythonBefore && pythonAfter) {
    for (const k of Object.keys(pythonBefore)) {
      notes[`${k} (before, after)`] = `${pythonBefore[k]!.toFixed(1)}, ${pythonAfter[k]!.toFixed(1)}`;
      results[k] = (pythonBefore[k]! + pythonAfter[k]!) / 2;
    }
    const py = results['zarrPythonPatchesPerSecond']!;
    for (const k of Object.keys(results)) {
      if (k.startsWith('workers') && k.endsWith('PatchesPerSecond')) results[`${k} / zarr-python`] = results[k]! / py;
    }
    results['cache512MiBFirstPass / zarr-python'] = results['cache512MiBFirstPassPatchesPerSecond']! / py;
  }
  return { ...results, ...notes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchRead();
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(40)} ${typeof v === 'number' ? v.toFixed(1) : v}`);
}
