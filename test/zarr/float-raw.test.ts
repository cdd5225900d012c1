/**
 * Float raw: NaN/±Infinity (stored or from a NaN fill value) never reach `xs` — they become 0 with
 * one warning per crop — and values far outside [0, 1] are warned about once per crop.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDataSplit } from '../../src/index.js';
import { roi } from '../../src/roi.js';
import { sanitizeFloatRaw } from '../../src/zarr/normalize.js';

async function withWarnings<T>(body: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (m: string) => warnings.push(String(m));
  try {
    return { result: await body(), warnings };
  } finally {
    console.warn = original;
  }
}

test('sanitizeFloatRaw replaces NaN/Infinity by 0 and counts values far outside [0, 1]', () => {
  const v = Float32Array.from([0.5, Number.NaN, 3, -2, Infinity, 1, -Infinity, 0]);
  assert.deepEqual(sanitizeFloatRaw(v), { nonFinite: 3, outside: 2, min: -2, max: 3 });
  assert.deepEqual([...v], [0.5, 0, 3, -2, 0, 1, 0, 0]);
});

test('a NaN fill value reaches xs as 0, with one warning per crop', async () => {
  const { result, warnings } = await withWarnings(async () => {
    const split = await openDataSplit('test/fixtures/broken/v3_fill_hex_nan.zarr');
    const crop = split.train[0]!;
    const stored = await crop.raw.read(crop.raw.roi);
    const first = await crop.read(crop.raw.roi);
    const second = await crop.read(roi([0, 0, 16], [16, 32, 16]));
    return { stored, first, second };
  });
  assert.ok(Array.from(result.stored as Float32Array).some(Number.isNaN), 'volume.read keeps the stored NaN');
  assert.ok(!Array.from(result.first.raw).some(Number.isNaN));
  assert.ok(!Array.from(result.second.raw).some(Number.isNaN));
  assert.equal(result.first.raw.filter((v) => v === 0).length, 4 * 4 * 4 + 1); // the missing chunk + one stored 0
  const nanWarnings = warnings.filter((w) => /NaN\/Infinity/.test(w));
  assert.equal(nanWarnings.length, 1, warnings.join('\n'));
  assert.match(nanWarnings[0]!, /v3_fill_hex_nan\.zarr, array raw/);
});

test('float raw far outside [0, 1] is warned about once per crop, values unchanged', async () => {
  const { result, warnings } = await withWarnings(async () => {
    const split = await openDataSplit('test/fixtures/broken/float_raw_unscaled.zarr');
    const crop = split.train[0]!;
    await crop.read(crop.raw.roi);
    return { sample: await crop.read(crop.raw.roi), stored: await crop.raw.read(crop.raw.roi) };
  });
  assert.deepEqual(result.sample.raw, result.stored);
  const outside = warnings.filter((w) => /assumed in \[0, 1\]/.test(w));
  assert.equal(outside.length, 1, warnings.join('\n'));
  assert.match(outside[0]!, /float_raw_unscaled\.zarr, array raw .*from 5 to 245/);
});
