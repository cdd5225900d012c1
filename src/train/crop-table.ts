/**
 * What a crop's tables share (boundary-table.ts, distance-table.ts): a value per label voxel a
 * crop's samples can cover, computed once per crop from its labels instead of once per sample.
 *
 * Tables belong to a training dataset's batch maker (one CropTables per thread) and go with it:
 * `release()` (the dataset's `close()`) or its garbage collection gives their memory back. A table
 * takes its bytes from its labels' memory budget (`Volume.reserveBytes`, the chunk cache's cap):
 * labels that offer none, or a table that does not fit, leave its crop's samples to be done from
 * their ids, with the same bytes. A crop's table is built once its samples have covered as many
 * voxels as the table has: until then each sample is done from its ids, so the first batches over
 * hundreds of crops are not held up building tables that few samples use.
 */
import { roi, roiVoxelShape, type Roi } from '../roi.js';
import { cOrderStrides, copyBox } from '../zarr/gather.js';
import type { Crop, StoredArray, Volume } from '../types.js';

/** The region of a crop's table: every output box of `output` label voxels its samples can take. */
export interface TableRegion {
  crop: Crop;
  labels: Volume;
  /** World units, on the labels' grid. */
  region: Roi;
  /** Voxels per axis. */
  voxels: number[];
  voxelSize: readonly number[];
}

/** Takes `bytes` of the labels' budget for the table being built; false: it does not fit. */
export type Reserve = (bytes: number) => boolean;

/** Budgets of collected CropTables given back. */
const returned = new FinalizationRegistry<Set<() => void>>((releases) => {
  for (const release of releases) release();
});

interface Entry {
  /** Output voxels sampled from the crop so far. */
  sampled: number;
  table: Promise<unknown> | null;
}

/** The tables of one batch maker, by crop and key: built lazily, released together. */
export class CropTables {
  private entries = new Map<Crop, Map<string, Entry>>();
  private readonly regions = new Map<Crop, TableRegion | null>();
  /** How to give back each table's budget. */
  private readonly releases = new Set<() => void>();
  private readonly outVoxels: number;

  /**
   * `buildAfter`: a crop's table is built once its samples have covered this many times its
   * voxels (0: at its first sample).
   */
  constructor(
    readonly output: readonly number[],
    private readonly buildAfter = 1,
  ) {
    this.outVoxels = output.reduce((a, b) => a * b, 1);
    returned.register(this, this.releases, this);
  }

  /**
   * The crop's table under `key` for one more sample: null while building it does not pay yet
   * (or the crop cannot have one), else the table (null when `build` found no room), built on
   * the first call that needs it.
   */
  forSample<T>(
    crop: Crop,
    key: string,
    build: (where: TableRegion, reserve: Reserve) => Promise<T | null>,
  ): Promise<T | null> | null {
    if (!this.regions.has(crop)) this.regions.set(crop, tableRegion(crop, this.output));
    const where = this.regions.get(crop)!;
    if (where === null) return null;
    const byKey = this.entries.get(crop) ?? new Map<string, Entry>();
    this.entries.set(crop, byKey);
    const entry = byKey.get(key) ?? { sampled: 0, table: null };
    byKey.set(key, entry);
    if (entry.table) return entry.table as Promise<T | null>;
    if (entry.sampled < this.buildAfter * where.voxels.reduce((a, b) => a * b, 1)) {
      entry.sampled += this.outVoxels;
      return null;
    }
    const held: (() => void)[] = [];
    const reserve: Reserve = (bytes) => {
      const release = where.labels.reserveBytes?.(bytes) ?? null;
      if (release) {
        held.push(release);
        this.releases.add(release);
      }
      return release !== null;
    };
    const table = build(where, reserve).catch((error: unknown) => {
      for (const release of held) {
        release();
        this.releases.delete(release);
      }
      throw error;
    });
    entry.table = table;
    return table;
  }

  /** Tables held now (built or being built). */
  get size(): number {
    let n = 0;
    for (const byKey of this.entries.values()) for (const e of byKey.values()) if (e.table) n++;
    return n;
  }

  /** Drops every table and gives its bytes back; tables are built again as samples need them. */
  release(): void {
    for (const release of this.releases) release();
    this.releases.clear();
    this.entries = new Map();
  }
}

function tableRegion(crop: Crop, output: readonly number[]): TableRegion | null {
  const labels = crop.labels;
  if (labels.reserveBytes === undefined || labels.channels !== 1) return null;
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
