/**
 * The process's kernel pool: one runtime (kernels + memory) and its threads, shared by every op.
 * It lives on tfjs-backend-wasm's heap when it can (no copies): when that heap is shared memory
 * (the threaded build) or when one thread is asked for; otherwise (threads wanted, an unshared
 * heap) on a shared memory of its own. `setKernelThreads` sets the thread count and starts the
 * workers through a platform's spawn function (backend.ts passes Node's). Platform-neutral.
 */
import { compileKernels, type HeapAllocator, isShared, KernelRuntime, sharedMemorySupported } from './runtime.js';
import { KernelPool, type SpawnThread } from './threads.js';

/** A wasm backend's heap, as tfjs-backend-wasm's emscripten module exposes it. */
export interface BackendHeap extends HeapAllocator {
  memory: WebAssembly.Memory;
}

interface EmscriptenModule {
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
  _malloc?: (bytes: number) => number;
  _free?: (address: number) => void;
}

/** The heap of a tfjs-backend-wasm backend instance, or null when it is not reachable. */
export function backendHeap(backend: unknown): BackendHeap | null {
  const wasm = (backend as { wasm?: EmscriptenModule } | null)?.wasm;
  const memory = wasm?.wasmMemory ?? wasm?.asm?.memory;
  if (!wasm || !(memory instanceof WebAssembly.Memory) || !wasm._malloc || !wasm._free) return null;
  const { _malloc: malloc, _free: free } = wasm;
  return { memory, malloc: (n) => malloc(n), free: (a) => free(a) };
}

const settings: { threads: number; spawn: SpawnThread | undefined; canBlock: boolean } = {
  threads: 1,
  spawn: undefined,
  canBlock: true,
};
let pool: KernelPool | null = null;

/** Where a pool for `heap` should live with the current settings: that heap, or a memory of its own. */
function wantsHeap(heap: BackendHeap | null): heap is BackendHeap {
  return heap !== null && (isShared(heap.memory) || settings.threads === 1);
}

function fits(p: KernelPool, heap: BackendHeap | null): boolean {
  if (p.threads !== settings.threads) return false;
  if (wantsHeap(heap)) return p.runtime.livesOn(heap.memory);
  return !p.runtime.foreign && (settings.threads === 1 || p.runtime.shared);
}

function build(heap: BackendHeap | null): KernelPool {
  let runtime: KernelRuntime | null = null;
  if (wantsHeap(heap)) {
    try {
      runtime = KernelRuntime.onHeap(heap.memory, heap);
    } catch {
      runtime = null; // a heap the kernels cannot import: copy in and out of their own
    }
  }
  runtime ??= KernelRuntime.own(settings.threads > 1 && sharedMemorySupported());
  return new KernelPool(runtime, { threads: settings.threads, spawn: settings.spawn, canBlock: settings.canBlock });
}

/**
 * The pool for kernels on `backend` (a tfjs-backend-wasm instance; none: a memory of its own).
 * Made on first use, remade when the backend or the settings change; its workers join as they
 * start.
 */
export function kernelPool(backend?: unknown): KernelPool {
  const heap = backend === undefined ? null : backendHeap(backend);
  if (pool && fits(pool, heap)) return pool;
  pool?.close();
  pool = build(heap);
  return pool;
}

export interface KernelThreadsResult {
  /** Threads the kernels run on, the caller included. */
  threads: number;
  /** Why fewer threads than asked run, when so. */
  note?: string;
}

/**
 * Runs the kernels on `threads` threads (the caller included) from now on. With `backend` (the
 * wasm backend the kernels will run on), makes its pool now and resolves once the workers have
 * started, or with the reason they could not (the kernels then run on one thread).
 */
export async function setKernelThreads(
  threads: number,
  spawn: SpawnThread | undefined,
  options: { canBlock?: boolean; backend?: unknown } = {},
): Promise<KernelThreadsResult> {
  settings.threads = Math.max(1, Math.floor(threads));
  settings.spawn = spawn;
  settings.canBlock = options.canBlock ?? true;
  // Compiled off the calling thread now: a page's main thread may not compile them synchronously
  // on first use.
  await compileKernels(false);
  if (sharedMemorySupported()) await compileKernels(true);
  if (settings.threads > 1 && !sharedMemorySupported()) {
    settings.threads = 1;
    kernelPool(options.backend);
    return { threads: 1, note: 'no shared WebAssembly memory here (a page needs cross-origin isolation)' };
  }
  if (settings.threads > 1 && !spawn) {
    settings.threads = 1;
    kernelPool(options.backend);
    return { threads: 1, note: 'no way to start threads given' };
  }
  const p = kernelPool(options.backend);
  try {
    await p.ready;
    return { threads: settings.threads };
  } catch (err) {
    settings.threads = 1;
    kernelPool(options.backend);
    return { threads: 1, note: err instanceof Error ? err.message : String(err) };
  }
}

/** Threads the kernels run on now. */
export function kernelThreads(): number {
  return pool?.activeThreads ?? 1;
}
