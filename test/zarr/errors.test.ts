/**
 * Bad containers (test/fixtures/bad_*.zarr, one fault each, described in bad.expected.json):
 * each gives a DataFormatError whose message names the container, the array path and the
 * attribute or chunk key at fault. Whether the library finds the fault when opening or on the
 * first read is its choice: the tests open and then read everything.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { DataFormatError, openDataSplit } from '../../src/index.js';
import {
  FIXTURES,
  fixturePath,
  loadBadExpected,
  openAndReadAll,
  type SplitLike,
  tokenRegExp,
} from '../helpers/fixtures.js';

const open = (p: string): Promise<SplitLike> => openDataSplit(p) as unknown as Promise<SplitLike>;

const ATTRIBUTE_PATTERN: Record<string, RegExp> = {
  voxel_size: /voxel_size/,
  offset: /offset/,
  axis_names: /axis_names/,
  units: /units/,
  types: /types/,
  dtype: /dtype|data.?type/i,
};

/** The message with the container path taken out, so 'raw' in 'bad_int32_raw.zarr' doesn't count. */
function withoutContainer(message: string, container: string): string {
  const variants = [path.join(FIXTURES, container), fixturePath(container), container].sort(
    (a, b) => b.length - a.length,
  );
  let m = message;
  for (const v of variants) m = m.split(v).join('<container>');
  return m;
}

async function errorOf(p: string): Promise<unknown> {
  try {
    await openAndReadAll(open, p);
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('bad containers', () => {
  for (const [container, bad] of Object.entries(loadBadExpected())) {
    test(`${container}: ${bad.what}`, async () => {
      const err = await errorOf(fixturePath(container));
      assert.ok(err !== undefined, `${container} opened and read without an error`);
      assert.ok(
        err instanceof DataFormatError,
        `expected a DataFormatError, got ${(err as Error)?.name}: ${(err as Error)?.message}`,
      );
      const message = err.message;
      assert.match(message, new RegExp(container.replace(/\./g, '\\.')), 'names the container');
      const rest = withoutContainer(message, container);
      if (bad.path !== null) {
        assert.match(rest, tokenRegExp(bad.path), `names the array path '${bad.path}'`);
      }
      if (bad.attribute !== null) {
        assert.match(rest, ATTRIBUTE_PATTERN[bad.attribute]!, `names the attribute '${bad.attribute}'`);
      }
      for (const p of bad.patterns) assert.match(rest, new RegExp(p, 'i'));
    });
  }
});

describe('missing containers', () => {
  test('a path that does not exist is a DataFormatError naming it', async () => {
    const p = fixturePath('does_not_exist.zarr');
    const err = await errorOf(p);
    assert.ok(err instanceof DataFormatError, `expected a DataFormatError, got ${String(err)}`);
    assert.match(err.message, /does_not_exist\.zarr/);
  });
});
