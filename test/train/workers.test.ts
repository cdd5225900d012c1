/**
 * trainingDataset's worker pool (train/workers/): the same bytes for 0, 1 and 2 workers whatever
 * the prefetch depth or timing; a worker's error reaches the consumer as the same error class and
 * message; workers stop when idle, on close() and after fitDataset, and never keep the process
 * alive; the pool's protocol runs over plain structured-clone messages (an in-process port here).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as tf from '@tensorflow/tfjs';
import {
  DataConfig,
  DataFormatError,
  OptionsError,
  openDataSplit,
  roi,
  trainingDataset,
  type StoredArray,
  type TrainingDatasetOptions,
  type TrainingElement,
} from '../../src/index.js';
import { BatchMaker, prepare, type BatchOptions } from '../../src/train/batch.js';
import { BatchBuffers } from '../../src/train/workers/batch-buffers.js';
import { SamplePool, type PoolBatch, type WorkerPort } from '../../src/train/workers/pool.js';
import { containerSpec, type FromWorker, type ToWorker } from '../../src/train/workers/protocol.js';
import { sampleWorker } from '../../src/train/workers/sample-worker.js';
import { WorkerReader } from '../../src/train/workers/reader.js';
import { fixturePath, REPO_ROOT } from '../helpers/fixtures.js';

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  process.on('unhandledRejection', onUnhandled);
});
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no unhandled rejections');
});

async function take(ds: tf.data.Dataset<TrainingElement>, n: number, delay?: (i: number) => number): Promise<Buffer> {
  const it = await ds.iterator();
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    if (delay) await new Promise((r) => setTimeout(r, delay(i)));
    const { xs, ys } = (await it.next()).value as TrainingElement;
    parts.push(
      Buffer.from((xs.dataSync() as Float32Array).buffer),
      Buffer.from((ys.dataSync() as Float32Array).buffer),
    );
    tf.dispose([xs, ys]);
  }
  return Buffer.concat(parts);
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

const options: TrainingDatasetOptions = {
  inputShape: [4, 6, 6],
  outputShape: [2, 4, 4],
  batchSize: 3,
  seed: 7,
  minMasked: 0.25,
  cropWeights: 'size',
  augment: {
    mirror: true,
    transpose: true,
    intensity: { scale: [0.8, 1.2], shift: [-0.1, 0.1] },
    gamma: [0.7, 1.4],
  },
};

test('same seed → same bytes for 0, 1 and 2 workers, any prefetch or timing, every target', async () => {
  const split = await openDataSplit(fixturePath('crops.zarr'));
  const all = [...split.train, ...split.test]; // 4 crops, 3 voxel sizes, masks on two, 4 label dtypes
  const cases = [
    ['boundary', 1, 0],
    ['boundary', 2, 5],
    ['affinities', 2, 1],
  ] as const;
  for (const [kind, workers, prefetch] of cases) {
    const target = { target: kind };
    const reference = await take(trainingDataset(all, { ...options, ...target, workers: 0, prefetch: 0 }), 5);
    const jitter = (i: number) => [0, 9, 1, 0, 12][i]!;
    {
      const ds = trainingDataset(all, { ...options, ...target, workers, prefetch });
      assert.ok(
        reference.equals(await take(ds, 5, jitter)),
        `${target.target}: ${workers} workers, prefetch ${prefetch}`,
      );
      assert.ok(ds.workersRunning <= workers);
      ds.close();
      assert.equal(ds.workersRunning, 0);
    }
  }
});

test('a bad chunk read in a worker: the same DataFormatError, same message, as in this thread', async () => {
  const split = await openDataSplit(fixturePath('bad_chunk.zarr'));
  const crop = split.train[0]!;
  const whole = crop.raw.roi.shape.map((s, i) => s / crop.voxelSize[i]!);
  const o: TrainingDatasetOptions = { inputShape: whole, outputShape: [1, 1, 1], seed: 1 };
  const inThread = await errorOf(take(trainingDataset([crop], { ...o, workers: 0 }), 2));
  assert.ok(inThread instanceof DataFormatError, `${inThread}`);
  assert.match(inThread.message, /1\.0\.1/);
  const ds = trainingDataset([crop], { ...o, workers: 2 });
  const inWorker = await errorOf(take(ds, 2));
  assert.ok(inWorker instanceof DataFormatError, `got ${inWorker.name}: ${inWorker.message}`);
  assert.equal(inWorker.message, inThread.message);
  assert.equal((inWorker as DataFormatError).arrayPath, (inThread as DataFormatError).arrayPath);
  ds.close();
});

test('a bad option found in a worker (at its setup): the same OptionsError and message', async () => {
  const split = await openDataSplit(fixturePath('crops.zarr'));
  for (const bad of [
    { inputShape: [8, 8, 8], minMasked: 1 } as TrainingDatasetOptions, // no patch is that known
    { inputShape: [2, 2, 2], target: 'semantic', numClasses: 1 } as TrainingDatasetOptions, // labels ≥ 1
  ]) {
    const inThread = await errorOf(take(trainingDataset(split.train, { ...bad, workers: 0 }), 1));
    assert.ok(inThread instanceof OptionsError, `${inThread}`);
    const ds = trainingDataset(split.train, { ...bad, workers: 2 });
    const inWorker = await errorOf(take(ds, 1));
    assert.ok(inWorker instanceof OptionsError, `got ${inWorker.name}: ${inWorker.message}`);
    assert.equal(inWorker.message, inThread.message);
    ds.close();
  }
  // Bad options that need no data fail at once, before any worker starts.
  assert.throws(() => trainingDataset(split.train, { inputShape: [2, 2, 2], workers: -1 }), OptionsError);
  assert.throws(() => trainingDataset(split.train, { inputShape: [2, 2, 2], workers: 1.5 }), /workers/);
});

test('workers stop when idle, on close() and after fitDataset returns; a new iterator starts them again', async () => {
  const split = await openDataSplit(fixturePath('crops.zarr'));
  const crops = [split.train[0]!];
  const ds = trainingDataset(crops, { inputShape: [4, 4, 4], batchSize: 2, workers: 2, workerIdleMs: 100 });
  await take(ds, 2);
  assert.equal(ds.workersRunning, 2);
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(ds.workersRunning, 0, 'stopped after 100 ms idle');
  await take(ds, 1);
  assert.equal(ds.workersRunning, 2, 'started again');
  ds.close();
  assert.equal(ds.workersRunning, 0);

  const model = tf.sequential({
    layers: [tf.layers.conv3d({ inputShape: [4, 4, 4, 1], filters: 2, kernelSize: 1, padding: 'same' })],
  });
  model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const fit = trainingDataset(crops, { inputShape: [4, 4, 4], batchSize: 2, workers: 2, workerIdleMs: 100 });
  await model.fitDataset(fit, { epochs: 2, batchesPerEpoch: 3, verbose: 0 });
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(fit.workersRunning, 0, 'the workers ended after fitDataset returned');
  model.dispose();
});

test('a script that stops pulling batches and returns exits by itself (workers never keep it alive)', async () => {
  const script = `
    import { openDataSplit, trainingDataset } from ${JSON.stringify(path.join(REPO_ROOT, 'src/index.ts'))};
    const split = await openDataSplit(${JSON.stringify(path.join(REPO_ROOT, 'test/fixtures/crops.zarr'))});
    const ds = trainingDataset(split.train, { inputShape: [4, 4, 4], batchSize: 2, workers: 2, prefetch: 6, workerIdleMs: 60000 });
    const it = await ds.iterator();
    for (let i = 0; i < 2; i++) (await it.next()).value.xs.dispose();
    console.log('pulled', ds.workersRunning);
  `;
  const t = performance.now();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: REPO_ROOT,
      timeout: 30_000,
    },
  );
  assert.match(stdout, /pulled 2/);
  assert.ok(performance.now() - t < 30_000, 'exited without being killed');
});

test('the protocol is plain data: a pool over an in-process, structured-clone port gives the same bytes', async () => {
  const config = new DataConfig({ path: fixturePath('crops.zarr'), cacheBytes: 1000 });
  assert.equal(containerSpec(config, 4).cacheBytes, 250, 'each worker keeps its share of the cache cap');
  const split = await openDataSplit(config);
  const o = { ...options, workers: 0 };
  const reference = await take(trainingDataset(split.train, o), 3);
  const spawn = (): WorkerPort => {
    let toPool: (m: FromWorker) => void = () => undefined;
    const handle = sampleWorker((m, transfer) => {
      const copy = structuredClone(m, { transfer });
      setTimeout(() => toPool(copy), 0);
    });
    return {
      post: (m: ToWorker, transfer) => {
        const copy = structuredClone(m, { transfer });
        setTimeout(() => handle(copy), 0);
      },
      listen: (onMessage) => (toPool = onMessage),
      terminate: () => undefined,
      keepAlive: () => undefined,
    };
  };
  const { workers: _w, prefetch: _p, ...batchOptions } = o;
  const pool = new SamplePool({
    size: 2,
    spawn,
    containers: [containerSpec(config, 2)],
    crops: split.train.map((c) => ({ container: 0, rawPath: c.raw.path })),
    options: batchOptions as never,
    idleMs: 1000,
  });
  const layout = await pool.layout();
  const parts: Buffer[] = [];
  for (let i = 0; i < 3; i++) {
    const { xs, ys } = await pool.batch(i);
    parts.push(Buffer.from(xs.buffer), Buffer.from(ys.buffer));
  }
  assert.equal(layout.targetChannels + layout.maskChannels, 2);
  assert.ok(Buffer.concat(parts).equals(reference));
  pool.dispose();
});

test('WorkerReader: reads through the workers equal volume.read (dtypes, channels, edges); a bad chunk is the same error', async () => {
  for (const name of ['simple.zarr', 'channels.zarr', 'crops.zarr']) {
    const split = await openDataSplit(fixturePath(name));
    const reader = new WorkerReader(split, { workers: 2 });
    for (const crop of [...split.train, ...split.test]) {
      for (const volume of [crop.raw, crop.labels, crop.mask]) {
        if (!volume) continue;
        const vs = volume.voxelSize;
        const { offset, shape } = volume.roi;
        const rois = [
          volume.roi,
          roi(
            offset.map((o, i) => o - 2 * vs[i]!),
            shape.map((s, i) => s + 3 * vs[i]!),
          ), // beyond the array on both sides
          roi(
            offset.map((o, i) => o + vs[i]!),
            shape.map((s, i) => Math.max(vs[i]!, s - 3 * vs[i]!)),
          ),
        ];
        for (const r of rois) {
          const want: StoredArray = await volume.read(r);
          const got: StoredArray = await reader.read(volume, r);
          assert.equal(got.constructor, want.constructor);
          assert.ok(
            Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(
              Buffer.from(want.buffer, want.byteOffset, want.byteLength),
            ),
            `${name} ${volume.path} ${JSON.stringify(r)}`,
          );
        }
      }
    }
    reader.close();
  }
  const bad = await openDataSplit(fixturePath('bad_chunk.zarr'));
  const raw = bad.train[0]!.raw;
  const inThread = await errorOf(raw.read(raw.roi));
  const reader = new WorkerReader(bad, { workers: 2 });
  const inWorker = await errorOf(reader.read(raw, raw.roi));
  assert.ok(inWorker instanceof DataFormatError);
  assert.equal(inWorker.message, inThread.message);
  reader.close();
});

test('a worker that dies rejects what it had in hand (no hang), and the pool starts a new one', async () => {
  let spawned = 0;
  const spawn = (): WorkerPort => {
    spawned++;
    let exit: (e: Error | null) => void = () => undefined;
    let reply: (m: FromWorker) => void = () => undefined;
    return {
      post: (m: ToWorker) => {
        if (m.type === 'init')
          setTimeout(() => reply({ type: 'ready', channels: 1, targetChannels: 1, maskChannels: 1 }), 0);
        else setTimeout(() => exit(new Error('worker crashed: out of memory')), 0);
      },
      listen: (onMessage, onExit) => {
        reply = onMessage;
        exit = onExit;
      },
      terminate: () => undefined,
      keepAlive: () => undefined,
    };
  };
  const pool = new SamplePool({ size: 1, spawn, containers: [], crops: [], options: {} as never, idleMs: 1000 });
  await pool.layout();
  await assert.rejects(pool.batch(0), /worker crashed: out of memory/);
  await assert.rejects(pool.batch(1), /worker crashed/);
  assert.equal(spawned, 2, 'a dead worker is replaced on the next request');
  pool.dispose();
});

/** A full garbage collection, then the turns in which FinalizationRegistry callbacks run. */
async function collectGarbage(): Promise<void> {
  // In a later task: objects a WeakRef was asked about in this one are kept until it ends.
  await new Promise((r) => setImmediate(r));
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

test('lent batch memory is never overwritten while a tensor or an array refers to it (cpu and wasm, workers or not)', async () => {
  const split = await openDataSplit(fixturePath('crops.zarr'));
  const all = [...split.train, ...split.test];
  const n = 24; // more lent slots than the pool lets await collection (it copies past that)
  const reference = await take(trainingDataset(all, { ...options, workers: 0 }), 2 * n);
  const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  await import('@tensorflow/tfjs-backend-wasm');
  try {
    for (const [backend, workers] of [
      ['cpu', 1],
      ['wasm', 1],
      ['wasm', 0],
    ] as const) {
      await tf.setBackend(backend);
      const ds = trainingDataset(all, { ...options, workers, prefetch: 3 });
      const it = await ds.iterator();
      const held: TrainingElement[] = [];
      const arrays: Buffer[] = []; // what tensor.data() gave, kept after the tensors are disposed
      for (let i = 0; i < 2 * n; i++) {
        const e = (await it.next()).value as TrainingElement;
        if (i < n) held.push(e);
        else {
          arrays.push(bytes((await e.xs.data()) as Float32Array), bytes((await e.ys.data()) as Float32Array));
          tf.dispose([e.xs, e.ys]);
        }
        await collectGarbage(); // collected slots go back to the worker and are overwritten
      }
      const got = [
        ...held.flatMap((e) => [bytes(e.xs.dataSync() as Float32Array), bytes(e.ys.dataSync() as Float32Array)]),
        ...arrays,
      ];
      assert.ok(Buffer.concat(got).equals(reference), `${backend}, ${workers} workers`);
      tf.dispose(held);
      ds.close();
    }
  } finally {
    await tf.setBackend('cpu');
  }
});

test('reuseDisposed: a batch goes back once its tensors are disposed (no copies), never while a tensor holds its data; the same bytes', async () => {
  const split = await openDataSplit(fixturePath('crops.zarr'));
  const all = [...split.train, ...split.test];
  const n = 24;
  const reference = await take(trainingDataset(all, { ...options, workers: 0 }), n);
  const copy = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array).slice().buffer);
  for (const workers of [0, 1]) {
    const it = await trainingDataset(all, { ...options, workers, prefetch: 3, reuseDisposed: true }).iterator();
    const parts: Buffer[] = [];
    const arrays = new Set<ArrayBufferLike>();
    let lent = 0;
    let held: TrainingElement | null = null;
    let reshaped: tf.Tensor | null = null;
    const kept: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const e = (await it.next()).value as TrainingElement;
      parts.push(copy(e.xs), copy(e.ys));
      const buffer = (e.xs.dataSync() as Float32Array).buffer; // cpu: the batch's own memory
      arrays.add(buffer);
      if (buffer instanceof SharedArrayBuffer) lent++;
      if (i === 2) {
        held = e; // not disposed: its memory stays the consumer's
        kept.push(copy(e.xs), copy(e.ys));
      } else if (i === 3) {
        reshaped = e.ys.reshape([-1]); // shares ys's data after ys is disposed
        kept.push(copy(reshaped));
        tf.dispose([e.xs, e.ys]);
      } else tf.dispose([e.xs, e.ys]);
    }
    assert.ok(Buffer.concat(parts).equals(reference), `${workers} workers: the same bytes`);
    assert.ok(copy(held!.xs).equals(kept[0]!) && copy(held!.ys).equals(kept[1]!), 'a held batch is intact');
    assert.ok(copy(reshaped!).equals(kept[2]!), 'a tensor sharing a disposed batch tensor’s data is intact');
    if (workers === 0) assert.ok(arrays.size < n / 2, `in this thread the same arrays again (${arrays.size})`);
    else assert.equal(lent, n, 'every batch lent: none had to be copied');
    tf.dispose([held!.xs, held!.ys, reshaped!]);
  }
});

test('lent batch slots go back to their worker when released or once collected, never while referenced', async () => {
  const config = new DataConfig({ path: fixturePath('crops.zarr') });
  const split = await openDataSplit(config);
  const recycled: number[] = [];
  const spawn = (): WorkerPort => {
    let toPool: (m: FromWorker) => void = () => undefined;
    const handle = sampleWorker((m) => setTimeout(() => toPool(structuredClone(m)), 0));
    return {
      post: (m: ToWorker) => {
        if (m.type === 'recycle') recycled.push(...m.slots);
        const copy = structuredClone(m);
        setTimeout(() => handle(copy), 0);
      },
      listen: (onMessage) => (toPool = onMessage),
      terminate: () => undefined,
      keepAlive: () => undefined,
    };
  };
  const { workers: _w, prefetch: _p, ...batchOptions } = options;
  const pool = new SamplePool({
    size: 1,
    spawn,
    containers: [containerSpec(config, 1)],
    crops: split.train.map((c) => ({ container: 0, rawPath: c.raw.path })),
    options: batchOptions as never,
    idleMs: 1000,
  });
  const released = await pool.batch(0);
  assert.ok(released.lent && released.xs.buffer instanceof SharedArrayBuffer);
  const before = Buffer.from(released.xs.slice().buffer);
  released.release();
  released.release(); // once only
  assert.equal(recycled.length, 2, 'both slots, once');
  // The worker hands the released memory out again: batch 1 is written into it.
  const again = await pool.batch(1);
  const shared = Buffer.from(released.xs.buffer as unknown as ArrayBuffer);
  assert.ok(!shared.equals(before) && shared.equals(Buffer.from(again.xs.buffer as unknown as ArrayBuffer)));
  let dropped: unknown = await pool.batch(2);
  let kept: PoolBatch | null = await pool.batch(3);
  dropped = null;
  await collectGarbage();
  assert.deepEqual(recycled.length, 4, "the dropped batch's slots came back after collection, the kept one's did not");
  assert.ok(kept.lent);
  // Kept by consumers (tensors that hold their arrays): past 8 slots awaiting collection, batches
  // that arrive are copies, whose slots go back at once. (In a function of its own, so that no
  // reference to the kept batches outlives it in this frame.)
  const before5 = await (async () => {
    const keptBatches = [kept!];
    for (let i = 4; i < 7; i++) keptBatches.push(await pool.batch(i));
    for (const b of keptBatches) b.keep();
    assert.ok(keptBatches.every((b) => b.lent && b.xs.buffer instanceof SharedArrayBuffer));
    const before = recycled.length;
    const fifth = await pool.batch(7);
    assert.ok(!fifth.lent && fifth.xs.buffer instanceof ArrayBuffer);
    assert.equal(recycled.length, before + 2, "the copied batch's slots went back");
    return before;
  })();
  kept = null;
  await collectGarbage();
  assert.equal(recycled.length, before5 + 2 + 8, 'the kept batches came back once collected');
  assert.ok((await pool.batch(8)).lent, 'and batches are lent again');
  pool.dispose();
  void dropped;
});

test('batch buffers: a recycled slot is handed out again; contents need not be zero (every target writes all of ys)', async () => {
  const buffers = new BatchBuffers();
  const a = buffers.take(16);
  const slot = buffers.slot(a.buffer)!;
  assert.equal(buffers.lentCount, 1);
  buffers.recycle([slot, 12345]); // an unknown slot is ignored
  assert.equal(buffers.lentCount, 0);
  const b = buffers.take(16);
  assert.equal(b.buffer, a.buffer, 'the same memory again');
  assert.notEqual(buffers.slot(b.buffer), slot, 'under a new slot number');
  // Batches written into memory full of NaN equal batches written into fresh memory, for every
  // built-in target and for the step-by-step path (elastic).
  const split = await openDataSplit(fixturePath('crops.zarr'));
  const all = [...split.train, ...split.test];
  const poisoned = (length: number) => new Float32Array(length).fill(Number.NaN);
  const cases: BatchOptions[] = [
    { ...options, target: 'boundary' },
    { ...options, target: 'affinities' },
    { ...options, target: 'semantic', numClasses: 256 },
    { ...options, augment: { ...options.augment, elastic: { controlPointSpacing: 4, jitterSigma: 1 } } },
  ];
  for (const o of cases) {
    const crops = o.target === 'semantic' ? all.filter((c) => c.labels.dtype === 'uint8') : all;
    const setup = await prepare(crops, o);
    const fresh = new BatchMaker(setup, o);
    const reused = new BatchMaker(setup, o, poisoned);
    for (let i = 0; i < 2; i++) {
      const [f, r] = [await fresh.make(i), await reused.make(i)];
      assert.deepEqual(Buffer.from(r.xs.buffer), Buffer.from(f.xs.buffer), `${o.target} xs`);
      assert.deepEqual(Buffer.from(r.ys.buffer), Buffer.from(f.ys.buffer), `${o.target} ys`);
    }
  }
});
