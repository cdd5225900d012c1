/**
 * Where to take a training sample from a crop, and reading it (gunpowder's RandomLocation +
 * Reject + read, as plain functions). The output box's centre voxel is uniform over the labels'
 * region (DaCapo's default), restricted to centres whose output box is at least `minMasked`
 * known, checked exactly through an integral volume of the known mask built once per crop.
 *
 * Raw and labels may have different voxel sizes (integer ratios): `inputShape` counts raw voxels,
 * `outputShape` label voxels, and centres lie on the coarser of the two grids, so the raw box sits
 * at the same place relative to the labels box in every sample (as in predictCrop).
 */
import { OptionsError } from '../errors.js';
import { contextBegin } from '../voxel-grid.js';
import { roi, roiGrow, roiVoxelShape, type Roi } from '../roi.js';
import type { Crop, CropSample } from '../types.js';
import { AUGMENT_DEFAULTS, applyAugment, planAugment, type AugmentOptions, type AugmentPlan } from './augment.js';
import { checkElasticOptions, planElastic, type ElasticOptions, type ElasticPlan } from './elastic.js';
import { readElastic, withoutGeometry } from './elastic-read.js';
import {
  applyRawAugment,
  checkRawAugmentOptions,
  planRawAugment,
  type NoiseOptions,
  type RawAugmentPlan,
  type ScaleShiftOptions,
} from './intensity.js';
import {
  countKnownBlockwise,
  type MaskPlanes,
  type ValidCentres,
  validCentresBlockwise,
  validCentresOfBox,
} from './integral.js';
import { makeRng, type Rng } from './random.js';
import {
  applyBlur,
  applyDefects,
  checkBlurOptions,
  checkDefectOptions,
  planBlur,
  planDefects,
  type ArtifactPatch,
  type BlurOptions,
  type BlurPlan,
  type DefectOptions,
  type DefectPlan,
} from './defects.js';
import { ArtifactSource } from './artifacts.js';
import {
  applyShift,
  checkShiftOptions,
  planShift,
  shiftedBox,
  shiftLabels,
  type ShiftOptions,
  type ShiftPlan,
} from './shift.js';
import { coarserGrid } from '../voxel-grid.js';

/**
 * Every augmentation, applied in this order: `elastic` (gunpowder's ElasticAugment, world units),
 * `shift` (gunpowder's ShiftAugment: sections misaligned, raw, labels and mask alike), then
 * mirror/transpose and intensity/gamma (see augment.ts), then `blur` (Gaussian) and `defect`
 * (gunpowder's DefectAugment: missing, low-contrast and artifact sections; defects.ts), then
 * `noise` (DaCapo's GaussianNoiseAugment) and `intensityScaleShift` (DaCapo's
 * IntensityScaleShiftAugment).
 */
export interface SampleAugmentOptions extends AugmentOptions {
  elastic?: ElasticOptions | false;
  shift?: ShiftOptions | false;
  blur?: BlurOptions | false;
  defect?: DefectOptions | false;
  noise?: NoiseOptions | false;
  intensityScaleShift?: ScaleShiftOptions | false;
}

export interface SamplingOptions {
  /** Raw patch shape in voxels [z, y, x]. */
  inputShape: readonly number[];
  /**
   * Labels/target patch shape in label voxels, centred in the input (default: the input's world
   * extent, i.e. inputShape when raw and labels share the voxel size).
   */
  outputShape?: readonly number[];
  /** Minimum known fraction of the output patch, in [0, 1] (default 0). */
  minMasked?: number;
  /** Seeded augmentation; false or absent for none. */
  augment?: SampleAugmentOptions | false;
}

export interface SamplePlan {
  /** Output centre voxel, in labels-array voxel coordinates. */
  centre: number[];
  augment: AugmentPlan | null;
  /** Deformation (augment.elastic), or null. */
  elastic?: ElasticPlan | null;
  /** Noise and scale/shift of raw, or null. */
  rawAugment?: RawAugmentPlan | null;
  /** Section misalignment (augment.shift), or null. */
  shift?: ShiftPlan | null;
  /** Gaussian blur of raw (augment.blur), or null. */
  blur?: BlurPlan | null;
  /** Section defects of raw (augment.defect), or null. */
  defect?: DefectPlan | null;
}

/**
 * Labels regions up to this many voxels without a mask get their centres from the box alone
 * (validCentresOfBox visits every position); larger ones take the slab-by-slab path and its
 * errors.
 */
const MAX_BOX_CENTRES = 2 ** 31;

/** Largest patch we agree to allocate (elements of one raw patch). */
const MAX_PATCH_ELEMENTS = 2 ** 28;

/** Sampling options checked once, with their defaults: what samplers take as given. */
export interface SamplingPlan {
  readonly planned: 'sampling';
  readonly input: number[];
  readonly output: number[];
  readonly minMasked: number;
  readonly augment: SampleAugmentOptions | false;
}

const isSamplingPlan = (o: SamplingOptions | SamplingPlan): o is SamplingPlan =>
  (o as SamplingPlan | undefined)?.planned === 'sampling';

/**
 * Checks the sampling options (a plan is returned as it is); with `crops`, the default output
 * shape is the input's world extent in label voxels (which the crops must agree on) and
 * output ⊆ input is checked in world units.
 */
export function planSampling(options: SamplingOptions | SamplingPlan, crops: readonly Crop[] = []): SamplingPlan {
  if (isSamplingPlan(options)) return options;
  // Shapes are checked before use, so a missing or malformed one (plain JS callers) gets this message.
  const shape = (name: string, s: unknown): number[] => {
    const list = Array.isArray(s) ? [...(s as unknown[])] : null;
    if (list?.length !== 3 || !list.every((v) => Number.isInteger(v) && (v as number) > 0)) {
      const got = list ? `[${list.join(', ')}]` : String(s);
      throw new OptionsError(`${name} must be 3 positive integers [z, y, x], got ${got}`);
    }
    return list as number[];
  };
  const input = shape('inputShape', options?.inputShape);
  const output =
    options.outputShape === undefined ? defaultOutput(input, crops) : shape('outputShape', options.outputShape);
  const scales = crops.length > 0 ? crops.map((c) => ({ raw: rawVoxelSize(c), labels: c.voxelSize })) : [null];
  for (const sc of scales) {
    const world = (n: number[], vs: readonly number[] | undefined) => n.map((v, i) => v * (vs?.[i] ?? 1));
    const inW = world(input, sc?.raw);
    const outW = world(output, sc?.labels);
    if (outW.some((o, i) => o > inW[i]!)) {
      throw new OptionsError(
        `outputShape [${output.join(', ')}]${sc ? ` (label voxels of [${sc.labels.join(', ')}])` : ''} is larger than ` +
          `inputShape [${input.join(', ')}]${sc ? ` (raw voxels of [${sc.raw.join(', ')}])` : ''}; the output is centred inside the input`,
      );
    }
  }
  if (input.reduce((a, b) => a * b, 1) > MAX_PATCH_ELEMENTS) {
    throw new OptionsError(
      `inputShape [${input.join(', ')}] is larger than anything we can read in one patch (${MAX_PATCH_ELEMENTS} voxels)`,
    );
  }
  const minMasked = options.minMasked ?? 0;
  if (!(minMasked >= 0 && minMasked <= 1)) throw new OptionsError(`minMasked must be in [0, 1], got ${minMasked}`);
  if (options.augment) {
    // Bad augmentation options fail here, not at the first batch: plan one with a throwaway stream.
    planAugment(makeRng(0), options.augment, [output, input], [1, 1, 1]);
    if (options.augment.elastic) checkElasticOptions(options.augment.elastic);
    if (options.augment.shift) checkShiftOptions(options.augment.shift);
    if (options.augment.blur) checkBlurOptions(options.augment.blur);
    if (options.augment.defect) checkDefectOptions(options.augment.defect);
    checkRawAugmentOptions(options.augment);
  }
  return { planned: 'sampling', input, output, minMasked, augment: options.augment ?? false };
}

/** Raw's voxel size (a crop without its raw described, as in option checks, counts as the labels'). */
function rawVoxelSize(c: Crop): readonly number[] {
  return c.raw?.voxelSize ?? c.voxelSize;
}

/** The input's world extent in label voxels, the same for every crop (else outputShape is needed). */
function defaultOutput(input: number[], crops: readonly Crop[]): number[] {
  let output: number[] | null = null;
  for (const c of crops) {
    const rawVs = rawVoxelSize(c);
    if (rawVs.length !== input.length || c.voxelSize.length !== input.length) continue;
    const o = input.map((n, i) => (n * rawVs[i]!) / c.voxelSize[i]!);
    if (o.some((v) => !Number.isInteger(v))) {
      throw new OptionsError(
        `inputShape [${input.join(', ')}] at crop ${c.name}'s raw voxel size [${rawVs.join(', ')}] is not a whole ` +
          `number of label voxels [${c.voxelSize.join(', ')}]; give outputShape`,
      );
    }
    if (output && o.some((v, i) => v !== output![i])) {
      throw new OptionsError(
        `the crops' voxel sizes give different default output shapes ([${output.join(', ')}] and [${o.join(', ')}] at ` +
          `${c.name}); give outputShape`,
      );
    }
    output = o;
  }
  return output ?? [...input];
}

export class CropSampler {
  readonly crop: Crop;
  readonly input: number[];
  readonly output: number[];
  /** Voxel shape of the labels' region. */
  readonly labelShape: number[];
  /** Label voxels between two sample centres per axis (1 unless raw's voxels are coarser). */
  readonly centreStep: number[];
  /** Known voxels in the labels' region (computed when minMasked > 0 or asked for). */
  knownVoxels: number | null = null;
  private centres: ValidCentres | null = null;
  private readonly augment: SampleAugmentOptions | false;
  private readonly minMasked: number;
  private artifactSource: Promise<ArtifactSource> | null = null;

  private constructor(crop: Crop, plan: SamplingPlan) {
    const { input, output, minMasked } = plan;
    this.minMasked = minMasked;
    if (crop.voxelSize.length !== 3) {
      throw new OptionsError(`crop ${crop.name} has ${crop.voxelSize.length} spatial axes; training needs 3 (z, y, x)`);
    }
    this.crop = crop;
    this.input = input;
    this.output = output;
    this.labelShape = roiVoxelShape(crop.labels.roi, crop.voxelSize);
    // Centres on the coarser grid (the labels' offset lies on it): every step-th label voxel.
    this.centreStep = crop.voxelSize.map((v, i) => Math.max(1, crop.raw.voxelSize[i]! / v));
    this.augment = plan.augment;
  }

  /**
   * Prepares a sampler (options are checked unless they are a plan already); reads the crop's
   * mask once when `minMasked` > 0 or `countKnown`.
   */
  static async create(crop: Crop, options: SamplingOptions | SamplingPlan, countKnown = false): Promise<CropSampler> {
    const sampler = new CropSampler(crop, planSampling(options, [crop]));
    const minMasked = sampler.minMasked;
    if ((minMasked > 0 || countKnown) && crop.mask === null && sampler.labelVoxels <= MAX_BOX_CENTRES) {
      // Without a mask the labels region is the known region: nothing to read or table.
      sampler.knownVoxels = sampler.labelVoxels;
      if (minMasked > 0)
        sampler.centres = validCentresOfBox(sampler.labelShape, sampler.output, minMasked, sampler.centreStep);
      sampler.checkCentres();
    } else if (minMasked > 0 || countKnown) {
      // The mask is read and tabled slab by slab along z: a large (sparse) crop never needs one
      // whole-region array, and a region too large even for one slab is refused by name.
      const planes = maskPlanes(crop);
      let count: number;
      try {
        if (minMasked > 0) {
          const found = await validCentresBlockwise(
            planes,
            sampler.labelShape,
            sampler.output,
            minMasked,
            undefined,
            sampler.centreStep,
          );
          sampler.centres = found.centres;
          count = found.known;
        } else {
          count = await countKnownBlockwise(planes, sampler.labelShape);
        }
      } catch (error) {
        // Only reading and tabling the mask happen above: these are allocations that cannot be made.
        if (!(error instanceof RangeError || error instanceof OptionsError)) throw error;
        throw new OptionsError(
          `crop ${crop.name}: its labels region of [${sampler.labelShape.join(', ')}] voxels is too large to ` +
            `count known voxels${minMasked > 0 ? ' for minMasked' : ''}: ${error.message}`,
        );
      }
      sampler.knownVoxels = count;
      sampler.checkCentres();
    }
    return sampler;
  }

  /** Throws when minMasked leaves no centre to draw. */
  private checkCentres(): void {
    if (this.centres?.count !== 0) return;
    throw new OptionsError(
      `crop ${this.crop.name}: no output patch of shape [${this.output.join(', ')}] is at least ` +
        `${this.minMasked} known (the crop has ${this.knownVoxels} known voxels); lower minMasked or the output shape`,
    );
  }

  get labelVoxels(): number {
    return this.labelShape.reduce((a, b) => a * b, 1);
  }

  /** Draws a location (and augmentation) from `rng`; a pure function of the stream. */
  draw(rng: Rng): SamplePlan {
    const locationRng = rng.fork('location');
    const centre = this.centres
      ? [...this.centres.sample(locationRng)!]
      : this.labelShape.map((n, i) => locationRng.int(Math.ceil(n / this.centreStep[i]!)) * this.centreStep[i]!);
    const augment = this.augment ? this.planAugment(rng.fork('augment')) : null;
    // Own forks: the elastic and noise draws leave the other augmentations' streams unchanged.
    let elastic: ElasticPlan | null = null;
    if (this.augment && this.augment.elastic !== undefined && this.augment.elastic !== false) {
      const r = this.rois({ centre });
      const extent = r.raw.offset.map(
        (o, i) =>
          Math.max(o + r.raw.shape[i]!, r.labels.offset[i]! + r.labels.shape[i]!) - Math.min(o, r.labels.offset[i]!),
      );
      elastic = planElastic(rng.fork('elastic'), this.augment.elastic, extent);
    }
    const rawAugment = this.augment ? planRawAugment(rng.fork('raw-augment'), this.augment) : null;
    const a = this.augment || {};
    const shift = a.shift ? this.planShift(rng.fork('shift'), a.shift, centre) : null;
    const blur = a.blur ? planBlur(rng.fork('blur'), a.blur) : null;
    const defect = a.defect ? planDefects(rng.fork('defect'), a.defect, this.input[0]!) : null;
    return { centre, augment, elastic, rawAugment, shift, blur, defect };
  }

  /** Shifts of the sections of the sample's raw ∪ labels box, on the coarser of their grids. */
  private planShift(rng: Rng, options: ShiftOptions, centre: number[]): ShiftPlan | null {
    const r = this.rois({ centre });
    const lo = r.raw.offset.map((o, i) => Math.min(o, r.labels.offset[i]!));
    const hi = r.raw.offset.map((o, i) => Math.max(o + r.raw.shape[i]!, r.labels.offset[i]! + r.labels.shape[i]!));
    const region = roi(
      lo,
      hi.map((h, i) => h - lo[i]!),
    );
    return planShift(rng, options, region, coarserGrid(this.crop.raw.voxelSize, this.crop.voxelSize));
  }

  private planAugment(rng: Rng): AugmentPlan {
    const options = this.augment as AugmentOptions;
    const rawVs = this.crop.raw.voxelSize;
    const labelVs = this.crop.voxelSize;
    if (rawVs.every((v, i) => v === labelVs[i])) return planAugment(rng, options, [this.output, this.input], labelVs);
    // Two voxel sizes: mirror only axes where both boxes share their world centre (and differ by an
    // even number of voxels, as applyAugment requires); transpose only axes alike in both voxel
    // sizes and both extents.
    const r = this.rois({ centre: [0, 0, 0] });
    const centred = r.raw.offset.map(
      (o, i) =>
        2 * o + r.raw.shape[i]! === 2 * r.labels.offset[i]! + r.labels.shape[i]! &&
        (this.input[i]! - this.output[i]!) % 2 === 0,
    );
    const wanted = options.mirror ?? AUGMENT_DEFAULTS.mirror;
    const mirror = centred.map((c, i) => c && (Array.isArray(wanted) ? wanted[i]! : wanted));
    return planAugment(rng, { ...options, mirror }, [this.output, this.input], [rawVs, labelVs]);
  }

  /** World ROIs of the raw (input) and labels (output) patches for a plan. */
  rois(plan: Pick<SamplePlan, 'centre'>): { raw: Roi; labels: Roi } {
    const vs = this.crop.voxelSize;
    const rawVs = this.crop.raw.voxelSize;
    const base = this.crop.labels.roi.offset;
    const outBegin = plan.centre.map((c, i) => base[i]! + (c - Math.floor(this.output[i]! / 2)) * vs[i]!);
    const outExtent = this.output.map((s, i) => s * vs[i]!);
    const inExtent = this.input.map((s, i) => s * rawVs[i]!);
    return {
      raw: roi(contextBegin(outBegin, outExtent, inExtent, rawVs), inExtent),
      labels: roi(outBegin, outExtent),
    };
  }

  /**
   * The sample of a plan, augmented. With `labelsContext` (label voxels per axis), labels and mask
   * cover the output box grown by it on each side, seen through the same augmentation.
   */
  async read(plan: SamplePlan, labelsContext: readonly number[] | null = null): Promise<CropSample> {
    const rois = this.rois(plan);
    const vs = this.crop.voxelSize;
    const labels = labelsContext
      ? roiGrow(
          rois.labels,
          labelsContext.map((c, i) => c * vs[i]!),
        )
      : rois.labels;
    // ---- augmentation step: elastic (a deformed read), shift, mirror/transpose/intensity/gamma,
    // blur, defects, noise/scale-shift. An elastic read (without shift) mirrors and transposes
    // through its maps: the rest of the plan after it.
    const sample = await this.readShifted(plan, rois.raw, labels);
    const oriented = plan.elastic && !plan.shift;
    const augment = plan.augment && oriented ? withoutGeometry(plan.augment) : plan.augment;
    const augmented = augment ? applyAugment(augment, sample) : sample;
    const rawShape = augmented.rawShape;
    if (plan.blur) applyBlur(plan.blur, augmented.raw, 0, rawShape, this.crop.raw.voxelSize);
    if (plan.defect) applyDefects(plan.defect, augmented.raw, 0, rawShape, await this.artifacts(plan.defect, rawShape));
    if (plan.rawAugment) augmented.raw = applyRawAugment(plan.rawAugment, augmented.raw);
    // ---- end of the augmentation step
    return augmented;
  }

  /** Raw over `raw` and labels/mask over `labels` (world boxes), deformed (elastic) and shifted (shift). */
  private async readShifted(plan: SamplePlan, raw: Roi, labels: Roi): Promise<CropSample> {
    const shift = plan.shift ?? null;
    const rawVs = this.crop.raw.voxelSize,
      vs = this.crop.voxelSize;
    const rawRead = shift ? shiftedBox(shift, raw, rawVs) : raw;
    const labelsRead = shift ? shiftedBox(shift, labels, vs) : labels;
    // Shifted sections are cut out before the geometry: then the elastic read is not oriented.
    const geometry = shift ? null : (plan.augment ?? null);
    const read = plan.elastic
      ? await readElastic(this.crop, this.rois(plan), plan.elastic, geometry, { raw: rawRead, labels: labelsRead })
      : await this.crop.read(rawRead, labelsRead);
    if (!shift) return read;
    const channels = read.rawShape[3]!;
    return {
      raw: applyShift(shift, read.raw, rawRead, raw, rawVs, channels),
      rawShape: [...raw.shape.map((s, i) => s / rawVs[i]!), channels],
      labels: shiftLabels(shift, read.labels, labelsRead, labels, vs),
      mask: applyShift(shift, read.mask, labelsRead, labels, vs, 1),
      labelShape: labels.shape.map((s, i) => s / vs[i]!),
    };
  }

  /** The artifact patches of a defect plan's artifact sections, [y, x] of the sample's raw. */
  async artifacts(plan: DefectPlan, rawShape: readonly number[]): Promise<ArtifactPatch[]> {
    const { defect } = this.augment || {};
    const artifacts = defect ? (defect.artifacts ?? null) : null;
    if (artifacts === null || plan.artifactAt.length === 0) return [];
    this.artifactSource ??= ArtifactSource.open(artifacts);
    return (await this.artifactSource).patches(plan.artifactAt, rawShape.slice(1, 3), this.crop.raw.voxelSize);
  }
}

/** Reads planes [z0, z1) of a crop's known mask (labels voxel coordinates, whole y and x range). */
function maskPlanes(crop: Crop): MaskPlanes {
  const { offset, shape } = crop.labels.roi;
  const vz = crop.voxelSize[0]!;
  return (z0, z1) =>
    crop.readMask(roi([offset[0]! + z0 * vz, offset[1]!, offset[2]!], [(z1 - z0) * vz, shape[1]!, shape[2]!]));
}
