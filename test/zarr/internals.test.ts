/**
 * The private internals of dependencies that the reading layer relies on (src/zarr/internals.ts)
 * still exist in the pinned versions, and the reading layer leaves every dependency's global state
 * as it found it (zarrita's codec registry: our checking codecs apply through our read path only).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { unzip } from 'unzipit';
import * as zarr from 'zarrita';
import { openDataSplit } from '../../src/index.js';
import { crc32 } from '../../src/zarr/checksums.js';
import { zipEntryCrc32 } from '../../src/zarr/internals.js';
import { fixturePath } from '../helpers/fixtures.js';

test("unzipit's entries still carry the central directory's CRC-32 (_rawEntry.crc32)", async () => {
  const { entries } = await unzip(new Uint8Array(fs.readFileSync(fixturePath('simple.zarr.zip'))));
  const files = Object.values(entries).filter((e) => !e.isDirectory);
  assert.ok(files.length > 5);
  for (const entry of files) {
    assert.equal(zipEntryCrc32(entry), crc32(new Uint8Array(await entry.arrayBuffer())), entry.name);
  }
});

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
