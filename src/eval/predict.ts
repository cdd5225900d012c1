/**
 * Tiled prediction over a crop's labels region: the region is covered by output tiles (the last
 * tile on each axis shifted inward so it ends at the region's end, never cropped wrong), raw is
 * read around each tile with the context the model needs (zero-filled outside raw), tiles are
 * predicted in batches and stitched into one [z, y, x, c] array.
 *
 * The output is on the labels' grid (`crop.voxelSize`), the input on raw's: when they differ the
 * model's output voxels are label voxels (e.g. `unet3d` with `outputUpsample`), tiles are centred
 * on the coarser grid and raw is placed around each tile as the training sampler places it.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import { coarserGrid, contextBegin } from '../grid.js';
import { roi, roiIsEmpty, roiIsMultipleOf, roiVoxelShape, type Roi } from '../roi.js';
import type { Crop } from '../types.js';

export interface PredictOptions {
  /** Model input in voxels [z, y, x] (default: the model's input shape). */
  inputShape?: readonly number[];
  /**
   * Part of the model output kept from each tile, centred, in voxels (default: the whole model
   * output). Smaller than a 'same' model's output keeps the tile borders out of the result.
   */
  outputShape?: readonly number[];
  /** Tiles per model call (default 4). */
  batchSize?: number;
  /** Region to predict (default: the crop's labels region). */
  region?: Roi;
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

/**
 * Tile starts along one axis: a regular grid, the last one moved inward to end at `length`.
 * With `step` > 1, every start is ≡ `phase` (mod step) (tiles centred on a coarser grid): the
 * first may begin before 0 and the last end after `length` by less than `step` (clipped when
 * stitched).
 */
export function tileStarts(length: number, tile: number, step = 1, phase = 0): number[] {
  const p = ((phase % step) + step) % step;
  const first = p === 0 ? 0 : p - step;
  const floorToPhase = (x: number) => Math.floor((x - p) / step) * step + p;
  const stride = Math.floor(tile / step) * step;
  if (first + tile >= length) return [first];
  const starts: number[] = [];
  for (let s = first; s + tile < length; s += stride) starts.push(s);
  let last = floorToPhase(length - tile);
  if (last + tile < length) last += step;
  if (last > starts[starts.length - 1]!) starts.push(last);
  return starts;
}

function spatialShapeOf(shape: (number | null)[], what: string, model: tf.LayersModel): number[] | null {
  const s = shape.slice(1, 4);
  if (shape.length !== 5)
    throw new OptionsError(`model ${model.name}: ${what} must be [batch, z, y, x, c], got [${shape.join(', ')}]`);
  return s.every((v) => v !== null) ? (s as number[]) : null;
}

/**
 * Model output shape (spatial + channels) for a given input shape: the model's declared output
 * shape when its input shape is fixed and the one used, else by running it once on zeros.
 */
function outputShapeFor(model: tf.LayersModel, input: number[], channels: number): number[] {
  const declaredIn = model.inputs[0]!.shape.slice(1, 4);
  const declaredOut = model.outputs[0]!.shape.slice(1);
  if (declaredIn.every((d, i) => d === input[i]) && declaredOut.every((d) => d !== null)) {
    return declaredOut as number[];
  }
  return tf.tidy(() => {
    const out = model.predict(tf.zeros([1, ...input, channels])) as tf.Tensor;
    return out.shape.slice(1);
  });
}

export async function predictCrop(
  model: tf.LayersModel,
  crop: Crop,
  options: PredictOptions = {},
): Promise<Prediction> {
  const inputs = model.inputs[0]!.shape;
  const channels = crop.raw.channels;
  const modelIn = spatialShapeOf(inputs, 'input', model);
  const input = [...(options.inputShape ?? modelIn ?? [])];
  if (input.length !== 3) {
    throw new OptionsError(`model ${model.name} has no fixed input shape; pass inputShape [z, y, x] to predictCrop`);
  }
  if (inputs[4] !== null && inputs[4] !== channels) {
    throw new OptionsError(`model ${model.name} takes ${inputs[4]} channels but ${crop.name} raw has ${channels}`);
  }
  const outShapeFull = outputShapeFor(model, input, channels);
  const modelOut = outShapeFull.slice(0, 3);
  const outChannels = outShapeFull[3]!;
  const keep = [...(options.outputShape ?? modelOut)];
  if (keep.some((k, i) => !(Number.isInteger(k) && k > 0 && k <= modelOut[i]!))) {
    throw new OptionsError(`outputShape [${keep.join(', ')}] must fit in the model output [${modelOut.join(', ')}]`);
  }
  const vs = crop.voxelSize;
  const rawVs = crop.raw.voxelSize;
  const sameGrid = rawVs.every((v, i) => v === vs[i]);
  if (modelOut.some((o, i) => (sameGrid && (input[i]! - o) % 2 !== 0) || (o - keep[i]!) % 2 !== 0)) {
    throw new OptionsError(
      `input [${input.join(', ')}], model output [${modelOut.join(', ')}] and kept output [${keep.join(', ')}] ` +
        'must differ by even numbers of voxels so the output is centred',
    );
  }
  const inExtent = input.map((n, i) => n * rawVs[i]!);
  const outExtent = modelOut.map((n, i) => n * vs[i]!);
  if (outExtent.some((e, i) => e > inExtent[i]!)) {
    throw new OptionsError(
      `model ${model.name}: its output [${modelOut.join(', ')}] at ${crop.name}'s label voxel size [${vs.join(', ')}] ` +
        `covers more than its input [${input.join(', ')}] at raw's [${rawVs.join(', ')}]; a model for raw and labels at ` +
        "different voxel sizes needs an output at the labels' voxel size (unet3d outputUpsample / outputDownsample), " +
        'or open the data with DataConfig resample',
    );
  }
  const trimStart = keep.map((k, i) => (modelOut[i]! - k) / 2);

  const region = options.region ?? crop.labels.roi;
  const grid = coarserGrid(rawVs, vs);
  if (
    region.offset.length !== 3 ||
    region.shape.length !== 3 ||
    !roiIsMultipleOf(region, vs) ||
    roiIsEmpty(region) ||
    region.offset.some((o, i) => o % grid[i]! !== 0)
  ) {
    throw new OptionsError(
      `region offset [${region.offset.join(', ')}] shape [${region.shape.join(', ')}] must be a non-empty 3D region ` +
        `aligned to ${crop.name}'s voxel size [${vs.join(', ')}]` +
        (sameGrid
          ? ''
          : `, its offset a multiple of [${grid.join(', ')}] (the coarser of raw's and the labels' voxel sizes)`),
    );
  }
  const shape = roiVoxelShape(region, vs);
  // Tiles whose model-output centre voxel lies on the coarser grid, as the training samples' do.
  const step = grid.map((g, i) => g / vs[i]!);
  if (keep.some((k, i) => k < step[i]!)) {
    throw new OptionsError(`outputShape [${keep.join(', ')}] must be at least [${step.join(', ')}] label voxels`);
  }
  const starts = shape.map((n, i) => tileStarts(n, keep[i]!, step[i]!, trimStart[i]! - Math.floor(modelOut[i]! / 2)));
  const tiles: number[][] = [];
  for (const z of starts[0]!) for (const y of starts[1]!) for (const x of starts[2]!) tiles.push([z, y, x]);

  const data = new Float32Array(shape[0]! * shape[1]! * shape[2]! * outChannels);
  const batchSize = Math.max(1, options.batchSize ?? 4);
  const inVoxels = input[0]! * input[1]! * input[2]! * channels;
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
      const batch = new Float32Array(raws.length * inVoxels);
      raws.forEach((r, b) => {
        batch.set(r, b * inVoxels);
      });
      const out = tf.tidy(
        () => model.predict(tf.tensor5d(batch, [raws.length, input[0]!, input[1]!, input[2]!, channels])) as tf.Tensor,
      );
      let values: Float32Array;
      try {
        values = (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
      for (let b = 0; b < raws.length; b++) {
        stitch(values, b, modelOut, outChannels, trimStart, keep, data, shape, tiles[i + b]!);
      }
      options.onProgress?.(Math.min(i + batchSize, tiles.length), tiles.length);
    }
  } finally {
    // A read started ahead for a batch we no longer run (the model or a callback threw): its
    // failure must not become an unhandled rejection that kills the process.
    prefetched?.catch(() => undefined);
  }
  return { data, shape: [...shape, outChannels], roi: region };
}

/** Copies the kept part of tile `b`'s output to `start` in the prediction (clipped to the region). */
function stitch(
  values: Float32Array,
  b: number,
  modelOut: number[],
  C: number,
  trim: number[],
  keep: number[],
  dst: Float32Array,
  dstShape: number[],
  start: number[],
): void {
  const [oz, oy, ox] = modelOut as [number, number, number];
  const [dz, dy, dx] = dstShape as [number, number, number];
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
      dst.set(values.subarray(src, src + (nx - lx) * C), d);
    }
  }
}
