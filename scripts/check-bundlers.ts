/**
 * A manual check (not in `npm test`: it installs packages and takes minutes): the package, as a
 * user's project gets it (npm install of this folder), bundled by Vite 7 and webpack 5 with their
 * default settings and no plugin, runs in headless Chromium: openDataSplit over http and
 * trainingDataset with a Web Worker give the same batches as Node for a seed, with no console
 * errors. (esbuild is covered by the browser tests.)
 *
 *   node --import tsx scripts/check-bundlers.ts [vite@7] [webpack@5]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ensurePackageBuilt, ROOT } from '../examples/browser/build.js';
import { startPageServer } from '../examples/browser/server.js';
import { openDataSplit, trainingDataset } from '../src/index.js';
import { launchBrowser } from '../test/helpers/browser.js';

const [vite = 'vite@7', webpack = 'webpack@5'] = process.argv.slice(2);
const fixtures = path.join(ROOT, 'test', 'fixtures');
const here = path.join(ROOT, 'scripts', 'bundler-check');

/** The options of scripts/bundler-check/main.js. */
const options = {
  inputShape: [4, 6, 6],
  outputShape: [2, 4, 4],
  batchSize: 3,
  seed: 7,
  minMasked: 0.25,
  cropWeights: 'size' as const,
  target: 'boundary' as const,
  augment: {
    mirror: true,
    transpose: true,
    intensity: { scale: [0.8, 1.2] as [number, number], shift: [-0.1, 0.1] as [number, number] },
    gamma: [0.7, 1.4] as [number, number],
  },
};

async function nodeDigest(): Promise<string> {
  await tf.setBackend('cpu');
  const split = await openDataSplit(path.join(fixtures, 'traintest.zarr'));
  const it = await trainingDataset(split.train, { ...options, workers: 0 }).iterator();
  const hash = createHash('sha256');
  for (let i = 0; i < 5; i++) {
    const { xs, ys } = (await it.next()).value as { xs: tf.Tensor; ys: tf.Tensor };
    for (const t of [xs, ys]) hash.update(new Uint8Array((t.dataSync() as Float32Array).slice().buffer));
  }
  return hash.digest('hex');
}

ensurePackageBuilt();
const project = mkdtempSync(path.join(tmpdir(), 'tfjs-zarr-bundlers-'));
writeFileSync(path.join(project, 'package.json'), '{ "name": "bundler-check", "private": true, "type": "module" }\n');
for (const file of ['main.js', 'index.html']) copyFileSync(path.join(here, file), path.join(project, file));
writeFileSync(
  path.join(project, 'webpack.config.cjs'),
  "module.exports = { mode: 'production', entry: './main.js', output: { path: __dirname + '/dist-webpack' } };\n",
);
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: project, stdio: 'inherit' });
run('npm', ['install', '--no-audit', '--no-fund', vite, webpack, 'webpack-cli', ROOT]);
run('npx', ['vite', 'build', '--outDir', 'dist-vite', '--logLevel', 'warn']);
run('npx', ['webpack', '--config', 'webpack.config.cjs']);
copyFileSync(path.join(project, 'index.html'), path.join(project, 'dist-webpack', 'index.html'));

const expected = await nodeDigest();
const browser = await launchBrowser();
let failed = false;
try {
  for (const bundle of ['dist-vite', 'dist-webpack']) {
    const server = await startPageServer({ mounts: { '/': path.join(project, bundle), '/fixtures/': fixtures } });
    const { page, errors } = await browser.page({ ignore: /status of 404/ });
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => (globalThis as { result?: unknown }).result, undefined, { timeout: 120_000 });
    const result = await page.evaluate(() => (globalThis as { result?: Record<string, unknown> }).result!);
    const ok = result['digest'] === expected && result['running'] === 1 && errors.length === 0;
    failed ||= !ok;
    console.log(`${bundle}: ${ok ? 'OK' : 'FAILED'} ${JSON.stringify(result)} ${errors.join('; ')}`);
    await server.close();
  }
} finally {
  await browser.close();
}
console.log(`(project in ${project}; Node's digest ${expected})`);
process.exit(failed ? 1 : 0);
