/**
 * `tfjs-zarr predict`: a checkpoint applied to a whole raw array (or a ROI of it), block by block,
 * into a zarr array; restartable, and split over processes, machines or array jobs.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type * as tf from '@tensorflow/tfjs';
import { openArray } from '../apply/open.js';
import { predictVolume } from '../apply/predict-volume.js';
import { PREDICTION_PARAMETERS_ATTRIBUTE } from '../apply/segment.js';
import { useFastestBackend } from '../backend.js';
import { loadCheckpoint, readCheckpointInfo } from '../eval/checkpoint.js';
// Registers PatchConv3D, which unet3d checkpoints use (checkpoint.ts registers the other custom layers).
import '../models/conv3d.js';
import { OptionsError } from '../errors.js';
import {
  BLOCKWISE_OPTIONS,
  BLOCKWISE_USAGE,
  blockwiseOptions,
  integerOption,
  numberOption,
  progressFeed,
  runProcesses,
  tripleOption,
  describeSlot,
} from './apply-options.js';
import { UsageError } from './usage.js';

export const summary = 'apply a checkpoint to a whole raw array, blockwise, into zarr';

export const usage = `usage: tfjs-zarr predict --checkpoint DIR --input DATA.zarr/ARRAY --output OUT.zarr/ARRAY [options]

  Predicts every block of the input's ROI with the checkpoint's model (reading each block's
  context) and writes a zarr array [c, z, y, x] with funlib attributes (voxel_size, offset,
  axis_names c^ z y x, units, types). A killed run continues where it stopped; N workers
  (--processes, --worker/--workers, or a SLURM / Kubernetes / AWS Batch array job) write the same
  array as one.

  --checkpoint DIR     a checkpoint directory (e.g. runs/x/best/crop_03) or its model.json
  --input C/ARRAY      the raw array, e.g. data.zarr/raw or data.zarr/test/crop_03/raw
  --output C/ARRAY     the prediction to write, e.g. out.zarr/prediction
  --dtype D            float32 (default) or uint8 (probabilities × 255)
  --input-shape Z,Y,X  model input in voxels (default: the model's)
  --output-shape Z,Y,X part of each model output kept, centred (default: all of it)
  --batch-size N       tiles per model call (default 4)
  --raw-scale S        multiply raw by S (for raw dtypes without a rule)
  --backend B          tensorflow, wasm or cpu (default: the fastest available)
  --threads N          threads per process on wasm (default: the cores, shared out among --processes)
${BLOCKWISE_USAGE}
  Default block: the kept model output, repeated to at least 64 voxels per axis.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      ...BLOCKWISE_OPTIONS,
      checkpoint: { type: 'string' },
      dtype: { type: 'string' },
      'input-shape': { type: 'string' },
      'output-shape': { type: 'string' },
      'batch-size': { type: 'string' },
      'raw-scale': { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const checkpoint = values.checkpoint;
  if (!checkpoint) throw new UsageError('--checkpoint is required (e.g. runs/x/best/crop_03)');
  if (!values.input) throw new UsageError('--input is required (e.g. data.zarr/raw)');
  const common = blockwiseOptions(values);
  const dtype = values.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'uint8') throw new UsageError(`--dtype must be float32 or uint8, got ${dtype}`);
  const processes = integerOption(values, 'processes', 1) ?? 1;
  if (values.backend) process.env['TFJS_ZARR_BACKEND'] = values.backend;
  // Through the environment, so that --processes' workers (this command again) inherit it: the
  // cores shared out among them unless given.
  const threads = integerOption(values, 'threads', 1);
  if (threads !== undefined) process.env['TFJS_ZARR_THREADS'] = String(threads);
  else if (processes > 1 && !process.env['TFJS_ZARR_THREADS']) {
    process.env['TFJS_ZARR_THREADS'] = String(Math.max(1, Math.floor(availableParallelism() / processes)));
  }
  await useFastestBackend({ quiet: true });

  const raw = await openArray(values.input, { option: '--input' });
  const model = await loadModel(checkpoint);
  const options = {
    ...common,
    dtype: dtype as 'float32' | 'uint8',
    inputShape: tripleOption(values, 'input-shape'),
    outputShape: tripleOption(values, 'output-shape'),
    batchSize: integerOption(values, 'batch-size', 1),
    rawScale: numberOption(values, 'raw-scale'),
    attributes: await recordedParameters(checkpoint),
  };
  const t0 = performance.now();
  if (processes > 1) {
    const prepared = await predictVolume(model, raw, {
      ...options,
      coordination: { ...options.coordination, prepareOnly: true },
    });
    model.dispose();
    await runProcesses('predict', argv, processes, prepared, ['predict'], values.quiet === true);
    const seconds = (performance.now() - t0) / 1000;
    const voxels = prepared.grid.shape.reduce((a, b) => a * b, 1);
    console.log(
      `wrote ${values.output}: ${prepared.grid.blocks.length} blocks with ${processes} processes in ${seconds.toFixed(1)} s`,
    );
    if (seconds > 0) console.log(`  ${(voxels / seconds / 1e6).toFixed(3)} M voxels/s overall`);
    return 0;
  }
  const progress = progressFeed(values.quiet === true, 'predict');
  let result: Awaited<ReturnType<typeof predictVolume>>;
  try {
    result = await predictVolume(model, raw, { ...options, onProgress: progress.onProgress });
  } finally {
    progress.stop();
    model.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const who = describeSlot(result.slot);
  console.log(
    `wrote ${values.output}${who}: ${result.computed} blocks computed, ${result.skipped} already done, ` +
      `of ${result.grid.blocks.length} in all, in ${seconds.toFixed(1)} s`,
  );
  return 0;
}

async function loadModel(checkpoint: string): Promise<tf.LayersModel> {
  try {
    return await loadCheckpoint(checkpoint);
  } catch (e) {
    throw new OptionsError(`--checkpoint ${checkpoint}: cannot load a model there: ${(e as Error).message}`);
  }
}

/** The post-processing the checkpoint was best with, as an attribute for `segment` to find. */
async function recordedParameters(checkpoint: string): Promise<Record<string, unknown>> {
  const info = await readCheckpointInfo<{
    postProcessor?: string;
    parameters?: Record<string, unknown>;
  }>(checkpoint).catch(() => null);
  return info?.postProcessor
    ? { [PREDICTION_PARAMETERS_ATTRIBUTE]: { method: info.postProcessor, ...info.parameters, checkpoint } }
    : {};
}
