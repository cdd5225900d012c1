/**
 * The browser demo (npm run demo:browser) in headless Chromium: a short training on the tiny
 * synthetic container, stopped and continued, with no console errors; the loss and VOI charts,
 * the slices and the best-checkpoint table are drawn. The screenshot is kept for a person to look
 * at (its path is printed).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { startDemo } from '../../examples/browser/demo.js';
import type { PageServer } from '../../examples/browser/server.js';
import { type Browser, launchBrowser } from '../helpers/browser.js';

let dir: string;
let server: PageServer;
let browser: Browser;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-demo-'));
  server = await startDemo({ port: 0, dir, containers: ['demo-small.zarr'] });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const NOT_FOUND = /Failed to load resource: the server responded with a status of 404/;

test('the demo page trains, stops, continues and draws its charts without console errors', async () => {
  const { page, errors } = await browser.page({ ignore: NOT_FOUND });
  await page.setViewportSize({ width: 1280, height: 1100 });
  const query = 'data=/data/demo-small.zarr&epochs=3&batches=3&batch=2&patch=8,16,16&filters=4&backend=wasm';
  await page.goto(`${server.url}/?${query}&autostart=1`);
  const state = (want: string[]) =>
    page.waitForFunction((s) => s.includes(document.body.dataset['state'] ?? ''), [...want, 'error'], {
      timeout: 240_000,
    });
  // Stop during the first epoch: training ends after the epoch under way (and its evaluation).
  await page.waitForFunction(() => /batch 1\/3/.test(document.querySelector('#status')?.textContent ?? ''), undefined, {
    timeout: 240_000,
  });
  await page.click('#stop');
  await state(['stopped']);
  const stopped = (await page.textContent('#status'))!;
  const epochs = Number(/^Stopped after ([12]) epochs/.exec(stopped)?.[1]);
  assert.ok(epochs > 0, stopped);
  await page.click('#continue');
  await state(['done']);
  const status = (await page.textContent('#status'))!;
  assert.match(status, new RegExp(`^Done after ${epochs + 3} epochs`), status);
  assert.match((await page.textContent('#backend'))!, /^backend: wasm \(SIMD; threaded build/);

  const drawn = await page.evaluate(() => {
    const inked = (id: string) => {
      const canvas = document.getElementById(id) as HTMLCanvasElement;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let coloured = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] !== data[i + 1] || data[i + 1] !== data[i + 2]) coloured++;
      return { width: canvas.width, height: canvas.height, coloured };
    };
    return {
      loss: inked('loss'),
      voi: inked('voi'),
      labels: inked('labels'),
      segmentation: inked('segmentation'),
      raw: inked('raw'),
      bestRows: document.querySelectorAll('#best tr').length,
      crops: Array.from(document.querySelectorAll<HTMLOptionElement>('#crop option'), (o) => o.value),
      voiMarked: document.querySelector('#voi') !== null,
    };
  });
  assert.ok(drawn.loss.coloured > 200, `the loss curve is drawn: ${JSON.stringify(drawn.loss)}`);
  assert.ok(drawn.voi.coloured > 200, `the VOI curves are drawn: ${JSON.stringify(drawn.voi)}`);
  assert.ok(drawn.labels.coloured > 100 && drawn.raw.width > 0, 'the slices are drawn');
  assert.deepEqual(drawn.crops, ['crop_03', 'crop_04']);
  assert.equal(drawn.bestRows, 2, 'a best checkpoint per test crop');
  const screenshot = path.join(tmpdir(), 'tfjs-zarr-browser-demo.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot of the demo page: ${screenshot}`);
  assert.deepEqual(errors, []);
});
