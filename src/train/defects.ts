/**
 * Raw augmentations for EM defects, applied to a sample's normalized raw ([z, y, x, c], after
 * mirror/transpose and intensity/gamma, in the orientation the model sees): Gaussian `blur`
 * (cellmap-data's, torch-em's, PyTC's) and gunpowder's DefectAugment on sections along z (`defect`:
 * missing sections set to 0, low-contrast sections (v − mean) · contrastScale + mean, and
 * sections blended with an artifact, v · (1 − α) + a · α, from an artifact source). Labels and mask
 * are not changed. Each has a probability of applying to a sample at all (gunpowder's `p`).
 *
 * Plans draw every random number up front, always the same count for a given sample shape, from
 * their own streams; `applyBlur` and `applyDefects` are deterministic and run in place on one
 * sample's raw, the same in the fused path (a sample's slot of xs) and the step-by-step path.
 * The blur is scipy's `gaussian_filter(raw, sigma / voxel size, mode='reflect', truncate=4)`.
 * gunpowder's deformed sections (`prob_deform`) are not implemented.
 */
import { OptionsError } from '../errors.js';
import type { Rng } from './random.js';

export interface BlurOptions {
  /** Standard deviation of the Gaussian, world units, uniform in [min, max]. */
  sigma: readonly [number, number];
  /** Probability of blurring a sample (default 1). */
  probability?: number;
}

/** An artifact source: section-sized patches of intensities and alpha blended into raw sections. */
export interface ArtifactOptions {
  /** Probability of a section getting an artifact (gunpowder's `prob_artifact`). */
  probability: number;
  /** The container holding the artifacts (path or URL), as openArray opens it. */
  path: string;
  /** The intensities' array inside it (default 'raw'; uint8 → /255, uint16 → /65535, float as stored). */
  raw?: string;
  /** The alpha mask's array (default 'alpha_mask'; float32 in [0, 1]). */
  alpha?: string;
}

export interface DefectOptions {
  /** Probability of a section being missing (set to 0): gunpowder's `prob_missing` (default 0.05). */
  missingSection?: number;
  /** Probability of a low-contrast section: `prob_low_contrast` (default 0.05). */
  lowContrast?: number;
  /** A low-contrast section's scale about its mean: `contrast_scale` (default 0.1). */
  contrastScale?: number;
  /** Sections blended with artifacts from a source (optional). */
  artifacts?: ArtifactOptions;
  /** Probability of augmenting a sample at all (gunpowder's `p`, default 1). */
  probability?: number;
}

export type SectionDefect = 'missing' | 'lowContrast' | 'artifact' | null;

export interface DefectPlan {
  /** Per section along z of the sample's raw (its input shape). */
  readonly sections: readonly SectionDefect[];
  readonly contrastScale: number;
  /** Per artifact section (in section order), a uniform pair for where its patch is taken. */
  readonly artifactAt: readonly (readonly [number, number, number])[];
}

export interface BlurPlan {
  /** World units. */
  readonly sigma: number;
}

function probability(name: string, v: unknown, fallback: number): number {
  const p = v === undefined ? fallback : v;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
    throw new OptionsError(`augment.${name} must be a probability in [0, 1], got ${JSON.stringify(v)}`);
  }
  return p;
}

/** One draw per section picks its defect, if any: their probabilities add up to at most 1. */
export function sectionProbabilitiesFit(options: {
  missingSection?: number;
  lowContrast?: number;
  artifacts?: { probability?: number } | null;
}): boolean {
  return (options.missingSection ?? 0.05) + (options.lowContrast ?? 0.05) + (options.artifacts?.probability ?? 0) <= 1;
}

/** Checks `augment.defect`; returns it resolved. */
export function checkDefectOptions(options: DefectOptions): Required<Omit<DefectOptions, 'artifacts'>> & {
  artifacts: ArtifactOptions | null;
} {
  if (!options || typeof options !== 'object') {
    throw new OptionsError(`augment.defect must be an object, got ${JSON.stringify(options)}`);
  }
  const missingSection = probability('defect.missingSection', options.missingSection, 0.05);
  const lowContrast = probability('defect.lowContrast', options.lowContrast, 0.05);
  const a = options.artifacts ?? null;
  if (a !== null) {
    if (typeof a !== 'object' || typeof a.path !== 'string' || a.path === '') {
      throw new OptionsError(
        `augment.defect.artifacts needs { probability, path } (the container of the artifacts), got ${JSON.stringify(a)}`,
      );
    }
    probability('defect.artifacts.probability', a.probability, NaN);
  }
  if (!sectionProbabilitiesFit({ missingSection, lowContrast, artifacts: a })) {
    throw new OptionsError(
      'augment.defect: the section probabilities (missing, low contrast, artifacts) add up to more than 1',
    );
  }
  const contrastScale = options.contrastScale ?? 0.1;
  if (typeof contrastScale !== 'number' || !Number.isFinite(contrastScale)) {
    throw new OptionsError(
      `augment.defect.contrastScale must be a number, got ${JSON.stringify(options.contrastScale)}`,
    );
  }
  return {
    missingSection,
    lowContrast,
    contrastScale,
    artifacts: a,
    probability: probability('defect.probability', options.probability, 1),
  };
}

/** Checks `augment.blur`. */
export function checkBlurOptions(options: BlurOptions): { sigma: [number, number]; probability: number } {
  const s = options?.sigma;
  if (!Array.isArray(s) || s.length !== 2 || !s.every((v) => Number.isFinite(v) && v >= 0) || s[0]! > s[1]!) {
    throw new OptionsError(`augment.blur.sigma must be [min, max] world units ≥ 0, got ${JSON.stringify(s)}`);
  }
  return { sigma: [s[0]!, s[1]!], probability: probability('blur.probability', options.probability, 1) };
}

/** Draws a defect plan for `sections` raw sections: 1 + sections + 3 · sections draws. */
export function planDefects(rng: Rng, options: DefectOptions, sections: number): DefectPlan | null {
  const o = checkDefectOptions(options);
  const apply = rng.next() < o.probability;
  const draws = Array.from({ length: sections }, () => rng.next());
  const where = Array.from({ length: sections }, () => [rng.next(), rng.next(), rng.next()] as const);
  if (!apply) return null;
  const artifact = o.artifacts?.probability ?? 0;
  const kinds = draws.map((r): SectionDefect => {
    if (r < o.missingSection) return 'missing';
    if (r < o.missingSection + o.lowContrast) return 'lowContrast';
    if (r < o.missingSection + o.lowContrast + artifact) return 'artifact';
    return null;
  });
  return {
    sections: kinds,
    contrastScale: o.contrastScale,
    artifactAt: kinds.flatMap((k, i) => (k === 'artifact' ? [where[i]!] : [])),
  };
}

/** Draws a blur plan: 2 draws. */
export function planBlur(rng: Rng, options: BlurOptions): BlurPlan | null {
  const o = checkBlurOptions(options);
  const apply = rng.next() < o.probability;
  const u = rng.next();
  return apply ? { sigma: o.sigma[0] + (o.sigma[1] - o.sigma[0]) * u } : null;
}

/** An artifact section's patch: intensities and alpha, [y, x] of the sample's raw. */
export interface ArtifactPatch {
  raw: Float32Array;
  alpha: Float32Array;
}

/**
 * The defects of `plan` on raw ([Z, Y, X, C] = `shape`, from `offset` in `raw`), in place. Artifact
 * sections take their patches from `artifacts` (in section order).
 */
export function applyDefects(
  plan: DefectPlan,
  raw: Float32Array,
  offset: number,
  shape: readonly number[],
  artifacts: readonly ArtifactPatch[] = [],
): void {
  const [Z, Y, X, C] = shape as [number, number, number, number];
  const section = Y * X * C;
  let next = 0;
  for (let z = 0; z < Z; z++) {
    const kind = plan.sections[z] ?? null;
    const from = offset + z * section,
      to = from + section;
    if (kind === 'missing') raw.fill(0, from, to);
    else if (kind === 'lowContrast') {
      let sum = 0;
      for (let i = from; i < to; i++) sum += raw[i]!;
      const mean = sum / section;
      for (let i = from; i < to; i++) raw[i] = (raw[i]! - mean) * plan.contrastScale + mean;
    } else if (kind === 'artifact') {
      const patch = artifacts[next++];
      if (!patch) throw new Error('applyDefects: an artifact section without its patch');
      for (let v = 0, i = from; v < Y * X; v++)
        for (let c = 0; c < C; c++, i++) raw[i] = raw[i]! * (1 - patch.alpha[v]!) + patch.raw[v]! * patch.alpha[v]!;
    }
  }
}

/** scipy's 1D Gaussian kernel (truncate 4): radius ⌊4σ + 0.5⌋, weights normalized. */
function kernel(sigma: number): Float64Array {
  const radius = Math.floor(4 * sigma + 0.5);
  const w = Float64Array.from({ length: 2 * radius + 1 }, (_, i) =>
    Math.exp((-0.5 / (sigma * sigma)) * (i - radius) ** 2),
  );
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / sum);
}

/** Index `i` of a line of `n` reflected into it as scipy's mode 'reflect' (d c b a | a b c d | d c b a). */
function reflect(i: number, n: number): number {
  const period = 2 * n;
  let k = i % period;
  if (k < 0) k += period;
  return k < n ? k : period - 1 - k;
}

/**
 * The Gaussian blur of `plan` on raw ([Z, Y, X, C] = `shape`, from `offset`), in place: per axis,
 * σ / voxel size (raw's voxel size, world units), float32 between the axes as scipy's float32
 * gaussian_filter.
 */
export function applyBlur(
  plan: BlurPlan,
  raw: Float32Array,
  offset: number,
  shape: readonly number[],
  voxelSize: readonly number[],
): void {
  const [Z, Y, X, C] = shape as [number, number, number, number];
  const dims = [Z, Y, X];
  const strides = [Y * X * C, X * C, C];
  const line = new Float64Array(Math.max(Z, Y, X));
  for (let a = 0; a < 3; a++) {
    const s = plan.sigma / voxelSize[a]!;
    if (!(s > 0)) continue;
    const w = kernel(s);
    const r = (w.length - 1) / 2;
    const n = dims[a]!,
      stride = strides[a]!;
    // Every line along axis a: its start over the other two axes and the channels.
    const [b, c] = [0, 1, 2].filter((k) => k !== a) as [number, number];
    for (let i = 0; i < dims[b]!; i++)
      for (let j = 0; j < dims[c]!; j++)
        for (let ch = 0; ch < C; ch++) {
          const start = offset + i * strides[b]! + j * strides[c]! + ch;
          for (let k = 0; k < n; k++) line[k] = raw[start + k * stride]!;
          for (let k = 0; k < n; k++) {
            let sum = 0;
            for (let t = -r; t <= r; t++) sum += w[t + r]! * line[reflect(k + t, n)]!;
            raw[start + k * stride] = sum;
          }
        }
  }
}
