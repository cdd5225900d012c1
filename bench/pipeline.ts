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
 *
 * Every rate is a steady state: each dataset first warms up (workers started, chunks decoded into
 * the caches, mask tables built, code optimized; its batches and seconds reported apart), then is
 * timed over at least STEADY_MS and its number of batches.
 *
 * The anchor, side by side: gunpowder 1.4 on the same workload (bench/pipeline_gunpowder.py:
 * ZarrSource, RandomLocation with the mask, SimpleAugment, IntensityAugment, the same boundary
 * target, Stack(4), PreCache with 2 workers; with ElasticAugment for the elastic rows), at its best
 * (bench/python.ts), alternating with our 4 × 64³ rows at 2 workers (each side in a process of its
 * own, `ANCHOR_ROUNDS` rounds, default 2). gunpowder is found through `GUNPOWDER_PATH` (see
 * bench/python.ts); without it those rows are skipped with a note.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { openDataSplit, trainingDataset } from '../src/index.js';
import { gunpowderPath, runPython } from './python.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const BATCH = 4;
/** Warm-up before timing: every worker started, chunks decoded into the caches, code optimized. */
const WARM_UP_BATCHES = 25;
const WARM_UP_MS = 3000;
/** Each timed run lasts at least this long (and its number of batches). */
const STEADY_MS = 8000;

type Batches = { next(): Promise<IteratorResult<tf.TensorContainer>> };

/** Runs the warm-up; returns it as a row ("N batches in S s"). */
async function warmUp(it: Batches): Promise<string> {
  const t = performance.now();
  let i = 0;
  for (; i < WARM_UP_BATCHES || performance.now() - t < WARM_UP_MS; i++) tf.dispose((await it.next()).value);
  return `${i} batches in ${((performance.now() - t) / 1000).toFixed(1)} s`;
}

/** At least `batches` batches and STEADY_MS: samples/s and CPU ms a sample (every thread of the process). */
async function steady(it: Batches, batches: number): Promise<{ rate: number; cpu: number }> {
  const t = performance.now();
  const cpu = process.cpuUsage();
  let n = 0;
  for (; n < batches || performance.now() - t < STEADY_MS; n++) tf.dispose((await it.next()).value);
  const used = process.cpuUsage(cpu);
  return { rate: (n * BATCH) / ((performance.now() - t) / 1000), cpu: (used.user + used.system) / 1000 / (n * BATCH) };
}

export function ensureTrainContainer(): string {
  const dir = path.join(here, 'data', 'train192.zarr');
  if (!existsSync(path.join(dir, '.zgroup'))) {
    execFileSync('/usr/bin/python3', [path.join(here, 'make_train_container.py'), dir, '192'], { stdio: 'inherit' });
  }
  return dir;
}

const mib = (bytes: number) => bytes / 2 ** 20;

/** The workload of issue 10: boundary target, minMasked 0.5, mirror, transpose, intensity. */
const BASE = { batchSize: BATCH, seed: 1, target: 'boundary' as const, minMasked: 0.5 };
const AUGMENT = {
  mirror: true,
  transpose: true,
  intensity: { scale: [0.9, 1.1] as [number, number], shift: [-0.1, 0.1] as [number, number] },
};

/** Elastic options of the benchmark (world units of the 8 nm benchmark container). */
export const ELASTIC = {
  controlPointSpacing: 80,
  jitterSigma: 16,
  rotationInterval: [0, Math.PI / 2] as [number, number],
  subsample: 4,
};

/** Runs this file in a child process with `args`; parses the last line it prints. */
function child(args: string[]): Record<string, number | string> {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** Each worker count in its own process, so that resident memory is that configuration's alone. */
export async function benchPipeline(options: { workers?: number[] } = {}): Promise<Record<string, number | string>> {
  ensureTrainContainer();
  const workerCounts = options.workers ?? (process.env['BENCH_WORKERS'] ?? '0,1,2').split(',').map(Number);
  const results: Record<string, number | string> = { 'load (1, 5, 15 min) at the start': loadAverage() };
  const backends = (process.env['BENCH_BACKENDS'] ?? 'wasm,cpu').split(',');
  for (const backend of backends) {
    for (const w of workerCounts) Object.assign(results, child([String(w), backend]));
  }
  Object.assign(results, benchAnchor(Number(process.env['ANCHOR_ROUNDS'] ?? 2)));
  results['load (1, 5, 15 min) at the end'] = loadAverage();
  return results;
}

const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(', ');

/**
 * Ours (4 × 64³, 2 workers, wasm, each in a fresh process) and gunpowder's on the same workload,
 * alternately, plain and elastic, `rounds` times: steady samples/s and CPU ms a sample of each
 * (every thread and process), the warm-up of each apart, and our rate over gunpowder's per round.
 */
function benchAnchor(rounds: number): Record<string, number | string> {
  const results: Record<string, number | string> = {};
  const gunpowder = gunpowderPath();
  if (!gunpowder) {
    results['gunpowder anchor'] = 'skipped: set GUNPOWDER_PATH (bench/python.ts) to compare';
    return results;
  }
  const script = path.join(here, 'pipeline_gunpowder.py');
  const rows: Record<string, string[]> = {};
  const add = (key: string, value: string) => {
    rows[key] ??= [];
    rows[key].push(value);
  };
  for (let r = 0; r < rounds; r++) {
    for (const mode of ['plain', 'elastic'] as const) {
      const ours = child(['anchor', mode]);
      let theirs: Record<string, number>;
      try {
        theirs = runPython(script, [ensureTrainContainer(), mode, String(STEADY_MS / 1000 + 4), '5'], {
          path: gunpowder,
        });
      } catch (e) {
        results['gunpowder anchor'] = `skipped: ${(e as Error).message.split('\n')[0]}`;
        return results;
      }
      const name = mode === 'plain' ? '64^3 2 workers' : '64^3 elastic 2 workers';
      add(
        `${name} ours samples/s (cpu ms/sample)`,
        `${Number(ours['rate']).toFixed(1)} (${Number(ours['cpu']).toFixed(1)})`,
      );
      add(
        `${name} gunpowder samples/s (cpu ms/sample)`,
        `${theirs['samplesPerSecond']!.toFixed(1)} (${theirs['cpuMsPerSample']!.toFixed(1)})`,
      );
      add(`${name} ours / gunpowder`, (Number(ours['rate']) / theirs['samplesPerSecond']!).toFixed(2));
      add(`${name} warm-up ours`, String(ours['warmUp']));
      add(
        `${name} warm-up gunpowder`,
        `${theirs['warmupBatches']} batches in ${theirs['warmupSeconds']!.toFixed(1)} s`,
      );
    }
  }
  for (const [key, values] of Object.entries(rows)) results[`anchor: ${key}, round by round`] = values.join('; ');
  return results;
}

/** Our side of the anchor rows: 4 × 64³, 2 workers, wasm, plain or elastic. */
async function anchorSide(mode: 'plain' | 'elastic'): Promise<Record<string, number | string>> {
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  const augment = mode === 'elastic' ? { ...AUGMENT, elastic: ELASTIC } : AUGMENT;
  const ds = trainingDataset((await openDataSplit(ensureTrainContainer())).train, {
    ...BASE,
    augment,
    inputShape: [64, 64, 64],
    workers: 2,
  });
  const it = await ds.iterator();
  const warm = await warmUp(it);
  const { rate, cpu } = await steady(it, 50);
  ds.close();
  return { rate, cpu, warmUp: warm };
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
  const base = { ...BASE, augment: AUGMENT };
  const shapes: [string, number[]][] = [
    ['64^3', [64, 64, 64]],
    ['16x48x48', [16, 48, 48]],
  ];
  for (const [name, inputShape] of shapes) {
    const ds = trainingDataset((await open()).train, { ...base, inputShape, workers });
    const it = await ds.iterator();
    // Warm-up out of the timing: every worker started and prepared (mask tables), code optimized.
    results[`${name} ${tag} warm-up`] = await warmUp(it);
    const { rate, cpu } = await steady(it, batches);
    // CPU time of every thread of the process: what a sample costs, whatever else runs on the machine.
    results[`${name} ${tag} cpu ms/sample`] = cpu;
    results[`${name} ${tag} samples/s`] = rate;
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
      results[`${name} ${tag} reuseDisposed samples/s`] = (await steady(it, batches)).rate;
      ds.close();
    }
  }
  // The same 64³ batches with elastic augmentation on (control points every 80 nm at 8 nm voxels).
  if (options.elastic ?? true) {
    const augment = { ...base.augment, elastic: ELASTIC };
    const ds = trainingDataset((await open()).train, { ...base, augment, inputShape: [64, 64, 64], workers });
    const it = await ds.iterator();
    results[`64^3 elastic ${tag} warm-up`] = await warmUp(it);
    const { rate, cpu } = await steady(it, batches);
    results[`64^3 elastic ${tag} cpu ms/sample`] = cpu;
    results[`64^3 elastic ${tag} samples/s`] = rate;
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
  if (process.argv[2] === 'anchor') {
    console.log(JSON.stringify(await anchorSide(process.argv[3] as 'plain' | 'elastic')));
  } else if (process.argv[2] !== undefined) {
    const backend = process.argv[3] ?? 'wasm';
    const first = (process.env['BENCH_BACKENDS'] ?? 'wasm,cpu').split(',')[0];
    console.log(JSON.stringify(await benchOne(Number(process.argv[2]), backend, { elastic: backend === first })));
  } else {
    const r = await benchPipeline();
    for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(44)} ${typeof v === 'number' ? v.toFixed(1) : v}`);
  }
}
