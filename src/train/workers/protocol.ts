/**
 * The messages between a pool (main thread) and its sample workers: plain data and transferable
 * ArrayBuffers only, nothing Node-specific, so that a Web Worker pool can speak it too.
 *
 *   pool → worker  init   { containers, crops, options }     open the containers, prepare the samplers
 *                                                 (options: the main thread's checked BatchPlan)
 *   worker → pool  ready  { channels, targetChannels, maskChannels }   or error
 *   pool → worker  batch  { id, index }                       assemble batch `index` of the sequence
 *   worker → pool  batch  { id, xs, ys, slots? }  shared buffers lent under slot numbers, or
 *                                                 transferred buffers (no slots); or error { id }
 *   pool → worker  recycle { slots }                the lent buffers may be overwritten now
 *   pool → worker  read   { id, container, path, roi }        a volume's stored values over a ROI
 *   worker → pool  read   { id, dtype, data }  (buffer transferred)  or error { id }
 *
 * Errors travel as { name, message, ...fields } and are rebuilt as the same class (DataFormatError,
 * OptionsError, Error) with the same message.
 */
import { DataFormatError, OptionsError } from '../../errors.js';
import type { Roi } from '../../roi.js';
import type { DType } from '../../types.js';
import type { DataConfig, DataConfigOptions } from '../../zarr/config.js';
import type { BatchOptions, BatchPlan } from '../batch.js';
import type { TargetKind } from '../targets.js';

/** A container as the worker opens it: DataConfig's options (cacheBytes already the worker's share). */
export type ContainerSpec = DataConfigOptions;

/** The options that open `config`'s container again, with a `1 / workers` share of its chunk cache. */
export function containerSpec(config: DataConfig, workers: number): ContainerSpec {
  // Every field of the config (own enumerable properties), so that new options travel too; the
  // source (a location, or a picked folder or file, which structured clone carries) as the path.
  const { source, ...options } = config;
  return { ...options, path: source, cacheBytes: Math.floor(config.cacheBytes / workers) };
}

/** A crop of an opened container, found by its raw array's path. */
export interface CropSpec {
  container: number;
  rawPath: string;
}

type BuiltInTarget = TargetKind;

/**
 * What a worker makes batches by: the main thread's checked plan, which the worker takes as given
 * (or options, checked in the worker). Without functions: a user TargetFn cannot travel; such
 * datasets run in-thread.
 */
export type WorkerBatchPlan =
  | (Omit<BatchPlan, 'target'> & { target: BuiltInTarget })
  | (Omit<BatchOptions, 'target'> & { target?: BuiltInTarget });

export type ToWorker =
  | { type: 'init'; containers: ContainerSpec[]; crops: CropSpec[]; options: WorkerBatchPlan | null }
  | { type: 'batch'; id: number; index: number }
  | { type: 'read'; id: number; container: number; path: string; roi: Roi }
  | { type: 'recycle'; slots: number[] };

export interface WireError {
  name: string;
  message: string;
  container?: string;
  arrayPath?: string;
  attribute?: string;
  stack?: string;
}

export type FromWorker =
  | { type: 'ready'; channels: number; targetChannels: number; maskChannels: number }
  | {
      type: 'batch';
      id: number;
      xs: ArrayBuffer | SharedArrayBuffer;
      ys: ArrayBuffer | SharedArrayBuffer;
      slots?: number[];
    }
  | { type: 'read'; id: number; dtype: DType; data: ArrayBuffer }
  | { type: 'error'; id: number | null; error: WireError };

export function errorToWire(e: unknown): WireError {
  if (e instanceof DataFormatError) {
    return {
      name: e.name,
      message: e.message,
      container: e.container,
      arrayPath: e.arrayPath,
      attribute: e.attribute,
      stack: e.stack,
    };
  }
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

/** The error again, same class and message (the stack is the worker's). */
export function errorFromWire(w: WireError): Error {
  let e: Error;
  if (w.name === 'DataFormatError') {
    const d = new DataFormatError('', { container: w.container ?? '' });
    Object.assign(d, { arrayPath: w.arrayPath, attribute: w.attribute });
    e = d;
  } else if (w.name === 'OptionsError') {
    e = new OptionsError(w.message);
  } else {
    e = new Error(w.message);
    e.name = w.name;
  }
  e.message = w.message;
  if (w.stack) e.stack = w.stack;
  return e;
}
