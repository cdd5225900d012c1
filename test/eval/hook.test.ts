/**
 * ValidationHook: inside real fitDataset runs (every epoch, every N batches) and driven directly
 * with models whose scores we control (improvement only, ties, failed saves, resume).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ValidationHook,
  boundaryPostProcessor,
  customPostProcessor,
  bestByCrop,
  loadCheckpoint,
  openDataSplit,
  predictCrop,
  readCheckpointInfo,
  readScores,
  trainingDataset,
  variationOfInformation,
  type Crop,
  type Evaluation,
  type ScoreRow,
} from '../../src/index.js';
import { writeDemoContainer } from '../../examples/synthetic/write-container.js';
import { twoConvNet } from '../helpers/models.js';

let root: string;
let train: Crop[];
let testCrops: Crop[]; // crop_03 (16×24×24, mask slab), crop_04 (10×24×24)

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  root = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-hook-'));
  const dir = path.join(root, 'demo.zarr');
  await writeDemoContainer(dir, { small: true });
  const split = await openDataSplit(dir);
  train = split.train;
  testCrops = split.test;
  assert.deepEqual(
    testCrops.map((c) => c.name),
    ['crop_03', 'crop_04'],
  );
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const THRESHOLDS = [0.3, 0.5, 0.7];
const KEYS = (crop: string) => [`${crop}_voi`, `${crop}_voi_split`, `${crop}_voi_merge`];

/** Input 12³ → output 8³ ('valid'), boundary target; seeded so two calls are the same model. */
function tinyNet(seed: number): tf.LayersModel {
  return twoConvNet({ inputShape: [12, 12, 12], filters: 4, seeds: [seed, seed + 2], learningRate: 0.05 });
}

function dataset() {
  return trainingDataset(train, {
    inputShape: [12, 12, 12],
    outputShape: [8, 8, 8],
    batchSize: 2,
    seed: 7,
    target: 'boundary',
  });
}

async function weightsOf(model: tf.LayersModel): Promise<Float32Array[]> {
  return Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
}

/** Records, after each epoch (placed after the hook), the weights and the test crops' predictions. */
class Recorder extends tf.Callback {
  readonly weights = new Map<number, Float32Array[]>();
  readonly predictions = new Map<number, Map<string, Float32Array>>();
  override async onEpochEnd(epoch: number): Promise<void> {
    const model = this.model as unknown as tf.LayersModel;
    this.weights.set(epoch, await weightsOf(model));
    const p = new Map<string, Float32Array>();
    for (const c of testCrops) p.set(c.name, (await predictCrop(model, c)).data);
    this.predictions.set(epoch, p);
  }
}

function key(r: ScoreRow): string {
  return `${r.epoch}|${r.batch}|${r.crop}|${JSON.stringify(r.parameters)}`;
}

async function bestDirs(runDir: string): Promise<string[]> {
  return (await readdir(path.join(runDir, 'best'))).sort();
}

async function assertCheckpointFiles(dir: string): Promise<void> {
  for (const f of ['model.json', 'weights.bin', 'checkpoint.json']) {
    assert.ok((await stat(path.join(dir, f))).isFile(), `${dir}/${f}`);
  }
}

test('every epoch inside fitDataset: History keys, complete scores.jsonl, best checkpoints at the best epochs', async () => {
  const runDir = path.join(root, 'run-epochs');
  const model = tinyNet(1);
  const hook = new ValidationHook({
    crops: testCrops,
    runDir,
    postProcessor: boundaryPostProcessor({ thresholds: THRESHOLDS }),
  });
  const recorder = new Recorder();
  // 6 epochs: with these seeds the best VOI improves at some epochs and not at others (printed
  // below); the checks hold whatever the curve.
  const epochs = 6;
  const t0 = performance.now();
  const history = await model.fitDataset(dataset(), {
    epochs,
    batchesPerEpoch: 3,
    verbose: 0,
    callbacks: [hook, recorder],
  });
  const seconds = (performance.now() - t0) / 1000;

  // History: every crop's three keys, one value per epoch, equal to the hook's best scores.
  assert.deepEqual(history.epoch, [0, 1, 2, 3, 4, 5]);
  assert.equal(hook.evaluations.length, epochs);
  for (const c of testCrops) {
    for (const k of KEYS(c.name)) {
      assert.ok(k in history.history, `history has ${k} (keys: ${Object.keys(history.history).join(', ')})`);
      assert.equal(history.history[k]!.length, epochs, k);
    }
    for (let e = 0; e < epochs; e++) {
      const best = hook.evaluations[e]!.best.find((s) => s.crop === c.name)!;
      assert.equal(history.history[`${c.name}_voi`]![e], best.voi);
      assert.equal(history.history[`${c.name}_voi_split`]![e], best.voiSplit);
      assert.equal(history.history[`${c.name}_voi_merge`]![e], best.voiMerge);
    }
  }
  assert.equal(history.history['loss']!.length, epochs);

  // scores.jsonl: one row per epoch × crop × parameter set, nothing else.
  const rows = await readScores(runDir);
  assert.equal(rows.length, epochs * testCrops.length * THRESHOLDS.length);
  const seen = new Set(rows.map((r) => `${r.epoch}|${r.crop}|${r.parameters['threshold']}`));
  for (let e = 0; e < epochs; e++) {
    for (const c of testCrops)
      for (const t of THRESHOLDS) assert.ok(seen.has(`${e}|${c.name}|${t}`), `row ${e} ${c.name} ${t}`);
    // per epoch and crop, the History value is the minimum over the sweep
    for (const c of testCrops) {
      const vois = rows.filter((r) => r.epoch === e && r.crop === c.name).map((r) => r.voi);
      assert.equal(Math.min(...vois), history.history[`${c.name}_voi`]![e]);
    }
  }
  for (const r of rows) {
    assert.ok(Number.isFinite(r.voi) && r.voiSplit >= 0 && r.voiMerge >= 0);
    assert.ok(Math.abs(r.voi - (r.voiSplit + r.voiMerge)) < 1e-9);
    assert.equal(typeof r.time, 'string');
  }

  // One best checkpoint per crop, at the epoch of the lowest VOI in scores.jsonl (ties: earliest).
  assert.deepEqual(await bestDirs(runDir), ['crop_03', 'crop_04']);
  const bests = bestByCrop(rows);
  for (const c of testCrops) {
    const dir = path.join(runDir, 'best', c.name);
    await assertCheckpointFiles(dir);
    const info = (await readCheckpointInfo(dir)) as ScoreRow | null;
    const row = bests.get(c.name)!;
    assert.ok(info);
    assert.equal(info.epoch, row.epoch, `${c.name}: checkpoint epoch ${info.epoch}, lowest VOI at epoch ${row.epoch}`);
    assert.equal(info.voi, row.voi);
    assert.equal(info.voiSplit, row.voiSplit);
    assert.equal(info.voiMerge, row.voiMerge);
    assert.deepEqual(info.parameters, row.parameters);
    assert.equal(info.crop, c.name);
    assert.equal(info.postProcessor, 'boundary');
    assert.deepEqual(hook.best.get(c.name)!.epoch, row.epoch);

    // replaced exactly when the epoch's VOI beat every earlier one
    let record = Infinity;
    for (const ev of hook.evaluations) {
      const voi = ev.best.find((s) => s.crop === c.name)!.voi;
      assert.equal(ev.improved.includes(c.name), voi < record, `${c.name} epoch ${ev.epoch}: improved?`);
      record = Math.min(record, voi);
    }

    // The checkpoint is the model of that epoch: same weights, same prediction.
    const loaded = await loadCheckpoint(dir);
    const w = await weightsOf(loaded);
    const expected = recorder.weights.get(info.epoch)!;
    assert.equal(w.length, expected.length);
    w.forEach((x, i) => {
      assert.deepEqual(x, expected[i], `${c.name} weight ${i}`);
    });
    const p = await predictCrop(loaded, c);
    assert.deepEqual(p.data, recorder.predictions.get(info.epoch)!.get(c.name));
    loaded.dispose();
  }
  // no leftovers of the atomic saves
  assert.deepEqual(await bestDirs(runDir), ['crop_03', 'crop_04']);
  const curve = hook.evaluations
    .map((e) => e.best.map((s) => s.voi.toFixed(3)).join('/') + (e.improved.length ? '*' : ''))
    .join(' ');
  console.log(
    `# ${epochs} epochs with evaluation: ${seconds.toFixed(2)} s; VOI crop_03/crop_04 per epoch (* improved): ${curve}`,
  );
});

test('evaluation does not disturb training and leaks no tensors', async () => {
  const withHook = tinyNet(3);
  const without = tinyNet(3);
  const hook = new ValidationHook({
    crops: testCrops,
    runDir: path.join(root, 'run-disturb'),
    postProcessor: boundaryPostProcessor({ thresholds: THRESHOLDS }),
  });
  await withHook.fitDataset(dataset(), { epochs: 2, batchesPerEpoch: 3, verbose: 0, callbacks: [hook] });
  await without.fitDataset(dataset(), { epochs: 2, batchesPerEpoch: 3, verbose: 0 });
  assert.equal(hook.evaluations.length, 2);
  const a = await weightsOf(withHook);
  const b = await weightsOf(without);
  a.forEach((x, i) => {
    assert.deepEqual(x, b[i], `weight ${i} differs after training with the hook`);
  });

  // evaluate() alone: with checkpoint saves (a fresh run directory) and without improvement.
  const hook2 = new ValidationHook({
    crops: testCrops,
    runDir: path.join(root, 'run-leak'),
    postProcessor: boundaryPostProcessor({ thresholds: THRESHOLDS }),
  });
  for (const epoch of [0, 1]) {
    const n = tf.memory().numTensors;
    const ev = await hook2.evaluate(withHook, epoch);
    assert.equal(tf.memory().numTensors, n, `tensors leaked by evaluate() (epoch ${epoch})`);
    assert.deepEqual(ev.improved, epoch === 0 ? ['crop_03', 'crop_04'] : []);
  }
});

test('everyBatches inside fitDataset: evaluations counted across epochs, epoch logs in History', async () => {
  const runDir = path.join(root, 'run-batches');
  const model = tinyNet(5);
  const hook = new ValidationHook({
    crops: testCrops,
    runDir,
    everyBatches: 2,
    postProcessor: boundaryPostProcessor({ thresholds: THRESHOLDS }),
  });
  const batchLogs: Record<string, unknown>[] = [];
  const spy = new (class extends tf.Callback {
    override async onBatchEnd(_b: number, logs?: tf.Logs): Promise<void> {
      batchLogs.push({ ...logs });
    }
  })();
  const history = await model.fitDataset(dataset(), {
    epochs: 2,
    batchesPerEpoch: 3,
    verbose: 0,
    callbacks: [hook, spy],
  });
  // batches 1..6: evaluated after batches 2 (epoch 0), 4 and 6 (epoch 1)
  assert.deepEqual(
    hook.evaluations.map((e) => [e.epoch, e.batch]),
    [
      [0, 2],
      [1, 4],
      [1, 6],
    ],
  );
  assert.deepEqual(
    batchLogs.map((l) => 'crop_03_voi' in l),
    [false, true, false, true, false, true],
  );
  assert.equal(batchLogs[1]!['crop_04_voi'], hook.evaluations[0]!.best[1]!.voi);
  // History gets each epoch's latest evaluation
  for (const c of testCrops) {
    for (const k of KEYS(c.name)) assert.equal(history.history[k]?.length, 2, k);
    const latest = [hook.evaluations[0]!, hook.evaluations[2]!].map((e) => e.best.find((s) => s.crop === c.name)!.voi);
    assert.deepEqual(history.history[`${c.name}_voi`], latest);
  }
  const rows = await readScores(runDir);
  assert.equal(rows.length, 3 * testCrops.length * THRESHOLDS.length);
  assert.equal(new Set(rows.map(key)).size, rows.length);
  assert.deepEqual([...new Set(rows.map((r) => `${r.epoch}/${r.batch}`))], ['0/2', '1/4', '1/6']);
  const bests = bestByCrop(rows);
  for (const c of testCrops) {
    const info = (await readCheckpointInfo(path.join(runDir, 'best', c.name))) as ScoreRow;
    const row = bests.get(c.name)!;
    assert.deepEqual([info.epoch, info.batch, info.voi], [row.epoch, row.batch, row.voi]);
  }
});

test('every: 2 evaluates after every second epoch only', async () => {
  const runDir = path.join(root, 'run-every2');
  const model = tinyNet(6);
  const hook = new ValidationHook({
    crops: testCrops.slice(1),
    runDir,
    every: 2,
    postProcessor: boundaryPostProcessor({ thresholds: [0.5] }),
  });
  const history = await model.fitDataset(dataset(), { epochs: 4, batchesPerEpoch: 1, verbose: 0, callbacks: [hook] });
  assert.deepEqual(
    hook.evaluations.map((e) => e.epoch),
    [1, 3],
  );
  assert.equal(history.history['crop_04_voi']?.length, 2);
  assert.deepEqual(
    (await readScores(runDir)).map((r) => r.epoch),
    [1, 3],
  );
});

// ---------------------------------------------------------------------------------------------
// Controlled scores: a model that predicts a constant v, and a post-processor that turns v (and
// its parameter k) into the ground truth coarsened by merging ids: the higher v + k/4, the finer,
// so the lower the VOI. Every score is known in advance.

/** Predicts the constant `v` everywhere (1×1×1 conv, zero kernel, bias v). */
function constantNet(v: number): tf.LayersModel {
  const model = tf.sequential();
  model.add(
    tf.layers.conv3d({
      inputShape: [8, 8, 8, 1],
      filters: 1,
      kernelSize: 1,
      kernelInitializer: 'zeros',
      biasInitializer: tf.initializers.constant({ value: v }),
    }),
  );
  return model;
}

async function groundTruth(): Promise<Map<string, Uint32Array>> {
  const gt = new Map<string, Uint32Array>();
  for (const c of testCrops) {
    const shape = c.labels.roi.shape.map((s, i) => s / c.voxelSize[i]!);
    gt.set(shape.join('x'), (await c.labels.read(c.labels.roi)) as Uint32Array);
  }
  return gt;
}

/** Level 0: the ground truth; level L: ids merged by floor(id / 2^L). */
function coarsen(gt: Uint32Array, level: number): Uint32Array {
  return gt.map((id) => Math.floor(id / 2 ** level));
}

function levelOf(v: number, k: number): number {
  return Math.max(0, Math.round((1 - Math.min(1, v + k / 4)) * 4));
}

test('controlled scores: replaced only on improvement, failed saves keep the previous best, resume', async () => {
  const runDir = path.join(root, 'run-controlled');
  const gt = await groundTruth();
  const post = customPostProcessor('coarsen', [{ k: 0 }, { k: 1 }], (prediction, shape, params) =>
    coarsen(gt.get(shape.slice(0, 3).join('x'))!, levelOf(prediction[0]!, params['k']!)),
  );
  // The VOI of each level, per crop (merge only: coarsening never splits).
  const expectedVoi = new Map<string, number[]>();
  for (const c of testCrops) {
    const shape = c.labels.roi.shape.map((s, i) => s / c.voxelSize[i]!);
    const g = gt.get(shape.join('x'))!;
    const mask = await c.readMask(c.labels.roi);
    const vois = [0, 1, 2, 3, 4].map((l) => variationOfInformation(g, coarsen(g, l), { mask }).voi);
    // levels 0..3 are what the bests below go through; 4 (everything merged) may equal 3
    for (let l = 1; l < vois.length; l++) {
      assert.ok(
        l < 4 ? vois[l]! > vois[l - 1]! : vois[l]! >= vois[l - 1]!,
        `${c.name}: level ${l} must be worse than ${l - 1} (${vois})`,
      );
    }
    expectedVoi.set(c.name, vois);
  }
  let failSaves = 0;
  const saved: string[] = [];
  const options = {
    crops: testCrops,
    runDir,
    postProcessor: post,
    saveOptions: {
      beforeSwap: () => {
        if (failSaves > 0) {
          failSaves--;
          throw new Error('simulated crash before the swap');
        }
      },
    },
    onEvaluation: (e: Evaluation) => void saved.push(`${e.epoch}:${e.improved.join(',')}`),
  };
  const hook = new ValidationHook(options);
  const info = async (crop: string) => (await readCheckpointInfo(path.join(runDir, 'best', crop))) as ScoreRow;
  /** The constant the checkpoint of `crop` predicts. */
  const checkpointValue = async (crop: string) => {
    const m = await loadCheckpoint(path.join(runDir, 'best', crop));
    const y = m.predict(tf.ones([1, 8, 8, 8, 1])) as tf.Tensor;
    const v = (await y.data())[0]!;
    tf.dispose([y]);
    m.dispose();
    return v;
  };
  const models = new Map([0, 0.25, 0.5, 0.75].map((v) => [v, constantNet(v)]));
  const m = (v: number) => models.get(v)!;

  // epoch 0, v 0.25: best k = 1 → level 2 (k = 0: level 3); the first scores are bests
  let ev = await hook.evaluate(m(0.25), 0);
  assert.deepEqual(ev.improved, ['crop_03', 'crop_04']);
  for (const s of ev.best) {
    assert.deepEqual(s.parameters, { k: 1 });
    assert.equal(s.voi, expectedVoi.get(s.crop)![levelOf(0.25, 1)]);
    assert.equal(s.voiSplit, 0);
  }
  // epoch 1, v 0: worse → nothing replaced
  ev = await hook.evaluate(m(0), 1);
  assert.deepEqual(ev.improved, []);
  for (const c of testCrops) {
    assert.equal((await info(c.name)).epoch, 0);
    assert.equal(await checkpointValue(c.name), 0.25);
  }
  // epoch 2, v 0.5: better → replaced
  ev = await hook.evaluate(m(0.5), 2);
  assert.deepEqual(ev.improved, ['crop_03', 'crop_04']);
  // epoch 3, v 0.5 again: a tie is not an improvement
  ev = await hook.evaluate(m(0.5), 3);
  assert.deepEqual(ev.improved, []);
  for (const c of testCrops) {
    const i = await info(c.name);
    assert.equal(i.epoch, 2);
    assert.equal(i.voi, expectedVoi.get(c.name)![levelOf(0.5, 1)]);
    assert.deepEqual(i.parameters, { k: 1 });
    assert.equal(await checkpointValue(c.name), 0.5);
  }

  // epoch 4, v 0.75 (perfect with k 1): crop_03's save crashes before the swap, crop_04's works
  failSaves = 1;
  await assert.rejects(hook.evaluate(m(0.75), 4), /simulated crash/);
  const failed = hook.evaluations.at(-1)!;
  assert.equal(failed.epoch, 4);
  assert.deepEqual(failed.failedSaves, ['crop_03']);
  assert.deepEqual(failed.improved, ['crop_04']);
  // crop_03: the previous best, whole and loadable; the hook still measures against it
  assert.equal((await info('crop_03')).epoch, 2);
  assert.equal(await checkpointValue('crop_03'), 0.5);
  await assertCheckpointFiles(path.join(runDir, 'best', 'crop_03'));
  assert.equal(hook.best.get('crop_03')!.epoch, 2);
  assert.equal((await info('crop_04')).epoch, 4);
  assert.equal(await checkpointValue('crop_04'), 0.75);
  assert.deepEqual(await bestDirs(runDir), ['crop_03', 'crop_04'], 'no temporary directories left');
  // every score of the failed evaluation is in scores.jsonl
  let rows = await readScores(runDir);
  assert.equal(rows.length, 5 * 2 * 2);
  assert.equal(rows.filter((r) => r.epoch === 4).length, 4);

  // Resume: a new hook on the same run directory starts from the stored bests.
  const resumed = new ValidationHook(options);
  await resumed.restore();
  assert.equal(resumed.best.get('crop_03')!.epoch, 2);
  assert.equal(resumed.best.get('crop_04')!.epoch, 4);
  // epoch 5, v 0.5: ties crop_03's best, worse than crop_04's → nothing replaced
  ev = await resumed.evaluate(m(0.5), 5);
  assert.deepEqual(ev.improved, []);
  // epoch 6, v 0.75: better for crop_03 (retrying the failed save), a tie for crop_04
  ev = await resumed.evaluate(m(0.75), 6);
  assert.deepEqual(ev.improved, ['crop_03']);
  assert.equal((await info('crop_03')).epoch, 6);
  assert.equal((await info('crop_03')).voi, 0);
  assert.equal(await checkpointValue('crop_03'), 0.75);
  assert.equal((await info('crop_04')).epoch, 4);

  rows = await readScores(runDir);
  assert.equal(rows.length, 7 * 2 * 2);
  // crop_04's checkpoint is the first lowest VOI of the run; crop_03's is not (its epoch-4 save failed)
  const bests = bestByCrop(rows);
  assert.equal(bests.get('crop_04')!.epoch, 4);
  assert.equal(bests.get('crop_03')!.epoch, 4);
  assert.deepEqual(saved, ['0:crop_03,crop_04', '1:', '2:crop_03,crop_04', '3:', '4:crop_04', '5:', '6:crop_03']);
  for (const model of models.values()) model.dispose();
});

test('a hook needs crops with distinct names, a run directory and positive intervals', () => {
  assert.throws(() => new ValidationHook({ crops: [], runDir: root }));
  assert.throws(() => new ValidationHook({ crops: testCrops, runDir: '' }));
  assert.throws(() => new ValidationHook({ crops: [testCrops[0]!, testCrops[0]!], runDir: root }));
  assert.throws(() => new ValidationHook({ crops: testCrops, runDir: root, every: 0 }));
  assert.throws(() => new ValidationHook({ crops: testCrops, runDir: root, everyBatches: 1.5 }));
});
