/**
 * Training in a page. On each backend a page has here (wasm; WebGL and WebGPU on SwiftShader),
 * the U-Net's and PatchConv3D's gradients through the masked loss match the cpu backend's; a
 * small U-Net trains with fitDataset on batches from a Web Worker, the ValidationHook keeping
 * scores and the best checkpoint per test crop in IndexedDB (whole or not at all); the best
 * checkpoint loads back with loadCheckpoint and as downloaded files; useFastestBackend says which
 * backend it took and why.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ensureDemoContainer } from '../../examples/synthetic/write-container.js';
import { type LibraryPage, openLibraryPage } from '../helpers/library-page.js';

declare const tz: typeof import('../../src/browser.js');
declare const tf: typeof import('@tensorflow/tfjs');

let dataDir: string;
let lib: LibraryPage;

before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-browser-train-'));
  await ensureDemoContainer(path.join(dataDir, 'demo.zarr'), { small: true, layout: 'train-test' });
  lib = await openLibraryPage({ webgpu: true, mounts: { '/data/': dataDir } });
});

after(async () => {
  await lib?.close();
  await rm(dataDir, { recursive: true, force: true });
});

test('useFastestBackend: WebGPU, WebGL (not in software), wasm, cpu, saying which and why', async () => {
  const report = await lib.page.evaluate(async () => {
    const first = await tz.useFastestBackend({ quiet: true });
    const firstWhy = tz.describeBackend();
    const gpu = await tz.useFastestBackend({ prefer: 'webgpu', quiet: true });
    const gpuWhy = tz.describeBackend();
    const wasm = await tz.useFastestBackend({ prefer: 'wasm', quiet: true });
    return { first, firstWhy, gpu, gpuWhy, wasm, wasmWhy: tz.describeBackend(), isolated: crossOriginIsolated };
  });
  // Here both GPU APIs run on SwiftShader, a software renderer: wasm is the fastest.
  assert.equal(report.first, 'wasm');
  assert.match(report.firstWhy, /webgpu: WebGPU runs in software here \(swiftshader\): wasm is faster/);
  assert.match(report.firstWhy, /webgl: WebGL renders in software here \(.*SwiftShader.*\): wasm is faster/);
  assert.equal(report.gpu, 'webgpu', 'asked for, WebGPU runs in software too');
  assert.match(report.gpuWhy, /^webgpu \(maxStorageBufferBindingSize \d+ MiB; chosen by prefer: 'webgpu'\)$/);
  assert.equal(report.wasm, 'wasm');
  assert.equal(report.isolated, true);
  // Cross-origin isolated: the threaded build (tfjs picks its thread count from the cores; the
  // kernels take every core).
  assert.match(
    report.wasmWhy,
    /^wasm \(SIMD; threaded build, \d+ threads?(; tfjs-zarr kernels on \d+ threads)?; chosen by prefer: 'wasm'\)$/,
  );
});

test('gradients of the U-Net (masked loss) and of PatchConv3D match cpu on wasm, webgl and webgpu', async () => {
  const results = await lib.page.evaluate(async () => {
    const gradients = async (backend: string) => {
      await tf.setBackend(backend);
      const out: Record<string, number[]> = {};
      // A U-Net with 'valid' padding and an upsampled output, through the masked loss.
      const unet = tz.unet3d({ inputShape: [12, 12, 12, 1], outputChannels: 2, baseFilters: 2, depth: 1, seed: 3 });
      const [, oz, oy, ox] = unet.outputs[0]!.shape as number[];
      // Inputs made in JavaScript: a GPU's sin of large arguments is not the cpu's.
      const x = tf.tensor(
        Float32Array.from({ length: 2 * 12 ** 3 }, (_, i) => Math.sin(0.37 * i)),
        [2, 12, 12, 12, 1],
      );
      const yTrue = tf.tidy(() => {
        const target = tf.greater(tf.randomUniform([2, oz!, oy!, ox!, 2], 0, 1, 'float32', 5), 0.5).toFloat();
        const mask = tf.greater(tf.randomUniform([2, oz!, oy!, ox!, 1], 0, 1, 'float32', 6), 0.3).toFloat();
        return tf.concat([target, mask], 4);
      });
      const loss = tz.maskedLoss('binaryCrossentropy');
      const unetGrads = tf.variableGrads(() => loss(yTrue, unet.apply(x) as import('@tensorflow/tfjs').Tensor));
      for (const [name, g] of Object.entries(unetGrads.grads))
        out[`unet ${name.replace(/_\d+$/, '')}`] = [...(await g.data())];
      out['unet loss'] = [...(await unetGrads.value.data())];
      // PatchConv3D alone: two inputs (a concatenation), 'valid', a 3³ kernel.
      const conv = new tz.PatchConv3D({ filters: 3, kernelSize: 3, padding: 'valid', seed: 4 });
      const a = tf.randomNormal([1, 6, 7, 8, 2], 0, 1, 'float32', 7);
      const b = tf.randomNormal([1, 6, 7, 8, 1], 0, 1, 'float32', 8);
      const convGrads = tf.grads((p: import('@tensorflow/tfjs').Tensor, q: import('@tensorflow/tfjs').Tensor) =>
        tf.sum(tf.square(conv.apply([p, q]) as import('@tensorflow/tfjs').Tensor)),
      )([a, b]);
      out['conv dA'] = [...(await convGrads[0]!.data())];
      out['conv dB'] = [...(await convGrads[1]!.data())];
      tf.dispose([x, yTrue, a, b, unetGrads.value, ...Object.values(unetGrads.grads), ...convGrads]);
      unet.dispose();
      return out;
    };
    await tz.useFastestBackend({ prefer: 'webgpu', quiet: true }); // loads the webgpu backend
    await tz.useFastestBackend({ prefer: 'wasm', quiet: true });
    const reference = await gradients('cpu');
    const worst: Record<string, { relative: number; where: string }> = {};
    for (const backend of ['wasm', 'webgl', 'webgpu']) {
      const got = await gradients(backend);
      let relative = 0;
      let where = '';
      for (const [name, ref] of Object.entries(reference)) {
        const scale = Math.max(1e-6, ...ref.map(Math.abs));
        for (let i = 0; i < ref.length; i++) {
          const r = Math.abs(got[name]![i]! - ref[i]!) / scale;
          if (r > relative) [relative, where] = [r, `${name}[${i}]`];
        }
      }
      worst[backend] = { relative, where };
    }
    return worst;
  });
  for (const [backend, { relative, where }] of Object.entries(results)) {
    assert.ok(relative < 1e-3, `${backend}: gradients differ from cpu by ${relative} of their scale at ${where}`);
  }
});

test('a tensor past WebGPU maxStorageBufferBindingSize is an error naming the limit', async () => {
  const message = await lib.page.evaluate(async () => {
    await tz.useFastestBackend({ prefer: 'webgpu', quiet: true });
    // A limit this device does not have stands in for a small GPU's.
    const conv = new tz.PatchConv3D({ filters: 64, kernelSize: 1 });
    const limit = (tf.backend() as unknown as { device: { limits: { maxStorageBufferBindingSize: number } } }).device
      .limits;
    const x = tf.zeros([1, 64, 64, 64, 1]);
    Object.defineProperty(limit, 'maxStorageBufferBindingSize', { value: 2 ** 20, configurable: true });
    try {
      conv.apply(x);
      return 'no error';
    } catch (e) {
      return (e as Error).message;
    } finally {
      delete (limit as { maxStorageBufferBindingSize?: number }).maxStorageBufferBindingSize;
      x.dispose();
    }
  });
  assert.match(
    message,
    /PatchConv3D \w+: a tensor of shape \[1, 64, 64, 64, 64\] takes 64 MiB, more than WebGPU's maxStorageBufferBindingSize on this device \(1 MiB\)/,
  );
});

for (const backend of ['wasm', 'webgl'] as const) {
  test(`${backend}: fitDataset with a Web Worker, the hook keeping scores and best checkpoints in IndexedDB`, async () => {
    const result = await lib.page.evaluate(
      async ({ backend }) => {
        await tz.useFastestBackend({ prefer: backend, quiet: true });
        const split = await tz.openDataSplit(`${location.origin}/data/demo.zarr`);
        const model = tz.unet3d({ inputShape: [8, 16, 16, 1], outputChannels: 1, baseFilters: 4, depth: 1, seed: 1 });
        model.compile({ optimizer: tf.train.adam(3e-3), loss: tz.maskedLoss('binaryCrossentropy') });
        const runDir = `indexeddb://browser-test-${backend}`;
        // Weights at each save, to compare with what loads back.
        const saved = new Map<string, Float32Array[]>();
        const hook = new tz.ValidationHook({
          crops: split.test,
          runDir,
          onEvaluation: async (e) => {
            for (const crop of e.improved)
              saved.set(crop, await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array)));
          },
        });
        const dataset = tz.trainingDataset(split.train, {
          inputShape: [8, 16, 16],
          batchSize: 2,
          seed: 1,
          target: 'boundary',
          workers: 1,
        });
        let workersRan = 0;
        const watch = new tf.CustomCallback({
          onBatchEnd: async () => {
            workersRan = Math.max(workersRan, dataset.workersRunning);
          },
        });
        const t0 = performance.now();
        const history = await model.fitDataset(dataset, {
          epochs: 2,
          batchesPerEpoch: 3,
          callbacks: [hook, watch],
          verbose: 0,
        });
        const seconds = (performance.now() - t0) / 1000;
        dataset.close();

        const crop = split.test[0]!.name;
        const checkpoint = `${runDir}/best/${crop}`;
        const rows = await tz.readScores(runDir);
        const best = tz.bestByCrop(rows).get(crop)!;
        const info = await tz.readCheckpointInfo<{ epoch: number; voi: number }>(checkpoint);
        const same = async (m: import('@tensorflow/tfjs').LayersModel) => {
          const want = saved.get(crop)!;
          const got = await Promise.all(m.getWeights().map(async (w) => (await w.data()) as Float32Array));
          return got.length === want.length && got.every((g, i) => g.every((v, j) => v === want[i]![j]));
        };
        const loaded = await tz.loadCheckpoint(checkpoint);
        const files = await tz.downloadCheckpoint(checkpoint, { name: crop, download: false });
        const fromFiles = await tf.loadLayersModel(tf.io.browserFiles([files[0]!, files[1]!]));
        return {
          backend: tf.getBackend(),
          describe: tz.describeBackend(),
          seconds,
          workersRan,
          loss: history.history['loss'] as number[],
          historyVoi: history.history[`${crop}_voi`] as number[],
          rows: rows.length,
          thresholds: new Set(rows.map((r) => JSON.stringify(r.parameters))).size,
          bestEpoch: best.epoch,
          info: info && { epoch: info.epoch, voi: info.voi },
          bestVoi: best.voi,
          loadedSame: await same(loaded),
          files: files.map((f) => f.name),
          filesSame: await same(fromFiles),
        };
      },
      { backend },
    );
    console.log(
      `${backend}: ${result.describe}; 6 batches + 2 evaluations in ${result.seconds.toFixed(1)} s, loss ${result.loss.map((l) => l.toFixed(3)).join(' → ')}, VOI ${result.historyVoi.map((v) => v.toFixed(3)).join(' → ')}`,
    );
    assert.equal(result.backend, backend);
    assert.equal(result.workersRan, 1, 'batches came from a Web Worker');
    assert.equal(result.loss.length, 2);
    assert.ok(result.loss.every(Number.isFinite), `finite losses ${result.loss}`);
    assert.equal(result.rows, 2 * result.thresholds, 'every threshold of both evaluations in the scores');
    assert.deepEqual(result.info, { epoch: result.bestEpoch, voi: result.bestVoi }, 'checkpoint.json = best row');
    assert.ok(result.loadedSame, 'loadCheckpoint gives the weights that were saved');
    const crop = 'test'; // the train-test layout's test crop is named after its group
    assert.deepEqual(result.files, [`${crop}.json`, `${crop}.weights.bin`, `${crop}.checkpoint.json`]);
    assert.ok(result.filesSame, 'the downloaded files load back to the same weights');
    assert.deepEqual(lib.errors, []);
  });
}

test('IndexedDB checkpoints are written whole or not at all; a page refuses a file runDir', async () => {
  const result = await lib.page.evaluate(async () => {
    await tz.useFastestBackend({ prefer: 'wasm', quiet: true });
    const split = await tz.openDataSplit(`${location.origin}/data/demo.zarr`);
    const crop = split.test[0]!;
    const gt = (await crop.labels.read(crop.labels.roi)) as Uint32Array;
    // Scores by construction: one segment for everything (poor), then the labels themselves (perfect).
    const onePiece = tz.customPostProcessor('one', [], (p) => new Uint32Array(p.length).fill(1));
    const perfect = tz.customPostProcessor('perfect', [], () => Uint32Array.from(gt));
    const model = tz.unet3d({ inputShape: [8, 16, 16, 1], outputChannels: 1, baseFilters: 2, depth: 1, seed: 2 });
    const runDir = 'indexeddb://browser-test-atomic';
    const checkpoint = `${runDir}/best/${crop.name}`;
    await new tz.ValidationHook({ crops: [crop], runDir, postProcessor: onePiece }).evaluate(model, 0);
    const first = await tz.readCheckpointInfo<{ epoch: number; postProcessor: string }>(checkpoint);
    const crashing = new tz.ValidationHook({
      crops: [crop],
      runDir,
      postProcessor: perfect,
      saveOptions: {
        beforeSwap: () => {
          throw new Error('simulated crash mid-save');
        },
      },
    });
    const crash = await crashing.evaluate(model, 1).then(
      () => 'saved',
      (e: Error) => e.message,
    );
    const afterCrash = await tz.readCheckpointInfo<{ epoch: number; postProcessor: string }>(checkpoint);
    const loads = await tz.loadCheckpoint(checkpoint).then(
      () => true,
      () => false,
    );
    await new tz.ValidationHook({ crops: [crop], runDir, postProcessor: perfect }).evaluate(model, 2);
    const last = await tz.readCheckpointInfo<{ epoch: number; postProcessor: string }>(checkpoint);
    const scores = (await tz.readScores(runDir)).map((r) => [r.epoch, r.postProcessor]);
    const fileRunDir = (() => {
      try {
        new tz.ValidationHook({ crops: [crop], runDir: 'runs/exp1' });
        return 'accepted';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    return { first, crash, afterCrash, loads, last, scores, fileRunDir };
  });
  assert.deepEqual(result.first, { ...result.first, epoch: 0, postProcessor: 'one' });
  assert.equal(result.crash, 'simulated crash mid-save');
  assert.deepEqual(result.afterCrash, result.first, 'the crash left the previous checkpoint');
  assert.ok(result.loads);
  assert.equal(result.last?.epoch, 2);
  assert.deepEqual(result.scores, [
    [0, 'one'],
    [1, 'perfect'],
    [2, 'perfect'],
  ]);
  assert.match(result.fileRunDir, /a page keeps runs in IndexedDB: give a location such as 'indexeddb:\/\/exp1'/);
});
