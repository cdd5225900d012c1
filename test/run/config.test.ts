/**
 * The run config of `tfjs-zarr train`: every bad key, type and combination is refused before
 * anything runs, with a message naming the key path; defaults fill the rest; flags override.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, closest } from '../../src/run/check.js';
import { RUN_DEFAULTS, resolveRunConfig, resumeConflicts } from '../../src/run/config.js';
import { checkConfigAgainstData } from '../../src/run/setup.js';
import type { DataSplit } from '../../src/zarr/split.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const base = { data: 'data.zarr' };

function refused(config: unknown, key: string, message: RegExp, flags = {}) {
  assert.throws(
    () => resolveRunConfig(config, { source: 'run.json', cwd: '/work', flags }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `a ConfigError, got ${e}`);
      assert.equal(e.key, key);
      assert.ok(e.message.startsWith(`run.json: ${key || '(top level)'}: `), e.message);
      assert.match(e.message, message);
      return true;
    },
  );
}

describe('run config: unknown keys', () => {
  test('at the top level, with the closest known key', () => {
    refused({ ...base, batchsize: 4 }, 'batchsize', /unknown key \(did you mean batchSize\?\)/);
    refused({ ...base, epoch: 4 }, 'epoch', /did you mean epochs\?/);
    refused({ ...base, learningRate: 1e-3 }, 'learningRate', /unknown key; known keys: name, runDir, data/);
  });
  test('nested', () => {
    refused({ ...base, model: { baseFilter: 4 } }, 'model.baseFilter', /did you mean baseFilters\?/);
    refused({ ...base, data: { path: 'x.zarr', rawname: 'em' } }, 'data.rawname', /did you mean rawName\?/);
    refused(
      { ...base, optimizer: { lr: 1 } },
      'optimizer.lr',
      /unknown key; known keys of optimizer: name, learningRate/,
    );
    refused({ ...base, augment: { mirorr: true } }, 'augment.mirorr', /did you mean mirror\?/);
    refused(
      { ...base, augment: { intensity: { scales: [1, 2] } } },
      'augment.intensity.scales',
      /did you mean scale\?/,
    );
    refused({ ...base, validation: { every: 2 } }, 'validation.every', /known keys of validation: interval/);
    refused({ ...base, target: { kind: 'affinities', neighborhood: [] } }, 'target.neighborhood', /unknown key/);
  });
  test('closest suggests only likely typos', () => {
    assert.equal(closest('minmasked', ['minMasked', 'seed']), 'minMasked');
    assert.equal(closest('zzzz', ['minMasked', 'seed']), null);
  });
});

describe('run config: wrong types and values', () => {
  test('each names its key', () => {
    refused({ ...base, batchSize: '4' }, 'batchSize', /must be a number, got the string "4"/);
    refused({ ...base, batchSize: 0 }, 'batchSize', /at least 1, got 0/);
    refused({ ...base, epochs: 2.5 }, 'epochs', /must be an integer, got 2.5/);
    refused({ ...base, inputShape: [16, 48] }, 'inputShape', /must have 3 entries, got 2/);
    refused({ ...base, inputShape: [16, 48, -48] }, 'inputShape[2]', /at least 1, got -48/);
    refused({ ...base, minMasked: 1.5 }, 'minMasked', /at most 1, got 1.5/);
    refused(
      { ...base, model: { padding: 'valid ' } },
      'model.padding',
      /one of 'same', 'valid', got the string "valid "/,
    );
    refused({ ...base, model: [] }, 'model', /must be an object, got an array/);
    refused({ ...base, optimizer: { name: 'adma' } }, 'optimizer.name', /one of 'adam', 'sgd'.*did you mean 'adam'/);
    refused({ ...base, optimizer: { learningRate: 0 } }, 'optimizer.learningRate', /greater than 0/);
    refused({ ...base, loss: 'bce' }, 'loss', /one of 'binaryCrossentropy'/);
    refused({ ...base, cropWeights: 'sized' }, 'cropWeights', /did you mean 'size'/);
    refused({ ...base, cropWeights: [1, 'x'] }, 'cropWeights[1]', /must be a number/);
    refused({ ...base, augment: { gamma: [2, 1] } }, 'augment.gamma', /low ≤ high, got \[2, 1\]/);
    refused({ ...base, augment: { mirror: 'yes' } }, 'augment.mirror', /true or false/);
    refused(
      { ...base, target: 'boundaries' },
      'target',
      /one of 'boundary', 'affinities', 'distance', 'semantic'.*did you mean 'boundary'/,
    );
    refused(
      {
        ...base,
        target: {
          kind: 'affinities',
          offsets: [
            [0, 0, 1],
            [0, 1],
          ],
        },
      },
      'target.offsets[1]',
      /3 entries/,
    );
    refused(
      { ...base, target: { kind: 'affinities', offsets: [[0, 0, 0]] } },
      'target.offsets[0]',
      /links every voxel/,
    );
    refused({ ...base, validation: { thresholds: [0.5, 2] } }, 'validation.thresholds[1]', /at most 1/);
    refused({ ...base, backend: 'gpu' }, 'backend', /one of 'auto', 'tensorflow', 'wasm', 'cpu'/);
    refused({}, 'data.path', /is missing: give the container/);
    refused(null, 'data.path', /is missing/);
    refused([], '', /must be an object, got an array/);
  });
  test('flags are named as flags', () => {
    refused(base, '--epochs', /must be an integer/, { epochs: 1.5 });
    refused(base, '--backend', /one of 'auto'/, { backend: 'gpu' });
    refused(base, '--target', /did you mean 'semantic'/, { target: 'semantics' });
  });
});

describe('run config: impossible combinations', () => {
  test('model output channels that do not fit the target', () => {
    refused(
      { ...base, model: { outputChannels: 2 } },
      'model.outputChannels',
      /2 channels do not fit target 'boundary', which needs 1/,
    );
    refused(
      {
        ...base,
        target: {
          kind: 'affinities',
          offsets: [
            [1, 0, 0],
            [0, 1, 0],
          ],
        },
        model: { outputChannels: 3 },
      },
      'model.outputChannels',
      /needs 2 \(one per offset: 2 offsets\)/,
    );
    refused(
      { ...base, target: { kind: 'semantic', classes: ['bg', 'cell', 'nucleus'] }, model: { outputChannels: 2 } },
      'model.outputChannels',
      /needs 3/,
    );
  });
  test('targets and their parameters', () => {
    refused({ ...base, target: 'semantic' }, 'target.classes', /needs its classes/);
    refused({ ...base, target: { kind: 'semantic', classes: ['only'] } }, 'target.classes', /at least 2 classes/);
    refused(
      { ...base, target: { kind: 'boundary', offsets: [[1, 0, 0]] } },
      'target.offsets',
      /is for target 'affinities'/,
    );
    refused(base, 'target.classes', /needs its classes/, { target: 'semantic' });
  });
  test('losses and activations', () => {
    refused({ ...base, loss: 'categoricalCrossentropy' }, 'loss', /needs target 'semantic'/);
    refused(
      { ...base, model: { finalActivation: 'softmax' } },
      'model.finalActivation',
      /over 1 output channel is always 1/,
    );
    refused(
      { ...base, model: { finalActivation: 'linear' } },
      'model.finalActivation',
      /'binaryCrossentropy' needs outputs in \[0, 1\]/,
    );
    refused(
      { ...base, target: { kind: 'semantic', classes: 3 }, model: { finalActivation: 'sigmoid' } },
      'model.finalActivation',
      /'categoricalCrossentropy' needs 'softmax'/,
    );
  });
  test('an input shape the model cannot take', () => {
    refused(
      { ...base, inputShape: [16, 30, 48] },
      'inputShape[1]',
      /30 voxels along y do not fit the model .*next size that fits is 32/,
    );
    refused(
      { ...base, inputShape: [16, 16, 16], model: { padding: 'valid', depth: 2 } },
      'inputShape[0]',
      /do not fit/,
    );
    refused(
      { ...base, validation: { predictOutputShape: [16, 64, 48] } },
      'validation.predictOutputShape',
      /larger than the model's output \[16, 48, 48\]/,
    );
  });
  test('an input shape larger than every train crop (checked against the data before training)', () => {
    const crop = (name: string, shape: number[]) =>
      ({ name, raw: { roi: { offset: [0, 0, 0], shape: shape.map((s) => s * 8) }, voxelSize: [8, 8, 8] } }) as never;
    const split = {
      train: [crop('crop_01', [40, 40, 100]), crop('crop_02', [12, 100, 100])],
      test: [],
    } as unknown as DataSplit;
    const config = resolveRunConfig({ ...base, inputShape: [16, 48, 48] });
    assert.throws(
      () => checkConfigAgainstData(config, split),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.key === 'inputShape' &&
        /\[16, 48, 48\] voxels is larger than every train crop's raw \(crop_01 \[40, 40, 100\], crop_02 \[12, 100, 100\]\)/.test(
          e.message,
        ),
    );
    checkConfigAgainstData(resolveRunConfig({ ...base, inputShape: [16, 32, 48] }), split); // fits crop_01
  });
});

describe('run config: defaults, flags, resume', () => {
  test('defaults are filled in, paths made absolute', () => {
    const c = resolveRunConfig({ data: 'data/em.zarr' }, { cwd: '/work' });
    assert.equal(c.data.path, '/work/data/em.zarr');
    assert.equal(c.name, 'em');
    assert.equal(c.runDir, '/work/runs/em');
    assert.deepEqual(c.target, { kind: 'boundary' });
    assert.equal(c.model.outputChannels, 1);
    assert.equal(c.model.finalActivation, 'sigmoid');
    assert.equal(c.loss, 'binaryCrossentropy');
    assert.deepEqual(c.optimizer, RUN_DEFAULTS.optimizer);
    assert.deepEqual(c.inputShape, [16, 48, 48]);
    assert.equal(c.batchSize, RUN_DEFAULTS.batchSize);
    assert.equal(c.minMasked, RUN_DEFAULTS.minMasked);
    assert.equal(c.augment, false);
    assert.deepEqual(c.validation.thresholds, [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    // The effective config is a config: read back, it is the same.
    assert.deepEqual(resolveRunConfig(JSON.parse(JSON.stringify(c))), c);
  });
  test('targets size the model and choose loss and activation', () => {
    const a = resolveRunConfig({ ...base, target: 'affinities' });
    assert.equal(a.model.outputChannels, 3);
    assert.deepEqual(a.target, {
      kind: 'affinities',
      offsets: [
        [-1, 0, 0],
        [0, -1, 0],
        [0, 0, -1],
      ],
    });
    const s = resolveRunConfig({ ...base, target: { kind: 'semantic', classes: ['bg', 'mito', 'er'] } });
    assert.equal(s.model.outputChannels, 3);
    assert.equal(s.model.finalActivation, 'softmax');
    assert.equal(s.loss, 'categoricalCrossentropy');
  });
  test('flags override the file; --target keeps the file’s parameters of the same kind', () => {
    const c = resolveRunConfig(
      { ...base, epochs: 5, target: { kind: 'semantic', classes: 4 } },
      {
        cwd: '/w',
        flags: { data: 'other.zarr', run: 'runs/x', epochs: 9, seconds: 30, target: 'semantic', backend: 'cpu' },
      },
    );
    assert.equal(c.data.path, '/w/other.zarr');
    assert.equal(c.runDir, '/w/runs/x');
    assert.equal(c.name, 'x');
    assert.equal(c.epochs, 9);
    assert.equal(c.seconds, 30);
    assert.deepEqual(c.target, { kind: 'semantic', classes: 4 });
    assert.equal(c.backend, 'cpu');
  });
  test('resume conflicts name every key that would make another run', () => {
    const a = resolveRunConfig({ ...base, model: { baseFilters: 8 } });
    const b = resolveRunConfig({ ...base, model: { baseFilters: 16 }, epochs: 99, seed: 2, backend: 'cpu' });
    assert.deepEqual(resumeConflicts(a, b), [
      { key: 'model.baseFilters', was: 8, now: 16 },
      { key: 'model.seed', was: 1, now: 2 },
      { key: 'seed', was: 1, now: 2 },
    ]);
  });
});

test('tfjs-zarr train reports a bad config and exits non-zero before training', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tfjs-zarr-config-'));
  try {
    const file = path.join(dir, 'run.json');
    await writeFile(
      file,
      JSON.stringify({ data: path.join(dir, 'data.zarr'), model: { baseFilter: 4 }, runDir: path.join(dir, 'run') }),
    );
    const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'train', file],
        { cwd: REPO_ROOT },
        (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr: String(stderr) }),
      ),
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /run\.json: model\.baseFilter: unknown key \(did you mean baseFilters\?\)/);
    await assert.rejects(readFile(path.join(dir, 'run', 'config.json')), 'nothing written');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
