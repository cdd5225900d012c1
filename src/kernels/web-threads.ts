/**
 * Kernel threads in a page: module Web Workers started from a Blob URL of the bundled thread code
 * (web-thread-source.ts, filled in by the package build). They share the kernels' memory, so they
 * need a cross-origin isolated page; the page's own thread takes tasks too and spins, rather than
 * blocks, while it waits for the last ones (a page's main thread may not Atomics.wait).
 */
import type { KernelThread, SpawnThread } from './threads.js';
import { KERNEL_THREAD_SOURCE } from './web-thread-source.js';
import type { StartMessage, WorkerReply } from './worker.js';

let threadUrl: string | null = null;

/** Starts kernel threads as Web Workers; undefined where this copy of the package has no thread code. */
export function webKernelThreads(): SpawnThread | undefined {
  if (!KERNEL_THREAD_SOURCE || typeof Worker === 'undefined') return undefined;
  return (onReply, onError): KernelThread => {
    threadUrl ??= URL.createObjectURL(new Blob([KERNEL_THREAD_SOURCE], { type: 'text/javascript' }));
    const worker = new Worker(threadUrl, { type: 'module', name: 'tfjs-zarr kernel thread' });
    worker.onmessage = (event: MessageEvent<WorkerReply>) => onReply(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      onError(new Error(`kernel thread failed: ${event.message || 'could not start (a CSP blocking blob: workers?)'}`));
    };
    return {
      post: (message: StartMessage) => worker.postMessage(message),
      terminate: () => worker.terminate(),
    };
  };
}
