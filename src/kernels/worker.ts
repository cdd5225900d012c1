/**
 * What a kernel thread runs, whatever starts it (Node's worker_threads: node-threads.ts; a Web
 * Worker in a page): it instantiates the kernels on the shared memory it is sent, says so, and
 * then runs tasks of every job until told to stop. Platform-neutral.
 */
import { JobControl } from './control.js';
import type { KernelExports } from './runtime.js';

export interface StartMessage {
  kind: 'start';
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Address of the control block in the memory. */
  control: number;
}

export type WorkerReply = { kind: 'ready' } | { kind: 'failed'; message: string };

/** Handles the start message: replies, then blocks this thread in the job loop until stopped. */
export function serveKernelThread(message: StartMessage, reply: (r: WorkerReply) => void): void {
  let exports: KernelExports;
  let control: JobControl;
  try {
    const instance = new WebAssembly.Instance(message.module, { env: { memory: message.memory } });
    exports = instance.exports as unknown as KernelExports;
    control = new JobControl(message.memory.buffer, message.control);
  } catch (err) {
    reply({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  reply({ kind: 'ready' });
  let seen = 0;
  for (;;) {
    const gen = control.waitForJob(seen);
    if (gen === null) return;
    seen = gen;
    control.work(exports, gen);
  }
}
