/**
 * Where to take a training sample from a crop, and reading it (gunpowder's RandomLocation +
 * Reject + read, as plain functions). The output box's centre voxel is uniform over the labels'
 * region (DaCapo's default), restricted to centres whose output box is at least `minMasked`
 * known, checked exactly through an integral volume of the known mask built once per crop.
 */
import { OptionsError } from '../errors.js';
import { roi, roiVoxelShape, type Roi } from '../roi.js';
import type { Crop, CropSample } from '../types.js';
import { applyAugment, planAugment, type AugmentOptions, type AugmentPlan } from './augment.js';
import { countKnownBlockwise, type MaskPlanes, type ValidCentres, validCentresBlockwise } from './integral.js';
import { makeRng, type Rng } from './random.js';

export interface SamplingOptions {
  /** Raw patch shape in voxels [z, y, x]. */
  inputShape: readonly number[];
  /** Labels/target patch shape in voxels, centred in the input (default: inputShape). */
  outputShape?: readonly number[];
  /** Minimum known fraction of the output patch, in [0, 1] (default 0). */
  minMasked?: number;
  /** Seeded augmentation; false or absent for none. */
  augment?: AugmentOptions | false;
}

export interface SamplePlan {
  /** Output centre voxel, in labels-array voxel coordinates. */
  centre: number[];
  augment: AugmentPlan | null;
}

/** Largest patch we agree to allocate (elements of one raw patch). */
const MAX_PATCH_ELEMENTS = 2 ** 28;

export function checkSamplingOptions(options: SamplingOptions): {
  input: number[];
  output: number[];
  minMasked: number;
} {
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
  const output = options.outputShape === undefined ? [...input] : shape('outputShape', options.outputShape);
  if (output.some((o, i) => o > input[i]!)) {
    throw new OptionsError(
      `outputShape [${output.join(', ')}] is larger than inputShape [${input.join(', ')}]; the output is centred inside the input`,
    );
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
  }
  return { input, output, minMasked };
}

export class CropSampler {
  readonly crop: Crop;
  readonly input: number[];
  readonly output: number[];
  /** Voxel shape of the labels' region. */
  readonly labelShape: number[];
  /** Known voxels in the labels' region (computed when minMasked > 0 or asked for). */
  knownVoxels: number | null = null;
  private centres: ValidCentres | null = null;
  private readonly augment: AugmentOptions | false;
  private readonly minMasked: number;

  private constructor(crop: Crop, options: SamplingOptions) {
    const { input, output, minMasked } = checkSamplingOptions(options);
    this.minMasked = minMasked;
    if (crop.voxelSize.length !== 3) {
      throw new OptionsError(`crop ${crop.name} has ${crop.voxelSize.length} spatial axes; training needs 3 (z, y, x)`);
    }
    this.crop = crop;
    this.input = input;
    this.output = output;
    this.labelShape = roiVoxelShape(crop.labels.roi, crop.voxelSize);
    this.augment = options.augment ?? false;
  }

  /** Prepares a sampler; reads the crop's mask once when `minMasked` > 0 or `countKnown`. */
  static async create(crop: Crop, options: SamplingOptions, countKnown = false): Promise<CropSampler> {
    const sampler = new CropSampler(crop, options);
    const minMasked = sampler.minMasked;
    if (minMasked > 0 || countKnown) {
      // The mask is read and tabled slab by slab along z: a large (sparse) crop never needs one
      // whole-region array, and a region too large even for one slab is refused by name.
      const planes = maskPlanes(crop);
      let count: number;
      try {
        if (minMasked > 0) {
          const found = await validCentresBlockwise(planes, sampler.labelShape, sampler.output, minMasked);
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
      if (minMasked > 0) {
        if (sampler.centres!.count === 0) {
          throw new OptionsError(
            `crop ${crop.name}: no output patch of shape [${sampler.output.join(', ')}] is at least ` +
              `${minMasked} known (the crop has ${count} known voxels); lower minMasked or the output shape`,
          );
        }
      }
    }
    return sampler;
  }

  get labelVoxels(): number {
    return this.labelShape.reduce((a, b) => a * b, 1);
  }

  /** Draws a location (and augmentation) from `rng`; a pure function of the stream. */
  draw(rng: Rng): SamplePlan {
    const locationRng = rng.fork('location');
    const centre = this.centres
      ? [...this.centres.sample(locationRng)!]
      : this.labelShape.map((n) => locationRng.int(n));
    const augment = this.augment
      ? planAugment(rng.fork('augment'), this.augment, [this.output, this.input], this.crop.voxelSize)
      : null;
    return { centre, augment };
  }

  /** World ROIs of the raw (input) and labels (output) patches for a plan. */
  rois(plan: SamplePlan): { raw: Roi; labels: Roi } {
    const vs = this.crop.voxelSize;
    const base = this.crop.labels.roi.offset;
    const outBegin = plan.centre.map((c, i) => c - Math.floor(this.output[i]! / 2));
    const inBegin = outBegin.map((b, i) => b - Math.floor((this.input[i]! - this.output[i]!) / 2));
    return {
      raw: roi(
        inBegin.map((b, i) => base[i]! + b * vs[i]!),
        this.input.map((s, i) => s * vs[i]!),
      ),
      labels: roi(
        outBegin.map((b, i) => base[i]! + b * vs[i]!),
        this.output.map((s, i) => s * vs[i]!),
      ),
    };
  }

  async read(plan: SamplePlan): Promise<CropSample> {
    const rois = this.rois(plan);
    const sample = await this.crop.read(rois.raw, rois.labels);
    return plan.augment ? applyAugment(plan.augment, sample) : sample;
  }
}

/** Reads planes [z0, z1) of a crop's known mask (labels voxel coordinates, whole y and x range). */
function maskPlanes(crop: Crop): MaskPlanes {
  const { offset, shape } = crop.labels.roi;
  const vz = crop.voxelSize[0]!;
  return (z0, z1) =>
    crop.readMask(roi([offset[0]! + z0 * vz, offset[1]!, offset[2]!], [(z1 - z0) * vz, shape[1]!, shape[2]!]));
}
