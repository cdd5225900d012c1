/**
 * The kernels' thread pool: the calling thread plus workers sharing the kernels' memory. A kernel
 * call is one job split into tasks (see control.ts); the caller works on it too, so the pool is
 * useful from its first job, and workers join as they finish starting. Platform-neutral: threads
 * are started through a `SpawnThread` seam (node-threads.ts in Node; a page would start Web
 * Workers, which needs cross-origin isolation for shared memory).
 */
import { JobControl } from './control.js';
import { KERNEL_NAMES, type KernelName, type KernelRuntime } from './runtime.js';
import type { StartMessage, WorkerReply } from './worker.js';

/** A started thread: send it the start message; `terminate` ends it. */
export interface KernelThread {
  post(message: StartMessage): void;
  terminate(): void;
}

/** Starts one thread that will call serveKernelThread on the message it is posted. */
export type SpawnThread = (onReply: (reply: WorkerReply) => void, onError: (error: Error) => void) => KernelThread;

export interface KernelPoolOptions {
  /** Threads in all, the caller included (1 = no workers). */
  threads: number;
  spawn?: SpawnThread;
  /** Whether the calling thread may block in Atomics.wait (not a page's main thread: it spins). */
  canBlock?: boolean;
}

export class KernelPool {
  readonly runtime: KernelRuntime;
  /** Threads requested, the caller included. */
  readonly threads: number;
  private readonly control: JobControl | null;
  private readonly workers: KernelThread[] = [];
  private readyCount = 0;
  private readonly canBlock: boolean;
  /** Resolves when every worker is ready, or rejects with why one failed. */
  readonly ready: Promise<void>;

  constructor(runtime: KernelRuntime, options: KernelPoolOptions) {
    this.runtime = runtime;
    this.threads = Math.max(1, Math.floor(options.threads));
    this.canBlock = options.canBlock ?? true;
    const wanted = this.threads - 1;
    if (wanted === 0 || !options.spawn || !runtime.shared) {
      this.control = null;
      this.ready =
        wanted > 0
          ? Promise.reject(new Error(runtime.shared ? 'no way to start threads here' : 'no shared memory'))
          : Promise.resolve();
      this.ready.catch(() => {});
      return;
    }
    this.control = new JobControl(runtime.memory.buffer, runtime.control);
    const spawn = options.spawn;
    this.ready = new Promise<void>((resolve, reject) => {
      for (let i = 0; i < wanted; i++) {
        let settled = false;
        const thread = spawn(
          (reply) => {
            if (settled) return;
            settled = true;
            if (reply.kind === 'failed') {
              reject(new Error(`kernel thread failed to start: ${reply.message}`));
              return;
            }
            if (++this.readyCount === wanted) resolve();
          },
          (error) => {
            if (!settled) reject(error);
            settled = true;
          },
        );
        thread.post({ kind: 'start', module: runtime.module, memory: runtime.memory, control: runtime.control });
        this.workers.push(thread);
      }
    });
    this.ready.catch(() => {});
  }

  /** Threads working now (the caller and the workers that have started). */
  get activeThreads(): number {
    return 1 + this.readyCount;
  }

  /** Runs tasks 0…tasks−1 of `kernel` on the argument block at `args`, on every ready thread. */
  run(kernel: KernelName, args: number, tasks: number): void {
    if (tasks <= 0) return;
    const fn = this.runtime.exports[kernel];
    if (this.control === null || this.readyCount === 0 || tasks === 1) {
      for (let t = 0; t < tasks; t++) fn(args, t);
      return;
    }
    const gen = this.control.post(KERNEL_NAMES.indexOf(kernel), args, tasks);
    const ok = this.control.work(this.runtime.exports, gen);
    if (!this.control.finish(this.canBlock) || !ok) throw new Error(`tfjs-zarr kernel ${kernel} failed`);
  }

  /** Stops the workers and gives back the runtime's memory on another heap. */
  close(): void {
    this.control?.stop();
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
    this.readyCount = 0;
    this.runtime.dispose();
  }
}
