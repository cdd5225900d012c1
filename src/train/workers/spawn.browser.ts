/**
 * Sample workers in a page: module Web Workers started from a Blob URL of the bundled worker code
 * (web-worker-source.ts, filled in by the package build), so that no bundler needs to find a
 * worker file (esbuild does not bundle `new Worker(new URL(…, import.meta.url))`). A page whose
 * Content-Security-Policy sets `worker-src` must allow `blob:`.
 */
import { trainingThreads } from '../../backend-browser.js';
import type { FromWorker, ToWorker } from './protocol.js';
import type { WorkerPort } from './pool.js';
import { WEB_WORKER_SOURCE } from './web-worker-source.js';

let workerUrl: string | null = null;

/**
 * Workers when not asked: the cores the browser reports (`navigator.hardwareConcurrency`) minus
 * the threads training uses (the threaded wasm backend's pool, else the page's own thread), at
 * least 1.
 */
export function defaultWorkerCount(): number {
  const cores = globalThis.navigator?.hardwareConcurrency || 2;
  return Math.max(1, cores - trainingThreads());
}

export function spawnWorker(): WorkerPort {
  if (!WEB_WORKER_SOURCE) {
    throw new Error(
      'tfjs-zarr: the sample worker code is not built into this copy of the package (it is added by ' +
        '`npm run build`); bundle the package from its dist/ folder, or pass workers: 0',
    );
  }
  workerUrl ??= URL.createObjectURL(new Blob([WEB_WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new Worker(workerUrl, { type: 'module', name: 'tfjs-zarr sample worker' });
  let exited = false;
  const exit = (onExit: (error: Error | null) => void, error: Error | null) => {
    if (exited) return;
    exited = true;
    onExit(error);
  };
  return {
    post: (message: ToWorker, transfer: ArrayBuffer[] = []) => worker.postMessage(message, transfer),
    listen(onMessage, onExit) {
      worker.onmessage = (event: MessageEvent<FromWorker>) => onMessage(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        exit(
          onExit,
          new Error(`sample worker failed: ${event.message || 'could not start (a CSP blocking blob: workers?)'}`),
        );
      };
      worker.onmessageerror = () => exit(onExit, new Error('sample worker: a message could not be deserialized'));
    },
    terminate: () => worker.terminate(),
    // A page does not exit while workers run: nothing to keep alive.
    keepAlive: () => undefined,
  };
}
