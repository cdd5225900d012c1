/**
 * DaCapo's raw-only augmentations that come after the geometry (and after `intensity`/`gamma`):
 * Gaussian noise (GaussianNoiseAugmentConfig: mean, var, clip) and IntensityScaleShift
 * (IntensityScaleShiftAugmentConfig: raw · scale + shift, fixed, e.g. scale 2, shift −1 maps [0, 1]
 * to [−1, 1]). Noise first, then scale/shift. Seeded: the noise comes from the plan's own stream.
 * Pure: new arrays, the input is not modified.
 */
import { OptionsError } from '../errors.js';
import { makeRng, type Rng } from './random.js';

export interface NoiseOptions {
  /** Mean of the added Gaussian noise (default 0). */
  mean?: number;
  /** Variance of the noise (default 0.01, DaCapo's and scikit-image's). */
  var?: number;
  /** Clip to [0, 1] afterwards (default true). */
  clip?: boolean;
}

export interface ScaleShiftOptions {
  scale: number;
  shift: number;
}

export interface RawAugmentOptions {
  noise?: NoiseOptions | false;
  intensityScaleShift?: ScaleShiftOptions | false;
}

export interface RawAugmentPlan {
  /** Seed of the noise stream, or null for no noise. */
  readonly noiseSeed: string | null;
  readonly noise: Required<NoiseOptions> | null;
  readonly scaleShift: ScaleShiftOptions | null;
}

/** Checks the options; returns null when there is nothing to do. */
export function checkRawAugmentOptions(options: RawAugmentOptions): {
  noise: Required<NoiseOptions> | null;
  scaleShift: ScaleShiftOptions | null;
} {
  let noise: Required<NoiseOptions> | null = null;
  if (options.noise) {
    noise = { mean: options.noise.mean ?? 0, var: options.noise.var ?? 0.01, clip: options.noise.clip ?? true };
    if (!Number.isFinite(noise.mean))
      throw new OptionsError(`augment.noise.mean must be a finite number, got ${noise.mean}`);
    if (!(noise.var >= 0) || !Number.isFinite(noise.var))
      throw new OptionsError(`augment.noise.var must be a number ≥ 0, got ${noise.var}`);
  }
  let scaleShift: ScaleShiftOptions | null = null;
  if (options.intensityScaleShift) {
    const { scale, shift } = options.intensityScaleShift;
    if (!Number.isFinite(scale) || !Number.isFinite(shift)) {
      throw new OptionsError(
        `augment.intensityScaleShift needs finite scale and shift, got ${JSON.stringify(options.intensityScaleShift)}`,
      );
    }
    scaleShift = { scale, shift };
  }
  return { noise, scaleShift };
}

/** One draw: the noise stream's seed (the noise itself is drawn when applied). */
export function planRawAugment(rng: Rng, options: RawAugmentOptions): RawAugmentPlan | null {
  const { noise, scaleShift } = checkRawAugmentOptions(options);
  if (!noise && !scaleShift) return null;
  return { noiseSeed: noise ? rng.fork('noise').seed : null, noise, scaleShift };
}

export function applyRawAugment(plan: RawAugmentPlan, raw: Float32Array): Float32Array {
  const out = Float32Array.from(raw);
  if (plan.noise && plan.noiseSeed !== null) {
    const rng = makeRng(plan.noiseSeed);
    const sd = Math.sqrt(plan.noise.var);
    const { mean, clip } = plan.noise;
    for (let i = 0; i < out.length; i++) {
      const u1 = 1 - rng.next(),
        u2 = rng.next();
      let v = out[i]! + mean + sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      if (clip) v = Math.min(1, Math.max(0, v));
      out[i] = v;
    }
  }
  if (plan.scaleShift) {
    const { scale, shift } = plan.scaleShift;
    for (let i = 0; i < out.length; i++) out[i] = out[i]! * scale + shift;
  }
  return out;
}
