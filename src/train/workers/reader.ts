/**
 * Reads of a split's volumes through a pool of worker threads: each worker fetches, decodes and
 * gathers chunks with its own share of the chunk cache. Each worker owns one band of every volume
 * along its first spatial axis (whole chunks, about 1/workers of them), so a chunk is decoded and
 * cached by one worker only. A read inside one band is one request to its owner, whose reply is
 * returned as is; a read across bands is cut at the band boundaries and the pieces (contiguous in
 * the C-order result) are stitched with one copy each. Bands rather than alternating chunk slabs:
 * a patch the size of a chunk then usually needs one worker, one message and no copy (512³ volume,
 * 64³ chunks, 2 workers: 1 read in 8 is cut instead of nearly all).
 */
import { OptionsError } from '../../errors.js';
import { roi as makeRoi, roiIsMultipleOf, type Roi } from '../../roi.js';
import type { StoredArray } from '../../types.js';
import type { DataSplit } from '../../zarr/split.js';
import type { CropVolume } from '../../zarr/crop.js';
import { newStoredArray, ZarrVolume } from '../../zarr/volume.js';
import { defaultWorkerCount, spawnWorker } from './spawn.js';
import { SamplePool } from './pool.js';
import { containerSpec } from './protocol.js';

export interface WorkerReaderOptions {
  /** Workers (default: see `defaultWorkerCount`); the split's cacheBytes is shared among them. */
  workers?: number;
  /** Workers stop after this long without a read (ms, default 2000) and start again when needed. */
  idleMs?: number;
}

export class WorkerReader {
  private readonly pool: SamplePool;
  readonly workers: number;

  constructor(
    private readonly split: DataSplit,
    options: WorkerReaderOptions = {},
  ) {
    const workers = options.workers ?? defaultWorkerCount();
    if (!Number.isInteger(workers) || workers < 1) {
      throw new OptionsError(`WorkerReader: workers must be a positive integer, got ${workers}`);
    }
    this.workers = workers;
    this.pool = new SamplePool({
      size: workers,
      spawn: spawnWorker,
      containers: [containerSpec(split.config, workers)],
      crops: [],
      options: null,
      idleMs: options.idleMs ?? 2000,
    });
  }

  /** What `volume.read(roi)` returns, read in the workers. `volume` is one of the split's arrays. */
  async read(volume: CropVolume, roi: Roi): Promise<StoredArray> {
    const crops = [...this.split.train, ...this.split.test];
    if (!crops.some((c) => c.raw === volume || c.labels === volume || c.mask === volume)) {
      throw new OptionsError(`WorkerReader: ${volume.path} is not an array of ${this.split.container}`);
    }
    if (roi.offset.length !== volume.voxelSize.length || !roiIsMultipleOf(roi, volume.voxelSize)) {
      return volume.read(roi); // throws the reading layer's own error for a bad ROI
    }
    const pieces = bandPieces(volume, roi, this.workers);
    const parts = await this.pool.wait(Promise.all(pieces.map((p) => this.pool.read(0, volume.path, p.roi, p.worker))));
    if (parts.length === 1) return parts[0]!;
    const out = newStoredArray(
      volume.dtype,
      parts.reduce((n, p) => n + p.length, 0),
    );
    let offset = 0;
    for (const p of parts) {
      (out as Uint8Array).set(p as Uint8Array, offset);
      offset += p.length;
    }
    return out;
  }

  /** Stops the workers now (a later read starts them again). */
  close(): void {
    this.pool.close();
  }
}

/**
 * `roi` cut along its first spatial axis where one worker's band of chunks ends and the next one's
 * begins; chunk slab `i` of `n` belongs to worker `floor(i * workers / n)` (outside the array: the
 * nearest band's worker).
 */
export function bandPieces(volume: CropVolume, roi: Roi, workers: number): { roi: Roi; worker: number }[] {
  if (!(volume instanceof ZarrVolume)) return [{ roi, worker: 0 }]; // resampled: one piece
  const vs = volume.voxelSize[0]!;
  const axis = volume.channelAxis === 0 ? 1 : 0; // stored index of the first spatial axis
  const chunk = volume.chunks[axis]! * vs;
  const slabs = Math.ceil(volume.shape[axis]! / volume.chunks[axis]!);
  if (!(slabs > 0)) return [{ roi, worker: 0 }];
  const owner = (slab: number) => Math.floor((Math.min(Math.max(slab, 0), slabs - 1) * workers) / slabs);
  const origin = volume.offset[0]!;
  const begin = roi.offset[0]!;
  const end = begin + roi.shape[0]!;
  const out: { roi: Roi; worker: number }[] = [];
  for (let a = begin; a < end; ) {
    const worker = owner(Math.floor((a - origin) / chunk));
    // Extend over the following slabs of the same worker.
    let slab = Math.floor((a - origin) / chunk) + 1;
    while (origin + slab * chunk < end && owner(slab) === worker) slab++;
    const b = Math.min(end, origin + slab * chunk);
    out.push({ roi: makeRoi([a, ...roi.offset.slice(1)], [b - a, ...roi.shape.slice(1)]), worker });
    a = b;
  }
  return out.length ? out : [{ roi, worker: 0 }];
}
