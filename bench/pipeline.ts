/**
 * Pipeline benchmark (issue 10): samples/s of trainingDataset alone on the bench container (two
 * 192³ train crops written by zarr-python, one with a mask; uint8 raw, uint64 labels), batches of
 * 4 × 64³ and 4 × 16×48×48 with the boundary target, `minMasked` 0.5, mirror, transpose and
 * intensity augmentation, for 0 (in-thread), 1 and 2 workers, with the CPU time a sample costs
 * (all threads); the process's peak resident memory; and a consumer that wants 130 samples/s (a
 * 30 ms step per batch of 4, blocking the main thread as a CPU-bound step does, or leaving it free
 * as an awaited GPU step does): the fraction of its time spent waiting for data, and what making a
 * batch's two tensors costs of it by itself. Tensors on wasm (the Node training backend here; it
 * copies each batch into its heap) and on cpu (which keeps the arrays, as tfjs-node and webgl do
 * until first use; no elastic rows, and rate and consumer rows with `reuseDisposed` too, as a
 * fitDataset consumer may set), `BENCH_BACKENDS` (default wasm,cpu).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openDataSplit, trainingDataset } from '../src/index.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const BATCH = 4;
/** Warm-up before timing: every worker started, chunks decoded into the caches, code optimized. */
const WARM_UP_BATCHES = 25;
const WARM_UP_MS = 3000;

async function warmUp(it: { next(): Promise<IteratorResult<tf.TensorContainer>> }): Promise<void> {
  const t = performance.now();
  for (let i = 0; i < WARM_UP_BATCHES || performance.now() - t < WARM_UP_MS; i++) tf.dispose((await it.next()).value);
}

export function ensureTrainContainer(): string {
  const dir = path.join(here, 'data', 'train192.zarr');
  if (!existsSync(path.join(dir, '.zgroup'))) {
    execFileSync('/usr/bin/python3', [path.join(here, 'make_train_container.py'), dir, '192'], { stdio: 'inherit' });
  }
  return dir;
}

const mib = (bytes: number) => bytes / 2 ** 20;

/** Elastic options of the benchmark (world units of the 8 nm benchmark container). */
export const ELASTIC = {
  controlPointSpacing: 80,
  jitterSigma: 16,
  rotationInterval: [0, Math.PI / 2] as [number, number],
  subsample: 4,
};

/** Each worker count in its own process, so that resident memory is that configuration's alone. */
export async function benchPipeline(options: { workers?: number[] } = {}): Promise<Record<string, number | string>> {
  ensureTrainContainer();
  const workerCounts = options.workers ?? (process.env['BENCH_WORKERS'] ?? '0,1,2').split(',').map(Number);
  const results: Record<string, number | string> = {};
  const backends = (process.env['BENCH_BACKENDS'] ?? 'wasm,cpu').split(',');
  for (const backend of backends) {
    for (const w of workerCounts) {
      const args = ['--import', 'tsx', fileURLToPath(import.meta.url), String(w), backend];
      const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      Object.assign(results, JSON.parse(out.trim().split('\n').pop()!));
    }
  }
  return results;
}

/**
 * One worker count with tensors on `backend`: wasm (training in Node here) copies a batch into its
 * heap when it makes the tensors, so a worker's batch memory is reused at once; cpu keeps the
 * arrays, which return to the worker once collected. The first backend listed gets every row, the
 * others all but the elastic rows.
 */
async function benchOne(
  workers: number,
  backend: string,
  options: { batches?: number; consumerBatches?: number; elastic?: boolean } = {},
): Promise<Record<string, number | string>> {
  const batches = options.batches ?? 100;
  const consumerBatches = options.consumerBatches ?? 80;
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend(backend);
  const tag = `${backend} workers=${workers}`;
  // A fresh split (empty chunk cache) per dataset: every configuration starts cold, then warms up.
  const open = () => openDataSplit(ensureTrainContainer());
  const split = await open();
  const results: Record<string, number | string> = {};
  const base = {
    batchSize: BATCH,
    seed: 1,
    target: 'boundary' as const,
    minMasked: 0.5,
    augment: {
      mirror: true,
      transpose: true,
      intensity: { scale: [0.9, 1.1] as [number, number], shift: [-0.1, 0.1] as [number, number] },
    },
  };
  const shapes: [string, number[]][] = [
    ['64^3', [64, 64, 64]],
    ['16x48x48', [16, 48, 48]],
  ];
  for (const [name, inputShape] of shapes) {
    const ds = trainingDataset((await open()).train, { ...base, inputShape, workers });
    const it = await ds.iterator();
    // Warm-up out of the timing: every worker started and prepared (mask tables), code optimized.
    await warmUp(it);
    const t = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < batches; i++) tf.dispose((await it.next()).value);
    const seconds = (performance.now() - t) / 1000;
    const used = process.cpuUsage(cpu);
    // CPU time of every thread of the process: what a sample costs, whatever else runs on the machine.
    results[`${name} ${tag} cpu ms/sample`] = (used.user + used.system) / 1000 / (batches * BATCH);
    results[`${name} ${tag} samples/s`] = (batches * BATCH) / seconds;
    (ds as { close?: () => void }).close?.(); // (absent before the worker pool: the bench also runs on old code)
    // The first configuration alone (4 × 64³): later ones add their own pools and caches to the peak.
    if (name === '64^3') results[`64^3 ${tag} peak rss MiB`] = process.resourceUsage().maxRSS / 1024;
  }
  // On a backend that keeps the arrays, the same with reuseDisposed (this loop disposes each batch
  // at once and keeps nothing, as model.fitDataset does).
  if (backend !== 'wasm') {
    for (const [name, inputShape] of shapes) {
      const ds = trainingDataset((await open()).train, { ...base, inputShape, workers, reuseDisposed: true });
      const it = await ds.iterator();
      await warmUp(it);
      const t = performance.now();
      for (let i = 0; i < batches; i++) tf.dispose((await it.next()).value);
      results[`${name} ${tag} reuseDisposed samples/s`] = (batches * BATCH) / ((performance.now() - t) / 1000);
      ds.close();
    }
  }
  // The same 64³ batches with elastic augmentation on (control points every 80 nm at 8 nm voxels).
  if (options.elastic ?? true) {
    const augment = { ...base.augment, elastic: ELASTIC };
    const ds = trainingDataset((await open()).train, { ...base, augment, inputShape: [64, 64, 64], workers });
    const it = await ds.iterator();
    await warmUp(it);
    const t = performance.now();
    for (let i = 0; i < batches; i++) tf.dispose((await it.next()).value);
    results[`64^3 elastic ${tag} samples/s`] = (batches * BATCH) / ((performance.now() - t) / 1000);
    (ds as { close?: () => void }).close?.();
  }
  // A consumer wanting 130 samples/s: a 30 ms step per batch of 4, either blocking the main thread
  // (a CPU-bound step, as tfjs-node's kernels) or leaving it free (a GPU step awaited). Its wait
  // includes making the tensors: on wasm that copies the batch (12 MB) into the wasm heap.
  // With reuseDisposed (as model.fitDataset and the CLI's training loop allow: each batch disposed
  // after its step, nothing kept), batches go back when disposed; on wasm they do at once anyway.
  const modes = (backend === 'wasm' ? [false] : [false, true]).flatMap((reuse) =>
    (['busy', 'sleep'] as const).map((step) => ({ step, reuse })),
  );
  for (const { step, reuse } of modes) {
    const ds = trainingDataset((await open()).train, {
      ...base,
      inputShape: [64, 64, 64],
      workers,
      reuseDisposed: reuse,
    });
    const it = await ds.iterator();
    await warmUp(it);
    let waiting = 0;
    const t = performance.now();
    for (let i = 0; i < consumerBatches; i++) {
      const t0 = performance.now();
      const r = await it.next();
      waiting += performance.now() - t0;
      if (step === 'busy') {
        const until = performance.now() + 30;
        while (performance.now() < until); // the model's step
      } else {
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      tf.dispose(r.value);
    }
    const wall = performance.now() - t;
    const mode = `${step} step${reuse ? ', reuseDisposed' : ''}`;
    results[`64^3 ${tag} consumer 130/s (${mode}): waiting`] = `${((100 * waiting) / wall).toFixed(1)} %`;
    results[`64^3 ${tag} consumer 130/s (${mode}): samples/s`] = (consumerBatches * BATCH) / (wall / 1000);
    (ds as { close?: () => void }).close?.();
  }
  // What making a batch's two tensors costs the consumer by itself (part of the waits above): on
  // wasm the copy of the 12 MB into its heap, on cpu next to nothing (it keeps the arrays).
  {
    const xs = new Float32Array(new SharedArrayBuffer(4 * BATCH * 64 ** 3));
    const ys = new Float32Array(new SharedArrayBuffer(8 * BATCH * 64 ** 3));
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      const made = [tf.tensor5d(xs, [BATCH, 64, 64, 64, 1]), tf.tensor5d(ys, [BATCH, 64, 64, 64, 2])];
      times.push(performance.now() - t0);
      tf.dispose(made);
    }
    const median = times.sort((a, b) => a - b)[15]!;
    results[`64^3 ${tag} making a batch's tensors (of the waits above)`] =
      `${median.toFixed(2)} ms = ${((100 * median) / 30).toFixed(1)} % of a 30 ms step`;
  }
  // Threads share the process: this is the main thread and every worker together.
  results[`${tag} peak rss MiB (all of the above in one process)`] = process.resourceUsage().maxRSS / 1024;
  results[`${tag} chunk cache cap MiB (whole pool)`] = mib(split.config.cacheBytes);
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] !== undefined) {
    const backend = process.argv[3] ?? 'wasm';
    const first = (process.env['BENCH_BACKENDS'] ?? 'wasm,cpu').split(',')[0];
    console.log(JSON.stringify(await benchOne(Number(process.argv[2]), backend, { elastic: backend === first })));
  } else {
    const r = await benchPipeline();
    for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(44)} ${typeof v === 'number' ? v.toFixed(1) : v}`);
  }
}
