/**
 * The compiled kernels (kernels-wasm.ts) instantiated on a memory, with an allocator over it.
 * Platform-neutral: no Node imports, no files (the module bytes are in the bundle).
 *
 * Two placements:
 * - on a heap of its own (`KernelRuntime.own`): tensors are copied in and results out; a bump
 *   allocator hands out scratch space that each kernel call takes with `mark` and gives back with
 *   `release`, after a persistent region (`reserve`) and the thread pool's control block;
 * - on another module's heap (`KernelRuntime.onHeap`: tfjs-backend-wasm's, through its malloc and
 *   free): the kernels read tfjs's tensors and write tfjs's outputs where they are, no copies.
 * The memory only grows; views are refreshed after growth.
 */
import { KERNELS_WASM_SHARED, KERNELS_WASM_SINGLE } from './kernels-wasm.js';

/** Exported kernel entry points: (argument block, task index) → void. */
export const KERNEL_NAMES = [
  'pad_task',
  'conv_task',
  'filter_grad_task',
  'filter_grad_reduce_task',
  'max_pool_task',
  'max_pool_grad_task',
  'upsample_task',
  'upsample_grad_task',
] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];
export type KernelExports = Record<KernelName, (args: number, task: number) => void>;

const PAGE = 65536;
/** Bytes of the thread pool's control block (see control.ts). */
export const CONTROL_BYTES = 256;
const ALIGN = 64;
/** Room kernels may read past the end of a buffer (vector loads of a last partial group). */
const SLACK = 64;
const MAX_PAGES = 65536;

/** Another module's allocator (emscripten's _malloc / _free). */
export interface HeapAllocator {
  malloc(bytes: number): number;
  free(address: number): void;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const compiled: { shared: WebAssembly.Module | null; single: WebAssembly.Module | null } = {
  shared: null,
  single: null,
};

/** The compiled module (synchronous compile: allowed in Node and workers; a page should await `compileKernels`). */
export function kernelModule(shared: boolean): WebAssembly.Module {
  const key = shared ? 'shared' : 'single';
  compiled[key] ??= new WebAssembly.Module(decodeBase64(shared ? KERNELS_WASM_SHARED : KERNELS_WASM_SINGLE));
  return compiled[key]!;
}

/** Compiles the module off the main thread where the platform can (a page's main thread must). */
export async function compileKernels(shared: boolean): Promise<WebAssembly.Module> {
  const key = shared ? 'shared' : 'single';
  compiled[key] ??= await WebAssembly.compile(decodeBase64(shared ? KERNELS_WASM_SHARED : KERNELS_WASM_SINGLE));
  return compiled[key]!;
}

/** Whether this platform can share a WebAssembly memory between threads. */
export function sharedMemorySupported(): boolean {
  try {
    const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return m.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

export function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
}

export class KernelRuntime {
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly exports: KernelExports;
  readonly shared: boolean;
  /** Address of the thread pool's control block. */
  readonly control: number;
  /** Set when the runtime lives on another module's heap. */
  private readonly heap: HeapAllocator | null;
  private readonly maxPages: number;
  // Own heap: [control | persistent | scratch…], scratch from `top`.
  private persistentEnd = CONTROL_BYTES;
  private top = CONTROL_BYTES;
  // Another heap: the scratch blocks in allocation order, and the persistent block.
  private readonly blocks: number[] = [];
  private persistent: { at: number; bytes: number } | null = null;
  private bufferSeen: ArrayBufferLike | null = null;
  private f32View = new Float32Array(0);
  private i32View = new Int32Array(0);

  private constructor(memory: WebAssembly.Memory, maxPages: number, heap: HeapAllocator | null) {
    this.memory = memory;
    this.shared = isShared(memory);
    this.module = kernelModule(this.shared);
    this.exports = new WebAssembly.Instance(this.module, { env: { memory } }).exports as unknown as KernelExports;
    this.heap = heap;
    this.maxPages = maxPages;
    this.control = heap ? alignUp(heap.malloc(CONTROL_BYTES + ALIGN) >>> 0) : 0;
    if (heap) this.i32.fill(0, this.control / 4, (this.control + CONTROL_BYTES) / 4);
  }

  /** On a memory of its own: 16 MiB to start, up to 4 GiB (or 1 GiB where that cannot be reserved). */
  static own(shared: boolean): KernelRuntime {
    try {
      return new KernelRuntime(new WebAssembly.Memory({ initial: 256, maximum: MAX_PAGES, shared }), MAX_PAGES, null);
    } catch {
      const max = MAX_PAGES / 4;
      return new KernelRuntime(new WebAssembly.Memory({ initial: 256, maximum: max, shared }), max, null);
    }
  }

  /** On another module's memory, allocating with its allocator. Throws where the kernels cannot import it. */
  static onHeap(memory: WebAssembly.Memory, heap: HeapAllocator): KernelRuntime {
    return new KernelRuntime(memory, MAX_PAGES, heap);
  }

  /** Whether this runtime lives on another module's heap. */
  get foreign(): boolean {
    return this.heap !== null;
  }

  /** Whether this runtime lives on `memory`, another module's heap (tensors there need no copy). */
  livesOn(memory: WebAssembly.Memory | null | undefined): boolean {
    return memory != null && this.heap !== null && memory === this.memory;
  }

  /** Float32 view of the whole memory (refreshed after growth). */
  get f32(): Float32Array {
    this.refresh();
    return this.f32View;
  }

  get i32(): Int32Array {
    this.refresh();
    return this.i32View;
  }

  private refresh(): void {
    const buffer = this.memory.buffer;
    if (buffer !== this.bufferSeen || this.f32View.byteLength !== buffer.byteLength) {
      this.bufferSeen = buffer;
      this.f32View = new Float32Array(buffer);
      this.i32View = new Int32Array(buffer);
    }
  }

  mark(): number {
    return this.heap ? this.blocks.length : this.top;
  }

  release(mark: number): void {
    if (!this.heap) {
      this.top = mark;
      return;
    }
    while (this.blocks.length > mark) this.heap.free(this.blocks.pop()!);
  }

  /** Scratch bytes (64-byte aligned), valid until `release` of an earlier mark. */
  alloc(bytes: number): number {
    if (this.heap) {
      const raw = this.heap.malloc(bytes + SLACK + ALIGN) >>> 0;
      if (raw === 0) throw new RangeError(`tfjs-zarr kernels: cannot allocate ${bytes} bytes`);
      this.blocks.push(raw);
      return alignUp(raw);
    }
    const at = alignUp(this.top);
    this.top = at + alignUp(bytes + SLACK);
    this.ensure(this.top);
    return at;
  }

  /** Scratch float32 elements; returns the byte address. */
  allocF32(count: number): number {
    return this.alloc(count * 4);
  }

  /**
   * The persistent block, of at least `bytes` (its content is not kept). Only between kernel
   * calls (no scratch in use).
   */
  reserve(bytes: number): number {
    if (this.mark() !== (this.heap ? 0 : this.persistentEnd)) {
      throw new Error('KernelRuntime.reserve while scratch memory is in use');
    }
    if (this.heap) {
      if (this.persistent === null || this.persistent.bytes < bytes) {
        if (this.persistent) this.heap.free(this.persistent.at);
        const at = this.heap.malloc(bytes + SLACK + ALIGN) >>> 0;
        if (at === 0) throw new RangeError(`tfjs-zarr kernels: cannot allocate ${bytes} bytes`);
        this.persistent = { at, bytes };
      }
      return alignUp(this.persistent.at);
    }
    this.persistentEnd = CONTROL_BYTES + alignUp(bytes + SLACK);
    this.top = this.persistentEnd;
    this.ensure(this.top);
    return CONTROL_BYTES;
  }

  /**
   * Gives back what this runtime holds on another heap, but its control block: a stopped worker
   * may still read it once while it leaves.
   */
  dispose(): void {
    if (!this.heap) return;
    this.release(0);
    if (this.persistent) this.heap.free(this.persistent.at);
    this.persistent = null;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    if (have / PAGE + pages > this.maxPages) {
      throw new RangeError(
        `tfjs-zarr kernels: a call needs ${(end / 2 ** 30).toFixed(2)} GiB, more than the ` +
          `${this.maxPages / 16384} GiB their memory can grow to (use smaller batches or tiles)`,
      );
    }
    // Grow by at least a quarter, so a sequence of slightly larger calls does not grow every time.
    this.memory.grow(Math.min(this.maxPages - have / PAGE, Math.max(pages, Math.ceil(have / PAGE / 4))));
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
