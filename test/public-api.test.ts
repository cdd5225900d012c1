/**
 * The public API: every runtime export of the package's two entries (Node: src/index.ts; pages:
 * src/browser.ts, package.json's `browser` condition), sorted. Adding or removing a name is a
 * decision about the API: edit the lists below (keep them sorted) and the README's API section.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as browserApi from '../src/browser.js';
import * as api from '../src/index.js';

const PUBLIC_EXPORTS = [
  'ConfigError',
  'Cropping3D',
  'DEFAULT_HTTP_OPTIONS',
  'DataConfig',
  'DataFormatError',
  'JobStateError',
  'MaxPool3D',
  'OptionsError',
  'PatchConv3D',
  'SCORE_NAMES',
  'UpSampling3D',
  'ValidationHook',
  'ZarrArrayWriter',
  'adaptedRandError',
  'affinityPostProcessor',
  'bestByCrop',
  'binaryScores',
  'boundaryPostProcessor',
  'cremiScore',
  'cropDataset',
  'customPostProcessor',
  'defaultThreads',
  'describeBackend',
  'distanceClasses',
  'distancePostProcessor',
  'distanceTarget',
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
  'regionalMaxima',
  'resolveRunConfig',
  'roi',
  'roiGrow',
  'roiIntersect',
  'roiToString',
  'seededWatershed',
  'segmentVolume',
  'segmentationScores',
  'semanticClasses',
  'semanticPostProcessor',
  'targetChannels',
  'trainRun',
  'trainingDataset',
  'unet3d',
  'useFastestBackend',
  'variationOfInformation',
  'watershedPostProcessor',
  'writeRunReport',
];

/** Node-only: blockwise prediction into zarr files, zarr writers, run configs, `trainRun`, reports, `defaultThreads`. */
const NODE_ONLY = [
  'ConfigError',
  'ZarrArrayWriter',
  'defaultThreads',
  'funlibAttributes',
  'openArray',
  'predictVolume',
  'prepareRunDir',
  'resolveRunConfig',
  'segmentVolume',
  'trainRun',
  'writeRunReport',
];

/** Only in pages. */
const BROWSER_ONLY = ['downloadCheckpoint'];

const BROWSER_EXPORTS = [...PUBLIC_EXPORTS.filter((n) => !NODE_ONLY.includes(n)), ...BROWSER_ONLY].sort();

test('the lists of public exports are sorted (add a name in its place)', () => {
  for (const list of [PUBLIC_EXPORTS, NODE_ONLY, BROWSER_ONLY]) assert.deepEqual(list, [...list].sort());
  assert.deepEqual(
    NODE_ONLY.filter((n) => !PUBLIC_EXPORTS.includes(n)),
    [],
  );
});

test('src/index.ts exports exactly the public names', () => {
  assert.deepEqual(Object.keys(api).sort(), PUBLIC_EXPORTS);
});

test('src/browser.ts exports exactly the public names for pages', () => {
  assert.deepEqual(Object.keys(browserApi).sort(), BROWSER_EXPORTS);
});

test("package.json's exports give pages the browser entry, Node the Node entry, other runtimes the browser entry", () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    exports: Record<string, Record<string, { types: string; default: string }>>;
    browser: Record<string, string>;
  };
  const root = pkg.exports['.']!;
  assert.deepEqual(Object.keys(root), ['browser', 'node', 'default']);
  assert.deepEqual(root['browser'], { types: './dist/browser.d.ts', default: './dist/browser.js' });
  assert.deepEqual(root['node'], { types: './dist/index.d.ts', default: './dist/index.js' });
  assert.deepEqual(root['default'], root['browser']);
  assert.equal(pkg.browser['./dist/index.js'], './dist/browser.js');
});

test("the README's API section names every public export", () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## API'), readme.indexOf('\n## ', readme.indexOf('## API') + 1));
  const missing = [...PUBLIC_EXPORTS, ...BROWSER_ONLY].filter((name) => !new RegExp(`\\b${name}\\b`).test(section));
  assert.deepEqual(missing, []);
});

test('the entries export by name (no export *)', () => {
  for (const entry of ['index.ts', 'browser.ts']) {
    const source = readFileSync(new URL(`../src/${entry}`, import.meta.url), 'utf8');
    assert.doesNotMatch(source, /export\s*\*/);
  }
});
