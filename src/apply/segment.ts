/**
 * segmentVolume: a written prediction → a uint64 instance segmentation, blockwise, identical (up
 * to a renaming of ids) to post-processing the whole volume at once:
 *
 * - 'boundary': 6-connected components of channel 0 > threshold (background 0);
 * - 'affinity': components of the affinity graph (edges with affinity > threshold);
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
import { OptionsError } from '../errors.js';
import { type Roi, roiVoxelShape } from '../roi.js';
import type { Volume } from '../types.js';
import { normalizeRaw, rawNormalization } from '../zarr/normalize.js';
import { funlibAttributes } from '../zarr/write/metadata.js';
import { type ArrayLocation, writeFileAtomic, ZarrArrayWriter } from '../zarr/write/file-store.js';
import { writeBlockChunks } from './block-io.js';
import { type Block, blockGrid, blockIndexAt, blocksOfWorker, type BlockGrid } from './grid.js';
import { blockShell, checkOffsets, decodeShell, encodeShell, joinShells, type Shell } from './join.js';
import { BlockMarkers, checkPlan, MARKERS_DIR } from './markers.js';
import { formatArrayLocation, openArray, parseArrayLocation } from './open.js';
import {
  blockAndChunkShapes,
  type BlockwiseOptions,
  type BlockwiseResult,
  checkRegion,
  defaultBlockShape,
} from './predict.js';
import { resolveWorkerSlot } from './workers.js';

export type SegmentMethod = 'boundary' | 'affinity' | 'semantic' | 'watershed';
export type SegmentPhase = 'all' | 'label' | 'join' | 'write';

export interface SegmentParameters {
  method: SegmentMethod;
  threshold: number;
  offsets: number[][];
  /** 'watershed': voxels with channel 0 at or below this stay 0 (null: flood everywhere). */
  maskThreshold?: number | null;
  /** 'watershed': voxels of the neighbouring blocks each block's flood sees, per axis. */
  halo?: number[];
}

export interface SegmentVolumeOptions extends BlockwiseOptions {
  method?: SegmentMethod;
  /** Threshold of boundary/affinity methods (default: the checkpoint's best, else 0.5). */
  threshold?: number;
  /** Affinity offsets [dz, dy, dx] per channel (default: [-1,0,0], [0,-1,0], [0,0,-1]). */
  offsets?: number[][];
  /** 'watershed': flood only where channel 0 > maskThreshold (distance predictions: 0; default: everywhere). */
  maskThreshold?: number | null;
  /** 'watershed': voxels of the neighbouring blocks each block's flood sees (default: half the block, per axis). */
  halo?: number | number[];
  /** A checkpoint whose checkpoint.json gives the method and threshold (the ValidationHook's best). */
  checkpoint?: string;
  /** Which phase to run (default 'all'). */
  phase?: SegmentPhase;
  /** Added to every non-zero final id (default 0: ids are 1..segments). */
  idOffset?: number | bigint;
  /** How often a waiting worker looks at the markers (default 500 ms) and for how long at most (default: no limit). */
  pollMs?: number;
  waitSeconds?: number;
  /** Called with a line when this worker starts waiting for others. */
  onWait?: (message: string) => void;
}

export interface SegmentResult extends BlockwiseResult {
  parameters: SegmentParameters;
  /** Segments in the result (known to the worker that ran or read the join). */
  segments: number | null;
}

export const PREDICTION_PARAMETERS_ATTRIBUTE = 'tfjs_zarr_postprocess';

const METHODS: SegmentMethod[] = ['boundary', 'affinity', 'semantic', 'watershed'];
const BOUNDARY_OFFSETS = [
  [-1, 0, 0],
  [0, -1, 0],
  [0, 0, -1],
];

/**
 * Method and parameters: explicit options first, then the checkpoint's checkpoint.json, then the
 * attribute predictVolume copied there, then the defaults (boundary for one channel, 0.5).
 */
export async function resolveSegmentParameters(
  prediction: Volume,
  attributes: Record<string, unknown>,
  options: Pick<SegmentVolumeOptions, 'method' | 'threshold' | 'offsets' | 'checkpoint' | 'maskThreshold'>,
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
  const method = (options.method ??
    fromCheckpoint.method ??
    attr.method ??
    (prediction.channels === 1 ? 'boundary' : undefined)) as SegmentMethod | undefined;
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
    method === 'affinity'
      ? (options.offsets ?? attr.offsets ?? DEFAULT_AFFINITY_OFFSETS.map((o) => [...o]))
      : BOUNDARY_OFFSETS;
  if (method === 'affinity' && offsets.length !== prediction.channels) {
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
  if (params.method === 'affinity') return affinityComponents(values, shape, params.offsets, params.threshold);
  return { labels: semanticPostProcessor().apply(values, [...shape, channels], {}), count: channels };
}

interface JoinFile {
  segments: number;
  base: number[];
  counts: number[];
}

export async function segmentVolume(
  prediction: Volume | string | ArrayLocation,
  options: SegmentVolumeOptions,
): Promise<SegmentResult> {
  const t0 = performance.now();
  const input =
    typeof prediction === 'string' || !('read' in prediction)
      ? await openArray(prediction, { option: 'input' })
      : prediction;
  const output = parseArrayLocation(options.output, 'output');
  const slot = resolveWorkerSlot(options);
  const phase = options.phase ?? 'all';
  if (!['all', 'label', 'join', 'write'].includes(phase)) {
    throw new OptionsError(`phase must be all, label, join or write, got ${JSON.stringify(phase)}`);
  }
  const attributes = await readAttributes(input);
  const params = await resolveSegmentParameters(input, attributes, options);
  const region = checkRegion(options.roi, input, 'prediction');
  const shape = roiVoxelShape(region, input.voxelSize);
  const inputChunks =
    'chunks' in input ? ((input as { chunks: readonly number[] }).chunks.slice(-3) as number[]) : [64, 64, 64];
  const { block, chunk } = blockAndChunkShapes(
    options.blockShape ?? defaultBlockShape(inputChunks, shape),
    options.chunkShape,
    shape,
  );
  if (params.method === 'affinity') checkOffsets(params.offsets, block);
  if (params.method === 'watershed') params.halo = haloOf(options.halo, block);
  const grid = blockGrid(region, input.voxelSize, block);
  if (options.overwrite && slot.workers > 1) {
    throw new OptionsError(
      `overwrite with ${slot.workers} workers would let one worker delete what another wrote; ` +
        'remove the output first (or prepare it once with --overwrite and no workers)',
    );
  }
  const idOffset = BigInt(options.idOffset ?? 0);
  const writer = await ZarrArrayWriter.create(
    output,
    {
      format: options.format ?? 2,
      shape,
      chunks: chunk,
      dtype: 'uint64',
      compressor: options.compressor ?? 'gzip',
      attributes: {
        ...funlibAttributes({ voxelSize: input.voxelSize, offset: region.offset, units: input.units, channels: false }),
        tfjs_zarr_segmentation: { ...params, input: `${input.container}/${input.path}` },
      },
      dimensionNames: ['z', 'y', 'x'],
    },
    { overwrite: options.overwrite, durable: options.durable },
  );
  await checkPlan(
    writer.dir,
    {
      kind: 'segmentation',
      input: `${input.container}/${input.path}`,
      roi: region,
      blockShape: block,
      ...params,
      idOffset: idOffset.toString(),
    },
    formatArrayLocation(output),
  );
  const result: SegmentResult = {
    output,
    dir: writer.dir,
    grid,
    slot,
    computed: 0,
    skipped: 0,
    seconds: { total: 0, write: 0 },
    parameters: params,
    segments: null,
  };
  if (options.prepareOnly) return result;

  const normalization = rawNormalization(input.dtype, { container: input.container, path: input.path });
  const C = input.channels;
  const readBlock = async (b: Block) => normalizeRaw(await input.read(b.roi), normalization);
  const mine = blocksOfWorker(grid, slot.worker, slot.workers);
  const labelMarkers = new BlockMarkers(writer.dir, 'label', options.durable);
  const writeMarkers = new BlockMarkers(writer.dir, 'write', options.durable);
  const joinFile = path.join(writer.dir, MARKERS_DIR, 'join.json');
  const joinBin = path.join(writer.dir, MARKERS_DIR, 'join.bin');
  const semantic = params.method === 'semantic';

  const runPhase = async (name: 'label' | 'write', work: (b: Block) => Promise<void>) => {
    const markers = name === 'label' ? labelMarkers : writeMarkers;
    const done = await markers.done();
    let finished = 0;
    let skipped = 0;
    let voxels = 0;
    for (const b of mine) {
      if (!done.has(b.index)) {
        options.signal?.throwIfAborted();
        await work(b);
        if (name === 'write') result.computed++;
        voxels += b.voxelShape.reduce((x, y) => x * y, 1);
      } else {
        skipped++;
        if (name === 'write') result.skipped++;
      }
      finished++;
      options.onProgress?.({ phase: name, done: finished, total: mine.length, voxels, skipped });
    }
  };

  const waitFor = async (what: string, ready: () => Promise<number>): Promise<void> => {
    const deadline = performance.now() + (options.waitSeconds ?? Number.POSITIVE_INFINITY) * 1000;
    let told = false;
    for (;;) {
      const missing = await ready();
      if (missing === 0) return;
      if (!told) {
        options.onWait?.(`worker ${slot.worker}/${slot.workers}: waiting for ${what} (${missing} left)`);
        told = true;
      }
      if (performance.now() > deadline) {
        throw new OptionsError(
          `${formatArrayLocation(output)}: gave up waiting for ${what} after ${options.waitSeconds} s; ` +
            'run the phases separately (--phase label on every worker, then --phase join, then --phase write)',
        );
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
    }
  };
  const unlabelled = async () => grid.blocks.length - (await labelMarkers.done()).size;
  const joinMissing = async () => ((await fileExists(joinFile)) ? 0 : 1);

  // A prediction still being written by predictVolume (e.g. the same array job ran predict just
  // before): wait for it in 'all' mode, refuse otherwise, never segment missing blocks as zeros.
  const unpredicted = () => missingPredictionBlocks(input);
  if (phase === 'all') await waitFor('the prediction to be complete', unpredicted);
  else if (phase !== 'join' && (await unpredicted()) > 0) {
    throw new OptionsError(
      `${input.container}/${input.path} is not complete yet: ${await unpredicted()} of its blocks are not predicted`,
    );
  }

  // Phase 1: label.
  if (!semantic && (phase === 'all' || phase === 'label')) {
    await runPhase('label', async (b) => {
      const values = await readBlock(b);
      const { labels, count } = labelBlock(values, b.voxelShape, C, params);
      const shell = shellOf(labels, count, b.voxelShape, values, C, params);
      await fsp.mkdir(labelMarkers.dir, { recursive: true });
      await writeFileAtomic(path.join(labelMarkers.dir, `${b.index}.shell`), encodeShell(shell), options.durable);
      await labelMarkers.mark(b.index, { count });
    });
  }
  // Phase 2: join.
  if (!semantic && (phase === 'join' || (phase === 'all' && !(await fileExists(joinFile))))) {
    if (phase === 'join' || slot.worker === 0) {
      if (phase === 'all') await waitFor('the blocks of the other workers to be labelled', unlabelled);
      const missing = await unlabelled();
      if (missing > 0) {
        throw new OptionsError(
          `${formatArrayLocation(output)}: ${missing} of ${grid.blocks.length} blocks are not labelled yet; ` +
            'run --phase label on every worker first',
        );
      }
      result.segments = await runJoin(grid, params, labelMarkers, joinFile, joinBin);
    } else {
      await waitFor('worker 0 to join the blocks', joinMissing);
    }
  }
  // Phase 3: write.
  if (phase === 'all' || phase === 'write') {
    let join: JoinFile | null = null;
    let finalIds: Float64Array | null = null;
    if (!semantic) {
      if (!(await fileExists(joinFile))) {
        throw new OptionsError(`${formatArrayLocation(output)}: the blocks are not joined yet; run --phase join first`);
      }
      join = JSON.parse(await fsp.readFile(joinFile, 'utf8')) as JoinFile;
      result.segments = join.segments;
      finalIds = await readFloat64(joinBin);
    }
    const t = performance.now();
    await runPhase('write', async (b) => {
      const values = await readBlock(b);
      const { labels, count } = labelBlock(values, b.voxelShape, C, params);
      if (params.method === 'watershed' && join && finalIds) {
        const flooded = await floodBlock(b, grid, readBlock, C, params, join, finalIds);
        await writeBlockChunks(writer, b, mapIds(flooded.labels, flooded.ids, true, idOffset));
        await writeMarkers.mark(b.index, {});
        return;
      }
      let ids: Float64Array;
      if (join && finalIds) {
        if (count !== join.counts[b.index]) {
          throw new Error(
            `block ${b.index}: ${count} ids now but ${join.counts[b.index]} when labelled; the prediction changed`,
          );
        }
        // Index l is provisional id base + l (index 0, another block's id, is background).
        ids = finalIds.subarray(join.base[b.index]!, join.base[b.index]! + count + 1);
      } else {
        ids = Float64Array.from({ length: count }, (_, k) => k);
      }
      await writeBlockChunks(writer, b, mapIds(labels, ids, join !== null, idOffset));
      await writeMarkers.mark(b.index, {});
    });
    result.seconds.write += (performance.now() - t) / 1000;
  }
  result.seconds.total = (performance.now() - t0) / 1000;
  return result;
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
 */
async function floodBlock(
  b: Block,
  grid: BlockGrid,
  readBlock: (b: Block) => Promise<Float32Array>,
  C: number,
  params: SegmentParameters,
  join: JoinFile,
  finalIds: Float64Array,
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
    params.method === 'affinity' ? (v: number, k: number) => values[v * C + k]! > t : (v: number) => labels[v] !== 0;
  return blockShell(labels, count, shape, params.offsets, edgeOn);
}

async function runJoin(
  grid: BlockGrid,
  params: SegmentParameters,
  markers: BlockMarkers,
  joinFile: string,
  joinBin: string,
): Promise<number> {
  const shells: Shell[] = [];
  for (const b of grid.blocks) {
    shells.push(decodeShell(new Uint8Array(await fsp.readFile(path.join(markers.dir, `${b.index}.shell`)))));
  }
  const joined = joinShells(grid, params.offsets, shells);
  await writeFileAtomic(joinBin, new Uint8Array(joined.finalIds.buffer));
  const file: JoinFile = { segments: joined.segments, base: joined.base, counts: shells.map((s) => s.count) };
  // join.json last: its presence says the join is complete.
  await writeFileAtomic(joinFile, `${JSON.stringify(file)}\n`);
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

/** Blocks of a predictVolume output without a done-marker (0 for arrays not written by predictVolume). */
async function missingPredictionBlocks(volume: Volume): Promise<number> {
  if (/^https?:/i.test(volume.container) || /\.zip$/i.test(volume.container)) return 0;
  const dir = path.join(volume.container, volume.path);
  let plan: { kind?: string; roi?: Roi; blockShape?: number[] };
  try {
    plan = JSON.parse(await fsp.readFile(path.join(dir, MARKERS_DIR, 'plan.json'), 'utf8'));
  } catch {
    return 0;
  }
  if (plan.kind !== 'prediction' || !plan.roi || !plan.blockShape) return 0;
  const total = blockGrid(plan.roi, volume.voxelSize, plan.blockShape).blocks.length;
  return total - (await new BlockMarkers(dir, 'predict').done()).size;
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
