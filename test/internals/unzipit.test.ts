/**
 * unzipit's private internal that the zip store relies on (src/internals/unzipit.ts) still exists
 * in the pinned version.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { unzip } from 'unzipit';
import { zipEntryCrc32 } from '../../src/internals/unzipit.js';
import { crc32 } from '../../src/zarr/checksums.js';
import { fixturePath } from '../helpers/fixtures.js';

test("unzipit's entries still carry the central directory's CRC-32 (_rawEntry.crc32)", async () => {
  const { entries } = await unzip(new Uint8Array(fs.readFileSync(fixturePath('simple.zarr.zip'))));
  const files = Object.values(entries).filter((e) => !e.isDirectory);
  assert.ok(files.length > 5);
  for (const entry of files) {
    assert.equal(zipEntryCrc32(entry), crc32(new Uint8Array(await entry.arrayBuffer())), entry.name);
  }
});
