/**
 * Seamless tiling: how a region is cut into model tiles so that the prediction made tile by tile
 * equals the model's prediction of the region in one piece (away from the region's own borders,
 * where the one piece sees its own zero padding and the tiles see raw context or zeros).
 *
 * Two things make tiles differ from one piece:
 * - a 'same'-padded model sees zeros beyond the tile's border, which reach every output voxel
 *   closer to the border than the model's reach (its receptive radius): each tile keeps only its
 *   centre, `margin` output voxels away from its border on every side (`modelReach` reads the
 *   reach from the layers);
 * - pooling sees the input on its own grid: tiles whose inputs start on a multiple of the
 *   model's total pooling (`align`) from one origin pool the same voxels as one piece does.
 *
 * With both, a tile may be any size: the default grows it (a larger input than the model was
 * built for, same weights) up to a voxel budget, so little is computed twice. Used by
 * `predictCrop` (and through it the ValidationHook and the report) and by `predictVolume`.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';

/** Default largest tile input, in voxels (channels not counted): 16×256×256. */
export const DEFAULT_MAX_TILE_VOXELS = 2 ** 20;

/** What a model's layers say about tiling it. Per axis [z, y, x]; "input voxels" are raw voxels. */
export interface ModelReach {
  /** Input voxels per output voxel (1; 1/2 for an output upsampled 2×; 2 for one pooled 2×). */
  outputStride: number[];
  /** Input voxels beyond an output voxel's own extent that it depends on (receptive radius). */
  reach: number[];
  /** Input voxels: tile inputs starting on multiples of this from one origin pool alike. */
  align: number[];
  /** Some layer pads ('same'): tile borders reach `reach` into the output. */
  pads: boolean;
  /** Every layer is one this analysis knows; otherwise reach and align are unknown. */
  known: boolean;
}

/** Layers that act on each voxel alone (or combine tensors voxel by voxel). */
const POINTWISE = new Set([
  'InputLayer',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'PReLU',
  'ThresholdedReLU',
  'Softmax',
  'Dropout',
  'SpatialDropout1D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'BatchNormalization',
  'LayerNormalization',
  'Dense',
  'Concatenate',
  'Add',
  'Subtract',
  'Multiply',
  'Average',
  'Maximum',
  'Minimum',
  // A crop shifts positions but not reach; tiles stay aligned as long as inputs are.
  'Cropping3D',
]);

const triple = (v: unknown, fallback: number): number[] =>
  v === undefined || v === null
    ? [fallback, fallback, fallback]
    : typeof v === 'number'
      ? [v, v, v]
      : [...(v as number[])];

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Least common multiple of two positive integers. */
export function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

interface Flow {
  stride: number[];
  reach: number[];
  align: number[];
}

/**
 * The reach, alignment and output stride of a model, from its layers (PatchConv3D, tf's Conv3D,
 * 3D pooling, UpSampling3D, Cropping3D and voxel-wise layers; anything else leaves `known` false).
 * Through a convolution of kernel k at stride s (input voxels per voxel there) the reach grows by
 * (k − 1)/2 · s; through a pooling of window p and step q it grows by (p − q) · s and s becomes
 * s · q; through an upsampling by u, s becomes s / u and the reach grows by (u − 1) · s.
 */
export function modelReach(model: tf.LayersModel): ModelReach {
  const flows = new Map<unknown, Flow>();
  let pads = false;
  let known = true;
  for (const layer of model.layers) {
    const inbound = layer.inboundNodes[0]?.inboundLayers ?? [];
    const ins = inbound.map((l) => flows.get(l) ?? { stride: [1, 1, 1], reach: [0, 0, 0], align: [1, 1, 1] });
    const first = ins[0] ?? { stride: [1, 1, 1], reach: [0, 0, 0], align: [1, 1, 1] };
    const flow: Flow = {
      stride: [...first.stride],
      reach: [0, 1, 2].map((a) => Math.max(0, ...ins.map((f) => f.reach[a]!))),
      align: [0, 1, 2].map((a) => ins.reduce((m, f) => lcm(m, f.align[a]!), 1)),
    };
    const config = layer.getConfig();
    const className = layer.getClassName();
    if (className === 'PatchConv3D' || className === 'Conv3D') {
      const kernel = triple(config['kernelSize'], 1);
      const dilation = triple(config['dilationRate'], 1);
      const strides = triple(config['strides'], 1);
      for (let a = 0; a < 3; a++) {
        const span = (kernel[a]! - 1) * dilation[a]!;
        // A strided convolution's window is not centred on its output voxel: count it whole.
        flow.reach[a]! += (strides[a] === 1 ? span / 2 : span) * flow.stride[a]!;
        flow.stride[a]! *= strides[a]!;
        flow.align[a] = lcm(flow.align[a]!, flow.stride[a]!);
      }
      pads ||= config['padding'] === 'same' && kernel.some((k) => k > 1);
    } else if (className === 'MaxPool3D' || className === 'MaxPooling3D' || className === 'AveragePooling3D') {
      const pool = triple(config['poolSize'], 2);
      const strides = triple(config['strides'], Number.NaN).map((s, a) => (Number.isNaN(s) ? pool[a]! : s));
      for (let a = 0; a < 3; a++) {
        flow.reach[a]! += Math.max(0, pool[a]! - strides[a]!) * flow.stride[a]!;
        flow.stride[a]! *= strides[a]!;
        flow.align[a] = lcm(flow.align[a]!, flow.stride[a]!);
      }
      pads ||= config['padding'] === 'same';
    } else if (className === 'UpSampling3D') {
      const size = triple(config['size'], 2);
      for (let a = 0; a < 3; a++) {
        flow.stride[a]! /= size[a]!;
        flow.reach[a]! += (size[a]! - 1) * flow.stride[a]!;
      }
    } else if (!POINTWISE.has(className)) {
      known = false;
    }
    flows.set(layer, flow);
  }
  const out = flows.get(model.outputs[0]!.sourceLayer) ?? { stride: [1, 1, 1], reach: [0, 0, 0], align: [1, 1, 1] };
  // Alignment is in whole input voxels (a stride below 1, from upsampling, aligns nothing).
  return {
    outputStride: out.stride,
    reach: out.reach,
    align: out.align.map((a) => Math.max(1, Math.ceil(a))),
    pads,
    known,
  };
}

/**
 * Tile starts along one axis: a regular grid, the last one moved inward to end at `length`.
 * With `step` > 1, every start is ≡ `phase` (mod step): the first may begin before 0 and the last
 * end after `length` by less than `step` (clipped when stitched).
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

/**
 * The model at another input size, with the same layers and weights (tf.model over
 * `model.apply` of a new input). Kept per model and size, so repeated predictions reuse it.
 */
const resized = new WeakMap<tf.LayersModel, Map<string, tf.LayersModel>>();

export function modelWithInputShape(model: tf.LayersModel, spatial: readonly number[]): tf.LayersModel {
  const declared = model.inputs[0]!.shape;
  if (declared.slice(1, 4).every((d, i) => d === spatial[i])) return model;
  const key = spatial.join(',');
  const cache = resized.get(model) ?? new Map<string, tf.LayersModel>();
  resized.set(model, cache);
  let m = cache.get(key);
  if (!m) {
    const input = tf.input({ shape: [...spatial, declared[4] ?? 1] });
    m = tf.model({ inputs: input, outputs: model.apply(input) as tf.SymbolicTensor, name: `${model.name}_tile` });
    cache.set(key, m);
  }
  return m;
}

export interface TilingRequest {
  /** The region to cover, in output (label) voxels. */
  regionShape: readonly number[];
  /** Voxel size of the output (labels) and of the input (raw), world units. */
  voxelSize: readonly number[];
  rawVoxelSize: readonly number[];
  /** Tile input [z, y, x] (default: grown to cover the region within `maxTileVoxels`). */
  inputShape?: readonly number[];
  /** Kept centre of each tile's output (default: the output minus `margin` on each side). */
  outputShape?: readonly number[];
  /** Largest tile input in voxels when the tile size is chosen here (default DEFAULT_MAX_TILE_VOXELS). */
  maxTileVoxels?: number;
}

export interface Tiling {
  /** The model to call: `model`, or the same layers at the tile's input size. */
  model: tf.LayersModel;
  /** Tile input, raw voxels. */
  input: number[];
  /** Tile output, label voxels. */
  output: number[];
  /** Kept centre, label voxels. */
  keep: number[];
  /** Output voxels dropped before the kept centre (on each side, up to rounding). */
  trim: number[];
  /** Output voxels a 'same' model's tile border reaches (0 for 'valid' models; null: unknown layers, nothing dropped). */
  margin: number[] | null;
  /**
   * Output voxels between tile positions that see the input alike: tiles start on multiples of it
   * (from one origin) so that their inputs start on multiples of the model's pooling, on raw's
   * grid and on the coarser of the raw and label grids.
   */
  step: number[];
  /** The same in world units. */
  stepWorld: number[];
}

/** Output shape of `model` for a spatial input, from its declared shapes or by running it once on zeros. */
function outputShapeFor(model: tf.LayersModel, input: readonly number[]): number[] {
  const declaredIn = model.inputs[0]!.shape;
  const declaredOut = model.outputs[0]!.shape.slice(1);
  if (declaredIn.slice(1, 4).every((d, i) => d === input[i]) && declaredOut.every((d) => d !== null)) {
    return declaredOut as number[];
  }
  return tf.tidy(() => (model.predict(tf.zeros([1, ...input, declaredIn[4] ?? 1])) as tf.Tensor).shape.slice(1));
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * The tile of `model` for a region: its input and output, the centre kept and the model to call.
 * Defaults: a 'same' model keeps its output minus its margin (the reach, in output voxels,
 * rounded up to the step) on each side, and the tile grows, in steps of the model's alignment,
 * from the model's input until it covers the region or reaches `maxTileVoxels`; a 'valid' model
 * keeps its whole output and grows alike; a model whose layers are not all known (see
 * `modelReach`) or that does not work at other sizes keeps its input shape and whole output.
 */
export function planTiling(model: tf.LayersModel, request: TilingRequest): Tiling {
  const declared = model.inputs[0]!.shape.slice(1, 4);
  const reach = modelReach(model);
  const { voxelSize: vs, rawVoxelSize: rawVs } = request;
  const stepWorld = reach.align.map((al, a) => lcm(lcm(al * rawVs[a]!, Math.max(rawVs[a]!, vs[a]!)), vs[a]!));
  const step = stepWorld.map((w, a) => w / vs[a]!);
  const margin = reach.known
    ? reach.reach.map((r, a) => (reach.pads ? roundUp(Math.ceil(r / reach.outputStride[a]! - 1e-9), step[a]!) : 0))
    : null;
  const fixed = declared.every((d): d is number => d !== null) ? (declared as number[]) : null;
  let input = request.inputShape ? [...request.inputShape] : fixed;
  if (input?.length !== 3) {
    throw new OptionsError(`model ${model.name} has no fixed input shape; pass inputShape [z, y, x]`);
  }
  let tileModel = model;
  if (request.inputShape === undefined && request.outputShape === undefined && margin !== null) {
    // Growth keeps the tile's output centre at the same phase of the coarser grid as the model's
    // own input size (how training samples place raw around labels): steps of two grid cells.
    const growth = step.map((st, a) => {
      const gridStep = Math.max(rawVs[a]!, vs[a]!) / vs[a]!;
      return gridStep > 1 ? lcm(st, 2 * gridStep) : st;
    });
    const unit = growth.map((g, a) => (g * vs[a]!) / rawVs[a]!);
    const grown = grownInput(model, input, margin, { ...request, step: growth, unit });
    if (grown) [input, tileModel] = grown;
  } else if (fixed !== null && !input.every((v, i) => v === fixed[i])) {
    try {
      tileModel = modelWithInputShape(model, input);
    } catch (e) {
      throw new OptionsError(
        `model ${model.name} (built for [${fixed.join(', ')}]) does not work on inputShape [${input.join(', ')}]: ` +
          `${(e as Error).message}; sizes that fit differ from its own by multiples of [${reach.align.join(', ')}]`,
        { cause: e },
      );
    }
  }
  const output = outputShapeFor(tileModel, input).slice(0, 3);
  if (request.inputShape && !request.outputShape && margin?.some((m, a) => output[a]! - 2 * m < step[a]!)) {
    throw new OptionsError(
      `inputShape [${input.join(', ')}] leaves nothing of the output [${output.join(', ')}] once the model's margin ` +
        `[${margin.join(', ')}] (its receptive radius, where tile borders show) is dropped on each side; give at least ` +
        `[${input.map((v, a) => v + Math.max(0, 2 * margin[a]! + step[a]! - output[a]!) * reach.outputStride[a]!).join(', ')}], ` +
        'or an outputShape to keep',
    );
  }
  const keep = request.outputShape
    ? [...request.outputShape]
    : output.map((o, a) => (margin !== null && o - 2 * margin[a]! > 0 ? o - 2 * margin[a]! : o));
  return {
    model: tileModel,
    input,
    output,
    keep,
    trim: keep.map((k, a) => (output[a]! - k) / 2),
    margin,
    step,
    stepWorld,
  };
}

/**
 * The input that covers the region in as few tiles as fit the budget: per axis the kept size
 * grows from the model's own in steps of its alignment, then the axis with the largest input
 * shrinks until the tile fits `maxTileVoxels`, then every axis shrinks to the smallest size with
 * the same number of tiles. Null when the model does not work at another size.
 */
function grownInput(
  model: tf.LayersModel,
  base: number[],
  margin: number[],
  request: TilingRequest & { step: number[]; unit: number[] },
): [number[], tf.LayersModel] | null {
  const baseOut = outputShapeFor(model, base).slice(0, 3);
  // One unit of growth: `unit` input voxels, `step` output voxels.
  const { unit, step: outUnit } = request;
  const keepOf = (n: number, a: number) => baseOut[a]! + n * outUnit[a]! - 2 * margin[a]!;
  const inputOf = (n: number[]) => n.map((k, a) => base[a]! + k * unit[a]!);
  const budget = request.maxTileVoxels ?? DEFAULT_MAX_TILE_VOXELS;
  const need = request.regionShape.map((r, a) => r + request.step[a]!);
  // Fewest units (may be negative: smaller than the model's input) that keep at least one step.
  const least = need.map((_, a) => {
    let n = 0;
    while (keepOf(n, a) > request.step[a]! && base[a]! + (n - 1) * unit[a]! > 0) n--;
    while (keepOf(n, a) < request.step[a]!) n++;
    return n;
  });
  const n = need.map((r, a) => Math.max(least[a]!, Math.ceil((r - keepOf(0, a)) / outUnit[a]!)));
  const voxels = (m: number[]) => inputOf(m).reduce((p, v) => p * v, 1);
  while (voxels(n) > budget) {
    const shrinkable = [0, 1, 2].filter((a) => n[a]! > least[a]!);
    if (shrinkable.length === 0) break;
    const input = inputOf(n);
    const a = shrinkable.reduce((b, c) => (input[c]! > input[b]! ? c : b));
    n[a]!--;
  }
  for (let a = 0; a < 3; a++) {
    const tiles = Math.ceil(need[a]! / keepOf(n[a]!, a));
    while (n[a]! > least[a]! && Math.ceil(need[a]! / keepOf(n[a]! - 1, a)) === tiles) n[a]!--;
  }
  const input = inputOf(n);
  try {
    const m = modelWithInputShape(model, input);
    const out = outputShapeFor(m, input).slice(0, 3);
    if (out.some((o, a) => o !== baseOut[a]! + n[a]! * outUnit[a]!)) return null;
    return [input, m];
  } catch {
    return null; // a layer that only works at the size the model was built for
  }
}
