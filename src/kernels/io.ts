/**
 * A tfjs kernel call's view of the kernels' memory: where its input tensors are, where to write
 * its outputs, and scratch space given back when the call ends. When the kernels live on the wasm
 * backend's heap (context.ts), inputs are read and outputs written in place; otherwise they are
 * copied in and out. Platform-neutral.
 */
import type * as tf from '@tensorflow/tfjs';
import { backendHeap, kernelPool } from './context.js';
import type { KernelPool } from './threads.js';

/** What we use of tfjs-backend-wasm's BackendWasm (public methods). */
interface WasmBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  getMemoryOffset(dataId: object): number;
}

export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export class KernelIo {
  readonly pool: KernelPool;
  private readonly backend: WasmBackend;
  /** Whether tensors are in kernel memory where they are (no copies). */
  private readonly inPlace: boolean;
  private readonly mark: number;
  private readonly pending: { info: tf.TensorInfo; at: number }[] = [];

  constructor(backend: unknown) {
    this.backend = backend as WasmBackend;
    this.pool = kernelPool(backend);
    this.inPlace = this.pool.runtime.livesOn(backendHeap(backend)?.memory);
    this.mark = this.pool.runtime.mark();
  }

  /** Address of a float32 tensor's data in kernel memory (copied into scratch unless in place). */
  input(t: tf.TensorInfo): number {
    if (t.dtype !== 'float32') throw new Error(`tfjs-zarr kernels take float32 tensors, got ${t.dtype}`);
    if (this.inPlace) return this.backend.getMemoryOffset(t.dataId) >>> 0;
    const data = this.backend.typedArrayFromHeap(t);
    const at = this.pool.runtime.allocF32(data.length);
    this.pool.runtime.f32.set(data, at / 4);
    return at;
  }

  /** A float32 output tensor and the address its values go to (copied out in `finish` unless in place). */
  output(shape: number[]): { info: tf.TensorInfo; at: number } {
    const info = this.backend.makeOutput(shape, 'float32');
    if (this.inPlace) return { info, at: this.backend.getMemoryOffset(info.dataId) >>> 0 };
    const out = { info, at: this.pool.runtime.allocF32(size(shape)) };
    this.pending.push(out);
    return out;
  }

  /**
   * A float32 tensor's values as JavaScript reads them. Valid until the next allocation (which
   * may grow an unshared heap and empty earlier views).
   */
  values(t: tf.TensorInfo): Float32Array {
    if (t.dtype !== 'float32') throw new Error(`tfjs-zarr kernels take float32 tensors, got ${t.dtype}`);
    return this.backend.typedArrayFromHeap(t) as Float32Array;
  }

  /** Scratch float32 elements; returns the byte address. */
  scratch(count: number): number {
    return this.pool.runtime.allocF32(count);
  }

  /** Copies the outputs out (unless in place) and gives the scratch space back. */
  finish(): void {
    try {
      const f = this.pool.runtime.f32;
      for (const { info, at } of this.pending) {
        (this.backend.typedArrayFromHeap(info) as Float32Array).set(f.subarray(at / 4, at / 4 + size(info.shape)));
      }
    } finally {
      this.pool.runtime.release(this.mark);
    }
  }

  /** Gives the scratch space back (after an error). */
  abandon(): void {
    this.pool.runtime.release(this.mark);
  }

  /** Runs `f` on a KernelIo of `backend`, finishing it, or abandoning it on error. */
  static run<T>(backend: unknown, f: (io: KernelIo) => T): T {
    const io = new KernelIo(backend);
    let result: T;
    try {
      result = f(io);
    } catch (err) {
      io.abandon();
      throw err;
    }
    io.finish();
    return result;
  }
}
