/**
 * The run config's keys for the distance target, the EM-defect augmentations, the scores and
 * their criteria, and watershed post-processing: resolved with their defaults, bad values named by
 * key, and turned into the dataset, post-processor and hook options of a run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/run/check.js';
import { resolveRunConfig } from '../../src/run/config.js';
import { datasetOptions, hookScoresOf, postProcessorOf } from '../../src/run/setup.js';
import { DISTANCE_SEED_THRESHOLDS, DISTANCE_THRESHOLDS } from '../../src/eval/postprocess.js';

const base = { data: 'data.zarr' };
const resolve = (config: unknown, flags = {}) => resolveRunConfig(config, { source: 'run.json', cwd: '/work', flags });

function refused(config: unknown, key: string, message: RegExp, flags = {}) {
  assert.throws(
    () => resolve(config, flags),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `a ConfigError, got ${e}`);
      assert.equal(e.key, key);
      assert.match(e.message, message);
      return true;
    },
  );
}

describe('run config: the distance target', () => {
  test('resolved: channels per class, MSE loss, linear output, DaCapo default masking', () => {
    const c = resolve({ ...base, target: { kind: 'distance', scaleFactor: 40, classes: [1, [2, 3]], tolDistance: 8 } });
    assert.deepEqual(c.target, { kind: 'distance', scaleFactor: 40, classes: [1, [2, 3]], tolDistance: 8 });
    assert.equal(c.model.outputChannels, 2);
    assert.equal(c.loss, 'meanSquaredError');
    assert.equal(c.model.finalActivation, 'linear');
    assert.deepEqual(c.validation.thresholds, [...DISTANCE_THRESHOLDS]);
    const options = datasetOptions(c, 0);
    assert.equal(options.target, 'distance');
    assert.deepEqual(options.distance, { scaleFactor: 40, classes: [1, [2, 3]], tolDistance: 8 });
    assert.equal(postProcessorOf(c).name, 'distance');
    const hook = hookScoresOf(c);
    assert.deepEqual(
      hook.classes?.map((k) => k.name),
      ['1', '2+3'],
    );
    assert.equal(hook.tolDistance, 8);
  });
  test('bad options named by key', () => {
    refused({ ...base, target: { kind: 'distance' } }, 'target.scaleFactor', /needs scaleFactor/);
    refused({ ...base }, 'target.scaleFactor', /needs scaleFactor/, { target: 'distance' });
    refused({ ...base, target: { kind: 'distance', scaleFactor: -1 } }, 'target.scaleFactor', /greater than 0/);
    refused(
      { ...base, target: { kind: 'distance', scaleFactor: 8, classes: [1, [2, 2 ** 64]] } },
      'target.classes[1][1]',
      /must be a label id/,
    );
    refused(
      { ...base, target: { kind: 'distance', scaleFactor: 8, maskDistances: 'yes' } },
      'target.maskDistances',
      /true or false/,
    );
    refused(
      { ...base, target: { kind: 'boundary', scaleFactor: 8 } },
      'target.scaleFactor',
      /is for target 'distance'/,
    );
    refused(
      { ...base, target: { kind: 'distance', scaleFactor: 8 }, loss: 'binaryCrossentropy' },
      'loss',
      /meanSquaredError/,
    );
  });
});

describe('run config: EM-defect augmentations', () => {
  test('taken as given, checked by their own rules', () => {
    const augment = {
      shift: { probSlip: 0.1, probShift: 0.05, sigma: 8 },
      blur: { sigma: [0, 8], probability: 0.5 },
      defect: { missingSection: 0.05, lowContrast: 0.05, contrastScale: 0.1 },
    };
    const c = resolve({ ...base, augment });
    assert.deepEqual(c.augment && { shift: c.augment.shift, blur: c.augment.blur, defect: c.augment.defect }, augment);
    refused({ ...base, augment: { shift: { sigma: 8, probSlip: 2 } } }, 'augment.shift.probSlip', /at most 1/);
    refused(
      { ...base, augment: { shift: { sigma: 8, probSlip: 0.6, probShift: 0.6 } } },
      'augment.shift',
      /not exceed 1/,
    );
    refused({ ...base, augment: { blur: { sigma: [4, 2] } } }, 'augment.blur.sigma', /low ≤ high/);
    refused(
      { ...base, augment: { defect: { missingSection: 0.8, lowContrast: 0.8 } } },
      'augment.defect',
      /add up to more than 1/,
    );
    refused({ ...base, augment: { blurr: {} } }, 'augment.blurr', /did you mean blur\?/);
  });
});

describe('run config: scores, criteria, post-processing', () => {
  test('defaults: VOI alone, threshold post-processing', () => {
    const c = resolve(base);
    assert.deepEqual(
      [c.validation.scores, c.validation.criterion, c.validation.keepBestBy, c.validation.postProcessing],
      [['voi'], 'voi', [], 'threshold'],
    );
  });
  test('scores and criteria, per class for semantic and distance targets', () => {
    const c = resolve({
      ...base,
      target: { kind: 'semantic', classes: ['bg', 'mito', 'er'] },
      validation: {
        scores: ['voi', 'arand', 'dice', 'hausdorff95'],
        criterion: 'dice',
        keepBestBy: ['arand', 'dice_mito'],
      },
    });
    assert.deepEqual(c.validation.keepBestBy, ['arand', 'dice_mito']);
    assert.deepEqual(
      hookScoresOf(c).classes?.map((k) => [k.name, k.ids]),
      [
        ['mito', [1]],
        ['er', [2]],
      ],
    );
    refused({ ...base, validation: { scores: ['dice'] } }, 'validation.scores', /per-class scores/);
    refused({ ...base, validation: { scores: ['arnd'] } }, 'validation.scores[0]', /did you mean 'arand'/);
    refused(
      { ...base, validation: { keepBestBy: ['dice_mito'] } },
      'validation.keepBestBy[0]',
      /unknown score criterion/,
    );
  });
  test('watershed for boundary and distance targets, seeds from thresholds or maxima', () => {
    const d = resolve({
      ...base,
      target: { kind: 'distance', scaleFactor: 8 },
      validation: { postProcessing: 'watershed', seeds: 'maxima' },
    });
    assert.deepEqual(d.validation.thresholds, [...DISTANCE_SEED_THRESHOLDS]);
    assert.equal(postProcessorOf(d).name, 'watershed');
    const b = resolve({ ...base, validation: { postProcessing: 'watershed' } });
    assert.equal(postProcessorOf(b).name, 'watershed');
    refused(
      { ...base, target: 'affinities', validation: { postProcessing: 'watershed' } },
      'validation.postProcessing',
      /for targets 'boundary' and 'distance'/,
    );
    refused({ ...base, validation: { seeds: 'minima' } }, 'validation.seeds', /one of 'threshold', 'maxima'/);
  });
});
