/**
 * What every blockwise job (predictVolume, segmentVolume) shares: its options (the output array,
 * the coordination of workers), its output array and plan, the phases it runs over this worker's
 * blocks (each block computed, stored and marked done; a marked block is never done twice), and
 * waiting for the other workers. The jobs themselves say only what a block's work is.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { JobStateError, OptionsError } from '../errors.js';
import { type Roi, roiContains, roiIsEmpty, roiIsMultipleOf, roiToString, roiVoxelShape } from '../roi.js';
import type { Volume } from '../types.js';
import type { ArraySpec, Compressor } from '../zarr/write/metadata.js';
import { type ArrayLocation, ZarrArrayWriter } from '../zarr/write/file-store.js';
import { type Block, blockGrid, blocksOfWorker, type BlockGrid } from './blocks.js';
import { BlockMarkers, checkPlan, MARKERS_DIR } from './markers.js';
import { formatArrayLocation, openArray, parseArrayLocation } from './open.js';
import { resolveWorkerSlot, type WorkerSlot } from './workers.js';

/** The array a job writes, and how. */
export interface OutputOptions {
  /** The output array, e.g. 'out.zarr/prediction' or { container, path }. */
  array: string | ArrayLocation;
  /** Voxels per output chunk (default: the block shape). */
  chunkShape?: readonly number[];
  /** zarr format of the output (default 2: every tool reads it). */
  format?: 2 | 3;
  /** Output compression (default 'gzip', level 1). */
  compressor?: Compressor;
  /** Replace an output that exists with another shape/dtype/plan (refused with several workers). */
  overwrite?: boolean;
  /**
   * fsync every chunk and marker before renaming it into place (default true: a finished block
   * survives a power loss). Without it, a killed process still never leaves a torn file.
   */
  durable?: boolean;
}

/** How this process shares the job with others. */
export interface CoordinationOptions {
  /** This process's share: worker index and count (default: from the environment, else 0 of 1). */
  worker?: number;
  workers?: number;
  /** Create/check the output and its plan, compute nothing (what `--processes` does before starting workers). */
  prepareOnly?: boolean;
}

/** The options of the first releases, one level flat; still taken (the groups win where both are given). */
interface FlatBlockwiseOptions extends Omit<OutputOptions, 'array'>, CoordinationOptions {}

export interface BlockwiseOptions extends FlatBlockwiseOptions {
  /** The output array (or the array and how it is written). */
  output: string | ArrayLocation | OutputOptions;
  /** World region to process (default: the whole input). */
  roi?: Roi;
  /** Voxels per block; a multiple of the output's chunk shape (default: see each function). */
  blockShape?: readonly number[];
  coordination?: CoordinationOptions;
  /** Stop between blocks when aborted (the finished blocks stay done). */
  signal?: AbortSignal;
  /** After each block: this worker's blocks done (skipped ones included) of its total, voxels computed. */
  onProgress?: (p: BlockProgress) => void;
}

export interface BlockProgress {
  /** 'predict', or the segmentation phase: 'label' or 'write'. */
  phase: string;
  done: number;
  total: number;
  /** Voxels computed in this run (skipped blocks not counted). */
  voxels: number;
  skipped: number;
}

export interface BlockwiseResult {
  output: ArrayLocation;
  /** The output's folder (local path). */
  dir: string;
  grid: BlockGrid;
  slot: WorkerSlot;
  /** This worker's blocks: computed now, and found done from an earlier run. */
  computed: number;
  skipped: number;
  /** Wall time; `write`: from each block's first chunk write to its marker, summed (overlaps the next block's work). */
  seconds: { total: number; write: number };
}

// The plan: the region, its blocks and the output's chunks.

/** The region to process: given or the input's, 3D, voxel aligned, inside the input. */
export function checkRegion(region: Roi | undefined, input: Volume, what: string): Roi {
  const r = region ?? input.roi;
  const name = `${input.container}/${input.path}`;
  if (r.offset.length !== 3 || r.shape.length !== 3 || roiIsEmpty(r)) {
    throw new OptionsError(`ROI ${roiToString(r)} must be a non-empty 3D region (world units, z y x)`);
  }
  if (!roiIsMultipleOf(r, input.voxelSize)) {
    throw new OptionsError(
      `ROI ${roiToString(r)} is not aligned to ${name}'s voxel size [${input.voxelSize.join(', ')}]`,
    );
  }
  if (!roiContains(input.roi, r)) {
    throw new OptionsError(
      `ROI ${roiToString(r)} is outside the ${what} ${name}, whose ROI is ${roiToString(input.roi)}`,
    );
  }
  return r;
}

/** Default block: the smallest multiple of `unit` with at least `min` voxels per axis, clipped to the region. */
export function defaultBlockShape(unit: readonly number[], shape: readonly number[], min = 64): number[] {
  return unit.map((u, i) => Math.min(u * Math.max(1, Math.ceil(min / u)), shape[i]!));
}

/** Block and chunk shapes, checked: blocks cover whole chunks. Both clipped to the region. */
export function blockAndChunkShapes(
  blockShape: readonly number[],
  chunkShape: readonly number[] | undefined,
  shape: readonly number[],
): { block: number[]; chunk: number[] } {
  const block = blockShape.map((b, i) => Math.min(b, shape[i]!));
  const chunk = (chunkShape ?? block).map((c, i) => Math.min(c, shape[i]!));
  if (chunk.length !== 3 || chunk.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new OptionsError(`chunk shape [${chunk.join(', ')}] must be 3 positive integers (voxels)`);
  }
  if (block.some((b, i) => b % chunk[i]! !== 0 && b !== shape[i])) {
    throw new OptionsError(
      `block shape [${blockShape.join(', ')}] must be a multiple of the chunk shape [${chunk.join(', ')}] ` +
        '(blocks cover whole chunks, so concurrent writers never share one)',
    );
  }
  return { block, chunk };
}

/**
 * The block grid over a checked region, and the output's chunks: `blockShape` (default
 * `defaultBlock(shape)`) and the output's chunk shape, both clipped to the region.
 */
export function planBlocks(
  region: Roi,
  voxelSize: readonly number[],
  options: BlockwiseOptions,
  defaultBlock: (shape: readonly number[]) => readonly number[],
): { grid: BlockGrid; chunk: number[] } {
  const shape = roiVoxelShape(region, voxelSize);
  const { block, chunk } = blockAndChunkShapes(
    options.blockShape ?? defaultBlock(shape),
    outputOptions(options).chunkShape,
    shape,
  );
  return { grid: blockGrid(region, voxelSize, block), chunk };
}

/** A job's input: a Volume as it is, or the array a location names, opened. */
export async function openInput(input: Volume | string | ArrayLocation): Promise<Volume> {
  return typeof input === 'string' || !('read' in input) ? openArray(input, { option: 'input' }) : input;
}

/** The output group with its defaults (flat options filled in where the group is silent). */
export function outputOptions(options: BlockwiseOptions): Required<Omit<OutputOptions, 'array' | 'chunkShape'>> & {
  location: ArrayLocation;
  chunkShape: readonly number[] | undefined;
} {
  const o = options.output;
  const group: Partial<OutputOptions> = typeof o === 'object' && 'array' in o ? o : {};
  const array = typeof o === 'object' && 'array' in o ? o.array : o;
  return {
    location: parseArrayLocation(array, 'output'),
    chunkShape: group.chunkShape ?? options.chunkShape,
    format: group.format ?? options.format ?? 2,
    compressor: group.compressor ?? options.compressor ?? 'gzip',
    overwrite: group.overwrite ?? options.overwrite ?? false,
    durable: group.durable ?? options.durable ?? true,
  };
}

/** The coordination group, flat options filled in where it is silent. */
export function coordinationOptions<C extends CoordinationOptions>(
  options: BlockwiseOptions & { coordination?: C },
): C & CoordinationOptions {
  const c = (options.coordination ?? {}) as C;
  return {
    ...c,
    worker: c.worker ?? options.worker,
    workers: c.workers ?? options.workers,
    prepareOnly: c.prepareOnly ?? options.prepareOnly,
  };
}

/** A job's output array, its blocks and this worker's share of them. */
export interface BlockJob {
  output: ArrayLocation;
  writer: ZarrArrayWriter;
  grid: BlockGrid;
  slot: WorkerSlot;
  /** This worker's blocks. */
  mine: Block[];
  durable: boolean;
  markers(phase: string): BlockMarkers;
  /** A file beside the markers (`.blocks/<name>`). */
  file(name: string): string;
}

/**
 * Creates (or checks) the output array and records the job's plan beside its markers: a job
 * continued or run concurrently with another plan is refused.
 */
export async function openJob(
  options: BlockwiseOptions,
  grid: BlockGrid,
  spec: ArraySpec,
  plan: Record<string, unknown>,
): Promise<BlockJob> {
  const output = outputOptions(options);
  const slot = resolveWorkerSlot(coordinationOptions(options));
  if (output.overwrite && slot.workers > 1) {
    throw new OptionsError(
      `overwrite with ${slot.workers} workers would let one worker delete what another wrote; ` +
        'remove the output first (or prepare it once with --overwrite and no workers)',
    );
  }
  const writer = await ZarrArrayWriter.create(output.location, spec, {
    overwrite: output.overwrite,
    durable: output.durable,
  });
  await checkPlan(writer.dir, plan, formatArrayLocation(output.location));
  return {
    output: output.location,
    writer,
    grid,
    slot,
    mine: blocksOfWorker(grid, slot.worker, slot.workers),
    durable: output.durable,
    markers: (phase) => new BlockMarkers(writer.dir, phase, output.durable),
    file: (name) => path.join(writer.dir, MARKERS_DIR, name),
  };
}

/** A result with nothing done yet. */
export function emptyResult(job: BlockJob): BlockwiseResult {
  return {
    output: job.output,
    dir: job.writer.dir,
    grid: job.grid,
    slot: job.slot,
    computed: 0,
    skipped: 0,
    seconds: { total: 0, write: 0 },
  };
}

/** One block's work in a phase: computing it, then storing what was computed. */
export interface BlockStep<T> {
  compute(block: Block): Promise<T>;
  /** Writes the block's results; returns what its done-marker records. */
  store(block: Block, value: T): Promise<object>;
  /** Store a block while the next one is computed (default false: one block at a time). */
  overlap?: boolean;
}

/**
 * Runs a phase over this worker's blocks not yet marked done in it: each block is computed,
 * stored and marked done. Stops between blocks when `signal` aborts (the stored blocks stay done;
 * with `overlap`, the one being stored finishes first).
 */
export async function runPhase<T>(
  job: BlockJob,
  phase: string,
  step: BlockStep<T>,
  hooks: Pick<BlockwiseOptions, 'signal' | 'onProgress'>,
): Promise<{ computed: number; skipped: number; storeSeconds: number }> {
  const markers = job.markers(phase);
  const done = await markers.done();
  const count = { computed: 0, skipped: 0, storeSeconds: 0 };
  let voxels = 0;
  const report = () =>
    hooks.onProgress?.({
      phase,
      done: count.computed + count.skipped,
      total: job.mine.length,
      voxels,
      skipped: count.skipped,
    });
  let storing: Promise<void> = Promise.resolve();
  try {
    for (const b of job.mine) {
      if (done.has(b.index)) {
        count.skipped++;
        report();
        continue;
      }
      hooks.signal?.throwIfAborted();
      const value = await step.compute(b);
      await storing;
      const store = (async () => {
        const t = performance.now();
        const info = await step.store(b, value);
        await markers.mark(b.index, info);
        count.storeSeconds += (performance.now() - t) / 1000;
        count.computed++;
        voxels += b.voxelShape.reduce((x, y) => x * y, 1);
        report();
      })();
      // Awaited at the next block or the end; never an unhandled rejection in between.
      store.catch(() => undefined);
      storing = store;
      if (!step.overlap) await store;
    }
  } finally {
    // Stopped or failed: let the block being stored finish (or fail) before returning.
    await storing.catch(() => undefined);
  }
  await storing;
  if (job.mine.length === 0) report();
  return count;
}

/** How a worker waits for the others. */
export interface WaitOptions {
  /** How often a waiting worker looks at the markers (default 500 ms). */
  pollMs?: number;
  /** For how long at most (default: no limit); then a JobStateError. */
  waitSeconds?: number;
  /** Called with a line when this worker starts waiting for others. */
  onWait?: (message: string) => void;
}

/**
 * Waits until `missing()` is 0, polling; past `waitSeconds` a JobStateError says what did not
 * happen and `advice` what to do instead.
 */
export async function waitUntil(
  job: BlockJob,
  what: string,
  missing: () => Promise<number>,
  options: WaitOptions & { advice: string },
): Promise<void> {
  const deadline = performance.now() + (options.waitSeconds ?? Number.POSITIVE_INFINITY) * 1000;
  let told = false;
  for (;;) {
    const left = await missing();
    if (left === 0) return;
    if (!told) {
      options.onWait?.(`worker ${job.slot.worker}/${job.slot.workers}: waiting for ${what} (${left} left)`);
      told = true;
    }
    if (performance.now() > deadline) {
      const array = formatArrayLocation(job.output);
      throw new JobStateError(
        `${array}: gave up waiting for ${what} after ${options.waitSeconds} s; ${options.advice}`,
        { array, missing: left },
      );
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
  }
}

/**
 * Blocks of a job's output without a done-marker in `phase`, when the array was written by a job
 * of `kind` (its plan.json says so); 0 for any other array, or one not on the local disk.
 */
export async function unfinishedBlocks(volume: Volume, kind: string, phase: string): Promise<number> {
  if (/^https?:/i.test(volume.container) || /\.zip$/i.test(volume.container)) return 0;
  const dir = path.join(volume.container, volume.path);
  let plan: { kind?: string; roi?: Roi; blockShape?: number[] };
  try {
    plan = JSON.parse(await fsp.readFile(path.join(dir, MARKERS_DIR, 'plan.json'), 'utf8'));
  } catch {
    return 0;
  }
  if (plan.kind !== kind || !plan.roi || !plan.blockShape) return 0;
  const total = blockGrid(plan.roi, volume.voxelSize, plan.blockShape).blocks.length;
  return total - (await new BlockMarkers(dir, phase).done()).size;
}
