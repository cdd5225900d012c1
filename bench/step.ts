/**
 * `npm run bench -- step`: ms per training step of unet3d (Adam, masked binary cross-entropy, the
 * step `tfjs-zarr train` runs) on each backend and thread count, side by side with the same U-Net
 * in PyTorch (bench/step_torch.py, /usr/bin/python3 with python3-torch; skipped with a note when
 * missing) on the same threads. Every measurement is a fresh process; ours and PyTorch's alternate
 * (which goes first alternates too) over `STEP_ROUNDS` rounds (default 3). Reported per case: the
 * median step of each run, as the median of the runs and their range, and PyTorch's time over ours
 * (our speed relative to PyTorch's, 1 = parity). The load average is printed before and after.
 *
 * Configurations: the unet3d defaults (base 8, depth 2) at batch 4 × 16×48×48 and 2 × 32×64×64,
 * and base 12, depth 3 at 4 × 16×48×48. The cpu backend runs the first one only (a step takes
 * ~20 s). `STEP_CONFIGS=a,b` picks some; `STEP_THREADS=1,2` the thread counts (default 1 and
 * os.availableParallelism()).
 *
 * Run alone (`node --import tsx bench/step.ts --child '{…}'`) it is the measuring child.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PY, pythonEnv } from './python.js';

const run = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));

interface StepCase {
  backend: 'wasm' | 'cpu';
  threads: number;
  batch: number;
  shape: [number, number, number];
  base: number;
  depth: number;
  steps: number;
  warmup: number;
}

const CONFIGS: Record<string, Omit<StepCase, 'backend' | 'threads'>> = {
  a: { batch: 4, shape: [16, 48, 48], base: 8, depth: 2, steps: 10, warmup: 3 },
  b: { batch: 2, shape: [32, 64, 64], base: 8, depth: 2, steps: 6, warmup: 2 },
  c: { batch: 4, shape: [16, 48, 48], base: 12, depth: 3, steps: 8, warmup: 3 },
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The child: build, warm up, time `steps` steps; prints {"ms": [...], "backend": "..."}. */
async function child(c: StepCase): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  const { describeBackend, maskedLoss, unet3d, useFastestBackend } = await import('../src/index.js');
  await useFastestBackend({ prefer: c.backend, threads: c.threads, quiet: true });
  const model = unet3d({
    inputShape: [...c.shape, 1],
    outputChannels: 1,
    baseFilters: c.base,
    depth: c.depth,
    seed: 1,
  });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: maskedLoss('binaryCrossentropy') });
  const step = (
    model as unknown as { makeTrainFunction(): (d: unknown[]) => { data(): Promise<unknown> }[] }
  ).makeTrainFunction();
  const xs = tf.randomUniform([c.batch, ...c.shape, 1], 0, 1, 'float32', 1);
  const target = tf.cast(tf.greater(tf.randomUniform([c.batch, ...c.shape, 1], 0, 1, 'float32', 2), 0.5), 'float32');
  const ys = tf.concat([target, tf.onesLike(target)], 4);
  const ms: number[] = [];
  for (let i = 0; i < c.warmup + c.steps; i++) {
    const t = performance.now();
    const outs = step([xs, ys]);
    await outs[0]!.data();
    tf.dispose(outs as never);
    if (i >= c.warmup) ms.push(performance.now() - t);
  }
  console.log(JSON.stringify({ ms, backend: describeBackend() }));
}

async function ours(c: StepCase): Promise<{ ms: number[]; backend: string }> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', path.join(HERE, 'step.ts'), '--child', JSON.stringify(c)],
    { maxBuffer: 1 << 24 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

async function torch(c: StepCase): Promise<{ ms: number[]; layout: string } | null> {
  if (!existsSync(PY)) return null;
  // At its best: glibc's malloc thresholds raised (see python.ts).
  const env = pythonEnv();
  const args = [
    path.join(HERE, 'step_torch.py'),
    ...['--threads', String(c.threads), '--batch', String(c.batch), '--shape', c.shape.join(',')],
    ...['--base', String(c.base), '--depth', String(c.depth), '--steps', String(c.steps), '--warmup', String(c.warmup)],
  ];
  try {
    const { stdout } = await run(PY, args, { env, maxBuffer: 1 << 24 });
    return JSON.parse(stdout.trim().split('\n').at(-1)!);
  } catch (err) {
    if (/No module named 'torch'/.test(String((err as { stderr?: string }).stderr))) return null;
    throw err;
  }
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

export async function benchStep(): Promise<Record<string, number | string>> {
  const rounds = Number(process.env['STEP_ROUNDS'] ?? 3);
  const configs = (process.env['STEP_CONFIGS'] ?? 'a,b,c').split(',');
  const threadCounts = (process.env['STEP_THREADS'] ?? `1,${availableParallelism()}`)
    .split(',')
    .map(Number)
    .filter((t, i, all) => all.indexOf(t) === i);
  const out: Record<string, number | string> = { 'load average before': load() };
  for (const name of configs) {
    const config = CONFIGS[name];
    if (!config) throw new Error(`unknown step config ${name} (a, b, c)`);
    const label = `${config.batch}×${config.shape.join('×')} base ${config.base} depth ${config.depth}`;
    for (const threads of threadCounts) {
      const c: StepCase = { backend: 'wasm', threads, ...config };
      const mine: number[] = [];
      const theirs: number[] = [];
      let backend = '';
      let layout = '';
      for (let r = 0; r < rounds; r++) {
        const pair = r % 2 === 0 ? [ours, torch] : [torch, ours];
        for (const f of pair) {
          if (f === ours) {
            const o = await ours(c);
            mine.push(median(o.ms));
            backend = o.backend;
          } else {
            const t = await torch(c);
            if (t) {
              theirs.push(median(t.ms));
              layout = t.layout;
            }
          }
        }
      }
      const key = `${label}, ${threads} thread${threads > 1 ? 's' : ''}`;
      out[`${key}: wasm ms`] =
        `${median(mine).toFixed(0)} (${Math.min(...mine).toFixed(0)}–${Math.max(...mine).toFixed(0)})`;
      if (theirs.length) {
        out[`${key}: PyTorch ms`] =
          `${median(theirs).toFixed(0)} (${Math.min(...theirs).toFixed(0)}–${Math.max(...theirs).toFixed(0)}, ${layout})`;
        out[`${key}: speed vs PyTorch`] = median(theirs) / median(mine);
      } else {
        out[`${key}: PyTorch`] = 'skipped: /usr/bin/python3 with torch not found';
      }
      out[`${key}: backend`] = backend;
      out[`${key}: load after`] = load();
    }
    if (name === 'a') {
      const cpu = await ours({ backend: 'cpu', threads: 1, ...config, steps: 1, warmup: 1 });
      out[`${label}: cpu backend ms`] = median(cpu.ms);
    }
  }
  out['tensorflow backend'] = 'not measured: @tensorflow/tfjs-node cannot install here';
  out['load average after'] = load();
  return out;
}

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]!) as StepCase);
