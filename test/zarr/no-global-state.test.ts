/**
 * The reading layer leaves every dependency's global state as it found it: zarrita's codec
 * registry stays zarrita's (our checking codecs apply through our own read path only), and the
 * dependencies whose registry or internals we use are pinned to exact versions.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import * as zarr from 'zarrita';
import { openDataSplit } from '../../src/index.js';
import { fixturePath } from '../helpers/fixtures.js';

test('the dependencies whose internals or registry we use are pinned to exact versions', () => {
  const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
  for (const name of ['unzipit', 'zarrita', 'numcodecs', '@zarrita/storage']) {
    assert.match(pkg.dependencies[name] ?? '', /^\d+\.\d+\.\d+$/, `${name} is pinned`);
  }
});

test("opening and reading containers leaves zarrita's codec registry untouched", async () => {
  const before = new Map(zarr.registry);
  const split = await openDataSplit(fixturePath('simple.zarr'));
  const raw = split.train[0]!.raw;
  await raw.read(raw.roi);
  const zipped = await openDataSplit(fixturePath('simple.zarr.zip'));
  await zipped.train[0]!.labels.read(zipped.train[0]!.labels.roi);
  assert.deepEqual([...zarr.registry.keys()], [...before.keys()]);
  for (const [name, loader] of before) assert.equal(zarr.registry.get(name), loader, `registry entry ${name}`);
});
