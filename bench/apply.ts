/**
 * Apply benchmark: a 256³ uint8 raw (written once into bench/data/apply/ by our writer) through a
 * small 'same' U-Net (32×64×64 input, 24×56×56 kept) on the fastest backend:
 * - predictVolume in this process: voxels/s, and the share of wall time that is ours (reads,
 *   tiling, stitching, chunk conversion, compression and writes, markers) against the model's time
 *   inside model.predict (output read back included);
 * - segmentVolume (boundary, threshold 0.5) of that prediction: voxels/s;
 * - `tfjs-zarr predict --processes 2` of the same checkpoint: wall time and speed-up (process
 *   start-up and model loading included).
 * The machine's load average is reported beside the figures. `APPLY_BENCH_SIZE=128` for a quick run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { saveCheckpoint } from '../src/eval/checkpoint.js';
import { describeBackend, unet3d, useFastestBackend } from '../src/index.js';
import { predictVolume, segmentVolume } from '../src/apply/index.js';
import { writeBlockChunks } from '../src/apply/block-io.js';
import { roi } from '../src/roi.js';
import { funlibAttributes, ZarrArrayWriter } from '../src/zarr/write/index.js';

const here = path.dirname(new URL(import.meta.url).pathname);
const repo = path.join(here, '..');

async function ensureRaw(dir: string, n: number): Promise<string> {
  const container = path.join(dir, `raw${n}.zarr`);
  if (existsSync(path.join(container, 'raw', '.zarray'))) return `${container}/raw`;
  const writer = await ZarrArrayWriter.create(
    { container, path: 'raw' },
    {
      format: 2,
      shape: [n, n, n],
      chunks: [64, 64, 64],
      dtype: 'uint8',
      compressor: 'gzip',
      attributes: funlibAttributes({
        voxelSize: [8, 8, 8],
        offset: [0, 0, 0],
        units: ['nanometer', 'nanometer', 'nanometer'],
        channels: false,
      }),
    },
  );
  // Membrane-like sheets plus noise: any data gives the same timings, this one gives segments.
  const slab = 64;
  for (let z0 = 0; z0 < n; z0 += slab) {
    const values = new Float32Array(slab * n * n);
    let i = 0;
    for (let z = z0; z < z0 + slab; z++)
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++, i++) {
          const s = Math.sin(x / 5) * Math.sin(y / 7) * Math.sin(z / 6);
          values[i] = Math.min(1, Math.max(0, 0.5 + 0.45 * s + 0.1 * Math.sin(i * 12.9898)));
        }
    const block = {
      index: 0,
      coords: [0, 0, 0],
      voxelOffset: [z0, 0, 0],
      voxelShape: [slab, n, n],
      roi: roi([z0 * 8, 0, 0], [slab * 8, n * 8, n * 8]),
    };
    // uint8 through the probability conversion (× 255)
    await writeBlockChunks(writer, block, values);
  }
  return `${container}/raw`;
}

export async function benchApply(): Promise<Record<string, number | string>> {
  const n = Number(process.env['APPLY_BENCH_SIZE'] ?? 256);
  const backend = await useFastestBackend({ quiet: true });
  const dir = path.join(here, 'data', 'apply');
  const raw = await ensureRaw(dir, n);
  const model = unet3d({ inputShape: [32, 64, 64, 1], outputChannels: 1, baseFilters: 8, depth: 2, seed: 1 });
  const checkpoint = path.join(dir, 'checkpoint');
  await saveCheckpoint(model, checkpoint, { postProcessor: 'boundary', parameters: { threshold: 0.5 } });
  const out = path.join(dir, 'out.zarr');
  await rm(out, { recursive: true, force: true });
  const voxels = n * n * n;
  const load0 = loadavg()[0]!;

  let modelMs = 0;
  const timed = new Proxy(model, {
    get(target, prop, receiver) {
      if (prop === 'predict') {
        return (x: tf.Tensor) => {
          const t = performance.now();
          const y = target.predict(x) as tf.Tensor;
          modelMs += performance.now() - t;
          // Reading the output back is the model's too (where an async backend waits for it).
          const read = y.data.bind(y);
          (y as { data: () => Promise<unknown> }).data = async () => {
            const t1 = performance.now();
            const values = await read();
            modelMs += performance.now() - t1;
            return values;
          };
          return y;
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  const options = { outputShape: [24, 56, 56], batchSize: 2 };
  let t = performance.now();
  const predicted = await predictVolume(timed, raw, { ...options, output: `${out}/prediction` });
  const predictMs = performance.now() - t;
  const load1 = loadavg()[0]!;

  t = performance.now();
  const segmented = await segmentVolume(`${out}/prediction`, {
    output: `${out}/segmentation`,
    parameters: { threshold: 0.5 },
  });
  const segmentMs = performance.now() - t;

  const cliArgs = [
    '--import',
    'tsx',
    'src/cli/main.ts',
    'predict',
    '--checkpoint',
    checkpoint,
    '--input',
    raw,
    '--output-shape',
    '24,56,56',
    '--batch-size',
    '2',
    '--quiet',
  ];
  const env = { ...process.env, TFJS_ZARR_BACKEND: backend };
  t = performance.now();
  execFileSync(process.execPath, [...cliArgs, '--output', `${out}/prediction-p2`, '--processes', '2'], {
    cwd: repo,
    env,
    stdio: 'ignore',
  });
  const twoMs = performance.now() - t;
  const load2 = loadavg()[0]!;
  model.dispose();
  return {
    backend: describeBackend(),
    size: `${n}³ (${predicted.grid.blocks.length} blocks of ${predicted.grid.blockShape.join('×')})`,
    predictSeconds: predictMs / 1000,
    predictVoxelsPerSecond: voxels / (predictMs / 1000),
    modelSeconds: modelMs / 1000,
    ourSeconds: (predictMs - modelMs) / 1000,
    ourShareOfModelTime: `${((100 * (predictMs - modelMs)) / modelMs).toFixed(2)} %`,
    segmentSeconds: segmentMs / 1000,
    segmentVoxelsPerSecond: voxels / (segmentMs / 1000),
    segments: segmented.segments ?? 0,
    processes2Seconds: twoMs / 1000,
    processes2SpeedUp: predictMs / twoMs,
    loadAverage: `${load0.toFixed(1)} → ${load1.toFixed(1)} → ${load2.toFixed(1)} (1-min, 2 cores)`,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchApply();
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(28)} ${typeof v === 'number' ? v.toFixed(3) : v}`);
}
