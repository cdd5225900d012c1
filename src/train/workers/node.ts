/**
 * Node's worker_threads glue, the only Node-specific part of the worker pool. This file is both
 * the main side (`spawnNodeWorker`, a WorkerPort for pool.ts) and the worker entry: a thread
 * started on it with the marker below runs `sampleWorker` on its messages. It resolves to itself,
 * .ts under tsx (dev, tests: the worker registers tsx too) and .js in dist/.
 */
import { availableParallelism as cores } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './protocol.js';
import type { WorkerPort } from './pool.js';
import { sampleWorker } from './sample-worker.js';

const MARKER = 'tfjs-zarr sample worker';

/** The default pool size: one worker per core. */
export const availableParallelism = (): number => cores();

export function spawnNodeWorker(): WorkerPort {
  const entry = import.meta.url;
  const options = { workerData: { role: MARKER } };
  // From .ts sources (tsx): Node 20 workers do not inherit tsx's module hooks, so a tiny bootstrap
  // registers tsx in the worker before importing this file.
  const worker = entry.endsWith('.ts')
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
          `.then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`,
        { ...options, eval: true },
      )
    : new Worker(new URL(entry), options);
  worker.unref();
  let exited = false;
  return {
    post: (message: ToWorker, transfer: ArrayBuffer[] = []) => worker.postMessage(message, transfer),
    listen(onMessage, onExit) {
      worker.on('message', (m: FromWorker) => onMessage(m));
      worker.on('error', (e) => {
        exited = true;
        onExit(e instanceof Error ? e : new Error(String(e)));
      });
      worker.on('exit', (code) => {
        if (exited) return;
        exited = true;
        onExit(code === 0 ? null : new Error(`sample worker exited with code ${code}`));
      });
    },
    terminate: () => void worker.terminate(),
    keepAlive: (on) => (on ? worker.ref() : worker.unref()),
  };
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === MARKER && parentPort) {
  const port = parentPort;
  // This thread does nothing but assemble samples: blocking file reads cost it nothing.
  const handle = sampleWorker((message, transfer) => port.postMessage(message, transfer), { blockingFileReads: true });
  port.on('message', (m: ToWorker) => handle(m));
}
