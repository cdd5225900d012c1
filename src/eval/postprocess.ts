/**
 * Post-processing: a model prediction ([z, y, x, c], channels-last, Float32Array) to instance ids
 * ([z, y, x], Uint32Array), over a sweep of parameter sets. Each post-processor lists its
 * parameter sets; `apply` runs one of them.
 */
import { DEFAULT_AFFINITY_OFFSETS } from '../train/targets.js';
import { affinityComponents, connectedComponents, growLabels } from './components.js';
import { regionalMaxima, seededWatershed } from './watershed.js';
import { OptionsError } from '../errors.js';

export type PostProcessParameters = Record<string, number>;

export interface PostProcessor {
  name: string;
  /** The sweep: every parameter set `apply` should be tried with. */
  parameters: PostProcessParameters[];
  /** prediction: [z, y, x, c] channels-last; returns instances [z, y, x]. */
  apply(prediction: Float32Array, shape: number[], params: PostProcessParameters): Uint32Array;
  /**
   * The predicted voxels of each scored class ([z, y, x], 1 = in the class), in the order of the
   * task's classes (semantic: classes 1 …; distance: one per channel), for per-class scores.
   */
  classMasks?(prediction: Float32Array, shape: number[], params: PostProcessParameters): Uint8Array[];
}

export const DEFAULT_THRESHOLDS: readonly number[] = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/** Validates a [z, y, x, c] shape against the prediction's length; returns [z, y, x, c]. */
function checkPrediction(
  who: string,
  prediction: Float32Array,
  shape: readonly number[],
): [number, number, number, number] {
  if (shape.length !== 4 || shape.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new OptionsError(`${who}: prediction shape must be [z, y, x, c], got [${shape.join(', ')}]`);
  }
  const [z, y, x, c] = shape as [number, number, number, number];
  if (z * y * x * c !== prediction.length) {
    throw new OptionsError(
      `${who}: prediction has length ${prediction.length} but shape [${shape.join(', ')}] needs ${z * y * x * c}`,
    );
  }
  return [z, y, x, c];
}

function thresholdOf(who: string, params: PostProcessParameters): number {
  const t = params['threshold'];
  if (typeof t !== 'number' || Number.isNaN(t)) {
    throw new OptionsError(`${who}: parameter 'threshold' is missing (got ${JSON.stringify(params)})`);
  }
  return t;
}

/**
 * Boundary / interior targets: channel 0 is the probability of a cell interior (1 inside a cell,
 * 0 on membranes and background). Instances are the 6-connected components of
 * `prediction[..., 0] > threshold`; everything else is 0.
 */
export function boundaryPostProcessor(opts: { thresholds?: number[]; grow?: boolean } = {}): PostProcessor {
  const thresholds = opts.thresholds ?? [...DEFAULT_THRESHOLDS];
  const grow = opts.grow ?? true;
  const name = 'boundary';
  return {
    name,
    parameters: thresholds.map((threshold) => ({ threshold })),
    apply(prediction, shape, params) {
      const [z, y, x, c] = checkPrediction(name, prediction, shape);
      if (c < 1) throw new OptionsError(`${name}: prediction has no channels`);
      const threshold = thresholdOf(name, params);
      const n = z * y * x;
      const fg = new Uint8Array(n);
      for (let v = 0, i = 0; v < n; v++, i += c) fg[v] = prediction[i] > threshold ? 1 : 0;
      const components = connectedComponents(fg, [z, y, x]).labels;
      return grow ? growLabels(components, [z, y, x]) : components;
    },
  };
}

/**
 * Affinity targets: channel k is the affinity between voxel v and v + offsets[k]. Instances are
 * the components of the graph of edges with affinity > threshold (isolated voxels are singleton
 * segments).
 */
export function affinityPostProcessor(opts: { offsets?: number[][]; thresholds?: number[] } = {}): PostProcessor {
  const offsets = (opts.offsets ?? DEFAULT_AFFINITY_OFFSETS).map((o) => [...o]);
  const thresholds = opts.thresholds ?? [...DEFAULT_THRESHOLDS];
  const name = 'affinity';
  return {
    name,
    parameters: thresholds.map((threshold) => ({ threshold })),
    apply(prediction, shape, params) {
      const [z, y, x, c] = checkPrediction(name, prediction, shape);
      if (c !== offsets.length) {
        throw new OptionsError(`${name}: prediction has ${c} channels but ${offsets.length} offsets were given`);
      }
      const threshold = thresholdOf(name, params);
      return affinityComponents(prediction, [z, y, x], offsets, threshold).labels;
    },
  };
}

/**
 * Semantic targets: the argmax over channels (ids 0..c-1; ties go to the lowest channel). Class
 * k's predicted voxels (k = 1 …): argmax = k.
 */
export function semanticPostProcessor(): PostProcessor {
  const name = 'semantic';
  const argmax = (prediction: Float32Array, shape: number[]): Uint32Array => {
    const [z, y, x, c] = checkPrediction(name, prediction, shape);
    if (c < 1) throw new OptionsError(`${name}: prediction has no channels`);
    const n = z * y * x;
    const out = new Uint32Array(n);
    if (c === 1) return out;
    for (let v = 0, i = 0; v < n; v++, i += c) {
      let best = 0;
      let bestValue = prediction[i];
      for (let k = 1; k < c; k++) {
        const value = prediction[i + k];
        // NaN never wins; a NaN first channel loses to any number.
        if (value > bestValue || (Number.isNaN(bestValue) && !Number.isNaN(value))) {
          best = k;
          bestValue = value;
        }
      }
      out[v] = best;
    }
    return out;
  };
  return {
    name,
    parameters: [{}],
    apply: argmax,
    classMasks(prediction, shape) {
      const classes = argmax(prediction, shape);
      return Array.from({ length: Math.max(0, shape[3]! - 1) }, (_, k) =>
        Uint8Array.from(classes, (c) => (c === k + 1 ? 1 : 0)),
      );
    },
  };
}

/** A user-defined post-processor: `fn` gets the same arguments as `apply`. */
export function customPostProcessor(
  name: string,
  parameters: PostProcessParameters[],
  fn: (prediction: Float32Array, shape: number[], params: PostProcessParameters) => Uint32Array,
): PostProcessor {
  const sweep = parameters.length > 0 ? parameters.map((p) => ({ ...p })) : [{}];
  return { name, parameters: sweep, apply: fn };
}

/** Sweep of thresholds on tanh distances (0: the boundary). */
export const DISTANCE_THRESHOLDS: readonly number[] = [-0.2, 0, 0.2, 0.4, 0.6];

/** Seed thresholds of the watershed on tanh distances (cores of the objects). */
export const DISTANCE_SEED_THRESHOLDS: readonly number[] = [0, 0.2, 0.4, 0.6, 0.8];

/** Channel `c` of a [z, y, x, channels] prediction. */
function channelOf(prediction: Float32Array, n: number, channels: number, c: number): Float32Array {
  const out = new Float32Array(n);
  for (let v = 0, i = c; v < n; v++, i += channels) out[v] = prediction[i]!;
  return out;
}

/**
 * Instances of several class channels in one volume: each channel's ids after the previous
 * channels' (in channel order); a voxel claimed by several channels goes to the one whose
 * prediction is highest there (the first on ties).
 */
function mergeChannels(
  perChannel: Uint32Array[],
  counts: number[],
  prediction: Float32Array,
  channels: number,
): Uint32Array {
  if (perChannel.length === 1) return perChannel[0]!;
  const n = perChannel[0]!.length;
  const out = new Uint32Array(n);
  const base = counts.map((_, c) => counts.slice(0, c).reduce((a, b) => a + b, 0));
  for (let v = 0; v < n; v++) {
    let best = -1;
    for (let c = 0; c < perChannel.length; c++) {
      if (perChannel[c]![v] === 0) continue;
      if (best < 0 || prediction[v * channels + c]! > prediction[v * channels + best]!) best = c;
    }
    if (best >= 0) out[v] = base[best]! + perChannel[best]![v]!;
  }
  return out;
}

/**
 * Distance targets (tanh of the signed distance, one channel per class): instances are the
 * 6-connected components of `prediction[..., c] > threshold` per class (see mergeChannels);
 * everything else is 0. Class c's predicted voxels: `prediction[..., c] > threshold`.
 */
export function distancePostProcessor(opts: { thresholds?: number[] } = {}): PostProcessor {
  const thresholds = opts.thresholds ?? [...DISTANCE_THRESHOLDS];
  const name = 'distance';
  const masks = (prediction: Float32Array, shape: number[], params: PostProcessParameters) => {
    const [z, y, x, c] = checkPrediction(name, prediction, shape);
    const t = thresholdOf(name, params);
    const n = z * y * x;
    return Array.from({ length: c }, (_, k) => {
      const fg = new Uint8Array(n);
      for (let v = 0, i = k; v < n; v++, i += c) fg[v] = prediction[i]! > t ? 1 : 0;
      return fg;
    });
  };
  return {
    name,
    parameters: thresholds.map((threshold) => ({ threshold })),
    apply(prediction, shape, params) {
      const labelled = masks(prediction, shape, params).map((fg) => connectedComponents(fg, shape.slice(0, 3)));
      return mergeChannels(
        labelled.map((l) => l.labels),
        labelled.map((l) => l.count),
        prediction,
        shape[3]!,
      );
    },
    classMasks: masks,
  };
}

export interface WatershedOptions {
  /** What the prediction is: boundary (interior probability, channel 0) or distance (per class). */
  input: 'boundary' | 'distance';
  /**
   * Seeds: the components of the prediction above `threshold` ('threshold', default), or its
   * regional maxima above `threshold` ('maxima').
   */
  seeds?: 'threshold' | 'maxima';
  /** The sweep of seed thresholds (default: DEFAULT_THRESHOLDS for boundary, DISTANCE_SEED_THRESHOLDS for distance). */
  thresholds?: number[];
  /**
   * Voxels with a prediction at or below this stay 0 (background); default: none for boundary,
   * 0 (outside the objects) for distance.
   */
  maskThreshold?: number | null;
}

/**
 * Seeded watershed (eval/watershed.ts, scikit-image's): per class channel (boundary: channel 0),
 * flood −prediction from the seeds within the mask; instances of several channels as
 * mergeChannels. Distance: class c's predicted voxels are those above `maskThreshold`.
 */
export function watershedPostProcessor(opts: WatershedOptions): PostProcessor {
  const distance = opts.input === 'distance';
  if (opts.input !== 'boundary' && !distance) {
    throw new OptionsError(`watershedPostProcessor: input must be 'boundary' or 'distance', got ${String(opts.input)}`);
  }
  const seeds = opts.seeds ?? 'threshold';
  if (seeds !== 'threshold' && seeds !== 'maxima') {
    throw new OptionsError(`watershedPostProcessor: seeds must be 'threshold' or 'maxima', got ${String(seeds)}`);
  }
  const thresholds = opts.thresholds ?? [...(distance ? DISTANCE_SEED_THRESHOLDS : DEFAULT_THRESHOLDS)];
  const maskThreshold = opts.maskThreshold === undefined ? (distance ? 0 : null) : opts.maskThreshold;
  const name = 'watershed';
  const foreground = (p: Float32Array) =>
    maskThreshold === null ? null : Uint8Array.from(p, (v) => (v > maskThreshold ? 1 : 0));
  return {
    name,
    // The mask threshold travels with the parameters (a checkpoint's, for segmentVolume).
    parameters: thresholds.map((threshold) => ({ threshold, ...(maskThreshold === null ? {} : { maskThreshold }) })),
    apply(prediction, shape, params) {
      const [z, y, x, c] = checkPrediction(name, prediction, shape);
      const t = thresholdOf(name, params);
      const zyx = [z, y, x];
      const labelled = Array.from({ length: distance ? c : Math.min(c, 1) }, (_, k) => {
        const p = channelOf(prediction, z * y * x, c, k);
        const max = seeds === 'maxima' ? regionalMaxima(p, zyx) : null;
        const fg = Uint8Array.from(p, (v, i) => (v > t && (max === null || max[i] === 1) ? 1 : 0));
        const markers = connectedComponents(fg, zyx);
        const elevation = Float32Array.from(p, (v) => -v);
        return { labels: seededWatershed(elevation, zyx, markers.labels, foreground(p)), count: markers.count };
      });
      return mergeChannels(
        labelled.map((l) => l.labels),
        labelled.map((l) => l.count),
        prediction,
        c,
      );
    },
    ...(distance
      ? {
          classMasks(prediction: Float32Array, shape: number[]) {
            const [z, y, x, c] = checkPrediction(name, prediction, shape);
            return Array.from({ length: c }, (_, k) => foreground(channelOf(prediction, z * y * x, c, k))!);
          },
        }
      : {}),
  };
}
