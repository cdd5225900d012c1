/**
 * Post-processing: a model prediction ([z, y, x, c], channels-last, Float32Array) to instance ids
 * ([z, y, x], Uint32Array), over a sweep of parameter sets. Each post-processor lists its
 * parameter sets; `apply` runs one of them.
 */
import { DEFAULT_AFFINITY_OFFSETS } from '../train/targets.js';
import { affinityComponents, connectedComponents, growLabels } from './components.js';
import { OptionsError } from '../errors.js';

export type PostProcessParameters = Record<string, number>;

export interface PostProcessor {
  name: string;
  /** The sweep: every parameter set `apply` should be tried with. */
  parameters: PostProcessParameters[];
  /** prediction: [z, y, x, c] channels-last; returns instances [z, y, x]. */
  apply(prediction: Float32Array, shape: number[], params: PostProcessParameters): Uint32Array;
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

/** Semantic targets: the argmax over channels (ids 0..c-1; ties go to the lowest channel). */
export function semanticPostProcessor(): PostProcessor {
  const name = 'semantic';
  return {
    name,
    parameters: [{}],
    apply(prediction, shape) {
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
