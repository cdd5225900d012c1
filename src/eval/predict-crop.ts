/**
 * Tiled prediction over a crop's labels region: the region is covered by tiles whose outputs'
 * centres are kept and stitched into one [z, y, x, c] array; raw is read around each tile with the
 * context the model needs (zero-filled outside raw); tiles are predicted in batches.
 *
 * Seamless by default (see tiling.ts): a 'same' model's tiles overlap and each keeps its output
 * minus the model's receptive margin, tile inputs start on the model's pooling grid, and tiles
 * grow beyond the model's input size up to a voxel budget; the result equals the model's
 * prediction of the whole region in one piece, away from the region's own borders.
 *
 * The output is on the labels' grid (`crop.voxelSize`), the input on raw's: when they differ the
 * model's output voxels are label voxels (e.g. `unet3d` with `outputUpsample`), tiles are centred
 * on the coarser grid and raw is placed around each tile as the training sampler places it.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import { coarserGrid, contextBegin } from '../voxel-grid.js';
import { roi, roiIsEmpty, roiIsMultipleOf, roiVoxelShape, type Roi } from '../roi.js';
import type { Crop } from '../types.js';
import { DEFAULT_MAX_TILE_VOXELS, planTiling, tileStarts, type Tiling } from './tiling.js';

export { tileStarts } from './tiling.js';

export interface PredictOptions {
  /**
   * Tile input in raw voxels [z, y, x] (default: chosen for the region: from the model's input,
   * grown in steps of its pooling until one tile covers the region or holds `maxTileVoxels`).
   */
  inputShape?: readonly number[];
  /**
   * Part of each tile's output kept, centred, in label voxels (default: the output minus the
   * model's receptive margin on each side for a 'same' model, so tile borders never show; the
   * whole output for a 'valid' model, or for a model with layers the margin cannot be read from).
   */
  outputShape?: readonly number[];
  /** Tiles per model call, at most (default 4; fewer when they would hold more than `maxTileVoxels`). */
  batchSize?: number;
  /** Largest tile input, and batch of tiles, in voxels (default 2^20, e.g. 16×256×256). */
  maxTileVoxels?: number;
  /** Region to predict (default: the crop's labels region). */
  region?: Roi;
  /**
   * World position the tile grid is aligned to (default: the region's offset). predictVolume
   * passes its whole ROI's, so blocks predict as the whole ROI would.
   */
  tileOrigin?: readonly number[];
  /** Called after each batch with (tiles done, tiles in all). */
  onProgress?: (done: number, total: number) => void;
}

export interface Prediction {
  /** [z, y, x, c], C order. */
  data: Float32Array;
  shape: number[];
  /** World region the prediction covers. */
  roi: Roi;
}

function checkRank5(shape: (number | null)[], what: string, model: tf.LayersModel): void {
  if (shape.length !== 5)
    throw new OptionsError(`model ${model.name}: ${what} must be [batch, z, y, x, c], got [${shape.join(', ')}]`);
}

/** The checked region to predict: non-empty, 3D, on the labels' grid (and on the coarser grid). */
function checkedRegion(crop: Crop, region: Roi): Roi {
  const vs = crop.voxelSize;
  const grid = coarserGrid(crop.raw.voxelSize, vs);
  if (
    region.offset.length !== 3 ||
    region.shape.length !== 3 ||
    !roiIsMultipleOf(region, vs) ||
    roiIsEmpty(region) ||
    region.offset.some((o, i) => o % grid[i]! !== 0)
  ) {
    const sameGrid = grid.every((g, i) => g === vs[i]);
    throw new OptionsError(
      `region offset [${region.offset.join(', ')}] shape [${region.shape.join(', ')}] must be a non-empty 3D region ` +
        `aligned to ${crop.name}'s voxel size [${vs.join(', ')}]` +
        (sameGrid
          ? ''
          : `, its offset a multiple of [${grid.join(', ')}] (the coarser of raw's and the labels' voxel sizes)`),
    );
  }
  return region;
}

/** The tiling of `crop`'s region, its shapes checked against the crop's voxel sizes. */
function cropTiling(model: tf.LayersModel, crop: Crop, shape: number[], options: PredictOptions): Tiling {
  const vs = crop.voxelSize;
  const rawVs = crop.raw.voxelSize;
  const tiling = planTiling(model, {
    regionShape: shape,
    voxelSize: vs,
    rawVoxelSize: rawVs,
    inputShape: options.inputShape,
    outputShape: options.outputShape,
    maxTileVoxels: options.maxTileVoxels,
  });
  const { input, output, keep } = tiling;
  if (keep.some((k, i) => !(Number.isInteger(k) && k > 0 && k <= output[i]!))) {
    throw new OptionsError(`outputShape [${keep.join(', ')}] must fit in the model output [${output.join(', ')}]`);
  }
  const sameGrid = rawVs.every((v, i) => v === vs[i]);
  if (output.some((o, i) => (sameGrid && (input[i]! - o) % 2 !== 0) || (o - keep[i]!) % 2 !== 0)) {
    throw new OptionsError(
      `input [${input.join(', ')}], model output [${output.join(', ')}] and kept output [${keep.join(', ')}] ` +
        'must differ by even numbers of voxels so the output is centred',
    );
  }
  if (output.some((o, i) => o * vs[i]! > input[i]! * rawVs[i]!)) {
    throw new OptionsError(
      `model ${model.name}: its output [${output.join(', ')}] at ${crop.name}'s label voxel size [${vs.join(', ')}] ` +
        `covers more than its input [${input.join(', ')}] at raw's [${rawVs.join(', ')}]; a model for raw and labels at ` +
        "different voxel sizes needs an output at the labels' voxel size (unet3d outputUpsample / outputDownsample), " +
        'or open the data with DataConfig resample',
    );
  }
  const gridStep = coarserGrid(rawVs, vs).map((g, i) => g / vs[i]!);
  if (keep.some((k, i) => k < gridStep[i]!)) {
    throw new OptionsError(`outputShape [${keep.join(', ')}] must be at least [${gridStep.join(', ')}] label voxels`);
  }
  return tiling;
}

/**
 * Phase (label voxels, mod `tiling.step`) of the kept tile starts relative to the region: the
 * tile's input begins on the model's alignment grid from `origin`, and its output centre on the
 * coarser grid (as the training samples' do). Without such a phase (unusual voxel size ratios),
 * the coarser grid alone.
 */
function tilePhase(tiling: Tiling, crop: Crop, region: Roi, origin: readonly number[], axis: number): number {
  const vs = crop.voxelSize[axis]!;
  const rawVs = crop.raw.voxelSize[axis]!;
  const gridStep = Math.max(rawVs, vs) / vs;
  const gridPhase = tiling.trim[axis]! - Math.floor(tiling.output[axis]! / 2);
  const inputBegin = (k: number) =>
    contextBegin(
      [region.offset[axis]! + (k - tiling.trim[axis]!) * vs],
      [tiling.output[axis]! * vs],
      [tiling.input[axis]! * rawVs],
      [rawVs],
    )[0]!;
  const mod = (x: number, m: number) => ((x % m) + m) % m;
  for (let k = 0; k < tiling.step[axis]!; k++) {
    if (mod(k - gridPhase, gridStep) === 0 && mod(inputBegin(k) - origin[axis]!, tiling.stepWorld[axis]!) === 0) {
      return k;
    }
  }
  return mod(gridPhase, gridStep);
}

export async function predictCrop(
  model: tf.LayersModel,
  crop: Crop,
  options: PredictOptions = {},
): Promise<Prediction> {
  const inputs = model.inputs[0]!.shape;
  checkRank5(inputs, 'input', model);
  const channels = crop.raw.channels;
  if (inputs[4] !== null && inputs[4] !== channels) {
    throw new OptionsError(`model ${model.name} takes ${inputs[4]} channels but ${crop.name} raw has ${channels}`);
  }
  const vs = crop.voxelSize;
  const rawVs = crop.raw.voxelSize;
  const region = checkedRegion(crop, options.region ?? crop.labels.roi);
  const shape = roiVoxelShape(region, vs);
  const tiling = cropTiling(model, crop, shape, options);
  const { input, output: modelOut, keep, trim: trimStart } = tiling;
  const outChannels = tiling.model.outputs[0]!.shape[4] ?? (await outputChannels(tiling.model, input, channels));
  const inExtent = input.map((n, i) => n * rawVs[i]!);
  const outExtent = modelOut.map((n, i) => n * vs[i]!);
  const origin = options.tileOrigin ?? region.offset;
  const starts = shape.map((n, a) =>
    tileStarts(n, keep[a]!, tiling.step[a]!, tilePhase(tiling, crop, region, origin, a)),
  );
  const tiles: number[][] = [];
  for (const z of starts[0]!) for (const y of starts[1]!) for (const x of starts[2]!) tiles.push([z, y, x]);

  const data = new Float32Array(shape[0]! * shape[1]! * shape[2]! * outChannels);
  const inVoxels = input[0]! * input[1]! * input[2]! * channels;
  const budget = Math.floor((options.maxTileVoxels ?? DEFAULT_MAX_TILE_VOXELS) / (inVoxels / channels));
  const batchSize = Math.max(1, Math.min(options.batchSize ?? 4, budget));
  // Read the next batch's raw while the model runs on this one.
  const readBatch = (i: number) =>
    Promise.all(
      tiles.slice(i, i + batchSize).map((t) =>
        crop.readRaw(
          roi(
            contextBegin(
              t.map((s, a) => region.offset[a]! + (s - trimStart[a]!) * vs[a]!),
              outExtent,
              inExtent,
              rawVs,
            ),
            inExtent,
          ),
        ),
      ),
    );
  let pending = readBatch(0);
  let prefetched: Promise<unknown> | null = null;
  try {
    for (let i = 0; i < tiles.length; i += batchSize) {
      const raws = await pending;
      prefetched = null;
      if (i + batchSize < tiles.length) prefetched = pending = readBatch(i + batchSize);
      const values = await predictBatch(tiling.model, raws, input, channels);
      const out = { values, shape: modelOut, channels: outChannels, trim: trimStart, keep };
      for (let b = 0; b < raws.length; b++) stitch(out, b, { data, shape }, tiles[i + b]!);
      options.onProgress?.(Math.min(i + batchSize, tiles.length), tiles.length);
    }
  } finally {
    // A read started ahead for a batch we no longer run (the model or a callback threw): its
    // failure must not become an unhandled rejection that kills the process.
    prefetched?.catch(() => undefined);
  }
  return { data, shape: [...shape, outChannels], roi: region };
}

/** Output channels of a model whose declared output leaves them open. */
async function outputChannels(model: tf.LayersModel, input: number[], channels: number): Promise<number> {
  return tf.tidy(() => (model.predict(tf.zeros([1, ...input, channels])) as tf.Tensor).shape[4]!);
}

/** One batch of model output and the part of each tile that is kept. */
interface TileOutputs {
  values: Float32Array;
  /** Output tile shape [z, y, x] in voxels. */
  shape: number[];
  channels: number;
  /** Voxels trimmed from each tile's start and the count kept per axis. */
  trim: number[];
  keep: number[];
}

/** Runs the model on a batch of raw tiles of `input` voxels and `channels` channels. */
async function predictBatch(
  model: tf.LayersModel,
  raws: Float32Array[],
  input: number[],
  channels: number,
): Promise<Float32Array> {
  const inVoxels = input[0]! * input[1]! * input[2]! * channels;
  const batch = new Float32Array(raws.length * inVoxels);
  raws.forEach((r, b) => {
    batch.set(r, b * inVoxels);
  });
  const out = tf.tidy(
    () => model.predict(tf.tensor5d(batch, [raws.length, input[0]!, input[1]!, input[2]!, channels])) as tf.Tensor,
  );
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

/** Copies the kept part of tile `b`'s output to `start` in the prediction (clipped to the region). */
function stitch(out: TileOutputs, b: number, dst: { data: Float32Array; shape: number[] }, start: number[]): void {
  const { values, channels: C, trim, keep } = out;
  const [oz, oy, ox] = out.shape as [number, number, number];
  const [dz, dy, dx] = dst.shape as [number, number, number];
  const base = b * oz * oy * ox * C;
  // Clipped to the region on both sides (tiles on a coarser grid may begin before it).
  const [lz, ly, lx] = [0, 1, 2].map((a) => Math.max(0, -start[a]!)) as [number, number, number];
  const nz = Math.min(keep[0]!, dz - start[0]!);
  const ny = Math.min(keep[1]!, dy - start[1]!);
  const nx = Math.min(keep[2]!, dx - start[2]!);
  for (let z = lz; z < nz; z++) {
    for (let y = ly; y < ny; y++) {
      const src = base + (((z + trim[0]!) * oy + (y + trim[1]!)) * ox + trim[2]! + lx) * C;
      const d = (((start[0]! + z) * dy + (start[1]! + y)) * dx + start[2]! + lx) * C;
      dst.data.set(values.subarray(src, src + (nx - lx) * C), d);
    }
  }
}
