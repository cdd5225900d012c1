/**
 * Which share of the blocks this process does: `--worker i --workers n`, or the index and count
 * that array-job schedulers put in the environment. There is no scheduler of our own: worker i
 * of n does blocks i, i + n, i + 2n, ..., so n processes anywhere produce the same array as one.
 *
 * | scheduler | index | count |
 * |---|---|---|
 * | SLURM job arrays | SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN (÷ SLURM_ARRAY_TASK_STEP) | SLURM_ARRAY_TASK_COUNT |
 * | Kubernetes Indexed Jobs | JOB_COMPLETION_INDEX | TFJS_ZARR_WORKERS (set it to `completions`) |
 * | AWS Batch array jobs | AWS_BATCH_JOB_ARRAY_INDEX | AWS_BATCH_JOB_ARRAY_SIZE or TFJS_ZARR_WORKERS (set it to the array size) |
 * | anything else | TFJS_ZARR_WORKER | TFJS_ZARR_WORKERS |
 */
import { OptionsError } from '../errors.js';

export interface WorkerSlot {
  worker: number;
  workers: number;
  /** Where the slot came from, for logs: 'options', 'SLURM', 'Kubernetes', ... or 'single'. */
  source: string;
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, min = 0): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new OptionsError(`environment variable ${name}=${v} is not an integer ≥ ${min}`);
  return n;
}

function required(value: number | undefined, message: string): number {
  if (value === undefined) throw new OptionsError(message);
  return value;
}

/** The slot the environment names, or null when no known variable is set. */
export function workerFromEnvironment(env: Env = process.env): WorkerSlot | null {
  const slurm = integer(env, 'SLURM_ARRAY_TASK_ID');
  if (slurm !== undefined) {
    const min = integer(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    const step = integer(env, 'SLURM_ARRAY_TASK_STEP', 1) ?? 1;
    const max = integer(env, 'SLURM_ARRAY_TASK_MAX');
    const count = integer(env, 'SLURM_ARRAY_TASK_COUNT', 1) ?? (max !== undefined ? (max - min) / step + 1 : undefined);
    const worker = (slurm - min) / step;
    if (count === undefined || !Number.isInteger(worker) || worker >= count) {
      throw new OptionsError(
        `cannot tell the worker index and count from SLURM_ARRAY_TASK_ID=${slurm} (MIN ${min}, STEP ${step}, ` +
          `COUNT ${count ?? 'unset'}); use a contiguous array (--array=0-N) or pass --worker and --workers`,
      );
    }
    return { worker, workers: count, source: 'SLURM' };
  }
  const generic = integer(env, 'TFJS_ZARR_WORKERS', 1);
  const k8s = integer(env, 'JOB_COMPLETION_INDEX');
  if (k8s !== undefined) {
    const workers = required(
      generic,
      'JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but TFJS_ZARR_WORKERS is not: set it to the ' +
        "Job's completions, or pass --workers",
    );
    return { worker: k8s, workers, source: 'Kubernetes' };
  }
  const aws = integer(env, 'AWS_BATCH_JOB_ARRAY_INDEX');
  if (aws !== undefined) {
    const workers = required(
      integer(env, 'AWS_BATCH_JOB_ARRAY_SIZE', 1) ?? generic,
      'AWS_BATCH_JOB_ARRAY_INDEX is set (an AWS Batch array job) but neither AWS_BATCH_JOB_ARRAY_SIZE nor ' +
        'TFJS_ZARR_WORKERS is: set one to the array size, or pass --workers',
    );
    return { worker: aws, workers, source: 'AWS Batch' };
  }
  const index = integer(env, 'TFJS_ZARR_WORKER');
  if (index !== undefined) {
    return {
      worker: index,
      workers: required(generic, 'TFJS_ZARR_WORKER is set but TFJS_ZARR_WORKERS is not'),
      source: 'TFJS_ZARR_WORKER',
    };
  }
  return null;
}

/** Explicit options first, then the environment, else the only worker. */
export function resolveWorkerSlot(options: { worker?: number; workers?: number }, env: Env = process.env): WorkerSlot {
  let slot: WorkerSlot;
  if (options.worker !== undefined || options.workers !== undefined) {
    const fromEnv = options.worker === undefined || options.workers === undefined ? workerFromEnvironment(env) : null;
    slot = {
      worker: options.worker ?? fromEnv?.worker ?? 0,
      workers: options.workers ?? fromEnv?.workers ?? 1,
      source: 'options',
    };
  } else {
    slot = workerFromEnvironment(env) ?? { worker: 0, workers: 1, source: 'single' };
  }
  if (!Number.isInteger(slot.workers) || slot.workers < 1) {
    throw new OptionsError(`workers must be a positive integer, got ${slot.workers}`);
  }
  if (!Number.isInteger(slot.worker) || slot.worker < 0 || slot.worker >= slot.workers) {
    throw new OptionsError(
      `worker must be an integer in [0, ${slot.workers - 1}] (${slot.source}), got ${slot.worker}`,
    );
  }
  return slot;
}
