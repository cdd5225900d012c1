/**
 * The entry of a kernel thread in a page (a module Web Worker): `serveKernelThread` on its start
 * message, the same code as Node's kernel threads (node-threads.ts). Not imported by the library:
 * the package build bundles it into `web-thread-source.ts`.
 */
import { type StartMessage, serveKernelThread, type WorkerReply } from './worker.js';

interface WorkerScope {
  postMessage(message: WorkerReply): void;
  onmessage: ((event: MessageEvent<StartMessage>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (event) => {
  scope.onmessage = null;
  serveKernelThread(event.data, (reply) => scope.postMessage(reply));
};
