/**
 * tf.data datasets over crops. Everything random is drawn from the seed alone: sample k gets the
 * stream `fork(k)` of the seed, whatever the prefetch depth or timing, so the same seed gives the
 * same bytes. Reads run concurrently; buffers in flight are plain typed arrays (tensors are made
 * only when an element is handed out, so abandoned iterators hold no tensors). trainingDataset
 * assembles its batches in a pool of worker threads (train/workers/) when it can, in this thread
 * otherwise; both give the same bytes.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import { tensorDataReleased } from '../internals/tfjs.js';
import type { Crop, LabelArray } from '../types.js';
import {
  BatchMaker,
  planBatches,
  prepare,
  type BatchArrays,
  type BatchOptions,
  type BatchPlan,
  type CropWeights,
  type Setup,
  type TrainingSetup,
} from './batch.js';
import { BufferPool } from './assemble.js';
import { makeRng } from './random.js';
import { ZarrCrop } from '../zarr/crop.js';
import type { DataConfig } from '../zarr/config.js';
import { containerSpec, type CropSpec, type WorkerBatchPlan } from './workers/protocol.js';
import { SamplePool, type ChannelLayout, type PoolBatch } from './workers/pool.js';
import { CropSampler, planSampling, type SamplingOptions } from './sampler.js';

export interface CropDatasetOptions extends SamplingOptions {
  seed?: number | string;
}

export type { CropWeights, TrainingSetup };

export interface TrainingDatasetOptions extends BatchOptions {
  /**
   * Batches prepared ahead of the one being consumed (default: 2 in this thread, 3 per worker with
   * workers: with fewer, a worker that is done waits for the consumer to take an older batch).
   */
  prefetch?: number;
  /**
   * Worker threads assembling batches (reading, decoding, augmenting, targets), as gunpowder's
   * PreCache(num_workers); 0 = in this thread. Default: `os.availableParallelism()` in Node; in a
   * page (Web Workers) `navigator.hardwareConcurrency` minus the threads training uses. Workers need
   * crops from openDataSplit and a built-in target; otherwise batches are made in this thread.
   * The chunk cache cap (`DataConfig.cacheBytes`) is the total for the pool: each worker keeps
   * `cacheBytes / workers`.
   */
  workers?: number;
  /** Workers stop after this long without a request (ms, default 2000) and start again when needed. */
  workerIdleMs?: number;
  /**
   * Give a batch's memory back for reuse as soon as its tensors are disposed (`model.fitDataset`
   * disposes each batch after its step), rather than once they are garbage collected. Faster on
   * backends that keep the arrays (cpu, webgl, tfjs-node until first use: no copies, no fresh
   * memory), but then an array read from a batch's tensor (`data()`, `dataSync()`) or a tensor
   * sharing its memory must not be used after the batch's tensors are disposed. Default false.
   * (On wasm, which copies each batch into its heap, memory goes back at once either way.)
   */
  reuseDisposed?: boolean;
}

/** What trainingDataset returns: a tf.data dataset, plus its setup and a way to stop its workers now. */
export type TrainingDataset = tf.data.Dataset<TrainingElement> & {
  /** Prepares the dataset (every crop checked, in the workers when it has them) and tells its channel counts. */
  setup(): Promise<TrainingSetup>;
  /**
   * Stops the worker threads now and gives back the memory of the boundary tables (a later
   * iterator starts the workers again and builds tables as they pay).
   */
  close(): void;
  /** Worker threads running right now. */
  readonly workersRunning: number;
};

export interface TrainingElement extends tf.TensorContainerObject {
  xs: tf.Tensor5D;
  ys: tf.Tensor5D;
}

/** Ids as int32 for tensors: copied when they fit, relabelled consecutively (0 kept) when not. */
export function labelsToInt32(labels: LabelArray): Int32Array {
  if (labels instanceof Int32Array) return labels;
  if (labels instanceof Uint8Array || labels instanceof Uint16Array) return Int32Array.from(labels);
  let fits = true;
  if (labels instanceof BigUint64Array) {
    for (let i = 0; i < labels.length && fits; i++) fits = labels[i]! <= 0x7fffffffn;
    if (fits) return Int32Array.from(labels, (v) => Number(v));
  } else {
    for (let i = 0; i < labels.length && fits; i++) fits = labels[i]! <= 0x7fffffff;
    if (fits) return Int32Array.from(labels);
  }
  const ids = new Map<number | bigint, number>([[labels instanceof BigUint64Array ? 0n : 0, 0]]);
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    let id = ids.get(v);
    if (id === undefined) {
      id = ids.size;
      ids.set(v, id);
    }
    out[i] = id;
  }
  return out;
}

/** An endless dataset of `{ raw, labels, mask }` samples from one crop. */
export function cropDataset(crop: Crop, options: CropDatasetOptions): tf.data.Dataset<tf.TensorContainerObject> {
  const plan = planSampling(options, [crop]);
  const { input, output } = plan;
  const root = makeRng(options.seed ?? 0);
  let sampler: Promise<CropSampler> | null = null;
  return tf.data.generator(async function* () {
    sampler ??= CropSampler.create(crop, plan);
    const s = await sampler;
    for (let k = 0; ; k++) {
      const sample = await s.read(s.draw(root.fork(k)));
      const labels = labelsToInt32(sample.labels);
      yield {
        raw: tf.tensor4d(sample.raw, [input[0]!, input[1]!, input[2]!, sample.rawShape[3]!]),
        labels: tf.tensor4d(labels, [output[0]!, output[1]!, output[2]!, 1], 'int32'),
        mask: tf.tensor4d(Float32Array.from(sample.mask), [output[0]!, output[1]!, output[2]!, 1]),
      };
    }
  } as unknown as () => Iterator<tf.TensorContainerObject>);
}

/**
 * Batches `{ xs, ys }` for `model.fitDataset`, interleaving the crops by `cropWeights`:
 * xs [b, z, y, x, c] normalized raw; ys [b, z', y', x', C + M] the target ⊕ its mask.
 */
export function trainingDataset(crops: readonly Crop[], options: TrainingDatasetOptions): TrainingDataset {
  // Checked once here; the batch makers, in this thread or in the workers, take the plan as given.
  const plan = planBatches(crops, options);
  const sources = batchSources(crops, plan, options);
  let setupPromise: Promise<TrainingSetup> | null = null;
  const setup = (): Promise<TrainingSetup> =>
    (setupPromise ??= sources.source().then(({ layout: { channels, targetChannels, maskChannels } }) => ({
      channels,
      targetChannels,
      maskChannels,
    })));
  const dataset = tf.data.generator(
    batchElements(sources.source, plan, options.reuseDisposed ?? false) as unknown as () => Iterator<TrainingElement>,
  );
  return Object.defineProperties(Object.assign(dataset, { setup, close: sources.close }), {
    workersRunning: { get: sources.running },
  }) as TrainingDataset;
}

/** A source of batches by index: the pool, or this thread. */
interface BatchSource {
  layout: ChannelLayout;
  prefetch: number;
  make(i: number): Promise<PoolBatch>;
  wait<T>(p: Promise<T>): Promise<T>;
}

/**
 * A dataset's batch source, made on first use: workers when asked for (default: one per core) and
 * possible (crops from openDataSplit, a built-in target), else a batch maker in this thread.
 * Closing stops the workers (their tables go with them) and gives this thread's tables back.
 */
function batchSources(
  crops: readonly Crop[],
  plan: BatchPlan,
  options: TrainingDatasetOptions,
): { source: () => Promise<BatchSource>; close: () => void; running: () => number } {
  const workersOption = options.workers;
  if (workersOption !== undefined && !(Number.isInteger(workersOption) && workersOption >= 0))
    throw new OptionsError(`workers must be a non-negative integer (0: in this thread), got ${workersOption}`);
  const idleMs = options.workerIdleMs ?? 2000;
  if (!(idleMs >= 0)) throw new OptionsError(`workerIdleMs must be a non-negative number, got ${idleMs}`);
  if (options.prefetch !== undefined && !(Number.isInteger(options.prefetch) && options.prefetch >= 0))
    throw new OptionsError(`prefetch must be a non-negative integer, got ${options.prefetch}`);

  const workerSpec = workersOption !== 0 && typeof plan.target === 'string' ? workerCrops(crops) : null;
  let pool: SamplePool | null = null;
  let poolPromise: Promise<SamplePool> | null = null;
  const getPool = (spec: NonNullable<typeof workerSpec>) =>
    // The platform's workers are loaded on demand (worker threads in Node, Web Workers in a page).
    (poolPromise ??= import('./workers/spawn.js').then((platform) => {
      const size = workersOption ?? platform.defaultWorkerCount();
      pool = new SamplePool({
        size,
        spawn: platform.spawnWorker,
        containers: spec.configs.map((c) => containerSpec(c, size)),
        crops: spec.crops,
        options: plan as WorkerBatchPlan, // its target is a built-in one's name (workerSpec)
        idleMs,
      });
      return pool;
    }));
  // In this thread: batch arrays given back once wasm has copied them into its heap (fresh memory
  // costs page faults and garbage collection); on other backends the tensors keep them.
  const spare = new BufferPool();
  let prepared: Promise<Setup> | null = null;
  let maker: Promise<BatchMaker> | null = null;
  const batchMaker = () => {
    prepared ??= prepare(crops, plan);
    maker ??= prepared.then((s) => new BatchMaker(s, plan, (n) => spare.take('float32', n) as Float32Array));
    return maker;
  };

  const source = async (): Promise<BatchSource> => {
    if (workerSpec) {
      const p = await getPool(workerSpec);
      return {
        layout: await p.layout(),
        prefetch: options.prefetch ?? Math.max(2, 3 * p.size),
        make: (i) => p.batch(i),
        wait: (w) => p.wait(w),
      };
    }
    const m = await batchMaker();
    const lend = ({ xs, ys }: BatchArrays): PoolBatch => ({
      xs,
      ys,
      lent: true,
      keep: () => undefined,
      release: () => {
        spare.give('float32', xs);
        spare.give('float32', ys);
      },
    });
    return {
      layout: m.layout,
      prefetch: options.prefetch ?? 2,
      make: (i) => m.make(i).then(lend),
      wait: (w) => w,
    };
  };
  const close = () => {
    pool?.close();
    void maker?.then((m) => m.releaseTables());
  };
  return { source, close, running: () => pool?.running ?? 0 };
}

/** The dataset's elements: batches made `prefetch` ahead, as tensors. */
function batchElements(
  source: () => Promise<BatchSource>,
  plan: BatchPlan,
  reuseDisposed: boolean,
): () => AsyncGenerator<TrainingElement> {
  const { batchSize } = plan;
  const { input, output } = plan.sampling;
  return async function* () {
    const { layout, prefetch, make, wait } = await source();
    const { channels, targetChannels: C, maskChannels: M } = layout;
    const queue: Promise<PoolBatch>[] = [];
    // reuseDisposed: batches handed out whose tensors may still be alive.
    const handedOut: { element: TrainingElement; batch: PoolBatch }[] = [];
    for (let next = 0; ; ) {
      if (reuseDisposed) releaseDisposed(handedOut);
      while (queue.length <= prefetch) {
        const p = make(next++);
        p.catch(() => undefined); // surfaced when awaited; avoid unhandled rejections meanwhile
        queue.push(p);
      }
      const batch = await wait(queue.shift()!);
      const element = {
        xs: tf.tensor5d(batch.xs, [batchSize, input[0]!, input[1]!, input[2]!, channels]),
        ys: tf.tensor5d(batch.ys, [batchSize, output[0]!, output[1]!, output[2]!, C + M]),
      };
      // Lent memory: wasm has copied it into its heap, so it can be given back now; other backends
      // keep the arrays (a worker's come back once they are collected).
      if (tf.getBackend() === 'wasm') batch.release();
      else {
        batch.keep();
        if (reuseDisposed && batch.lent) {
          handedOut.push({ element, batch });
          // Past that many, the oldest are left to the garbage collector.
          if (handedOut.length > MAX_HANDED_OUT) handedOut.shift();
        }
      }
      yield element;
    }
  };
}

/** Batches a reuseDisposed dataset watches for disposal. */
const MAX_HANDED_OUT = 16;

/**
 * Gives back (and forgets) the batches whose tensors were disposed with no other tensor left on
 * their data (a reshape or clone shares it).
 */
function releaseDisposed(handedOut: { element: TrainingElement; batch: PoolBatch }[]): void {
  for (let i = handedOut.length - 1; i >= 0; i--) {
    const { element, batch } = handedOut[i]!;
    if (!tensorDataReleased(element.xs) || !tensorDataReleased(element.ys)) continue;
    batch.release();
    handedOut.splice(i, 1);
  }
}

/** The containers and crop references a worker opens, or null when some crop cannot be opened again there. */
function workerCrops(crops: readonly Crop[]): { configs: DataConfig[]; crops: CropSpec[] } | null {
  const configs: DataConfig[] = [];
  const specs: CropSpec[] = [];
  for (const crop of crops) {
    if (!(crop instanceof ZarrCrop) || crop.config === null) return null;
    if (!configs.includes(crop.config)) configs.push(crop.config);
    specs.push({ container: configs.indexOf(crop.config), rawPath: crop.raw.path });
  }
  return { configs, crops: specs };
}
