/**
 * The corpus of broken containers (scripts/make_broken_fixtures.py) and the check of one case:
 * it reads exactly what zarr-python reads, or fails with the error class and a message that
 * names the container and matches every pattern.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openDataSplit } from '../../src/index.js';
import type { StoredArray } from '../../src/types.js';
import type { DataSplit } from '../../src/zarr/split.js';
import type { CropVolume } from '../../src/zarr/crop.js';

const DIR = path.join(import.meta.dirname, '..', 'fixtures', 'broken');

interface ArrayExpectation {
  dtype: string;
  shape: number[];
  values: (number | string)[];
}
export interface Expectation {
  what: string;
  expect: 'data' | 'error';
  stage?: 'open' | 'read';
  array?: string;
  class?: string;
  patterns?: string[];
  crops?: { train: string[]; test: string[] };
  arrays?: Record<string, ArrayExpectation>;
}

export function corpusCases(dir = DIR): { name: string; container: string; expected: Expectation }[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.expected.json'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -'.expected.json'.length);
      const container = [`${name}.zarr`, `${name}.zip`].map((c) => path.join(dir, c)).find((c) => fs.existsSync(c));
      assert.ok(container, `${name}: no container beside ${f}`);
      return { name, container, expected: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Expectation };
    });
}

function volumes(split: DataSplit) {
  const all = new Map<string, CropVolume>();
  for (const crop of [...split.train, ...split.test]) {
    for (const v of [crop.raw, crop.labels, crop.mask]) if (v) all.set(v.path, v);
  }
  return all;
}

function asExpected(values: StoredArray, dtype: string): (number | string)[] {
  return Array.from(values as ArrayLike<number | bigint>, (v) =>
    typeof v === 'bigint'
      ? String(v)
      : dtype.startsWith('float') && !Number.isFinite(v)
        ? Number.isNaN(v)
          ? 'NaN'
          : v > 0
            ? 'Infinity'
            : '-Infinity'
        : v,
  );
}

function assertError(error: unknown, expected: Expectation, container: string) {
  assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
  assert.equal(error.name, expected.class, `${error.name}: ${error.message}`);
  assert.ok(error.message.includes(container), `message does not name the container: ${error.message}`);
  for (const p of expected.patterns ?? []) {
    assert.match(error.message, new RegExp(p), `message does not match /${p}/: ${error.message}`);
  }
}

/** Checks one corpus case; exported for the http variant of the corpus. */
export async function checkCase(location: string, expected: Expectation, options: Record<string, unknown> = {}) {
  const quiet = console.warn;
  console.warn = () => {};
  try {
    let split: DataSplit;
    try {
      split = await openDataSplit({ path: location, ...options });
    } catch (error) {
      if (expected.expect === 'error' && expected.stage === 'open') return assertError(error, expected, location);
      throw error;
    }
    assert.ok(!(expected.expect === 'error' && expected.stage === 'open'), `opened, expected: ${expected.what}`);
    if (expected.crops) {
      assert.deepEqual({ train: split.train.map((c) => c.name), test: split.test.map((c) => c.name) }, expected.crops);
    }
    const vols = volumes(split);
    if (expected.expect === 'error') {
      const v = vols.get(expected.array!);
      assert.ok(v, `no array ${expected.array}`);
      await assert.rejects(v.read(v.roi), (error) => {
        assertError(error, expected, location);
        return true;
      });
      return;
    }
    for (const [p, want] of Object.entries(expected.arrays ?? {})) {
      const v = vols.get(p);
      assert.ok(v, `no array ${p} (have ${[...vols.keys()].join(', ')})`);
      assert.equal(v.dtype, want.dtype, `${p} dtype`);
      assert.deepEqual([...v.shape], want.shape, `${p} shape`);
      const got = asExpected(await v.read(v.roi), want.dtype);
      assert.deepEqual(got, want.values, `${p} values`);
    }
  } finally {
    console.warn = quiet;
  }
}
