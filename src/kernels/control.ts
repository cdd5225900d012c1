/**
 * The job protocol between the thread running a kernel call and the pool's workers, over the
 * control block at the start of the kernels' shared memory. Platform-neutral (Atomics only).
 *
 * A job is (kernel, argument block, number of tasks) under a generation number. Workers sleep on
 * GEN; the caller writes the job, sets NEXT to (generation, task 0), bumps GEN and wakes them.
 * Every thread, the caller included, claims tasks by compare-and-swap on NEXT, which holds the
 * generation in its high 32 bits: a thread that read an older job's fields can never claim a task
 * of the current one. DONE counts finished tasks; the last one wakes the caller.
 */
import { KERNEL_NAMES, type KernelExports } from './runtime.js';

const GEN = 0;
const FN = 1;
const ARGS = 2;
const TASKS = 3;
const DONE = 4;
const ERROR = 5;
const STOP = 6;
/** Byte offset of the 64-bit NEXT word in the block. */
const NEXT_BYTE = 32;

export class JobControl {
  private readonly i32: Int32Array;
  private readonly next: BigInt64Array;

  /** The control block at byte `address` (8-byte aligned) of a shared buffer. */
  constructor(buffer: ArrayBufferLike, address: number) {
    this.i32 = new Int32Array(buffer, address, 8);
    this.next = new BigInt64Array(buffer, address + NEXT_BYTE, 1);
  }

  /** Caller: publish a job and wake the workers. */
  post(kernel: number, args: number, tasks: number): number {
    const gen = (Atomics.load(this.i32, GEN) + 1) | 0;
    Atomics.store(this.i32, FN, kernel);
    Atomics.store(this.i32, ARGS, args);
    Atomics.store(this.i32, TASKS, tasks);
    Atomics.store(this.i32, DONE, 0);
    Atomics.store(this.i32, ERROR, 0);
    Atomics.store(this.next, 0, BigInt(gen >>> 0) << 32n);
    Atomics.store(this.i32, GEN, gen);
    Atomics.notify(this.i32, GEN);
    return gen;
  }

  /**
   * Claims and runs tasks of job `gen` until none is left. Returns false when a task threw (the
   * job is still counted done, so nobody waits forever).
   */
  work(exports: KernelExports, gen: number): boolean {
    const kernel = exports[KERNEL_NAMES[Atomics.load(this.i32, FN)]!];
    const args = Atomics.load(this.i32, ARGS);
    const tasks = Atomics.load(this.i32, TASKS);
    const tag = BigInt(gen >>> 0) << 32n;
    let ok = true;
    for (;;) {
      const v = Atomics.load(this.next, 0);
      const task = Number(v & 0xffffffffn);
      if (v - BigInt(task) !== tag || task >= tasks) return ok;
      if (Atomics.compareExchange(this.next, 0, v, v + 1n) !== v) continue;
      try {
        kernel(args, task);
      } catch {
        ok = false;
        Atomics.store(this.i32, ERROR, 1);
      }
      if (Atomics.add(this.i32, DONE, 1) + 1 === tasks) Atomics.notify(this.i32, DONE);
    }
  }

  /** Caller: wait until every task of the current job is done; false if one failed. */
  finish(canBlock: boolean): boolean {
    const tasks = Atomics.load(this.i32, TASKS);
    for (let d = Atomics.load(this.i32, DONE); d < tasks; d = Atomics.load(this.i32, DONE)) {
      if (canBlock) Atomics.wait(this.i32, DONE, d, 50);
    }
    return Atomics.load(this.i32, ERROR) === 0;
  }

  /** Worker: sleep until a job newer than `seen` (or stop); returns its generation, or null to stop. */
  waitForJob(seen: number): number | null {
    for (;;) {
      if (Atomics.load(this.i32, STOP) !== 0) return null;
      const gen = Atomics.load(this.i32, GEN);
      if (gen !== seen) return gen;
      Atomics.wait(this.i32, GEN, seen);
    }
  }

  stop(): void {
    Atomics.store(this.i32, STOP, 1);
    Atomics.add(this.i32, GEN, 1);
    Atomics.notify(this.i32, GEN);
  }
}
