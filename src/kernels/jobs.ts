/**
 * One function per kernel job: writes its argument block (the field order of the C structs in
 * wasm/kernels.c), chooses its tasks and runs them on the pool. Addresses are byte offsets into
 * the kernels' memory; sizes are elements. Platform-neutral.
 */
import type { KernelPool } from './threads.js';

export type Triple = readonly [number, number, number];

/** A channels-last tensor in kernel memory: [b, z, y, x, c]. */
export interface Block {
  ptr: number;
  b: number;
  z: number;
  y: number;
  x: number;
  c: number;
}

function args(pool: KernelPool, fields: readonly number[]): number {
  const at = pool.runtime.alloc(fields.length * 4);
  pool.runtime.i32.set(fields, at / 4);
  return at;
}

/** Tasks for `rows` independent rows of `rowCost` multiply-adds: a few per thread, not tiny. */
function rowsPerTask(pool: KernelPool, rows: number, rowCost: number): number {
  const byThreads = Math.ceil(rows / (pool.activeThreads * 8));
  const bySize = Math.ceil(20000 / Math.max(1, rowCost));
  return Math.max(1, Math.min(rows, Math.max(byThreads, bySize)));
}

/**
 * dst [b, z + pz0 + pz1, …, cd] = src zero-padded by `pads` [[before, after] per axis] and to `cd`
 * channels; with `mask` (same shape as src), src where mask > 0, else 0.
 */
export function pad(
  pool: KernelPool,
  src: Block,
  mask: number | 0,
  dst: number,
  cd: number,
  pads: readonly (readonly [number, number])[],
): void {
  const [[z0, z1], [y0, y1], [x0, x1]] = pads as [[number, number], [number, number], [number, number]];
  const a = args(pool, [src.ptr, mask, dst, src.b, src.z, src.y, src.x, src.c, cd, z0, z1, y0, y1, x0, x1]);
  pool.run('pad_task', a, src.b * (src.z + z0 + z1));
}

export interface ConvSegment {
  /** Padded input [b, zp, yp, xp, cin]. */
  ptr: number;
  cin: number;
  /** Its weights [kz, ky, kx, cin, coutp]. */
  weights: number;
}

export interface ConvJob {
  segments: readonly ConvSegment[];
  /** [coutp], or 0. */
  bias: number;
  /** Output [b, zo, yo, xo, cout]. */
  out: number;
  b: number;
  padded: Triple;
  kernel: Triple;
  cout: number;
  coutp: number;
  relu: boolean;
}

export const MAX_SEGMENTS = 4;

/** Valid convolution of the padded segments (summed), plus bias, then ReLU if asked. */
export function conv(pool: KernelPool, job: ConvJob): void {
  const { segments: s, kernel: k, padded: p } = job;
  if (s.length < 1 || s.length > MAX_SEGMENTS) throw new Error(`conv: ${s.length} inputs (1…${MAX_SEGMENTS})`);
  const out: Triple = [p[0] - k[0] + 1, p[1] - k[1] + 1, p[2] - k[2] + 1];
  const four = (f: (x: ConvSegment) => number) => [0, 1, 2, 3].map((i) => (s[i] ? f(s[i]!) : 0));
  const rows = job.b * out[0] * out[1];
  const cinTotal = s.reduce((sum, x) => sum + x.cin, 0);
  const perTask = rowsPerTask(pool, rows, out[2] * k[0] * k[1] * k[2] * cinTotal * job.coutp);
  const a = args(pool, [
    s.length,
    ...four((x) => x.ptr),
    ...four((x) => x.cin),
    ...four((x) => x.weights),
    job.bias,
    job.out,
    job.b,
    ...p,
    ...k,
    ...out,
    job.cout,
    job.coutp,
    job.relu ? 1 : 0,
    perTask,
  ]);
  pool.run('conv_task', a, Math.ceil(rows / perTask));
}

export interface FilterGradJob {
  /** One padded input [b, zp, yp, xp, cin]. */
  input: number;
  cin: number;
  padded: Triple;
  kernel: Triple;
  /** The output gradient: voxel (b, z, y, x) at g + b·pitch[0] + z·pitch[1] + y·pitch[2] + x·coutp (floats). */
  g: number;
  pitch: Triple;
  b: number;
  out: Triple;
  coutp: number;
  cout: number;
  /** dW [kz, ky, kx, cinTotal, cout]: this input's channels start at ci0. */
  dw: number;
  cinTotal: number;
  ci0: number;
  /** [cout] for the bias gradient, or 0. */
  db: number;
}

const FG_ROW_BLOCK = 4;
/** At most this many floats of partial sums (chunks × (K + 1) × coutp). */
const FG_PARTIAL_FLOATS = 4 << 20;

/**
 * dW (and db) of one input. The reduction over output rows is cut into chunks chosen from the
 * shapes alone and added up in chunk order, so the result does not depend on the thread count.
 */
export function filterGrad(pool: KernelPool, job: FilterGradJob): void {
  const [kz, ky, kx] = job.kernel;
  const K = kz * ky * kx * job.cin;
  const rows = job.b * job.out[0] * job.out[1];
  const width = (K + 1) * job.coutp;
  const maxChunks = Math.max(1, Math.min(16, Math.floor(FG_PARTIAL_FLOATS / width), Math.ceil(rows / FG_ROW_BLOCK)));
  const rowsPerChunk = Math.ceil(Math.ceil(rows / maxChunks) / FG_ROW_BLOCK) * FG_ROW_BLOCK;
  const chunks = Math.ceil(rows / rowsPerChunk);
  const kBlocks = Math.max(1, Math.min(Math.ceil(K / 16), Math.ceil(32 / chunks)));
  const kPerTask = Math.ceil(Math.ceil(K / kBlocks) / 4) * 4;
  const blocks = Math.ceil(K / kPerTask);
  const partial = pool.runtime.allocF32(chunks * width);
  const a = args(pool, [
    job.input,
    job.cin,
    ...job.padded,
    ...job.kernel,
    job.g,
    ...job.pitch,
    job.b,
    ...job.out,
    job.coutp,
    partial,
    rowsPerChunk,
    kPerTask,
    blocks,
    job.db ? 1 : 0,
  ]);
  pool.run('filter_grad_task', a, chunks * blocks);
  const reducePerTask = Math.max(16, Math.ceil(K / 16));
  const r = args(pool, [
    partial,
    chunks,
    K,
    job.coutp,
    job.cout,
    job.dw,
    job.cin,
    job.cinTotal,
    job.ci0,
    job.db,
    reducePerTask,
  ]);
  pool.run('filter_grad_reduce_task', r, Math.ceil(K / reducePerTask));
}

export type ResampleKernel = 'max_pool_task' | 'max_pool_grad_task' | 'upsample_task' | 'upsample_grad_task';

/**
 * Pooling / up-sampling between a fine [b, z, y, x, c] and a coarse [b, z/fz, y/fy, x/fx, c]
 * tensor (see kernels.c for which side each kernel reads and writes).
 */
export function resample(
  pool: KernelPool,
  kernel: ResampleKernel,
  fine: Block,
  coarse: number,
  out: number,
  factors: Triple,
): void {
  const [fz, fy, fx] = factors;
  const a = args(pool, [fine.ptr, coarse, out, fine.b, fine.z, fine.y, fine.x, fine.c, fz, fy, fx]);
  pool.run(kernel, a, fine.b * Math.floor(fine.z / fz));
}
