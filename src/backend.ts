/**
 * Pick the fastest TensorFlow.js backend available in this process.
 *
 * Order: 'tensorflow' (@tensorflow/tfjs-node, native libtensorflow; an optional dependency that
 * often cannot install) → 'wasm' (@tensorflow/tfjs-backend-wasm, SIMD when the runtime has it) →
 * 'cpu' (plain JavaScript). `TFJS_ZARR_BACKEND` in the environment, or `options.prefer`, puts one
 * backend first; when it cannot start, the next one in the order is used with a warning.
 *
 * In Node the wasm backend needs no `setWasmPaths`: its Node build (the package's `main`) loads
 * `tfjs-backend-wasm[-simd].wasm` from its own `dist/` folder. We still call `setWasmPaths` with
 * that folder (resolved through Node's module resolution, only when the binaries are there and
 * before the first initialisation: a failed initialisation cannot be retried) so the lookup also
 * works when this module is loaded through a bundler or the package's ESM build.
 *
 * Threads (wasm): tfjs-zarr's kernels (convolutions, pooling, up-sampling: src/kernels) run on a
 * pool of worker threads, and tfjs's own wasm kernels on the package's threaded build (XNNPACK's
 * pool; see tfjs-wasm-threads.ts). Both take `threads` threads, the calling one included:
 * `options.threads`, else `TFJS_ZARR_THREADS`, else `defaultThreads()`. They never run at the same
 * time (a tfjs kernel call returns when its work is done). Where threads cannot start, the backend
 * runs on one thread and `describeBackend()` says why.
 *
 * We import from '@tensorflow/tfjs' everywhere. tfjs-node re-exports tfjs and registers its
 * backend in the tfjs-core it depends on; when npm dedupes both onto one tfjs-core (matching
 * versions) that is the same engine as ours. If it is not (mismatched versions, two copies of
 * tfjs-core), the 'tensorflow' backend would be invisible to our `tf`: we detect that and fall
 * back, saying why.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { OptionsError } from './errors.js';
import { backendInitialized } from './internals/tfjs.js';
import { setKernelThreads } from './kernels/context.js';
import { spawnKernelThread } from './kernels/node-threads.js';
import { useThreadedWasm } from './tfjs-wasm-threads.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendOptions {
  /** Backend to try first (the env var TFJS_ZARR_BACKEND overrides this). */
  prefer?: BackendName;
  /** No console output (warnings about unavailable backends are only kept for describeBackend). */
  quiet?: boolean;
  /**
   * Threads the wasm backend computes on, the calling thread included (the env var
   * TFJS_ZARR_THREADS is used when this is absent). Default: `defaultThreads()`.
   */
  threads?: number;
}

/**
 * Threads for training and prediction: every core this process may use
 * (`os.availableParallelism()`). The data pipeline's worker threads are not subtracted: they
 * assemble samples only as fast as the model takes them, a few percent of a core at a training
 * step's speed, so leaving cores to them would idle those cores (measured in the README's
 * Performance section). Give `threads` (API, run config, `--threads`) to share the cores
 * otherwise, e.g. with other processes.
 */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

const ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** Why each backend we tried could not be used (kept for describeBackend). */
const notes = new Map<BackendName, string>();
let chosen: string | null = null;
let requested: BackendName | null = null;
let requestedBy: string | null = null;
/** Threads asked for and obtained on wasm (kernels; tfjs's XNNPACK pool), with reasons for less. */
const threadState = { asked: 1, kernels: 1, kernelsNote: '', xnnpack: 1, xnnpackNote: '' };
/** Threads the wasm backend was started with (its XNNPACK pool is fixed at start). */
let wasmStartThreads: number | null = null;

function isBackendName(s: string): s is BackendName {
  return (ORDER as readonly string[]).includes(s);
}

function shortError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const firstLine = msg.split('\n')[0] ?? msg;
  return firstLine.length > 160 ? `${firstLine.slice(0, 157)}...` : firstLine;
}

function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

async function loadTensorflow(): Promise<boolean> {
  if (tf.findBackendFactory('tensorflow') != null) return true;
  try {
    // A variable specifier keeps TypeScript from requiring the optional package's types.
    const spec = '@tensorflow/tfjs-node';
    await import(spec);
  } catch (err) {
    notes.set(
      'tensorflow',
      isModuleNotFound(err) && /['"]@tensorflow\/tfjs-node['"]/.test(shortError(err))
        ? 'tfjs-node not installed'
        : `tfjs-node failed to load: ${shortError(err)}`,
    );
    return false;
  }
  if (tf.findBackendFactory('tensorflow') == null) {
    notes.set(
      'tensorflow',
      'tfjs-node loaded but registered its backend in another copy of @tensorflow/tfjs-core ' +
        '(install matching versions of @tensorflow/tfjs and @tensorflow/tfjs-node)',
    );
    return false;
  }
  return true;
}

let wasmModule: typeof import('@tensorflow/tfjs-backend-wasm') | null = null;

async function loadWasm(): Promise<boolean> {
  if (tf.findBackendFactory('wasm') != null && wasmModule != null) return true;
  try {
    wasmModule = await import('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    notes.set('wasm', `tfjs-backend-wasm failed to load: ${shortError(err)}`);
    return false;
  }
  if (tf.findBackendFactory('wasm') == null) {
    notes.set('wasm', 'tfjs-backend-wasm registered in another copy of @tensorflow/tfjs-core');
    return false;
  }
  return true;
}

let wasmPathsSet = false;

/** The folder holding the .wasm binaries, with a trailing separator (for setWasmPaths). */
function wasmDistDir(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const main = require.resolve('@tensorflow/tfjs-backend-wasm');
    const dir = path.dirname(main);
    return existsSync(path.join(dir, 'tfjs-backend-wasm.wasm')) ? dir + path.sep : null;
  } catch {
    return null;
  }
}

/** Before the first wasm initialisation only (setWasmPaths throws after a failed one). */
function pointWasmAtBinaries(): void {
  if (wasmPathsSet || wasmModule == null) return;
  // Already initialised by someone else: nothing to point.
  if (backendInitialized('wasm')) return;
  wasmPathsSet = true;
  const dir = wasmDistDir();
  if (dir == null) return;
  try {
    wasmModule.setWasmPaths(dir);
  } catch {
    // Already initialised (or aborted): leave the package's own lookup alone.
  }
}

async function trySetBackend(name: BackendName): Promise<boolean> {
  try {
    const ok = await tf.setBackend(name);
    if (!ok) return false;
    await tf.ready();
    return tf.getBackend() === name;
  } catch (err) {
    notes.set(name, `${name} backend failed to start: ${shortError(err)}`);
    return false;
  }
}

async function activate(name: BackendName, threads: number): Promise<boolean> {
  if (name === 'tensorflow') {
    if (!(await loadTensorflow())) return false;
    return trySetBackend('tensorflow');
  }
  if (name === 'wasm') {
    if (!(await loadWasm())) return false;
    pointWasmAtBinaries();
    startWasmThreaded(threads);
    const ok = await trySetBackend('wasm');
    if (!ok && !notes.has('wasm')) notes.set('wasm', 'wasm backend failed to initialise');
    if (ok) await startKernelThreads(threads);
    return ok;
  }
  return trySetBackend('cpu');
}

/** Before the first initialisation: the threaded build with `threads` XNNPACK threads. */
function startWasmThreaded(threads: number): void {
  if (wasmStartThreads !== null || wasmModule == null) return;
  if (backendInitialized('wasm')) {
    wasmStartThreads = 1;
    threadState.xnnpackNote = 'the wasm backend was started before useFastestBackend';
    return;
  }
  wasmStartThreads = threads;
  if (threads === 1) return;
  useThreadedWasm(wasmModule, threads, (r) => {
    threadState.xnnpack = r.threads;
    threadState.xnnpackNote = r.note ? `XNNPACK on one thread: ${r.note}` : '';
  });
}

async function startKernelThreads(threads: number): Promise<void> {
  threadState.asked = threads;
  const r = await setKernelThreads(threads, spawnKernelThread, { backend: tf.backend() });
  threadState.kernels = r.threads;
  threadState.kernelsNote = r.note ? `kernels on one thread: ${r.note}` : '';
}

function threadsOption(options: BackendOptions): number {
  const env = (process.env['TFJS_ZARR_THREADS'] ?? '').trim();
  const value = options.threads ?? (env === '' ? undefined : Number(env));
  if (value === undefined) return defaultThreads();
  if (!Number.isInteger(value) || value < 1) {
    const from = options.threads !== undefined ? 'threads' : 'TFJS_ZARR_THREADS';
    throw new OptionsError(`${from} must be a positive integer, got ${JSON.stringify(options.threads ?? env)}`);
  }
  return value;
}

/**
 * Select and initialise the fastest backend; returns its name ('tensorflow', 'wasm' or 'cpu').
 * Idempotent: later calls re-check the environment variable and switch only when asked to.
 */
export async function useFastestBackend(options: BackendOptions = {}): Promise<string> {
  const env = (process.env['TFJS_ZARR_BACKEND'] ?? '').trim().toLowerCase();
  let first: BackendName | undefined;
  requested = null;
  requestedBy = null;
  if (env !== '') {
    if (isBackendName(env)) {
      first = env;
      requestedBy = `TFJS_ZARR_BACKEND=${env}`;
    } else if (!options.quiet) {
      console.warn(`tfjs-zarr: ignoring TFJS_ZARR_BACKEND=${env} (expected one of ${ORDER.join(', ')})`);
    }
  }
  if (options.prefer !== undefined && !isBackendName(options.prefer)) {
    throw new OptionsError(`prefer must be one of ${ORDER.join(', ')}, got ${JSON.stringify(options.prefer)}`);
  }
  if (first === undefined && options.prefer !== undefined) {
    first = options.prefer;
    requestedBy = `prefer: '${options.prefer}'`;
  }
  if (first !== undefined) requested = first;
  const order = first === undefined ? [...ORDER] : [first, ...ORDER.filter((b) => b !== first)];
  const threads = threadsOption(options);

  for (const name of order) {
    if (await activate(name, threads)) {
      chosen = name;
      if (first !== undefined && name !== first && !options.quiet) {
        console.warn(
          `tfjs-zarr: backend '${first}' (${requestedBy}) unavailable: ${notes.get(first) ?? 'failed'}; using '${name}'`,
        );
      }
      return name;
    }
  }
  // Every candidate failed (should not happen: cpu ships with tfjs). Keep whatever tf has.
  await tf.ready();
  chosen = tf.getBackend();
  return chosen;
}

/** One line saying which backend runs and, when it is not the native one, why and how to get it. */
export function describeBackend(): string {
  // engine().backendName is null until a backend is set (tf.getBackend() would initialise one).
  const current = tf.engine().backendName ?? chosen ?? 'none (call useFastestBackend first)';
  const parts: string[] = [];
  if (current === 'tensorflow') {
    parts.push('native libtensorflow via @tensorflow/tfjs-node');
  } else {
    const tfNote = notes.get('tensorflow');
    if (current === 'wasm') {
      const simd = safeBool('WASM_HAS_SIMD_SUPPORT');
      parts.push(`${simd ? 'SIMD' : 'no SIMD'}, ${describeThreads()}`);
    } else if (current === 'cpu') {
      const wasmNote = notes.get('wasm');
      if (wasmNote) parts.push(wasmNote);
    }
    if (requested != null && current === requested) {
      parts.push(`chosen by ${requestedBy}`);
    } else if (tfNote) {
      parts.push(`${tfNote}; install @tensorflow/tfjs-node where libtensorflow can be downloaded for a faster backend`);
    }
  }
  return parts.length > 0 ? `${current} (${parts.join('; ')})` : current;
}

/** Threads on wasm: "2 threads", or what runs on how many threads and why. */
function describeThreads(): string {
  const t = threadState;
  const plural = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;
  if (t.kernels === t.asked && t.xnnpack === t.asked) return plural(t.asked);
  const why = [t.kernelsNote, t.xnnpackNote].filter((n) => n !== '');
  if (why.length === 0 && t.xnnpack !== t.asked) why.push("XNNPACK's pool is fixed when the backend starts");
  return `kernels on ${plural(t.kernels)}, XNNPACK on ${plural(t.xnnpack)}: ${why.join('; ')}`;
}

/** Threads the kernels run on now (1 until useFastestBackend started more). */
export function backendThreads(): number {
  return threadState.kernels;
}

function safeBool(flag: string): boolean {
  try {
    return tf.env().getBool(flag);
  } catch {
    return false;
  }
}
