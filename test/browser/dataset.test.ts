/**
 * trainingDataset in a page: sample assembly in module Web Workers started from the bundled
 * worker code (a Blob URL), with the same protocol and the same bytes as in Node — identical
 * batches with 0, 1 and 2 workers for a seed, in a cross-origin isolated page (shared batch
 * memory) and in a plain one (transferred buffers), from picked files (which travel to the
 * workers by structured clone) and over http. The default worker count follows
 * navigator.hardwareConcurrency.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { openDataSplit, type TrainingDatasetOptions, trainingDataset } from '../../src/index.js';
import { FIXTURES, fixturePath } from '../helpers/fixtures.js';
import { type LibraryPage, openLibraryPage } from '../helpers/library-page.js';

declare const tz: typeof import('../../src/browser.js');

const options: TrainingDatasetOptions = {
  inputShape: [4, 6, 6],
  outputShape: [2, 4, 4],
  batchSize: 3,
  seed: 7,
  minMasked: 0.25,
  cropWeights: 'size',
  target: 'boundary',
  augment: {
    mirror: true,
    transpose: true,
    intensity: { scale: [0.8, 1.2], shift: [-0.1, 0.1] },
    gamma: [0.7, 1.4],
  },
};
const BATCHES = 5;

/** SHA-256 of the first batches' xs and ys bytes, made in this process (no workers). */
async function nodeDigest(container: string, layout: 'all' | 'train'): Promise<string> {
  await tf.setBackend('cpu');
  const split = await openDataSplit(container);
  const crops = layout === 'all' ? [...split.train, ...split.test] : split.train;
  const it = await trainingDataset(crops, { ...options, workers: 0 }).iterator();
  const hash = createHash('sha256');
  for (let i = 0; i < BATCHES; i++) {
    const { xs, ys } = (await it.next()).value as { xs: tf.Tensor; ys: tf.Tensor };
    for (const t of [xs, ys]) hash.update(new Uint8Array((t.dataSync() as Float32Array).slice().buffer));
    tf.dispose([xs, ys]);
  }
  return hash.digest('hex');
}

/** The same digest made in the page, for each worker count (and how many workers ran). */
function pageDigests(
  lib: LibraryPage,
  source: { kind: 'files' } | { kind: 'url'; url: string },
  layout: 'all' | 'train',
  workerCounts: (number | null)[],
): Promise<{ workers: number | null; running: number; digest: string }[]> {
  return lib.page.evaluate(
    async ({ source, layout, workerCounts, options, batches }) => {
      const tfp = (globalThis as unknown as { tf: typeof import('@tensorflow/tfjs') }).tf;
      await tfp.setBackend('cpu');
      const container =
        source.kind === 'files' ? (document.querySelector('#folder') as HTMLInputElement).files! : source.url;
      const split = await tz.openDataSplit(container);
      const crops = layout === 'all' ? [...split.train, ...split.test] : split.train;
      const results = [];
      for (const workers of workerCounts) {
        const ds = tz.trainingDataset(crops, workers === null ? options : { ...options, workers });
        const it = await ds.iterator();
        const parts: Uint8Array[] = [];
        for (let i = 0; i < batches; i++) {
          const { xs, ys } = (await it.next()).value;
          for (const t of [xs, ys]) parts.push(new Uint8Array((t.dataSync() as Float32Array).slice().buffer));
          tfp.dispose([xs, ys]);
        }
        const running = ds.workersRunning;
        ds.close();
        const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          all.set(p, at);
          at += p.length;
        }
        const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', all)), (b) =>
          b.toString(16).padStart(2, '0'),
        ).join('');
        results.push({ workers, running, digest });
      }
      return results;
    },
    { source, layout, workerCounts, options, batches: BATCHES },
  );
}

let isolated: LibraryPage;

before(async () => {
  isolated = await openLibraryPage();
});

after(async () => {
  await isolated?.close();
});

test("picked files, cross-origin isolated page: 0, 1, 2 workers and the default give Node's bytes", async () => {
  const expected = await nodeDigest(fixturePath('crops.zarr'), 'all');
  await isolated.page.locator('#folder').setInputFiles(path.join(FIXTURES, 'crops.zarr'));
  const shared = await isolated.page.evaluate(() => typeof SharedArrayBuffer === 'function' && crossOriginIsolated);
  assert.equal(shared, true, 'the page is cross-origin isolated: batches travel in shared memory');
  const cores = await isolated.page.evaluate(() => navigator.hardwareConcurrency);
  const results = await pageDigests(isolated, { kind: 'files' }, 'all', [0, 1, 2, null]);
  for (const r of results) assert.equal(r.digest, expected, `${r.workers ?? 'default'} workers`);
  assert.deepEqual(
    results.map((r) => r.running),
    [0, 1, 2, Math.max(1, cores - 1)],
    'Web Workers ran (default: the cores less the page thread training uses)',
  );
  assert.deepEqual(isolated.errors, []);
});

test("over http, a page that is not cross-origin isolated (transferred buffers): Node's bytes", async () => {
  const expected = await nodeDigest(fixturePath('traintest.zarr'), 'train');
  const plain = await openLibraryPage({ isolated: false });
  try {
    const shared = await plain.page.evaluate(() => typeof SharedArrayBuffer === 'function');
    assert.equal(shared, false);
    const url = `${plain.server.url}/fixtures/traintest.zarr`;
    const results = await pageDigests(plain, { kind: 'url', url }, 'train', [0, 2]);
    for (const r of results) assert.equal(r.digest, expected, `${r.workers} workers`);
    assert.deepEqual(
      results.map((r) => r.running),
      [0, 2],
    );
    assert.deepEqual(plain.errors, []);
  } finally {
    await plain.close();
  }
});
