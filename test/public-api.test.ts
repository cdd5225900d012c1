/**
 * The public API: every runtime export of the package, sorted. Adding or removing a name is a
 * decision about the API: edit the list below (keep it sorted) and the README's API section.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as api from '../src/index.js';

const PUBLIC_EXPORTS = [
  'ConfigError',
  'Cropping3D',
  'DEFAULT_HTTP_OPTIONS',
  'DataConfig',
  'DataFormatError',
  'MaxPool3D',
  'OptionsError',
  'PatchConv3D',
  'UpSampling3D',
  'ValidationHook',
  'ZarrArrayWriter',
  'affinityPostProcessor',
  'bestByCrop',
  'boundaryPostProcessor',
  'cropDataset',
  'customPostProcessor',
  'defaultThreads',
  'describeBackend',
  'funlibAttributes',
  'loadCheckpoint',
  'maskedLoss',
  'maskedMetric',
  'modelOutputShape',
  'openArray',
  'openDataSplit',
  'predictCrop',
  'predictVolume',
  'prepareRunDir',
  'readCheckpointInfo',
  'readScores',
  'resolveRunConfig',
  'roi',
  'roiGrow',
  'roiIntersect',
  'roiToString',
  'segmentVolume',
  'semanticPostProcessor',
  'targetChannels',
  'trainRun',
  'trainingDataset',
  'unet3d',
  'useFastestBackend',
  'variationOfInformation',
  'writeRunReport',
];

test('the list of public exports is sorted (add a name in its place)', () => {
  assert.deepEqual(PUBLIC_EXPORTS, [...PUBLIC_EXPORTS].sort());
});

test('src/index.ts exports exactly the public names', () => {
  assert.deepEqual(Object.keys(api).sort(), PUBLIC_EXPORTS);
});

test("the README's API section names every public export", () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## API'), readme.indexOf('\n## ', readme.indexOf('## API') + 1));
  const missing = PUBLIC_EXPORTS.filter((name) => !new RegExp(`\\b${name}\\b`).test(section));
  assert.deepEqual(missing, []);
});

test('src/index.ts exports by name (no export *)', () => {
  const source = readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8');
  assert.doesNotMatch(source, /export\s*\*/);
});
