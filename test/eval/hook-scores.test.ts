/**
 * ValidationHook's scores beyond VOI and its criteria: ARand and CREMI per crop and epoch in the
 * logs (each at its best parameters) and the scores file; one best checkpoint per crop for the
 * primary criterion in best/<crop>/ and for each keepBestBy criterion in best-<criterion>/<crop>/,
 * each the best of the whole run by its criterion (lower, or higher for dice …), restored on
 * resume; per-class scores from the post-processor's class masks; bad options named.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ValidationHook,
  bestByCrop,
  customPostProcessor,
  openDataSplit,
  readCheckpointInfo,
  readScores,
  type Crop,
  type PostProcessor,
  type ScoreRow,
} from '../../src/index.js';
import { binaryScores } from '../../src/eval/binary.js';
import { adaptedRandError, cremiScore, segmentationScores } from '../../src/eval/voi.js';
import { writeDemoContainer } from '../../examples/synthetic/write-container.js';

let root: string;
let crops: Crop[];

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  root = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-hook-scores-'));
  const dir = path.join(root, 'demo.zarr');
  await writeDemoContainer(dir, { small: true });
  crops = (await openDataSplit(dir)).test;
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A model whose every output voxel is `v`. */
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

/**
 * Segmentations chosen by the model's value v and the parameter k: the ground truth merged
 * (ids / 2^m) or split along x (id · 2 + (x odd)), so that VOI and ARand rank them differently.
 */
async function variants(): Promise<Map<string, Uint32Array[]>> {
  const out = new Map<string, Uint32Array[]>();
  for (const c of crops) {
    const shape = c.labels.roi.shape.map((s, i) => s / c.voxelSize[i]!);
    const gt = (await c.labels.read(c.labels.roi)) as Uint32Array;
    const X = shape[2]!;
    out.set(shape.join('x'), [
      gt.map((id) => Math.floor(id / 2)),
      gt.map((id, i) => id * 2 + ((i % X) % 2)),
      gt.map((id) => Math.floor(id / 8)),
      gt.map((id, i) => id * 4 + ((i % X) % 4)),
      gt.map((id) => Math.floor(id / 4)),
    ]);
  }
  return out;
}

test('ARand and CREMI logged and written per crop and epoch; a best checkpoint per criterion, resumed', async () => {
  const runDir = path.join(root, 'run-criteria');
  const segs = await variants();
  const pick = (prediction: Float32Array, shape: number[], k: number) =>
    segs.get(shape.slice(0, 3).join('x'))![(Math.round(prediction[0]! * 10) + k) % 5]!;
  const post = customPostProcessor('variants', [{ k: 0 }, { k: 1 }], (p, shape, params) =>
    pick(p, shape, params['k']!),
  );
  const options = {
    crops,
    runDir,
    postProcessor: post,
    scores: ['voi', 'arand', 'cremi'] as const,
    keepBestBy: ['arand', 'cremi', 'voiMerge'],
  };
  const hook = new ValidationHook({ ...options, scores: [...options.scores] });
  assert.deepEqual(hook.criteria, ['voi', 'arand', 'cremi', 'voiMerge']);
  const models = [0, 0.1, 0.2, 0.3].map(constantNet);
  for (let epoch = 0; epoch < 4; epoch++) {
    const logs: tf.Logs = {};
    const ev = await hook.evaluate(models[epoch]!, epoch);
    (hook as unknown as { writeLogs(e: typeof ev, l: tf.Logs): void }).writeLogs(ev, logs);
    for (const c of crops) {
      const rows = ev.all.filter((r) => r.crop === c.name);
      const mask = await c.readMask(c.labels.roi);
      const gt = await c.labels.read(c.labels.roi);
      for (const r of rows) {
        const seg = pick(
          new Float32Array([epoch / 10]),
          [...c.labels.roi.shape.map((s, i) => s / c.voxelSize[i]!), 1],
          r.parameters['k']!,
        );
        const want = adaptedRandError(gt as Uint32Array, seg, { mask });
        assert.equal(r.arand, want.are);
        assert.equal(r.arandPrecision, want.precision);
        assert.equal(r.cremi, cremiScore(segmentationScores(gt as Uint32Array, seg, { mask })));
      }
      assert.equal(logs[`${c.name}_arand`], Math.min(...rows.map((r) => r.arand!)));
      assert.equal(logs[`${c.name}_cremi`], Math.min(...rows.map((r) => r.cremi!)));
      assert.equal(logs[`${c.name}_voi`], Math.min(...rows.map((r) => r.voi)));
    }
    assert.deepEqual(Object.keys(ev.bestBy).sort(), ['arand', 'cremi', 'voi', 'voiMerge']);
  }
  const rows = await readScores(runDir);
  assert.equal(rows.length, 4 * 2 * crops.length);
  let differ = 0;
  for (const criterion of hook.criteria) {
    const bests = bestByCrop(rows, criterion);
    for (const c of crops) {
      const dir = path.join(runDir, criterion === 'voi' ? 'best' : `best-${criterion}`, c.name);
      const info = (await readCheckpointInfo(dir)) as ScoreRow & { criterion: string };
      const want = bests.get(c.name)!;
      assert.deepEqual([info.epoch, info.parameters, info.criterion], [want.epoch, want.parameters, criterion], dir);
      if (
        criterion !== 'voi' &&
        (want.epoch !== bestByCrop(rows).get(c.name)!.epoch ||
          want.parameters['k'] !== bestByCrop(rows).get(c.name)!.parameters['k'])
      )
        differ++;
    }
  }
  assert.ok(differ > 0, 'some criterion keeps another checkpoint than VOI');
  // Resume: every criterion's bests come back from the run directory.
  const resumed = new ValidationHook({ ...options, scores: [...options.scores] });
  await resumed.restore();
  for (const criterion of hook.criteria)
    for (const c of crops)
      assert.equal(resumed.bestBy.get(criterion)!.get(c.name)!.epoch, hook.bestBy.get(criterion)!.get(c.name)!.epoch);
  for (const m of models) m.dispose();
});

test('per-class scores from the class masks; dice kept by the higher value', async () => {
  const runDir = path.join(root, 'run-classes');
  const crop = crops[0]!;
  const shape = crop.labels.roi.shape.map((s, i) => s / crop.voxelSize[i]!);
  const gt = (await crop.labels.read(crop.labels.roi)) as Uint32Array;
  const mask = await crop.readMask(crop.labels.roi);
  // Two classes: even and odd ids. The prediction shifts each class by k voxels along x.
  const shifted = (k: number, odd: number) =>
    Uint8Array.from(gt, (_, i) => {
      const x = i % shape[2]!;
      const id = x >= k ? gt[i - k]! : 0;
      return id !== 0 && id % 2 === odd ? 1 : 0;
    });
  const post: PostProcessor = {
    name: 'classes',
    parameters: [{ k: 0 }, { k: 2 }],
    apply: () => gt,
    classMasks: (_p, _s, params) => [shifted(params['k']!, 0), shifted(params['k']!, 1)],
  };
  const even = [...new Set(gt)].filter((id) => id !== 0 && id % 2 === 0);
  const odd = [...new Set(gt)].filter((id) => id % 2 === 1);
  const hook = new ValidationHook({
    crops: [crop],
    runDir,
    postProcessor: post,
    scores: ['dice', 'hausdorff95'],
    classes: [
      { name: 'even', ids: even },
      { name: 'odd', ids: odd },
    ],
    criterion: 'dice',
    keepBestBy: ['hausdorff95_odd'],
  });
  const ev = await hook.evaluate(constantNet(0.5), 0);
  for (const r of ev.all) {
    const k = r.parameters['k']!;
    const wantEven = binaryScores(
      Uint8Array.from(gt, (id) => (id !== 0 && id % 2 === 0 ? 1 : 0)),
      shifted(k, 0),
      { shape, voxelSize: crop.voxelSize, mask },
    );
    assert.equal(r.classes!['even']!.dice, wantEven.dice);
    assert.equal(r.classes!['even']!.hausdorff95, wantEven.hausdorff95);
    assert.equal(r.dice, (r.classes!['even']!.dice! + r.classes!['odd']!.dice!) / 2);
  }
  assert.deepEqual(ev.best[0]!.parameters, { k: 0 }, 'the unshifted prediction has the higher dice');
  assert.equal(ev.bestBy['hausdorff95_odd']![0]!.parameters['k'], 0);
  const info = (await readCheckpointInfo(path.join(runDir, 'best-hausdorff95_odd', crop.name))) as ScoreRow;
  assert.equal(info.classes!['odd']!.hausdorff95, 0);
});

test('scores and criteria are checked when the hook is made', () => {
  const runDir = path.join(root, 'bad');
  assert.throws(() => new ValidationHook({ crops, runDir, scores: ['vio' as 'voi'] }), /unknown score "vio"/);
  assert.throws(() => new ValidationHook({ crops, runDir, keepBestBy: ['arnd'] }), /unknown score criterion "arnd"/);
  assert.throws(() => new ValidationHook({ crops, runDir, scores: ['dice'] }), /per class: give the hook its classes/);
  assert.throws(
    () => new ValidationHook({ crops, runDir, scores: ['dice'], classes: [{ name: 'fg', ids: null }] }),
    /post-processor boundary gives no class masks/,
  );
  assert.throws(
    () =>
      new ValidationHook({
        crops,
        runDir,
        postProcessor: customPostProcessor('x', [{}], () => new Uint32Array(0)),
        scores: ['f1WithTolerance'],
        classes: [{ name: 'fg', ids: null }],
      }),
    /gives no class masks|need tolDistance/,
  );
});
