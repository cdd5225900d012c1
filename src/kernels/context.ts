/**
 * The process's kernel pool: one runtime (kernels + memory) and its threads, shared by every op.
 * Created on first use with the calling thread alone; `setKernelThreads` starts workers through a
 * platform's spawn function (backend.ts passes Node's). Platform-neutral.
 */
import { KernelRuntime, sharedMemorySupported } from './runtime.js';
import { KernelPool, type SpawnThread } from './threads.js';

let pool: KernelPool | null = null;

/** The pool kernels run on (single-threaded until `setKernelThreads` starts workers). */
export function kernelPool(): KernelPool {
  pool ??= new KernelPool(new KernelRuntime(sharedMemorySupported()), { threads: 1 });
  return pool;
}

export interface KernelThreadsResult {
  /** Threads the kernels run on, the caller included. */
  threads: number;
  /** Why fewer threads than asked run, when so. */
  note?: string;
}

/**
 * Runs the kernels on `threads` threads (the caller included) from now on; resolves once the
 * workers have started, or with the reason they could not (then on one thread).
 */
export async function setKernelThreads(
  threads: number,
  spawn: SpawnThread | undefined,
  options: { canBlock?: boolean } = {},
): Promise<KernelThreadsResult> {
  const want = Math.max(1, Math.floor(threads));
  if (pool && pool.threads === want && pool.activeThreads === want) return { threads: want };
  pool?.close();
  pool = null;
  if (want === 1) {
    kernelPool();
    return { threads: 1 };
  }
  if (!sharedMemorySupported()) {
    kernelPool();
    return { threads: 1, note: 'no shared WebAssembly memory here (a page needs cross-origin isolation)' };
  }
  const started = new KernelPool(new KernelRuntime(true), { threads: want, spawn, canBlock: options.canBlock });
  pool = started;
  try {
    await started.ready;
    return { threads: want };
  } catch (err) {
    started.close();
    if (pool === started) pool = null;
    kernelPool();
    return { threads: 1, note: err instanceof Error ? err.message : String(err) };
  }
}

/** Threads the kernels run on now. */
export function kernelThreads(): number {
  return pool?.activeThreads ?? 1;
}
