/**
 * segmentVolume: a written prediction → a uint64 instance segmentation, blockwise, identical (up
 * to a renaming of ids) to post-processing the whole volume at once:
 *
 * - 'boundary': 6-connected components of channel 0 > threshold (background 0);
 * - 'affinities' ('affinity' is its deprecated name): components of the affinity graph (edges with affinity > threshold);
 * - 'semantic': the argmax over channels (class ids; no join needed);
 * - 'watershed': seeded watershed of −channel 0 (eval/watershed.ts) from the components of
 *   channel 0 > threshold, within channel 0 > maskThreshold (default: everywhere). NOT
 *   blockwise-exact: the seeds are (labelled and joined as 'boundary'), then each block is flooded
 *   from the seeds of the block and its neighbours up to `halo` voxels away (their final ids), so
 *   a voxel the whole-volume flood reaches first from a seed farther away, or through a path that
 *   leaves the halo, can take another seed's id.
 *
 * Three phases, each restartable through its markers (see markers.ts):
 *
 * 1. label (parallel): each block is labelled alone; its id count and its shell (labels and edge
 *    bits near its faces, see join.ts) go to `.blocks/label/<block>.{json,shell}`;
 * 2. join (one process, once every block is labelled): union-find over the crossing edges of all
 *    shells → `.blocks/join.json` (per-block id bases, segment count) and `.blocks/join.bin`
 *    (final id per provisional id, float64);
 * 3. write (parallel): each block is labelled again (deterministic: same ids) and written with
 *    its final ids; `.blocks/write/<block>.json` marks it done.
 *
 * With phase 'all' (the default) one command does all three: worker 0 runs the join once all
 * blocks are labelled, the other workers wait for it (so all workers must run at the same time,
 * as `--processes` and array jobs without a concurrency limit do). Where they cannot, run the
 * phases as separate steps: `--phase label` on every worker, `--phase join` once, then
 * `--phase write` on every worker.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { affinityComponents, connectedComponents } from '../eval/components.js';
import { readCheckpointInfo } from '../eval/checkpoint.js';
import { semanticPostProcessor } from '../eval/postprocess.js';
import { seededWatershed } from '../eval/watershed.js';
import { DEFAULT_AFFINITY_OFFSETS } from '../train/targets.js';
import { JobStateError, OptionsError } from '../errors.js';
import type { Volume } from '../types.js';
import { normalizeRaw, rawNormalization } from '../zarr/normalize.js';
import { funlibAttributes } from '../zarr/write/metadata.js';
import { type ArrayLocation, writeFileAtomic } from '../zarr/write/file-store.js';
import { writeBlockChunks } from './block-io.js';
import { type Block, blockIndexAt, type BlockGrid } from './blocks.js';
import {
  type BlockJob,
  type BlockwiseOptions,
  type BlockwiseResult,
  checkRegion,
  type CoordinationOptions,
  coordinationOptions,
  defaultBlockShape,
  emptyResult,
  openInput,
  openJob,
  outputOptions,
  planBlocks,
  runPhase,
  unfinishedBlocks,
  type WaitOptions,
  waitUntil,
} from './job.js';
import { blockShell, checkOffsets, decodeShell, encodeShell, joinShells, type Shell } from './join.js';
import { formatArrayLocation } from './open.js';

/**
 * How a prediction becomes instances. 'affinity' is the deprecated name of 'affinities' (the
 * target's name); it still works, with a deprecation message when given as an option.
 */
export type SegmentMethod = 'boundary' | 'affinities' | 'semantic' | 'watershed' | 'affinity';
export type SegmentPhase = 'all' | 'label' | 'join' | 'write';

export interface SegmentParameters {
  method: Exclude<SegmentMethod, 'affinity'>;
  threshold: number;
  offsets: number[][];
  /** 'watershed': voxels with channel 0 at or below this stay 0 (null: flood everywhere). */
  maskThreshold?: number | null;
  /** 'watershed': voxels of the neighbouring blocks each block's flood sees, per axis. */
  halo?: number[];
}

/** How the blocks become instances: explicit values first, then the checkpoint's, then the prediction's recorded ones. */
export interface SegmentParameterOptions {
  method?: SegmentMethod;
  /** Threshold of boundary/affinities methods (default: the checkpoint's best, else 0.5). */
  threshold?: number;
  /** Affinity offsets [dz, dy, dx] per channel (default: [-1,0,0], [0,-1,0], [0,0,-1]). */
  offsets?: number[][];
  /** 'watershed': flood only where channel 0 > maskThreshold (distance predictions: 0; default: everywhere). */
  maskThreshold?: number | null;
  /** 'watershed': voxels of the neighbouring blocks each block's flood sees (default: half the block, per axis). */
  halo?: number | number[];
  /** A checkpoint whose checkpoint.json gives the method and threshold (the ValidationHook's best). */
  checkpoint?: string;
  /** Added to every non-zero final id (default 0: ids are 1..segments). */
  idOffset?: number | bigint;
}

/** How this process shares the segmentation with others, and waits for them between phases. */
export interface SegmentCoordinationOptions extends CoordinationOptions, WaitOptions {
  /** Which phase to run (default 'all'). */
  phase?: SegmentPhase;
}

/** The options of the first releases, one level flat; still taken (the groups win where both are given). */
interface FlatSegmentOptions
  extends SegmentParameterOptions,
    Omit<SegmentCoordinationOptions, 'worker' | 'workers' | 'prepareOnly'> {}

export interface SegmentVolumeOptions extends BlockwiseOptions, FlatSegmentOptions {
  parameters?: SegmentParameterOptions;
  coordination?: SegmentCoordinationOptions;
}

export interface SegmentResult extends BlockwiseResult {
  parameters: SegmentParameters;
  /** Segments in the result (known to the worker that ran or read the join). */
  segments: number | null;
}

export const PREDICTION_PARAMETERS_ATTRIBUTE = 'tfjs_zarr_postprocess';

const METHODS: SegmentParameters['method'][] = ['boundary', 'affinities', 'semantic', 'watershed'];

/**
 * The method's current name: 'affinity' (the first name of 'affinities', still in checkpoints and
 * prediction attributes written before the rename) is 'affinities'; a message through `warn` when
 * the caller gave the old name.
 */
export function canonicalMethod(method: string, warn?: (message: string) => void): string {
  if (method !== 'affinity') return method;
  warn?.("segment method 'affinity' is deprecated; it is now called 'affinities' (the target's name)");
  return 'affinities';
}

/**
 * Method and parameters: explicit options first, then the checkpoint's checkpoint.json, then the
 * attribute predictVolume copied there, then the defaults (boundary for one channel, 0.5).
 */
export async function resolveSegmentParameters(
  prediction: Volume,
  attributes: Record<string, unknown>,
  options: SegmentParameterOptions,
): Promise<SegmentParameters> {
  let fromCheckpoint: { method?: string; threshold?: number; maskThreshold?: number } = {};
  if (options.checkpoint) {
    const info = await readCheckpointInfo<{
      postProcessor?: string;
      parameters?: { threshold?: number; maskThreshold?: number };
    }>(options.checkpoint);
    if (!info) throw new OptionsError(`checkpoint ${options.checkpoint} has no checkpoint.json with parameters`);
    // The distance post-processor of one channel is the boundary method: components of channel 0 > t.
    const method = info.postProcessor === 'distance' ? 'boundary' : info.postProcessor;
    fromCheckpoint = { method, threshold: info.parameters?.threshold, maskThreshold: info.parameters?.maskThreshold };
  }
  const attr = (attributes[PREDICTION_PARAMETERS_ATTRIBUTE] ?? {}) as {
    method?: string;
    threshold?: number;
    offsets?: number[][];
  };
  const given = options.method === undefined ? undefined : canonicalMethod(options.method, console.warn);
  const stored = fromCheckpoint.method ?? attr.method;
  const method = (given ??
    (stored === undefined ? undefined : canonicalMethod(stored)) ??
    (prediction.channels === 1 ? 'boundary' : undefined)) as SegmentParameters['method'] | undefined;
  const name = `${prediction.container}/${prediction.path}`;
  if (method === undefined) {
    throw new OptionsError(
      `${name} has ${prediction.channels} channels and no recorded post-processing; give the method ` +
        `(--method ${METHODS.join('|')}) or the checkpoint (--checkpoint)`,
    );
  }
  if (!METHODS.includes(method)) {
    throw new OptionsError(`method must be one of ${METHODS.join(', ')}, got ${JSON.stringify(method)}`);
  }
  const threshold = options.threshold ?? fromCheckpoint.threshold ?? attr.threshold ?? 0.5;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold)) {
    throw new OptionsError(`threshold must be a number, got ${JSON.stringify(threshold)}`);
  }
  const offsets =
    method === 'affinities' ? (options.offsets ?? attr.offsets ?? DEFAULT_AFFINITY_OFFSETS) : DEFAULT_AFFINITY_OFFSETS;
  if (method === 'affinities' && offsets.length !== prediction.channels) {
    throw new OptionsError(
      `${name} has ${prediction.channels} channels but ${offsets.length} affinity offsets were given`,
    );
  }
  const out: SegmentParameters = { method, threshold, offsets: offsets.map((o) => [...o]) };
  if (method === 'watershed') {
    const m = options.maskThreshold ?? fromCheckpoint.maskThreshold ?? null;
    if (m !== null && (typeof m !== 'number' || !Number.isFinite(m))) {
      throw new OptionsError(`maskThreshold must be a number or null, got ${JSON.stringify(m)}`);
    }
    out.maskThreshold = m;
  }
  return out;
}

/** One block's labels (ids 1..count, 0 = background) from its prediction [z, y, x, c]. */
export function labelBlock(
  values: Float32Array,
  shape: readonly number[],
  channels: number,
  params: SegmentParameters,
): { labels: Uint32Array; count: number } {
  const n = shape[0]! * shape[1]! * shape[2]!;
  if (params.method === 'boundary' || params.method === 'watershed') {
    const fg = new Uint8Array(n);
    for (let v = 0, i = 0; v < n; v++, i += channels) fg[v] = values[i]! > params.threshold ? 1 : 0;
    return connectedComponents(fg, shape);
  }
  if (params.method === 'affinities') return affinityComponents(values, shape, params.offsets, params.threshold);
  return { labels: semanticPostProcessor().apply(values, [...shape, channels], {}), count: channels };
}

interface JoinFile {
  segments: number;
  base: number[];
  counts: number[];
}

/** The flat options of the first releases folded into the groups (the groups win). */
function segmentGroups(options: SegmentVolumeOptions): {
  wanted: SegmentParameterOptions;
  coordination: SegmentCoordinationOptions & { phase: SegmentPhase };
} {
  const p = options.parameters ?? {};
  const c = coordinationOptions(options);
  const phase = c.phase ?? options.phase ?? 'all';
  if (!['all', 'label', 'join', 'write'].includes(phase)) {
    throw new OptionsError(`phase must be all, label, join or write, got ${JSON.stringify(phase)}`);
  }
  return {
    wanted: {
      method: p.method ?? options.method,
      threshold: p.threshold ?? options.threshold,
      offsets: p.offsets ?? options.offsets,
      maskThreshold: p.maskThreshold ?? options.maskThreshold,
      halo: p.halo ?? options.halo,
      checkpoint: p.checkpoint ?? options.checkpoint,
      idOffset: p.idOffset ?? options.idOffset,
    },
    coordination: {
      ...c,
      phase,
      pollMs: c.pollMs ?? options.pollMs,
      waitSeconds: c.waitSeconds ?? options.waitSeconds,
      onWait: c.onWait ?? options.onWait,
    },
  };
}

/** The segmentation's blocks and output array (uint64, funlib attributes), its plan recorded. */
async function openSegmentation(
  input: Volume,
  options: SegmentVolumeOptions,
  params: SegmentParameters,
  { idOffset, halo }: { idOffset: bigint; halo: SegmentParameterOptions['halo'] },
): Promise<BlockJob> {
  const region = checkRegion(options.roi, input, 'prediction');
  const inputChunks =
    'chunks' in input ? ((input as { chunks: readonly number[] }).chunks.slice(-3) as number[]) : [64, 64, 64];
  const { grid, chunk } = planBlocks(region, input.voxelSize, options, (shape) =>
    defaultBlockShape(inputChunks, shape),
  );
  if (params.method === 'affinities') checkOffsets(params.offsets, grid.blockShape);
  if (params.method === 'watershed') params.halo = haloOf(halo, grid.blockShape);
  const inputName = `${input.container}/${input.path}`;
  const output = outputOptions(options);
  const spec = {
    format: output.format,
    shape: grid.shape,
    chunks: chunk,
    dtype: 'uint64' as const,
    compressor: output.compressor,
    attributes: {
      ...funlibAttributes({ voxelSize: input.voxelSize, offset: region.offset, units: input.units, channels: false }),
      tfjs_zarr_segmentation: { ...params, input: inputName },
    },
    dimensionNames: ['z', 'y', 'x'],
  };
  const plan = { kind: 'segmentation', input: inputName, roi: region, blockShape: grid.blockShape, ...params };
  return openJob(options, grid, spec, { ...plan, idOffset: `${idOffset}` });
}

/** One segmentation in progress: what its phases share. */
interface SegmentRun {
  job: BlockJob;
  input: Volume;
  params: SegmentParameters;
  idOffset: bigint;
  coordination: SegmentCoordinationOptions & { phase: SegmentPhase };
  hooks: Pick<SegmentVolumeOptions, 'signal' | 'onProgress'>;
  /** The prediction of a block, normalized to [0, 1]. */
  readBlock(b: Block): Promise<Float32Array>;
}

export async function segmentVolume(
  prediction: Volume | string | ArrayLocation,
  options: SegmentVolumeOptions,
): Promise<SegmentResult> {
  const t0 = performance.now();
  const input = await openInput(prediction);
  const { wanted, coordination } = segmentGroups(options);
  const params = await resolveSegmentParameters(input, await readAttributes(input), wanted);
  const idOffset = BigInt(wanted.idOffset ?? 0);
  const job = await openSegmentation(input, options, params, { idOffset, halo: wanted.halo });
  const result: SegmentResult = { ...emptyResult(job), parameters: params, segments: null };
  if (coordination.prepareOnly) return result;

  const normalization = rawNormalization(input.dtype, { container: input.container, path: input.path });
  const run: SegmentRun = {
    job,
    input,
    params,
    idOffset,
    coordination,
    hooks: options,
    readBlock: async (b) => normalizeRaw(await input.read(b.roi), normalization),
  };
  const { phase } = coordination;
  await predictionComplete(run);
  if (params.method !== 'semantic') {
    if (phase === 'all' || phase === 'label') await labelPhase(run);
    if (phase === 'join' || (phase === 'all' && !(await fileExists(job.file(JOIN_FILE))))) {
      result.segments = await joinPhase(run);
    }
  }
  if (phase === 'all' || phase === 'write') {
    const written = await writePhase(run);
    Object.assign(result, { computed: written.computed, skipped: written.skipped, segments: written.segments });
    result.seconds.write = written.storeSeconds;
  }
  result.seconds.total = (performance.now() - t0) / 1000;
  return result;
}

const JOIN_FILE = 'join.json';
const JOIN_IDS_FILE = 'join.bin';
const PHASES_ADVICE =
  'run the phases separately (--phase label on every worker, then --phase join, then --phase write)';

/**
 * A prediction still being written by predictVolume (e.g. the same array job ran predict just
 * before): waited for in phase 'all', refused otherwise; missing blocks are never segmented as zeros.
 */
async function predictionComplete(run: SegmentRun): Promise<void> {
  const { input, coordination } = run;
  const unpredicted = () => unfinishedBlocks(input, 'prediction', 'predict');
  if (coordination.phase === 'all') {
    await waitUntil(run.job, 'the prediction to be complete', unpredicted, {
      ...coordination,
      advice: PHASES_ADVICE,
    });
    return;
  }
  const missing = coordination.phase === 'join' ? 0 : await unpredicted();
  if (missing > 0) {
    const array = `${input.container}/${input.path}`;
    throw new JobStateError(`${array} is not complete yet: ${missing} of its blocks are not predicted`, {
      array,
      missing,
    });
  }
}

/** Phase 1: each block labelled alone; its id count and shell stored beside its marker. */
async function labelPhase(run: SegmentRun): Promise<void> {
  const { job, input, params } = run;
  const markers = job.markers('label');
  await runPhase(
    job,
    'label',
    {
      compute: async (b) => {
        const values = await run.readBlock(b);
        const { labels, count } = labelBlock(values, b.voxelShape, input.channels, params);
        return { count, shell: shellOf(labels, count, b.voxelShape, values, input.channels, params) };
      },
      store: async (b, { count, shell }) => {
        await fsp.mkdir(markers.dir, { recursive: true });
        await writeFileAtomic(path.join(markers.dir, `${b.index}.shell`), encodeShell(shell), job.durable);
        return { count };
      },
    },
    run.hooks,
  );
}

/**
 * Phase 2, on one worker once every block is labelled (the others wait for it): the shells joined
 * into final ids. Returns the number of segments, or null on a worker that only waited.
 */
async function joinPhase(run: SegmentRun): Promise<number | null> {
  const { job, coordination } = run;
  const waitFor = { ...coordination, advice: PHASES_ADVICE };
  if (coordination.phase !== 'join' && job.slot.worker !== 0) {
    await waitUntil(
      job,
      'worker 0 to join the blocks',
      async () => ((await fileExists(job.file(JOIN_FILE))) ? 0 : 1),
      waitFor,
    );
    return null;
  }
  const labelled = job.markers('label');
  const total = job.grid.blocks.length;
  const unlabelled = async () => total - (await labelled.done()).size;
  if (coordination.phase === 'all')
    await waitUntil(job, 'the blocks of the other workers to be labelled', unlabelled, waitFor);
  const missing = await unlabelled();
  if (missing > 0) {
    const array = formatArrayLocation(job.output);
    throw new JobStateError(
      `${array}: ${missing} of ${total} blocks are not labelled yet; run --phase label on every worker first`,
      { array, missing },
    );
  }
  return runJoin(job, run.params);
}

/** Phase 3: each block labelled again (the same ids) and written with its final ids. */
async function writePhase(
  run: SegmentRun,
): Promise<{ computed: number; skipped: number; storeSeconds: number; segments: number | null }> {
  const { job, input, params } = run;
  let join: JoinFile | null = null;
  let finalIds: Float64Array | null = null;
  if (params.method !== 'semantic') {
    if (!(await fileExists(job.file(JOIN_FILE)))) {
      const array = formatArrayLocation(job.output);
      throw new JobStateError(`${array}: the blocks are not joined yet; run --phase join first`, { array });
    }
    join = JSON.parse(await fsp.readFile(job.file(JOIN_FILE), 'utf8')) as JoinFile;
    finalIds = await readFloat64(job.file(JOIN_IDS_FILE));
  }
  const counts = await runPhase(
    job,
    'write',
    {
      compute: async (b) => {
        if (params.method === 'watershed' && join && finalIds) {
          const flooded = await floodBlock(b, job.grid, run.readBlock, input.channels, params, { join, finalIds });
          return mapIds(flooded.labels, flooded.ids, true, run.idOffset);
        }
        const { labels, count } = labelBlock(await run.readBlock(b), b.voxelShape, input.channels, params);
        return mapIds(labels, finalIdsOf(b, count, join, finalIds), join !== null, run.idOffset);
      },
      store: async (b, ids) => {
        await writeBlockChunks(job.writer, b, ids);
        return {};
      },
    },
    run.hooks,
  );
  return { ...counts, segments: join?.segments ?? null };
}

/** The halo of the watershed method: per axis, at most the block (so that only neighbours are read). */
function haloOf(option: number | number[] | undefined, block: readonly number[]): number[] {
  const halo =
    option === undefined
      ? block.map((b) => Math.floor(b / 2))
      : typeof option === 'number'
        ? block.map(() => option)
        : option;
  if (halo.length !== block.length || halo.some((h, i) => !Number.isInteger(h) || h < 0 || h > block[i]!)) {
    throw new OptionsError(
      `halo must be whole voxels from 0 to the block shape [${block.join(', ')}], got ${JSON.stringify(option)}`,
    );
  }
  return halo;
}

/**
 * The 'watershed' method's block: the final seed ids over the block grown by the halo (each
 * block there labelled again, its ids mapped through the join), flooded from them, the block cut
 * out. Returns local labels and the final id of each (index 0: background).
 * (long: one read-relabel-flood-cut sequence over shared block buffers; its steps are already
 * helpers, what stays is their order.)
 */
async function floodBlock(
  b: Block,
  grid: BlockGrid,
  readBlock: (b: Block) => Promise<Float32Array>,
  C: number,
  params: SegmentParameters,
  { join, finalIds }: { join: JoinFile; finalIds: Float64Array },
): Promise<{ labels: Uint32Array; ids: Float64Array }> {
  const halo = params.halo!;
  const lo = b.voxelOffset.map((o, i) => Math.max(0, o - halo[i]!));
  const hi = b.voxelOffset.map((o, i) => Math.min(grid.shape[i]!, o + b.voxelShape[i]! + halo[i]!));
  const shape = hi.map((h, i) => h - lo[i]!);
  const [Z, Y, X] = shape as [number, number, number];
  const n = Z * Y * X;
  const elevation = new Float32Array(n);
  const seeds = new Uint32Array(n);
  const mask = params.maskThreshold === null || params.maskThreshold === undefined ? null : new Uint8Array(n);
  // Every block overlapping the grown region: its channel 0 and its seeds' final ids.
  const firstCoords = grid.blocks[blockIndexAt(grid, lo)]!.coords;
  const lastCoords =
    grid.blocks[
      blockIndexAt(
        grid,
        hi.map((h) => h - 1),
      )
    ]!.coords;
  for (const nb of grid.blocks) {
    if (nb.coords.some((c, i) => c < firstCoords[i]! || c > lastCoords[i]!)) continue;
    const values = await readBlock(nb);
    const { labels, count } = labelBlock(values, nb.voxelShape, C, params);
    if (count !== join.counts[nb.index]) {
      throw new Error(
        `block ${nb.index}: ${count} ids now but ${join.counts[nb.index]} when labelled; the prediction changed`,
      );
    }
    const base = join.base[nb.index]!;
    const [nz, ny, nx] = nb.voxelShape as [number, number, number];
    for (let z = 0; z < nz; z++) {
      const gz = nb.voxelOffset[0]! + z - lo[0]!;
      if (gz < 0 || gz >= Z) continue;
      for (let y = 0; y < ny; y++) {
        const gy = nb.voxelOffset[1]! + y - lo[1]!;
        if (gy < 0 || gy >= Y) continue;
        for (let x = 0; x < nx; x++) {
          const gx = nb.voxelOffset[2]! + x - lo[2]!;
          if (gx < 0 || gx >= X) continue;
          const v = (z * ny + y) * nx + x;
          const g = (gz * Y + gy) * X + gx;
          const p = values[v * C]!;
          elevation[g] = -p;
          if (mask) mask[g] = p > params.maskThreshold! ? 1 : 0;
          const l = labels[v]!;
          // Final ids 1 … segments (index 0 of a block's slice is another block's id: background).
          if (l !== 0) seeds[g] = finalIds[base + l]!;
        }
      }
    }
  }
  const flooded = seededWatershed(elevation, shape, seeds, mask);
  // The block cut out, its final ids renumbered locally for mapIds.
  const [bz, by, bx] = b.voxelShape as [number, number, number];
  const local = new Uint32Array(bz * by * bx);
  const index = new Map<number, number>([[0, 0]]);
  const ids: number[] = [0];
  for (let z = 0, v = 0; z < bz; z++)
    for (let y = 0; y < by; y++)
      for (let x = 0; x < bx; x++, v++) {
        const id =
          flooded[
            ((z + b.voxelOffset[0]! - lo[0]!) * Y + y + b.voxelOffset[1]! - lo[1]!) * X + x + b.voxelOffset[2]! - lo[2]!
          ]!;
        let l = index.get(id);
        if (l === undefined) {
          l = ids.length;
          index.set(id, l);
          ids.push(id);
        }
        local[v] = l;
      }
  return { labels: local, ids: Float64Array.from(ids) };
}

/** The final id of each local id of block `b` (its own ids when nothing was joined: semantic). */
function finalIdsOf(b: Block, count: number, join: JoinFile | null, finalIds: Float64Array | null): Float64Array {
  if (!join || !finalIds) return Float64Array.from({ length: count }, (_, k) => k);
  if (count !== join.counts[b.index]) {
    throw new Error(
      `block ${b.index}: ${count} ids now but ${join.counts[b.index]} when labelled; the prediction changed`,
    );
  }
  // Index l is provisional id base + l (index 0, another block's id, is background).
  return finalIds.subarray(join.base[b.index]!, join.base[b.index]! + count + 1);
}

/**
 * Local ids → stored uint64 ids: `ids[l]` is the final id of local id l; with `background`, local
 * id 0 stays 0 and `idOffset` is added to the others. Written as two 32-bit halves (no BigInt per
 * voxel).
 */
function mapIds(labels: Uint32Array, ids: Float64Array, background: boolean, idOffset: bigint): BigUint64Array {
  const lo = new Uint32Array(ids.length);
  const hi = new Uint32Array(ids.length);
  for (let l = 0; l < ids.length; l++) {
    const id = background && l === 0 ? 0n : BigInt(ids[l]!) + (background ? idOffset : 0n);
    lo[l] = Number(id & 0xffffffffn);
    hi[l] = Number(id >> 32n);
  }
  const out = new BigUint64Array(labels.length);
  const halves = new Uint32Array(out.buffer);
  for (let v = 0; v < labels.length; v++) {
    const l = labels[v]!;
    halves[2 * v] = lo[l]!;
    halves[2 * v + 1] = hi[l]!;
  }
  return out;
}

function shellOf(
  labels: Uint32Array,
  count: number,
  shape: readonly number[],
  values: Float32Array,
  C: number,
  params: SegmentParameters,
): Shell {
  const t = params.threshold;
  const edgeOn =
    params.method === 'affinities' ? (v: number, k: number) => values[v * C + k]! > t : (v: number) => labels[v] !== 0;
  return blockShell(labels, count, shape, params.offsets, edgeOn);
}

async function runJoin(job: BlockJob, params: SegmentParameters): Promise<number> {
  const labelled = job.markers('label');
  const shells: Shell[] = [];
  for (const b of job.grid.blocks) {
    shells.push(decodeShell(new Uint8Array(await fsp.readFile(path.join(labelled.dir, `${b.index}.shell`)))));
  }
  const joined = joinShells(job.grid, params.offsets, shells);
  await writeFileAtomic(job.file(JOIN_IDS_FILE), new Uint8Array(joined.finalIds.buffer));
  const file: JoinFile = { segments: joined.segments, base: joined.base, counts: shells.map((s) => s.count) };
  // join.json last: its presence says the join is complete.
  await writeFileAtomic(job.file(JOIN_FILE), `${JSON.stringify(file)}\n`);
  return joined.segments;
}

async function readFloat64(file: string): Promise<Float64Array> {
  const bytes = await fsp.readFile(file);
  const out = new Float64Array(bytes.byteLength / 8);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

async function fileExists(file: string): Promise<boolean> {
  return fsp.stat(file).then(
    () => true,
    () => false,
  );
}

async function readAttributes(volume: Volume): Promise<Record<string, unknown>> {
  if (/^https?:/i.test(volume.container) || /\.zip$/i.test(volume.container)) return {};
  const dir = path.join(volume.container, volume.path);
  for (const [file, key] of [
    ['.zattrs', null],
    ['zarr.json', 'attributes'],
  ] as const) {
    try {
      const json = JSON.parse(await fsp.readFile(path.join(dir, file), 'utf8')) as Record<string, unknown>;
      return (key ? (json[key] as Record<string, unknown>) : json) ?? {};
    } catch {
      // not this format
    }
  }
  return {};
}
