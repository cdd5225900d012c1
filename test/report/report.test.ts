import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import {
  encodePng,
  grayToRgb,
  sliceToGray,
  labelSliceToRgb,
  labelColor,
  hconcat,
  imageToPng,
  upscale,
} from '../../src/report/png.js';
import { lineChartSvg, niceTicks } from '../../src/report/plot.js';
import { writeReport } from '../../src/report/html.js';

interface DecodedPng {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  /** As stored: 1, 3 or 4 channels per the colour type. */
  pixels: Uint8Array;
}

/** Reads a PNG with pngjs's strict reader (signature, chunk CRCs, IHDR, IDAT). */
function decodePng(png: Uint8Array): DecodedPng {
  const image = PNG.sync.read(Buffer.from(png.buffer, png.byteOffset, png.byteLength));
  const { width, height, depth, colorType } = image as PNG & { depth: number; colorType: number };
  const channels = colorType === 0 ? 1 : colorType === 2 ? 3 : colorType === 6 ? 4 : Number.NaN;
  // pngjs hands out RGBA: keep the stored channels.
  const pixels = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < channels; c++) pixels[i * channels + c] = image.data[i * 4 + c]!;
  }
  return { width, height, bitDepth: depth, colorType, pixels };
}

test('encodePng writes valid gray, RGB and RGBA PNGs that decode to the same pixels', () => {
  for (const channels of [1, 3, 4] as const) {
    const width = 7;
    const height = 5;
    const data = new Uint8Array(width * height * channels);
    for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 256;
    const png = encodePng(width, height, data, channels);
    const d = decodePng(png);
    assert.equal(d.width, width);
    assert.equal(d.height, height);
    assert.equal(d.bitDepth, 8);
    assert.equal(d.colorType, { 1: 0, 3: 2, 4: 6 }[channels]);
    assert.deepEqual(d.pixels, data);
  }
  assert.throws(() => encodePng(2, 2, new Uint8Array(3), 1), /expected 4 bytes/);
});

test('slice helpers: gray scaling, label colours, side-by-side panels', () => {
  const shape = [2, 3, 4];
  const vol = new Float32Array(24);
  for (let i = 0; i < 24; i++) vol[i] = i / 23;
  const g = sliceToGray(vol, shape, 1, { range: [0, 1] });
  assert.equal(g.width, 4);
  assert.equal(g.height, 3);
  assert.equal(g.data[0], Math.round((12 / 23) * 255));
  assert.equal(g.data[11], 255);
  const auto = sliceToGray(vol, shape, 0);
  assert.equal(auto.data[0], 0);
  assert.equal(auto.data[11], 255);
  assert.deepEqual(Array.from(grayToRgb(new Uint8Array([5, 9]))), [5, 5, 5, 9, 9, 9]);

  const labels = new Uint32Array(24);
  labels.fill(7);
  labels[12] = 0;
  const l = labelSliceToRgb(labels, shape, 1);
  assert.deepEqual(Array.from(l.data.subarray(0, 3)), [0, 0, 0]);
  assert.deepEqual(Array.from(l.data.subarray(3, 6)), labelColor(7));
  assert.ok(labelColor(7).some((c) => c > 100));
  assert.notDeepEqual(labelColor(7), labelColor(8));
  const big = new BigUint64Array(24).fill((1n << 40n) + 3n);
  const lb = labelSliceToRgb(big, shape, 0);
  assert.deepEqual(Array.from(lb.data.subarray(0, 3)), labelColor((1n << 40n) + 3n));
  assert.deepEqual(labelColor(5), labelColor(5n));

  const panel = hconcat([g, l, upscale(g, 2)], { gap: 2 });
  assert.equal(panel.width, 4 + 2 + 4 + 2 + 8);
  assert.equal(panel.height, 6);
  assert.equal(panel.channels, 3);
  const d = decodePng(imageToPng(panel));
  // Second panel, first pixel (label 0 → black); gap pixels white; below a short panel: background.
  assert.deepEqual(Array.from(d.pixels.subarray(6 * 3, 6 * 3 + 3)), [0, 0, 0]);
  assert.deepEqual(Array.from(d.pixels.subarray(4 * 3, 4 * 3 + 3)), [255, 255, 255]);
  assert.deepEqual(
    Array.from(d.pixels.subarray((5 * panel.width + 0) * 3, (5 * panel.width + 0) * 3 + 3)),
    [255, 255, 255],
  );
});

test('lineChartSvg draws every series with axes, ticks and a legend', () => {
  const svg = lineChartSvg(
    [
      {
        name: 'crop_03 VOI',
        points: [
          [1, 2.5],
          [2, 1.9],
          [3, 1.2],
        ],
      },
      {
        name: 'split <&>',
        points: [
          [1, 1.5],
          [2, 1.0],
          [3, 0.7],
        ],
      },
    ],
    { title: 'VOI per epoch', xLabel: 'epoch', yLabel: 'VOI' },
  );
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.equal((svg.match(/<polyline/g) ?? []).length, 2);
  assert.ok(svg.includes('crop_03 VOI'));
  assert.ok(svg.includes('split &lt;&amp;&gt;'));
  assert.ok(!svg.includes('split <&>'));
  assert.ok(svg.includes('VOI per epoch'));
  assert.ok(svg.includes('>epoch<'));
  assert.ok(svg.includes('class="legend"'));
  assert.ok((svg.match(/<circle/g) ?? []).length === 6);
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(1, 10, 4), [2, 4, 6, 8, 10]);
  // Degenerate inputs still give a document.
  assert.match(lineChartSvg([], { title: 't', xLabel: 'x', yLabel: 'y' }), /<\/svg>/);
  assert.match(lineChartSvg([{ name: 'one', points: [[1, 1]] }], { title: 't', xLabel: 'x', yLabel: 'y' }), /<circle/);
});

test('writeReport writes index.html with linked SVG and PNG files', async () => {
  const runDir = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-report-'));
  try {
    const png = encodePng(2, 1, new Uint8Array([0, 255]), 1);
    const svg = lineChartSvg(
      [
        {
          name: 'voi',
          points: [
            [1, 2],
            [2, 1],
          ],
        },
      ],
      { title: 'x', xLabel: 'epoch', yLabel: 'VOI' },
    );
    const index = await writeReport(runDir, {
      title: 'Run <1>',
      notes: ['backend: wasm'],
      crops: [
        {
          name: 'crop_03',
          bestEpoch: 2,
          voi: 1.234,
          voiSplit: 0.5,
          voiMerge: 0.734,
          checkpoint: 'best/crop_03',
          plotSvg: svg,
          slicePng: png,
          baselines: { 'threshold raw': 3.1 },
        },
        {
          name: 'crop/04',
          bestEpoch: 1,
          voi: 2,
          voiSplit: 1,
          voiMerge: 1,
          checkpoint: path.join(runDir, 'best', 'crop_04'),
          plotSvg: svg,
          slicePng: png,
        },
      ],
    });
    assert.equal(index, path.join(runDir, 'report', 'index.html'));
    const html = await readFile(index, 'utf8');
    assert.match(html, /<title>Run &lt;1&gt;<\/title>/);
    assert.ok(html.includes('src="crop_03_voi.svg"'));
    assert.ok(html.includes('src="crop_03_slice.png"'));
    assert.ok(html.includes('src="crop_04_voi.svg"'));
    assert.ok(html.includes('href="../best/crop_03"'));
    assert.ok(html.includes('href="../best/crop_04"'));
    assert.ok(html.includes('1.234'));
    assert.ok(html.includes('threshold raw'));
    assert.ok(html.includes('backend: wasm'));
    assert.equal(await readFile(path.join(runDir, 'report', 'crop_03_voi.svg'), 'utf8'), svg);
    assert.deepEqual(new Uint8Array(await readFile(path.join(runDir, 'report', 'crop_03_slice.png'))), png);
    await stat(path.join(runDir, 'report', 'crop_04_slice.png'));
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
});
