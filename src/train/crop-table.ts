/**
 * What a crop's tables share (boundary-table.ts, distance-table.ts): a value per label voxel a
 * crop's samples can cover, computed once per crop from its labels instead of once per sample,
 * its memory taken from the chunk cache's cap (ChunkCache.reserve: a table that does not fit is
 * not built, and its crop's samples are done from their ids, with the same bytes). One table per
 * labels array and key (output shape, options), shared by every dataset over the crop.
 */
import { roi, roiVoxelShape, type Roi } from '../roi.js';
import { cOrderStrides, copyBox } from '../zarr/gather.js';
import { ZarrCrop } from '../zarr/crop.js';
import { ZarrVolume } from '../zarr/volume.js';
import type { Crop, StoredArray } from '../types.js';

/** The region of a crop's table: every output box of `output` label voxels its samples can take. */
export interface TableRegion {
  crop: ZarrCrop;
  labels: ZarrVolume;
  /** World units, on the labels' grid. */
  region: Roi;
  /** Voxels per axis. */
  voxels: number[];
  voxelSize: readonly number[];
}

const built = new WeakMap<ZarrVolume, Map<string, Promise<unknown>>>();

/**
 * The table of `crop` under `key`, built once by `build` from the crop's table region (or null:
 * the crop is not read from zarr, or `build` found no room in the cache cap).
 */
export function cropTable<T>(
  crop: Crop,
  output: readonly number[],
  key: string,
  build: (where: TableRegion) => Promise<T | null>,
): Promise<T | null> {
  const labels = crop.labels;
  if (!(labels instanceof ZarrVolume)) return Promise.resolve(null);
  const tables = built.get(labels) ?? new Map<string, Promise<unknown>>();
  built.set(labels, tables);
  const full = `${key}|${output.join(',')}`;
  let table = tables.get(full) as Promise<T | null> | undefined;
  if (!table) {
    const where = tableRegion(crop, output);
    table = where ? build(where) : Promise.resolve(null);
    tables.set(full, table);
  }
  return table;
}

function tableRegion(crop: Crop, output: readonly number[]): TableRegion | null {
  const labels = crop.labels;
  if (!(crop instanceof ZarrCrop) || !(labels instanceof ZarrVolume) || labels.channels !== 1) return null;
  const vs = crop.voxelSize;
  if (vs.length !== 3 || labels.voxelSize.some((v, i) => v !== vs[i])) return null;
  const { offset } = crop.labels.roi;
  // Centres c = 0 … n − 1 (label voxels, as CropSampler); box [c − ⌊out/2⌋, c − ⌊out/2⌋ + out).
  const voxels = roiVoxelShape(crop.labels.roi, vs).map((n, i) => n + output[i]! - 1);
  if (!voxels.every(Number.isInteger)) return null;
  const begin = offset.map((o, i) => o - Math.floor(output[i]! / 2) * vs[i]!);
  return {
    crop,
    labels,
    region: roi(
      begin,
      voxels.map((n, i) => n * vs[i]!),
    ),
    voxels,
    voxelSize: vs,
  };
}

/**
 * The table's values over `box` (world units; `channels` values per voxel) into `out`, or false
 * when the box is not a box of the table's voxels (then the sample is done from its ids).
 */
export function gatherBox(
  values: StoredArray,
  channels: number,
  where: Pick<TableRegion, 'region' | 'voxels' | 'voxelSize'>,
  box: Roi,
  out: StoredArray,
): boolean {
  const exact = (v: number[]) => v.every((x) => Math.abs(x - Math.round(x)) < 1e-6);
  const from = box.offset.map((o, i) => (o - where.region.offset[i]!) / where.voxelSize[i]!);
  const size = box.shape.map((s, i) => s / where.voxelSize[i]!);
  if (!exact(from) || !exact(size)) return false;
  const at = from.map(Math.round);
  const count = size.map(Math.round);
  if (at.some((a, i) => a < 0 || a + count[i]! > where.voxels[i]!)) return false;
  if (out.length !== count[0]! * count[1]! * count[2]! * channels) return false;
  copyBox(
    values,
    cOrderStrides([...where.voxels, channels]),
    [...at, 0],
    out,
    cOrderStrides([...count, channels]),
    [0, 0, 0, 0],
    [...count, channels],
  );
  return true;
}
