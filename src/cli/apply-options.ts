/**
 * What `predict` and `segment` share on the command line: the block/ROI/worker/output options,
 * their parsing, the progress bar, and `--processes n` (prepare the output once, then n workers,
 * with a progress bar over everyone's markers).
 */
import { roi, type Roi } from '../roi.js';
import { BlockMarkers } from '../apply/markers.js';
import { blockProgress, type Progress } from '../apply/progress.js';
import { runWorkerProcesses } from '../apply/pool.js';
import type { WorkerSlot } from '../apply/workers.js';
import type { BlockProgress, BlockwiseOptions, BlockwiseResult, OutputOptions } from '../apply/job.js';
import { UsageError } from './usage.js';

export const BLOCKWISE_OPTIONS = {
  input: { type: 'string' },
  output: { type: 'string' },
  roi: { type: 'string' },
  block: { type: 'string' },
  chunks: { type: 'string' },
  format: { type: 'string' },
  compressor: { type: 'string' },
  processes: { type: 'string' },
  worker: { type: 'string' },
  workers: { type: 'string' },
  overwrite: { type: 'boolean' },
  quiet: { type: 'boolean' },
} as const;

export const BLOCKWISE_USAGE = `  --roi OFFSET:SHAPE   world region, e.g. 0,0,0:1024,2048,2048 (default: the whole input)
  --block Z,Y,X        voxels per block, a multiple of --chunks (see the command's default)
  --chunks Z,Y,X       voxels per output chunk (default: the block)
  --format 2|3         zarr format of the output (default 2)
  --compressor C       gzip (default, level 1), zlib or none
  --processes N        run N worker processes on this machine
  --worker I --workers N
                       do worker I's share of N (default: from SLURM_ARRAY_TASK_ID/COUNT,
                       JOB_COMPLETION_INDEX + TFJS_ZARR_WORKERS, AWS_BATCH_JOB_ARRAY_INDEX +
                       AWS_BATCH_JOB_ARRAY_SIZE, else the only worker)
  --overwrite          replace an output that exists with another shape, dtype or settings
  --quiet              no progress bar`;

type Values = Record<string, string | boolean | undefined>;

export function integerOption(values: Values, name: string, min = 0): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

export function numberOption(values: Values, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n)) {
    throw new UsageError(`--${name} must be a number, got ${JSON.stringify(v)}`);
  }
  return n;
}

export function tripleOption(values: Values, name: string): number[] | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const parts = String(v).split(/[,x×]/).map(Number);
  if (parts.length !== 3 || parts.some((p) => !Number.isInteger(p) || p < 1)) {
    throw new UsageError(`--${name} must be three positive integers z,y,x, got ${JSON.stringify(v)}`);
  }
  return parts;
}

export function roiOption(values: Values): Roi | undefined {
  const v = values['roi'];
  if (v === undefined) return undefined;
  const m = /^\s*(-?\d+),(-?\d+),(-?\d+):(\d+),(\d+),(\d+)\s*$/.exec(String(v));
  if (!m)
    throw new UsageError(`--roi must be OFFSET:SHAPE in world units, e.g. 0,0,0:512,512,512, got ${JSON.stringify(v)}`);
  const n = m.slice(1).map(Number);
  return roi(n.slice(0, 3), n.slice(3));
}

/** The options predict and segment share, grouped as the API takes them. */
export function blockwiseOptions(values: Values): Pick<BlockwiseOptions, 'roi' | 'blockShape'> & {
  output: OutputOptions & { array: string };
} & {
  coordination: { worker?: number; workers?: number };
} {
  const output = values['output'];
  if (typeof output !== 'string') throw new UsageError('--output is required (e.g. out.zarr/prediction)');
  const format = values['format'] === undefined ? undefined : Number(values['format']);
  if (format !== undefined && format !== 2 && format !== 3)
    throw new UsageError(`--format must be 2 or 3, got ${values['format']}`);
  const compressor = values['compressor'] as string | undefined;
  if (compressor !== undefined && !['gzip', 'zlib', 'none'].includes(compressor)) {
    throw new UsageError(`--compressor must be gzip, zlib or none, got ${compressor}`);
  }
  const processes = integerOption(values, 'processes', 1);
  if (processes !== undefined && (values['worker'] !== undefined || values['workers'] !== undefined)) {
    throw new UsageError('--processes starts its own workers; give it or --worker/--workers, not both');
  }
  return {
    output: {
      array: output,
      chunkShape: tripleOption(values, 'chunks'),
      format: format as 2 | 3 | undefined,
      compressor: compressor as OutputOptions['compressor'],
      overwrite: values['overwrite'] === true,
    },
    roi: roiOption(values),
    blockShape: tripleOption(values, 'block'),
    coordination: { worker: integerOption(values, 'worker'), workers: integerOption(values, 'workers', 1) },
  };
}

/** argv without the options that only the parent of `--processes` acts on. */
export function workerArgv(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--processes') {
      i++;
      continue;
    }
    if (a.startsWith('--processes=') || a === '--overwrite' || a === '--quiet') continue;
    out.push(a);
  }
  return out;
}

/** A progress bar fed by `onProgress` of the API (this process's blocks). */
export function progressFeed(
  quiet: boolean,
  title: string,
): {
  onProgress: (p: BlockProgress) => void;
  stop: () => void;
} {
  let bar: Progress | null = null;
  let phase = '';
  return {
    onProgress(p) {
      if (quiet) return;
      if (p.phase !== phase) {
        bar?.stop();
        phase = p.phase;
        bar = blockProgress(`${title} ${p.phase === title ? '' : p.phase}`.trim(), p.total, p.skipped);
      }
      bar!.update(p.done, p.voxels);
    },
    stop: () => bar?.stop(),
  };
}

/**
 * `--processes n`: the output is prepared here (`prepared`), then n workers run `argv` with
 * `--worker i --workers n`; progress counts the markers of `phases` in the output folder.
 */
export async function runProcesses(
  command: string,
  argv: string[],
  n: number,
  prepared: BlockwiseResult,
  phases: string[],
  quiet: boolean,
): Promise<void> {
  const total = prepared.grid.blocks.length;
  const blockVoxels = prepared.grid.shape.reduce((a, b) => a * b, 1) / total;
  const markers = phases.map((p) => new BlockMarkers(prepared.dir, p));
  let current = 0;
  let bar: Progress | null = null;
  let start = 0;
  const tick = async () => {
    if (quiet) return;
    while (current < phases.length) {
      const done = (await markers[current]!.done()).size;
      if (!bar) {
        start = done;
        bar = blockProgress(`${command} ${phases[current]!}`.replace(`${command} ${command}`, command), total, done);
      }
      bar.update(done, (done - start) * blockVoxels);
      if (done < total) return;
      bar.stop();
      bar = null;
      current++;
    }
  };
  await runWorkerProcesses(
    n,
    (i) => [command, ...workerArgv(argv), '--worker', String(i), '--workers', String(n), '--quiet'],
    {
      onTick: tick,
      tickMs: 500,
    },
  );
  await tick();
  (bar as Progress | null)?.stop();
}

/** ` (worker i of n, source)` when the work is split over several workers, else nothing. */
export function describeSlot(slot: WorkerSlot): string {
  return slot.workers > 1 ? ` (worker ${slot.worker} of ${slot.workers}, ${slot.source})` : '';
}
