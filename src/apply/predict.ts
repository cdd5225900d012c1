/**
 * predictVolume: a model applied to any world ROI of a raw array (default: all of it), block by
 * block, into a zarr array (see grid.ts for the blocks, markers.ts for restarts, workers.ts for
 * the split between processes). Each block is one `predictCrop` call over the block's ROI, which
 * reads the context the model needs around every tile (zero-filled outside raw), with one tiling
 * for every block (eval/tiling.ts: seamless tiles on a grid from the ROI's offset), so a block's
 * values do not depend on which process computed it, nor on the other blocks, and the blocks fit
 * together as the whole ROI predicted at once.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import { predictCrop } from '../eval/predict.js';
import { planTiling } from '../eval/tiling.js';
import { roiContains, roiIsEmpty, roiIsMultipleOf, roiToString, roiVoxelShape, type Roi } from '../roi.js';
import type { Crop, Volume } from '../types.js';
import { normalizeRaw, rawNormalization } from '../zarr/normalize.js';
import type { Compressor } from '../zarr/write/metadata.js';
import { funlibAttributes } from '../zarr/write/metadata.js';
import { type ArrayLocation, ZarrArrayWriter } from '../zarr/write/file-store.js';
import { writeBlockChunks } from './block-io.js';
import { blockGrid, blocksOfWorker, type BlockGrid } from './grid.js';
import { BlockMarkers, checkPlan } from './markers.js';
import { formatArrayLocation, openArray, parseArrayLocation } from './open.js';
import { resolveWorkerSlot, type WorkerSlot } from './workers.js';

export interface BlockwiseOptions {
  /** The output array, e.g. 'out.zarr/prediction' or { container, path }. */
  output: string | ArrayLocation;
  /** World region to process (default: the whole input). */
  roi?: Roi;
  /** Voxels per block; a multiple of `chunkShape` (default: see each function). */
  blockShape?: readonly number[];
  /** Voxels per output chunk (default: the block shape). */
  chunkShape?: readonly number[];
  /** zarr format of the output (default 2: every tool reads it). */
  format?: 2 | 3;
  /** Output compression (default 'gzip', level 1). */
  compressor?: Compressor;
  /** This process's share: worker index and count (default: from the environment, else 0 of 1). */
  worker?: number;
  workers?: number;
  /** Replace an output that exists with another shape/dtype/plan (refused with several workers). */
  overwrite?: boolean;
  /** Create/check the output and its plan, compute nothing (what `--processes` does before starting workers). */
  prepareOnly?: boolean;
  /**
   * fsync every chunk and marker before renaming it into place (default true: a finished block
   * survives a power loss). Without it, a killed process still never leaves a torn file.
   */
  durable?: boolean;
  /** Stop between blocks when aborted (the finished blocks stay done). */
  signal?: AbortSignal;
  /** After each block: this worker's blocks done (skipped ones included) of its total, voxels computed. */
  onProgress?: (p: BlockProgress) => void;
}

export interface BlockProgress {
  /** 'predict', or the segmentation phase: 'label' or 'write'. */
  phase: string;
  done: number;
  total: number;
  /** Voxels computed in this run (skipped blocks not counted). */
  voxels: number;
  skipped: number;
}

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

export interface BlockwiseResult {
  output: ArrayLocation;
  /** The output's folder (local path). */
  dir: string;
  grid: BlockGrid;
  slot: WorkerSlot;
  /** This worker's blocks: computed now, and found done from an earlier run. */
  computed: number;
  skipped: number;
  /** Wall time; `write`: from each block's first chunk write to its marker, summed (overlaps the next block's work). */
  seconds: { total: number; write: number };
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

/** The region to process: given or the input's, 3D, voxel aligned, inside the input. */
export function checkRegion(region: Roi | undefined, input: Volume, what: string): Roi {
  const r = region ?? input.roi;
  const name = `${input.container}/${input.path}`;
  if (r.offset.length !== 3 || r.shape.length !== 3 || roiIsEmpty(r)) {
    throw new OptionsError(`ROI ${roiToString(r)} must be a non-empty 3D region (world units, z y x)`);
  }
  if (!roiIsMultipleOf(r, input.voxelSize)) {
    throw new OptionsError(
      `ROI ${roiToString(r)} is not aligned to ${name}'s voxel size [${input.voxelSize.join(', ')}]`,
    );
  }
  if (!roiContains(input.roi, r)) {
    throw new OptionsError(
      `ROI ${roiToString(r)} is outside the ${what} ${name}, whose ROI is ${roiToString(input.roi)}`,
    );
  }
  return r;
}

/** Default block: the smallest multiple of `unit` with at least `min` voxels per axis, clipped to the region. */
export function defaultBlockShape(unit: readonly number[], shape: readonly number[], min = 64): number[] {
  return unit.map((u, i) => Math.min(u * Math.max(1, Math.ceil(min / u)), shape[i]!));
}

/** Block and chunk shapes, checked: blocks cover whole chunks. Both clipped to the region. */
export function blockAndChunkShapes(
  blockShape: readonly number[],
  chunkShape: readonly number[] | undefined,
  shape: readonly number[],
): { block: number[]; chunk: number[] } {
  const block = blockShape.map((b, i) => Math.min(b, shape[i]!));
  const chunk = (chunkShape ?? block).map((c, i) => Math.min(c, shape[i]!));
  if (chunk.length !== 3 || chunk.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new OptionsError(`chunk shape [${chunk.join(', ')}] must be 3 positive integers (voxels)`);
  }
  if (block.some((b, i) => b % chunk[i]! !== 0 && b !== shape[i])) {
    throw new OptionsError(
      `block shape [${blockShape.join(', ')}] must be a multiple of the chunk shape [${chunk.join(', ')}] ` +
        '(blocks cover whole chunks, so concurrent writers never share one)',
    );
  }
  return { block, chunk };
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

export async function predictVolume(
  model: tf.LayersModel,
  raw: Volume | string | ArrayLocation,
  options: PredictVolumeOptions,
): Promise<BlockwiseResult> {
  const t0 = performance.now();
  const input = typeof raw === 'string' || !('read' in raw) ? await openArray(raw, { option: 'input' }) : raw;
  const output = parseArrayLocation(options.output, 'output');
  const slot = resolveWorkerSlot(options);
  const geometry = modelGeometry(model, options.inputShape);
  if (geometry.inputChannels !== null && geometry.inputChannels !== input.channels) {
    throw new OptionsError(
      `model ${model.name} takes ${geometry.inputChannels} input channel(s) but ${input.container}/${input.path} ` +
        `has ${input.channels} (shape [${input.shape.join(', ')}], axes [${input.axisNames.join(', ')}])`,
    );
  }
  const region = checkRegion(options.roi, input, 'raw array');
  const shape = roiVoxelShape(region, input.voxelSize);
  const tilingFor = (regionShape: readonly number[]) =>
    planTiling(model, {
      regionShape,
      voxelSize: input.voxelSize,
      rawVoxelSize: input.voxelSize,
      inputShape: options.inputShape,
      outputShape: options.outputShape,
      maxTileVoxels: options.maxTileVoxels,
    });
  const { block, chunk } = blockAndChunkShapes(
    options.blockShape ?? defaultBlockShape(tilingFor(shape).keep, shape),
    options.chunkShape,
    shape,
  );
  // One tiling for every block (edge blocks clip their tiles), so restarts and workers agree.
  const tiling = tilingFor(block);
  const grid = blockGrid(region, input.voxelSize, block);
  const C = geometry.outputChannels;
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'uint8') throw new OptionsError(`dtype must be float32 or uint8, got ${dtype}`);
  if (options.overwrite && slot.workers > 1) {
    throw new OptionsError(
      `overwrite with ${slot.workers} workers would let one worker delete what another wrote; ` +
        'remove the output first (or prepare it once with --overwrite and no workers)',
    );
  }
  const writer = await ZarrArrayWriter.create(
    output,
    {
      format: options.format ?? 2,
      shape: [C, ...shape],
      chunks: [C, ...chunk],
      dtype,
      compressor: options.compressor ?? 'gzip',
      attributes: {
        ...funlibAttributes({ voxelSize: input.voxelSize, offset: region.offset, units: input.units, channels: true }),
        ...options.attributes,
      },
      dimensionNames: ['c^', 'z', 'y', 'x'],
    },
    { overwrite: options.overwrite, durable: options.durable },
  );
  await checkPlan(
    writer.dir,
    {
      kind: 'prediction',
      input: `${input.container}/${input.path}`,
      roi: region,
      blockShape: block,
      inputShape: tiling.input,
      outputShape: tiling.keep,
    },
    formatArrayLocation(output),
  );
  const result: BlockwiseResult = {
    output,
    dir: writer.dir,
    grid,
    slot,
    computed: 0,
    skipped: 0,
    seconds: { total: 0, write: 0 },
  };
  if (options.prepareOnly) return result;

  const markers = new BlockMarkers(writer.dir, 'predict', options.durable);
  const done = await markers.done();
  const mine = blocksOfWorker(grid, slot.worker, slot.workers);
  const crop = rawCrop(input, options.rawScale);
  let voxels = 0;
  // The previous block's write runs while the model predicts the next one.
  let writing: Promise<void> = Promise.resolve();
  const report = () =>
    options.onProgress?.({
      phase: 'predict',
      done: result.computed + result.skipped,
      total: mine.length,
      voxels,
      skipped: result.skipped,
    });
  try {
    for (const b of mine) {
      if (done.has(b.index)) {
        result.skipped++;
        continue;
      }
      options.signal?.throwIfAborted();
      const prediction = await predictCrop(model, crop, {
        region: b.roi,
        inputShape: tiling.input,
        outputShape: tiling.keep,
        tileOrigin: region.offset,
        batchSize: options.batchSize,
        maxTileVoxels: options.maxTileVoxels,
      });
      await writing;
      const write = (async () => {
        const t = performance.now();
        await writeBlockChunks(writer, b, prediction.data);
        await markers.mark(b.index, { roi: b.roi });
        result.seconds.write += (performance.now() - t) / 1000;
        result.computed++;
        voxels += b.voxelShape.reduce((x, y) => x * y, 1);
        report();
      })();
      // Awaited at the next block or the end; never an unhandled rejection in between.
      write.catch(() => undefined);
      writing = write;
    }
  } finally {
    // Stopped or failed: let the block being written finish (or fail) before returning.
    await writing.catch(() => undefined);
  }
  await writing;
  if (result.computed === 0) report();
  result.seconds.total = (performance.now() - t0) / 1000;
  return result;
}
