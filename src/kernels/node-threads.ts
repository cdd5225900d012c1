/**
 * Node's worker_threads glue for the kernel pool (threads.ts), its only Node-specific part. This
 * file is both the main side (`spawnKernelThread`) and the worker entry: a thread started on it
 * with the marker below serves kernel jobs (worker.ts). It resolves to itself, .ts under tsx (dev,
 * tests: the worker registers tsx too) and .js in dist/.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { KernelThread, SpawnThread } from './threads.js';
import { type StartMessage, serveKernelThread, type WorkerReply } from './worker.js';

const MARKER = 'tfjs-zarr kernel thread';

export const spawnKernelThread: SpawnThread = (onReply, onError): KernelThread => {
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
  worker.on('message', (m: WorkerReply) => {
    // Started (or failed): from now on a thread waiting for jobs must not keep the process alive.
    // (Not before: a process awaiting the start would exit; and a 'message' listener references
    // the worker's port again, so this comes after it.)
    worker.unref();
    onReply(m);
  });
  worker.on('error', (e) => onError(e instanceof Error ? e : new Error(String(e))));
  worker.on('exit', (code) => {
    if (code !== 0) onError(new Error(`kernel thread exited with code ${code}`));
  });
  return {
    post: (message: StartMessage) => worker.postMessage(message),
    terminate: () => void worker.terminate(),
  };
};

if (!isMainThread && (workerData as { role?: string } | null)?.role === MARKER && parentPort) {
  const port = parentPort;
  port.once('message', (m: StartMessage) => serveKernelThread(m, (r) => port.postMessage(r)));
}
