/**
 * tfjs-backend-wasm's threaded SIMD build (XNNPACK with a pthread pool) in Node.
 *
 * The package never picks that build in Node (WASM_HAS_MULTITHREAD_SUPPORT is false there, tfjs
 * issue #3830), and forcing it fails: emscripten starts its pthread workers from a blob: URL
 * (ERR_WORKER_PATH: Node's Worker takes file paths and file:/data: URLs). We start the build the
 * way the closed tfjs PR #8059 does, from outside the package: the pthread worker script as a
 * data: URL (an ES module given `require` and `__filename`, which emscripten's worker code uses),
 * and the main script as the package's own file path, which that worker script loads.
 *
 * tfjs caps XNNPACK's pool at emscripten_num_logical_cores() / 2 (it assumes two hardware threads
 * a core), so on a 2-core machine it would run one thread whatever setThreadsCount asks: the
 * import that reports the core count is answered with twice the threads wanted.
 *
 * Emscripten also sets a global `Worker` in Node when the build starts; we put the global back as
 * it was once the backend has started its threads (XNNPACK creates them all at start). And it
 * keeps a worker that runs a pthread referenced, which would keep the process alive after its
 * work: XNNPACK's threads live as long as the backend, so they are unreferenced.
 */
import * as tf from '@tensorflow/tfjs';
import type * as wasmPackage from '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/** What we use of the package: its backend class and thread-count functions. */
type WasmPackage = Pick<typeof wasmPackage, 'BackendWasm' | 'setThreadsCount' | 'getThreadsCount'>;
type BackendWasmModule = ConstructorParameters<WasmPackage['BackendWasm']>[0];

interface EmscriptenConfig {
  locateFile(file: string, prefix: string): string | URL;
  mainScriptUrlOrBlob: string;
  instantiateWasm(
    imports: { env: Record<string, WebAssembly.ImportValue> },
    receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
  ): object;
  onAbort(what: unknown): void;
}

const START_TIMEOUT_MS = 30_000;

function packageFiles() {
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const out = path.join(dist, '..', 'wasm-out');
  return {
    require,
    factory: path.join(out, 'tfjs-backend-wasm-threaded-simd.js'),
    worker: path.join(out, 'tfjs-backend-wasm-threaded-simd.worker.js'),
    wasm: path.join(dist, 'tfjs-backend-wasm-threaded-simd.wasm'),
  };
}

/** The emscripten module of the threaded build, started with `threads` pthreads available. */
async function startThreadedModule(threads: number): Promise<BackendWasmModule & { unrefThreads(): void }> {
  const files = packageFiles();
  const factory = files.require(files.factory) as (config: EmscriptenConfig) => Promise<BackendWasmModule>;
  const { wasmWorkerContents } = files.require(files.worker) as { wasmWorkerContents: string };
  // The contents were written for a Blob: their "\n" escapes arrive as real newlines.
  const workerSource =
    `import { createRequire } from 'node:module';\n` +
    `const require = createRequire(${JSON.stringify(files.factory)});\n` +
    `const __filename = ${JSON.stringify(files.factory)};\n` +
    wasmWorkerContents.replace(/\n/g, '\\n');
  const workerUrl = new URL(`data:text/javascript,${encodeURIComponent(workerSource)}`);
  let abort: (reason: Error) => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    abort = reject;
  });
  const started = factory({
    locateFile: (file) => (file.endsWith('.worker.js') ? workerUrl : path.join(path.dirname(files.wasm), file)),
    mainScriptUrlOrBlob: files.factory,
    instantiateWasm(imports, receive) {
      for (const [name, f] of Object.entries(imports.env)) {
        if (typeof f === 'function' && /hardwareConcurrency|cpus\(\)/.test(String(f)))
          imports.env[name] = () => 2 * threads;
      }
      WebAssembly.instantiate(readFileSync(files.wasm), imports).then(
        ({ instance, module }) => receive(instance, module),
        (err: unknown) => abort(err instanceof Error ? err : new Error(String(err))),
      );
      return {};
    },
    onAbort: (what) => abort(new Error(`aborted: ${String(what)}`)),
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no pthreads after ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    timer.unref();
  });
  try {
    const module = (await Promise.race([started, aborted, timeout])) as BackendWasmModule & {
      cwrap: (name: string, ret: string | null, args: string[]) => unknown;
      PThread?: { runningWorkers: { unref(): void }[]; unusedWorkers: { unref(): void }[] };
    };
    module.tfjs = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    } as BackendWasmModule['tfjs'];
    return Object.assign(module, {
      unrefThreads: () => {
        for (const w of [...(module.PThread?.runningWorkers ?? []), ...(module.PThread?.unusedWorkers ?? [])])
          w.unref();
      },
    });
  } finally {
    clearTimeout(timer);
  }
}

export interface ThreadedWasmResult {
  /** XNNPACK's threads (1 when the threaded build could not start). */
  threads: number;
  /** Why it runs single-threaded, when it does. */
  note?: string;
}

/**
 * Makes the 'wasm' backend start as the threaded build with `threads` threads (before tfjs first
 * initialises it), falling back to the package's own (single-threaded) start when the threaded
 * build cannot. `onStarted` receives the outcome once the backend is created.
 */
export function useThreadedWasm(pkg: WasmPackage, threads: number, onStarted: (r: ThreadedWasmResult) => void): void {
  const original = tf.findBackendFactory('wasm');
  if (original == null) throw new Error('tfjs-backend-wasm is not registered');
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      const globalWorker = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
      try {
        if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) throw new Error('the threaded build needs wasm SIMD');
        pkg.setThreadsCount(threads);
        const module = await startThreadedModule(threads);
        const backend = new pkg.BackendWasm(module);
        module.unrefThreads();
        onStarted({ threads: pkg.getThreadsCount() });
        return backend;
      } catch (err) {
        onStarted({ threads: 1, note: err instanceof Error ? err.message : String(err) });
        pkg.setThreadsCount(1);
        return original();
      } finally {
        if (globalWorker) Object.defineProperty(globalThis, 'Worker', globalWorker);
        else delete (globalThis as { Worker?: unknown }).Worker;
      }
    },
    2,
  );
}
