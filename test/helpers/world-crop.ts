/**
 * In-memory crops defined by functions of world position, with raw, labels and mask at their own
 * voxel sizes: each voxel holds its function's value at the voxel's centre. A raw that encodes the
 * labels at the same world point makes alignment checkable through the whole pipeline.
 */
import { roiIntersect, roiIsEmpty, type Roi } from '../../src/roi.js';
import type { Crop, CropSample, DType, LabelArray, StoredArray, Volume } from '../../src/types.js';

export type P3 = [number, number, number];

export class WorldVolume implements Volume {
  readonly container = 'memory';
  readonly units = ['nm', 'nm', 'nm'];
  readonly axisNames = ['z', 'y', 'x'];
  readonly channels = 1;
  readonly shape: number[];
  readonly offset: number[];
  constructor(
    readonly path: string,
    readonly dtype: DType,
    readonly voxelSize: number[],
    readonly roi: Roi,
    private readonly f: (p: P3) => number,
  ) {
    this.offset = [...roi.offset];
    this.shape = roi.shape.map((s, i) => s / voxelSize[i]!);
  }

  async read(r: Roi): Promise<StoredArray> {
    const vs = this.voxelSize;
    const n = r.shape.map((s, i) => s / vs[i]!);
    const Arr = this.dtype === 'float32' ? Float32Array : this.dtype === 'uint8' ? Uint8Array : Uint32Array;
    const out = new Arr(n[0]! * n[1]! * n[2]!);
    const end = this.roi.offset.map((o, i) => o + this.roi.shape[i]!);
    let k = 0;
    for (let z = 0; z < n[0]!; z++)
      for (let y = 0; y < n[1]!; y++)
        for (let x = 0; x < n[2]!; x++, k++) {
          const p = [z, y, x].map((v, i) => r.offset[i]! + (v + 0.5) * vs[i]!) as P3;
          if (p.every((c, i) => c >= this.roi.offset[i]! && c < end[i]!)) out[k] = this.f(p);
        }
    return out;
  }
}

export class WorldCrop implements Crop {
  readonly voxelSize: number[];
  constructor(
    readonly name: string,
    readonly raw: WorldVolume,
    readonly labels: WorldVolume,
    readonly mask: WorldVolume | null,
  ) {
    this.voxelSize = labels.voxelSize;
  }

  async readRaw(r: Roi): Promise<Float32Array> {
    return (await this.raw.read(r)) as Float32Array;
  }

  async readMask(r: Roi): Promise<Uint8Array> {
    const vs = this.voxelSize;
    const n = r.shape.map((s, i) => s / vs[i]!);
    const out = new Uint8Array(n[0]! * n[1]! * n[2]!);
    const inside = roiIntersect(r, this.labels.roi);
    if (roiIsEmpty(inside)) return out;
    const stored = this.mask ? await this.mask.read(r) : null;
    const end = this.labels.roi.offset.map((o, i) => o + this.labels.roi.shape[i]!);
    let k = 0;
    for (let z = 0; z < n[0]!; z++)
      for (let y = 0; y < n[1]!; y++)
        for (let x = 0; x < n[2]!; x++, k++) {
          const p = [z, y, x].map((v, i) => r.offset[i]! + (v + 0.5) * vs[i]!);
          const known = p.every((c, i) => c >= this.labels.roi.offset[i]! && c < end[i]!);
          out[k] = known && (stored?.[k] ?? 1) !== 0 ? 1 : 0;
        }
    return out;
  }

  async read(r: Roi, labelsRoi: Roi = r): Promise<CropSample> {
    const [raw, labels, mask] = await Promise.all([
      this.readRaw(r),
      this.labels.read(labelsRoi),
      this.readMask(labelsRoi),
    ]);
    return {
      raw,
      rawShape: [...r.shape.map((s, i) => s / this.raw.voxelSize[i]!), 1],
      labels: labels as LabelArray,
      mask,
      labelShape: labelsRoi.shape.map((s, i) => s / this.voxelSize[i]!),
    };
  }
}

/** Block id of a world point: blocks of `block` world units, ids 1..250 (0 never used). */
export function blockId(p: readonly number[], block: number): number {
  const b = p.map((c) => Math.floor(c / block));
  return 1 + ((((b[0]! * 7 + b[1]! * 13 + b[2]! * 29) % 250) + 250) % 250);
}

/**
 * A crop whose raw is blockId / 255 and labels blockId, at their own voxel sizes; the mask is
 * unknown on a slab. `block` must be a multiple of both voxel sizes.
 */
export function blockCrop(opts: {
  rawVoxel: number[];
  labelVoxel: number[];
  rawRoi: Roi;
  labelsRoi: Roi;
  block?: number;
  withMask?: boolean;
}): WorldCrop {
  const block = opts.block ?? 8;
  const raw = new WorldVolume('raw', 'float32', opts.rawVoxel, opts.rawRoi, (p) => blockId(p, block) / 255);
  const labels = new WorldVolume('labels', 'uint32', opts.labelVoxel, opts.labelsRoi, (p) => blockId(p, block));
  const mask = opts.withMask
    ? new WorldVolume('mask', 'uint8', opts.labelVoxel, opts.labelsRoi, (p) => (Math.floor(p[1] / 6) % 4 === 1 ? 0 : 1))
    : null;
  return new WorldCrop('blocks', raw, labels, mask);
}
