/**
 * Pick the fastest TensorFlow.js backend in a page (the browser entry's `useFastestBackend`; Node's
 * is backend.ts, which page bundles replace with this module through package.json's `browser`
 * field).
 *
 * Order: 'webgpu' (@tensorflow/tfjs-backend-webgpu: needs `navigator.gpu` and an adapter) →
 * 'webgl' (WebGL 2, or 1) — each skipped when it renders in software (SwiftShader, llvmpipe: a
 * U-Net step there is ~10× slower than on wasm), unless asked for by `prefer` — → 'wasm' (@tensorflow/tfjs-backend-wasm: SIMD when the browser has it,
 * threads when the page is cross-origin isolated, i.e. served with `Cross-Origin-Opener-Policy:
 * same-origin` and `Cross-Origin-Embedder-Policy: require-corp`) → 'cpu'. `options.prefer` puts
 * one first; why each skipped backend could not be used is kept for `describeBackend`.
 *
 * tfjs-backend-wasm fetches its .wasm binary from the folder of the page by default (or of the
 * script, for classic scripts); `options.wasmPaths` (tfjs's `setWasmPaths`) points elsewhere, e.g.
 * to where the files of node_modules/@tensorflow/tfjs-backend-wasm/dist/ are served.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from './errors.js';
import { type KernelThreadsResult, setKernelThreads } from './kernels/context.js';
import { webKernelThreads } from './kernels/web-threads.js';
import { webGpuBufferLimit } from './models/buffer-limit.js';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface BackendOptions {
  /** Backend to try first. */
  prefer?: BackendName;
  /** No console output. */
  quiet?: boolean;
  /**
   * Where the wasm backend's .wasm files are served: a folder URL ending in '/', or a URL per file
   * name (tfjs's `setWasmPaths`). Default: tfjs's own lookup (the page's folder).
   */
  wasmPaths?: string | Record<string, string>;
  /**
   * Threads on wasm in a cross-origin isolated page: tfjs's threaded build (`setThreadsCount`,
   * default tfjs's choice: half the cores) and tfjs-zarr's kernels (default every core).
   */
  wasmThreads?: number;
}

const ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** Why each backend that was tried could not be used. */
const notes = new Map<BackendName, string>();
let chosen: string | null = null;
let requested: BackendName | null = null;
let wasmModule: typeof import('@tensorflow/tfjs-backend-wasm') | null = null;
/** Whether setWasmPaths / setThreadsCount were applied (they must precede the first initialisation). */
let wasmConfigured = false;

function shortError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String((err as { message?: string })?.message ?? err);
  const firstLine = msg.split('\n')[0] ?? msg;
  return firstLine.length > 200 ? `${firstLine.slice(0, 197)}...` : firstLine;
}

async function trySetBackend(name: BackendName): Promise<boolean> {
  try {
    if (!(await tf.setBackend(name))) {
      if (!notes.has(name)) notes.set(name, `${name} backend failed to start`);
      return false;
    }
    await tf.ready();
    return tf.getBackend() === name;
  } catch (err) {
    notes.set(name, `${name} backend failed to start: ${shortError(err)}`);
    return false;
  }
}

/** A software renderer (Chromium's SwiftShader, Mesa's llvmpipe): slower than wasm for training. */
const SOFTWARE = /swiftshader|llvmpipe|softpipe|software/i;

interface Adapter {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; description?: string };
}

async function activateWebGpu(explicit: boolean): Promise<boolean> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: { requestAdapter(): Promise<Adapter | null> } })?.gpu;
  if (!gpu) {
    notes.set('webgpu', 'WebGPU is not available (no navigator.gpu: not in this browser, or not a secure context)');
    return false;
  }
  let adapter: Adapter | null = null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (err) {
    notes.set('webgpu', `WebGPU adapter request failed: ${shortError(err)}`);
    return false;
  }
  if (!adapter) {
    notes.set('webgpu', 'WebGPU has no adapter here (no usable GPU, or WebGPU disabled)');
    return false;
  }
  const info = adapter.info ?? {};
  if (
    !explicit &&
    (adapter.isFallbackAdapter || SOFTWARE.test(`${info.vendor} ${info.architecture} ${info.description}`))
  ) {
    notes.set('webgpu', `WebGPU runs in software here (${info.architecture || 'fallback adapter'}): wasm is faster`);
    return false;
  }
  try {
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (err) {
    notes.set('webgpu', `tfjs-backend-webgpu failed to load: ${shortError(err)}`);
    return false;
  }
  if (!(await trySetBackend('webgpu'))) return false;
  watchWebGpuErrors();
  return true;
}

/** The first error WebGPU reported (an invalid shader, a lost device): results since are wrong. */
let webGpuError: string | null = null;

/**
 * WebGPU reports invalid shaders and out-of-memory errors only as events, and tfjs then returns
 * zeros: say so on the console, and in describeBackend.
 */
function watchWebGpuErrors(): void {
  const device = (tf.backend() as unknown as { device?: EventTarget }).device;
  device?.addEventListener('uncapturederror', (event) => {
    const message = (event as Event & { error?: { message?: string } }).error?.message ?? 'unknown error';
    if (webGpuError === null) {
      console.error(`tfjs-zarr: WebGPU reported an error; results computed since are wrong: ${message}`);
    }
    webGpuError ??= message.split('\n')[0]!;
  });
}

async function activateWebGl(explicit: boolean): Promise<boolean> {
  if (tf.findBackendFactory('webgl') == null) {
    notes.set('webgl', 'the webgl backend is not registered');
    return false;
  }
  if (tf.env().getNumber('WEBGL_VERSION') === 0) {
    notes.set('webgl', 'WebGL is not available (no WebGL context could be created)');
    return false;
  }
  const renderer = webGlRenderer();
  if (!explicit && renderer && SOFTWARE.test(renderer)) {
    notes.set('webgl', `WebGL renders in software here (${renderer}): wasm is faster`);
    return false;
  }
  return trySetBackend('webgl');
}

/** The WebGL renderer's name, where the browser tells it (null: unknown). */
function webGlRenderer(): string | null {
  try {
    const canvas =
      typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : document.createElement('canvas');
    const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const name = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return name;
  } catch {
    return null;
  }
}

async function activateWasm(options: BackendOptions): Promise<boolean> {
  try {
    wasmModule ??= await import('@tensorflow/tfjs-backend-wasm');
  } catch (err) {
    notes.set('wasm', `tfjs-backend-wasm failed to load: ${shortError(err)}`);
    return false;
  }
  const initialised = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry['wasm'] != null;
  if (!wasmConfigured && !initialised) {
    wasmConfigured = true;
    if (options.wasmPaths !== undefined) wasmModule.setWasmPaths(options.wasmPaths);
    if (options.wasmThreads !== undefined) wasmModule.setThreadsCount(options.wasmThreads);
  }
  const ok = (await trySetBackend('wasm')) && (await prepareKernels(options));
  if (!ok && notes.get('wasm')?.includes('.wasm')) {
    notes.set(
      'wasm',
      `${notes.get('wasm')} (serve tfjs-backend-wasm's .wasm files next to the page or give useFastestBackend({ wasmPaths }))`,
    );
  }
  return ok;
}

/** The kernels' threads on wasm (null: not prepared on this page's wasm backend yet). */
let kernelThreads: KernelThreadsResult | null = null;

/**
 * tfjs-zarr's kernels (convolution, pooling, up-sampling on wasm: src/kernels) compiled off the
 * page's thread, on `wasmThreads` threads, default every core (`navigator.hardwareConcurrency`;
 * tfjs gives XNNPACK half of them), where tfjs runs its threaded build (a cross-origin isolated
 * page: Web Workers share its heap), else on the page's thread; false, with the reason noted,
 * where they cannot compile (a browser without WebAssembly SIMD).
 */
async function prepareKernels(options: BackendOptions): Promise<boolean> {
  const cores = globalThis.navigator?.hardwareConcurrency || 1;
  const threads = flag('WASM_HAS_MULTITHREAD_SUPPORT') ? (options.wasmThreads ?? cores) : 1;
  try {
    kernelThreads = await setKernelThreads(threads, webKernelThreads(), { backend: tf.backend(), canBlock: false });
    return true;
  } catch (err) {
    kernelThreads = null;
    notes.set('wasm', `tfjs-zarr's wasm kernels cannot run here: ${shortError(err)}`);
    return false;
  }
}

/** `explicit`: the user asked for this backend (software rendering is then accepted). */
function activate(name: BackendName, options: BackendOptions, explicit: boolean): Promise<boolean> {
  switch (name) {
    case 'webgpu':
      return activateWebGpu(explicit);
    case 'webgl':
      return activateWebGl(explicit);
    case 'wasm':
      return activateWasm(options);
    case 'cpu':
      return trySetBackend('cpu');
  }
}

/**
 * Select and initialise the fastest backend of this page; returns its name ('webgpu', 'webgl',
 * 'wasm' or 'cpu'). `describeBackend()` says which and why.
 */
export async function useFastestBackend(options: BackendOptions = {}): Promise<string> {
  if (options.prefer !== undefined && !ORDER.includes(options.prefer)) {
    throw new OptionsError(`prefer must be one of ${ORDER.join(', ')}, got ${JSON.stringify(options.prefer)}`);
  }
  requested = options.prefer ?? null;
  notes.clear(); // why backends were skipped, in this choice
  const order = requested ? [requested, ...ORDER.filter((b) => b !== requested)] : [...ORDER];
  for (const name of order) {
    if (await activate(name, options, name === requested)) {
      chosen = name;
      if (requested && name !== requested && !options.quiet) {
        console.warn(
          `tfjs-zarr: backend '${requested}' unavailable: ${notes.get(requested) ?? 'failed'}; using '${name}'`,
        );
      }
      return name;
    }
  }
  await tf.ready();
  chosen = tf.getBackend();
  return chosen;
}

function flag(name: string): boolean {
  try {
    return tf.env().getBool(name);
  } catch {
    return false;
  }
}

/** What the current backend runs on, e.g. 'wasm (SIMD, 2 threads; webgpu: …; webgl: …)'. */
export function describeBackend(): string {
  const current = tf.engine().backendName ?? chosen ?? 'none (call useFastestBackend first)';
  const parts: string[] = [];
  if (current === 'wasm') {
    const threads = xnnpackThreads();
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    parts.push(flag('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD');
    parts.push(
      flag('WASM_HAS_MULTITHREAD_SUPPORT')
        ? `threaded build, ${threads} thread${threads === 1 ? '' : 's'}`
        : isolated
          ? 'no threads (this browser has no WebAssembly threads)'
          : 'no threads: the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)',
    );
    if (kernelThreads && kernelThreads.threads !== threads) {
      const n = kernelThreads.threads;
      parts.push(
        `tfjs-zarr kernels on ${n} thread${n === 1 ? '' : 's'}${kernelThreads.note ? `: ${kernelThreads.note}` : ''}`,
      );
    }
  } else if (current === 'webgl') {
    parts.push(`WebGL ${tf.env().getNumber('WEBGL_VERSION')}`);
  } else if (current === 'webgpu') {
    const limit = webGpuBufferLimit();
    if (limit) parts.push(`maxStorageBufferBindingSize ${Math.round(limit / 2 ** 20)} MiB`);
    if (webGpuError) parts.push(`WebGPU reported an error, results are wrong: ${webGpuError}`);
  }
  if (requested && current === requested) parts.push(`chosen by prefer: '${requested}'`);
  for (const name of ORDER) {
    if (name === current) break;
    const note = notes.get(name);
    if (note) parts.push(`${name}: ${note}`);
  }
  return parts.length > 0 ? `${current} (${parts.join('; ')})` : current;
}

/** Threads the current backend computes on: the most of tfjs's XNNPACK pool and tfjs-zarr's kernels on wasm, otherwise 1. */
export function trainingThreads(): number {
  return Math.max(xnnpackThreads(), tf.engine().backendName === 'wasm' ? (kernelThreads?.threads ?? 1) : 1);
}

/** Threads of the threaded wasm backend's XNNPACK pool (1 off wasm). */
function xnnpackThreads(): number {
  if (tf.engine().backendName !== 'wasm' || !wasmModule) return 1;
  try {
    return Math.max(1, wasmModule.getThreadsCount());
  } catch {
    return 1;
  }
}
