/**
 * predictVolume: a model applied to any world ROI of a raw array (default: all of it), block by
 * block, into a zarr array (job.ts runs the blocks: grid.ts cuts them, markers.ts makes restarts
 * skip the done ones, workers.ts splits them between processes). Each block is one `predictCrop`
 * call over the block's ROI, which reads the context the model needs around every tile
 * (zero-filled outside raw), with one tiling for every block (eval/tiling.ts: seamless tiles on a
 * grid from the ROI's offset), so a block's values do not depend on which process computed it,
 * nor on the other blocks, and the blocks fit together as the whole ROI predicted at once.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import { predictCrop } from '../eval/predict-crop.js';
import { planTiling } from '../eval/tiling.js';
import type { Crop, Volume } from '../types.js';
import { normalizeRaw, rawNormalization } from '../zarr/normalize.js';
import { funlibAttributes } from '../zarr/write/metadata.js';
import type { ArrayLocation } from '../zarr/write/file-store.js';
import { writeBlockChunks } from './block-io.js';
import {
  type BlockwiseOptions,
  type BlockwiseResult,
  checkRegion,
  coordinationOptions,
  defaultBlockShape,
  emptyResult,
  openInput,
  openJob,
  outputOptions,
  planBlocks,
  runPhase,
} from './job.js';

export interface PredictVolumeOptions extends BlockwiseOptions {
  /** Stored dtype: 'float32' (default) or 'uint8' (probabilities × 255, rounded). */
  dtype?: 'float32' | 'uint8';
  /** Tile input in voxels (default: grown from the model's input to cover a block, see predictCrop). */
  inputShape?: readonly number[];
  /** Part of each tile's output kept, centred (default: a 'same' model's output minus its receptive margin). */
  outputShape?: readonly number[];
  /** Tiles per model call, at most (default 4). */
  batchSize?: number;
  /** Largest tile input in voxels (default 2^20). */
  maxTileVoxels?: number;
  /** Scale of raw values when its dtype has no rule (see DataConfig.rawScale). */
  rawScale?: number;
  /** Extra attributes for the output array (e.g. the post-processing the checkpoint found best). */
  attributes?: Record<string, unknown>;
}

export interface ModelGeometry {
  inputShape: number[];
  inputChannels: number | null;
  /** Spatial output for `inputShape`. */
  outputShape: number[];
  outputChannels: number;
}

/** The model's input/output shapes (running it once on zeros when its input shape is not fixed). */
export function modelGeometry(model: tf.LayersModel, inputShape?: readonly number[]): ModelGeometry {
  const declaredIn = model.inputs[0]!.shape;
  if (declaredIn.length !== 5) {
    throw new OptionsError(`model ${model.name}: input must be [batch, z, y, x, c], got [${declaredIn.join(', ')}]`);
  }
  const fixed = declaredIn.slice(1, 4);
  const input = inputShape ? [...inputShape] : fixed.every((d) => d !== null) ? (fixed as number[]) : null;
  if (input?.length !== 3) {
    throw new OptionsError(`model ${model.name} has no fixed input shape; give inputShape [z, y, x] (--input-shape)`);
  }
  const inputChannels = declaredIn[4] ?? null;
  const declaredOut = model.outputs[0]!.shape;
  if (fixed.every((d, i) => d === input[i]) && declaredOut.every((d, i) => i === 0 || d !== null)) {
    return {
      inputShape: input,
      inputChannels,
      outputShape: declaredOut.slice(1, 4) as number[],
      outputChannels: declaredOut[4]!,
    };
  }
  const out = tf.tidy(() => (model.predict(tf.zeros([1, ...input, inputChannels ?? 1])) as tf.Tensor).shape);
  return { inputShape: input, inputChannels, outputShape: out.slice(1, 4), outputChannels: out[4]! };
}

/** A Crop over raw alone: what predictCrop needs to tile one block (labels = raw's grid). */
function rawCrop(raw: Volume, rawScale: number | undefined): Crop {
  const normalization = rawNormalization(raw.dtype, { container: raw.container, path: raw.path }, rawScale);
  const unused = () => Promise.reject(new Error('predictVolume reads raw only'));
  return {
    name: `${raw.container}/${raw.path}`,
    raw,
    labels: raw,
    mask: null,
    voxelSize: raw.voxelSize,
    readRaw: async (r) => normalizeRaw(await raw.read(r), normalization),
    read: unused,
    readMask: unused,
  };
}

/** Checks that the model takes the input's channels and that the output dtype is supported. */
function checkedInput(
  model: tf.LayersModel,
  geometry: ReturnType<typeof modelGeometry>,
  input: Awaited<ReturnType<typeof openInput>>,
  requested: PredictVolumeOptions['dtype'],
): 'float32' | 'uint8' {
  if (geometry.inputChannels !== null && geometry.inputChannels !== input.channels) {
    throw new OptionsError(
      `model ${model.name} takes ${geometry.inputChannels} input channel(s) but ${input.container}/${input.path} ` +
        `has ${input.channels} (shape [${input.shape.join(', ')}], axes [${input.axisNames.join(', ')}])`,
    );
  }
  const dtype = requested ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'uint8') throw new OptionsError(`dtype must be float32 or uint8, got ${dtype}`);
  return dtype;
}

export async function predictVolume(
  model: tf.LayersModel,
  raw: Volume | string | ArrayLocation,
  options: PredictVolumeOptions,
): Promise<BlockwiseResult> {
  const t0 = performance.now();
  const input = await openInput(raw);
  const geometry = modelGeometry(model, options.inputShape);
  const dtype = checkedInput(model, geometry, input, options.dtype);
  const region = checkRegion(options.roi, input, 'raw array');
  const tilingFor = (regionShape: readonly number[]) =>
    planTiling(model, {
      regionShape,
      voxelSize: input.voxelSize,
      rawVoxelSize: input.voxelSize,
      inputShape: options.inputShape,
      outputShape: options.outputShape,
      maxTileVoxels: options.maxTileVoxels,
    });
  const { grid, chunk } = planBlocks(region, input.voxelSize, options, (shape) =>
    defaultBlockShape(tilingFor(shape).keep, shape),
  );
  // One tiling for every block (edge blocks clip their tiles), so restarts and workers agree.
  const tiling = tilingFor(grid.blockShape);
  const C = geometry.outputChannels;
  const output = outputOptions(options);
  const job = await openJob(
    options,
    grid,
    {
      format: output.format,
      shape: [C, ...grid.shape],
      chunks: [C, ...chunk],
      dtype,
      compressor: output.compressor,
      attributes: {
        ...funlibAttributes({ voxelSize: input.voxelSize, offset: region.offset, units: input.units, channels: true }),
        ...options.attributes,
      },
      dimensionNames: ['c^', 'z', 'y', 'x'],
    },
    {
      kind: 'prediction',
      input: `${input.container}/${input.path}`,
      roi: region,
      blockShape: grid.blockShape,
      inputShape: tiling.input,
      outputShape: tiling.keep,
    },
  );
  const result = emptyResult(job);
  if (coordinationOptions(options).prepareOnly) return result;

  const crop = rawCrop(input, options.rawScale);
  const { computed, skipped, storeSeconds } = await runPhase(
    job,
    'predict',
    {
      compute: (b) =>
        predictCrop(model, crop, {
          region: b.roi,
          inputShape: tiling.input,
          outputShape: tiling.keep,
          tileOrigin: region.offset,
          batchSize: options.batchSize,
          maxTileVoxels: options.maxTileVoxels,
        }),
      store: async (b, prediction) => {
        await writeBlockChunks(job.writer, b, prediction.data);
        return { roi: b.roi };
      },
      // The previous block's write runs while the model predicts the next one.
      overlap: true,
    },
    options,
  );
  return { ...result, computed, skipped, seconds: { total: (performance.now() - t0) / 1000, write: storeSeconds } };
}
