/**
 * Containers over http: a static file server on 127.0.0.1 serves test/fixtures (404 for missing
 * files, no directory listing), the way an object store serves zarr.
 *  - crops.zarr: many crops, listed through its consolidated metadata (.zmetadata)
 *  - simple.zarr: no consolidated metadata; the simple layout is found by probing; the mask and
 *    the never-written labels chunks are 404s that must read as "absent" / zero-fill
 *  - v3.zarr: zarr v3 train/test layout with a sharded array (byte-range requests)
 *  - a URL with no zarr metadata: DataFormatError mentioning 404 / not found
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DataFormatError, openDataSplit } from '../../src/index.js';
import { assertSplitMeta, assertSplitReads, FIXTURES, loadExpected, type SplitLike } from '../helpers/fixtures.js';
import { startStaticServer, type StaticServer } from '../helpers/static-server.js';

const open = (p: string): Promise<SplitLike> => openDataSplit(p) as unknown as Promise<SplitLike>;

describe('http', () => {
  let server: StaticServer;
  before(async () => {
    server = await startStaticServer(FIXTURES);
  });
  after(async () => {
    await server.close();
  });

  for (const [name, exp] of [
    ['crops.zarr', 'crops'],
    ['simple.zarr', 'simple'],
    ['v3.zarr', 'v3'],
  ] as const) {
    test(`${name} over http reads as the local container`, async (t) => {
      try {
        const split = await open(`${server.url}/${name}`);
        const expected = loadExpected(exp);
        assertSplitMeta(split, expected);
        await assertSplitReads(split, expected);
      } catch (e) {
        t.diagnostic(`requests:\n${server.log.slice(-40).join('\n')}`);
        throw e;
      }
    });
  }

  test('a URL with no zarr metadata is a DataFormatError mentioning 404 / not found', async () => {
    const url = `${server.url}/nothing_here.zarr`;
    let err: unknown;
    try {
      await open(url);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof DataFormatError, `expected a DataFormatError, got ${String(err)}`);
    assert.match(err.message, /404|not found/i);
    assert.match(err.message, /nothing_here\.zarr/);
  });
});
