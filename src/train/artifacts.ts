/**
 * gunpowder's DefectAugment artifact source, from a zarr container: an array of artifact
 * intensities and one of their alpha (float in [0, 1]), at raw's voxel size. Each artifact section
 * of a sample takes a patch of the section's [y, x] size at a place drawn by the plan (uniform over
 * the places it fits, any plane), normalized as raw is (uint8 / 255, uint16 / 65535, float as
 * stored), and is blended into the section (defects.ts).
 */
import { openArray } from '../apply/open.js';
import { OptionsError } from '../errors.js';
import { roi } from '../roi.js';
import type { Volume } from '../types.js';
import { normalizeRaw, rawNormalization } from '../zarr/normalize.js';
import type { ArtifactOptions, ArtifactPatch } from './defects.js';

export class ArtifactSource {
  private constructor(
    private readonly raw: Volume,
    private readonly alpha: Volume,
    private readonly options: ArtifactOptions,
  ) {}

  static async open(options: ArtifactOptions): Promise<ArtifactSource> {
    const at = (name: string) => `${options.path.replace(/\/+$/, '')}/${name}`;
    const [raw, alpha] = await Promise.all([
      openArray(at(options.raw ?? 'raw'), { option: 'augment.defect.artifacts.raw' }),
      openArray(at(options.alpha ?? 'alpha_mask'), { option: 'augment.defect.artifacts.alpha' }),
    ]);
    for (const v of [raw, alpha]) {
      if (v.voxelSize.length !== 3 || v.channels !== 1) {
        throw new OptionsError(`augment.defect.artifacts: ${v.container}/${v.path} must be a 3D array of one channel`);
      }
    }
    if (
      raw.voxelSize.some((v, i) => v !== alpha.voxelSize[i]) ||
      raw.roi.shape.some((s, i) => s !== alpha.roi.shape[i])
    ) {
      throw new OptionsError(
        `augment.defect.artifacts: ${raw.path} and ${alpha.path} in ${options.path} must cover the same voxels`,
      );
    }
    return new ArtifactSource(raw, alpha, options);
  }

  /** The patches of [y, x] = `size` voxels at the places `at` (uniforms in [0, 1)³) for raw of voxel size `voxelSize`. */
  async patches(
    at: readonly (readonly [number, number, number])[],
    size: readonly number[],
    voxelSize: readonly number[],
  ): Promise<ArtifactPatch[]> {
    const vs = this.raw.voxelSize;
    if (vs.some((v, i) => v !== voxelSize[i])) {
      throw new OptionsError(
        `augment.defect.artifacts: ${this.options.path} has voxel size [${vs.join(', ')}], raw [${voxelSize.join(', ')}]; ` +
          'artifacts are blended voxel for voxel (as gunpowder asserts)',
      );
    }
    const n = this.raw.roi.shape.map((s, i) => s / vs[i]!);
    if (n[1]! < size[0]! || n[2]! < size[1]!) {
      throw new OptionsError(
        `augment.defect.artifacts: ${this.options.path} has sections of [${n.slice(1).join(', ')}] voxels, smaller than raw's [${size.join(', ')}]`,
      );
    }
    const normalization = rawNormalization(this.raw.dtype, this.raw);
    return Promise.all(
      at.map(async ([u, v, w]) => {
        const place = [
          Math.floor(u * n[0]!),
          Math.floor(v * (n[1]! - size[0]! + 1)),
          Math.floor(w * (n[2]! - size[1]! + 1)),
        ];
        const box = roi(
          place.map((p, i) => this.raw.roi.offset[i]! + p * vs[i]!),
          [vs[0]!, size[0]! * vs[1]!, size[1]! * vs[2]!],
        );
        const [raw, alpha] = await Promise.all([this.raw.read(box), this.alpha.read(box)]);
        return { raw: normalizeRaw(raw, normalization), alpha: Float32Array.from(alpha as ArrayLike<number>) };
      }),
    );
  }
}
