/**
 * The compiled kernels (kernels-wasm.ts) instantiated on their own memory, with a bump allocator
 * over it. Platform-neutral: no Node imports, no files (the module bytes are in the bundle).
 *
 * Memory layout: a control block for the thread pool, then a persistent region (data kept between
 * kernel calls, see `reserve`), then scratch space that each kernel call takes with `mark` and
 * gives back with `release`. The memory only grows (to the largest call seen); views are
 * refreshed after growth.
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
/** Bytes reserved at address 0 for the thread pool's control block (see threads.ts). */
export const CONTROL_BYTES = 256;
const ALIGN = 64;
/** Room kernels may read past the end of a buffer (vector loads of a last partial group). */
const SLACK = 64;
const MAX_PAGES = 65536;

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

export class KernelRuntime {
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly exports: KernelExports;
  readonly shared: boolean;
  private persistentEnd = CONTROL_BYTES;
  private top = CONTROL_BYTES;
  private bufferSeen: ArrayBufferLike | null = null;
  private f32View = new Float32Array(0);
  private i32View = new Int32Array(0);
  private readonly maxPages: number;

  constructor(shared: boolean, module = kernelModule(shared)) {
    this.shared = shared;
    this.module = module;
    [this.memory, this.maxPages] = createMemory(shared);
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as KernelExports;
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
    return this.top;
  }

  release(mark: number): void {
    this.top = mark;
  }

  /** Scratch bytes (64-byte aligned), valid until `release` of an earlier mark. */
  alloc(bytes: number): number {
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
   * The persistent region, resized to `bytes` (its content is kept up to the smaller size). Only
   * between kernel calls (no scratch in use): scratch starts after it.
   */
  reserve(bytes: number): number {
    if (this.top !== this.persistentEnd) throw new Error('KernelRuntime.reserve while scratch memory is in use');
    this.persistentEnd = CONTROL_BYTES + alignUp(bytes + SLACK);
    this.top = this.persistentEnd;
    this.ensure(this.top);
    return CONTROL_BYTES;
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

/** 16 MiB to start; up to 4 GiB (or 1 GiB where the platform cannot reserve that much). */
function createMemory(shared: boolean): [WebAssembly.Memory, number] {
  try {
    return [new WebAssembly.Memory({ initial: 256, maximum: MAX_PAGES, shared }), MAX_PAGES];
  } catch {
    return [new WebAssembly.Memory({ initial: 256, maximum: MAX_PAGES / 4, shared }), MAX_PAGES / 4];
  }
}
