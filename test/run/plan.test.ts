/**
 * Defaults planned from the data (run/plan.ts, run/plan-data.ts): pooling, kernels, input shape and
 * affinity neighbourhood from the voxel size and the labels, only for what the config leaves out,
 * kept in the effective config, and the run directory's stored values when resuming. The data is
 * a small synthetic serial-section stack (4×4×50 nm, labels per section) written as the real-data
 * example writes its container.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { resolveRunConfig } from '../../src/run/config.js';
import { planInputShape, planKernels, planPooling, planRun, type DataFacts } from '../../src/run/plan.js';
import { dataFacts, planRunConfig } from '../../src/run/plan-data.js';
import { openRunData } from '../../src/run/setup.js';
import { prepareRunDir } from '../../src/run/train.js';
import { pngStackToZarr, writeSyntheticPngStack } from '../../examples/serial-em/stack.js';
import { writeDemoContainer } from '../../examples/synthetic/write-container.js';

let root = '';
let stack = ''; // 8 sections of 96×96 at [50, 4, 4], per-section ids
let demo = ''; // the demo container: 8 nm and 16×8×8 nm crops, 3D ids

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'tfjs-zarr-plan-'));
  const png = path.join(root, 'png');
  await writeSyntheticPngStack(png, { shape: [8, 96, 96], voxelSize: [50, 4, 4] });
  stack = path.join(root, 'stack.zarr');
  await pngStackToZarr({ images: `${png}/image`, labels: `${png}/label`, out: stack, voxelSize: [50, 4, 4] });
  demo = path.join(root, 'demo.zarr');
  await writeDemoContainer(demo, { small: true });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const facts = (voxelSize: number[], maxInput: number[], zContinuity: number | null): DataFacts => ({
  voxelSize,
  units: 'nm',
  maxInput,
  zContinuity,
});

test('pooling: an axis is pooled while its voxel size is below twice the finest (nnU-Net)', () => {
  assert.deepEqual(planPooling([8, 8, 8], 2), [
    [2, 2, 2],
    [2, 2, 2],
  ]);
  // 4×4×50: in-plane until y and x come within 2× of z (at 32 nm), then all three.
  assert.deepEqual(planPooling([50, 4, 4], 4), [
    [1, 2, 2],
    [1, 2, 2],
    [1, 2, 2],
    [2, 2, 2],
  ]);
  assert.deepEqual(planPooling([16, 8, 8], 2), [
    [1, 2, 2],
    [2, 2, 2],
  ]);
  // A given input: an axis too short to stay ≥ 4 voxels (or odd) is not pooled.
  assert.deepEqual(planPooling([8, 8, 8], 2, [6, 32, 36]), [
    [1, 2, 2],
    [1, 2, 2],
  ]);
  assert.deepEqual(planKernels([50, 4, 4], planPooling([50, 4, 4], 2)), [
    [1, 3, 3],
    [1, 3, 3],
    [3, 3, 3],
  ]);
  assert.deepEqual(planKernels([8, 8, 8], planPooling([8, 8, 8], 2)), [
    [3, 3, 3],
    [3, 3, 3],
    [3, 3, 3],
  ]);
});

test('input shape: about the same world extent per axis, within the budget and the crops', () => {
  const aniso = { downsampleFactors: planPooling([50, 4, 4], 2) };
  assert.deepEqual(planInputShape([50, 4, 4], aniso, [15, 512, 256]), [6, 76, 76]);
  assert.deepEqual(planInputShape([8, 8, 8], {}, [100, 100, 100]), [32, 32, 32]);
  // Crops of 4 sections, 48 voxels wide: the extent stops growing before an axis leaves them.
  assert.deepEqual(planInputShape([50, 4, 4], aniso, [4, 96, 48]), [4, 48, 48]);
  assert.ok([6, 76, 76].reduce((a, b) => a * b) <= 16 * 48 * 48);
});

test('planRun fills in only what the config leaves out, each with a reason', () => {
  const isbi = facts([50, 4, 4], [15, 512, 256], 0);
  const plan = planRun({ data: 'x', target: 'affinities' }, isbi, 'affinities');
  assert.deepEqual(
    plan.choices.map((c) => c.key),
    ['model.downsampleFactors', 'model.kernelSizes', 'inputShape', 'target.offsets'],
  );
  assert.ok(plan.choices.every((c) => c.reason.length > 20));
  assert.deepEqual(plan.json['target'], {
    kind: 'affinities',
    offsets: [
      [0, -1, 0],
      [0, 0, -1],
    ],
  });
  const config = resolveRunConfig(plan.json);
  assert.deepEqual(config.inputShape, [6, 76, 76]);
  assert.deepEqual(config.model.kernelSizes[0], [1, 3, 3]);
  // Given values stay; the plan fits them.
  const given = planRun(
    {
      data: 'x',
      inputShape: [8, 64, 64],
      model: { kernelSizes: [3, 3, 3] },
      target: { kind: 'affinities', offsets: [[-1, 0, 0]] },
    },
    isbi,
    'affinities',
  );
  assert.deepEqual(
    given.choices.map((c) => c.key),
    ['model.downsampleFactors'],
  );
  assert.deepEqual(given.json['inputShape'], [8, 64, 64]);
  // Objects continuing across thick sections (3D labels, as CREMI's): z stays in the neighbourhood.
  const cremi = planRun({ data: 'x', target: 'affinities' }, facts([40, 4, 4], [100, 1000, 1000], 0.9), 'affinities');
  assert.ok(!cremi.choices.some((c) => c.key === 'target.offsets'));
  assert.match(cremi.notes.join('\n'), /continue across the thick sections/);
  // Boundary target on per-section labels: a note, nothing changed.
  assert.match(planRun({ data: 'x' }, isbi, 'boundary').notes.join('\n'), /nearly every voxel is a boundary/);
  // Isotropic data: the same U-Net as before planning existed.
  const iso = resolveRunConfig(
    planRun({ data: 'x', model: { depth: 2 } }, facts([8, 8, 8], [99, 99, 99], 1), 'boundary').json,
  );
  assert.deepEqual(iso.model.downsampleFactors, resolveRunConfig({ data: 'x' }).model.downsampleFactors);
  assert.deepEqual(iso.model.kernelSizes, resolveRunConfig({ data: 'x' }).model.kernelSizes);
});

test('facts from the data: voxel size, crop sizes and whether objects continue across sections', async () => {
  const split = await openRunData(resolveRunConfig({ data: stack }));
  const f = await dataFacts(split);
  assert.deepEqual(f.voxelSize, [50, 4, 4]);
  assert.deepEqual(f.maxInput, [4, 96, 48]);
  assert.equal(f.zContinuity, 0, 'per-section ids never continue');
  const d = await dataFacts(await openRunData(resolveRunConfig({ data: demo })));
  assert.deepEqual(d.voxelSize, [8, 8, 8], 'the lower median of 8 nm and 16×8×8 nm crops');
  assert.ok(d.zContinuity !== null && d.zContinuity > 0.5, `3D cells continue: ${d.zContinuity}`);
});

test('tfjs-zarr train planning: the effective config holds the plan; a resumed run keeps its stored values', async () => {
  const runDir = path.join(root, 'run');
  const json = { data: stack, runDir, target: 'affinities' };
  const { config, plan } = await planRunConfig(json, { source: 'run.json' });
  assert.deepEqual(config.model.downsampleFactors, [
    [1, 2, 2],
    [1, 2, 2],
  ]);
  assert.deepEqual(config.inputShape, plan.choices.find((c) => c.key === 'inputShape')!.value);
  assert.deepEqual(config.target, {
    kind: 'affinities',
    offsets: [
      [0, -1, 0],
      [0, 0, -1],
    ],
  });
  await prepareRunDir(config);
  const stored = JSON.parse(await readFile(path.join(runDir, 'config.json'), 'utf8'));
  assert.deepEqual(stored.model.kernelSizes, config.model.kernelSizes);
  assert.deepEqual(stored.inputShape, config.inputShape);
  // A run made before planning (isotropic pooling, its own input shape) resumes as it was made.
  const oldRun = path.join(root, 'old-run');
  const old = resolveRunConfig({ ...json, runDir: oldRun, inputShape: [4, 16, 16] });
  await prepareRunDir(old);
  const resumed = await planRunConfig({ data: stack, runDir: oldRun, target: 'affinities' }, {});
  assert.deepEqual(resumed.config.model.downsampleFactors, old.model.downsampleFactors);
  assert.deepEqual(resumed.config.inputShape, [4, 16, 16]);
  assert.match(resumed.plan.choices[0]!.reason, /as stored in the run directory/);
  await prepareRunDir(resumed.config); // no conflict
});
