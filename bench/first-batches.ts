/**
 * First-batches benchmark (issue 24.3): how long the first 40 batches of a training dataset take
 * against its steady time per batch, with hundreds of small crops (bench/make_many_crops.py: 200
 * train crops of 96³, uint8 raw and uint64 labels in 64³ chunks, a quarter with a mask). The
 * workload of the pipeline benchmark: 4 × 64³, boundary target, minMasked 0.5, mirror, transpose,
 * intensity; 2 workers (`BENCH_WORKERS`, comma-separated), tensors on wasm.
 *
 * Each worker count runs in a fresh process on a freshly opened split (cold chunk caches, no
 * tables). The first 40 batches are timed from the iterator's creation (worker start-up, crop
 * preparation and every table built on the way included); then the dataset warms up (at least
 * WARM_UP_BATCHES batches and WARM_UP_MS) and the steady time per batch is taken over at least
 * STEADY_MS.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { openDataSplit, trainingDataset } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CROPS = 200;
const BATCH = 4;
const FIRST = 40;
const WARM_UP_BATCHES = 200;
const WARM_UP_MS = 5000;
const STEADY_MS = 8000;

export function ensureManyCrops(): string {
  const dir = path.join(here, 'data', `crops${CROPS}.zarr`);
  if (!existsSync(path.join(dir, '.zgroup'))) {
    execFileSync('/usr/bin/python3', [path.join(here, 'make_many_crops.py'), dir, String(CROPS), '96'], {
      stdio: 'inherit',
    });
  }
  return dir;
}

const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(', ');

type Batches = { next(): Promise<IteratorResult<tf.TensorContainer>> };

async function batches(it: Batches, count: number, ms = 0): Promise<{ n: number; seconds: number }> {
  const t = performance.now();
  let n = 0;
  for (; n < count || performance.now() - t < ms; n++) tf.dispose((await it.next()).value);
  return { n, seconds: (performance.now() - t) / 1000 };
}

/** One worker count, in this process. */
async function benchOne(workers: number): Promise<Record<string, number | string>> {
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  const split = await openDataSplit(ensureManyCrops());
  const ds = trainingDataset(split.train, {
    batchSize: BATCH,
    seed: 1,
    target: 'boundary',
    minMasked: 0.5,
    augment: {
      mirror: true,
      transpose: true,
      intensity: { scale: [0.9, 1.1], shift: [-0.1, 0.1] },
    },
    inputShape: [64, 64, 64],
    workers,
  });
  const t = performance.now();
  const it = await ds.iterator();
  const firstBatch = await batches(it, 1);
  const rest = await batches(it, FIRST - 1);
  const first = (performance.now() - t) / 1000;
  const warm = await batches(it, WARM_UP_BATCHES, WARM_UP_MS);
  const steady = await batches(it, 50, STEADY_MS);
  ds.close();
  const perBatch = (1000 * steady.seconds) / steady.n;
  const tag = `${CROPS} crops 64^3 workers=${workers}`;
  return {
    [`${tag} first batch s`]: firstBatch.seconds,
    [`${tag} first ${FIRST} batches s (from the iterator)`]: first,
    [`${tag} first ${FIRST} batches ms/batch`]: (1000 * first) / FIRST,
    [`${tag} batches 2-${FIRST} ms/batch`]: (1000 * rest.seconds) / (FIRST - 1),
    [`${tag} warm-up`]: `${warm.n} batches in ${warm.seconds.toFixed(1)} s`,
    [`${tag} steady ms/batch`]: perBatch,
    [`${tag} steady samples/s`]: (steady.n * BATCH) / steady.seconds,
    [`${tag} first ${FIRST} / steady`]: (1000 * first) / FIRST / perBatch,
  };
}

export async function benchFirstBatches(): Promise<Record<string, number | string>> {
  ensureManyCrops();
  const results: Record<string, number | string> = { 'load (1, 5, 15 min) at the start': loadAverage() };
  for (const w of (process.env['BENCH_WORKERS'] ?? '2').split(',').map(Number)) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), String(w)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    Object.assign(results, JSON.parse(out.trim().split('\n').pop()!));
  }
  results['load (1, 5, 15 min) at the end'] = loadAverage();
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] !== undefined) console.log(JSON.stringify(await benchOne(Number(process.argv[2]))));
  else {
    const r = await benchFirstBatches();
    for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(52)} ${typeof v === 'number' ? v.toFixed(2) : v}`);
  }
}
