/**
 * The entry of a sample worker in a page (a module Web Worker): `sampleWorker` on its messages,
 * the same protocol and code as Node's worker threads. Not imported by the library: the package
 * build bundles it into `web-worker-source.ts`.
 */
import type { ToWorker } from './protocol.js';
import { sampleWorker } from './sample-worker.js';

interface WorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
const handle = sampleWorker((message, transfer) => scope.postMessage(message, transfer));
scope.onmessage = (event) => handle(event.data);
