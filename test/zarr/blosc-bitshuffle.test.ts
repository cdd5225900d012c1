/**
 * Bit-shuffled blosc frames with zstd and zlib streams (as iohub and funlib's OME writer store
 * them) read exactly what zarr-python wrote (test/fixtures/bitshuffle,
 * scripts/make_bitshuffle_fixtures.py). Such frames are only checked in JavaScript, stream by
 * stream against the block's share of bytes, and then decoded by wasm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BloscFrameError, decodeBloscChecked } from '../../src/zarr/codecs/blosc.js';
import { readWholeArray, sha256 } from '../helpers/whole-array.js';
import { FIXTURES } from '../helpers/fixtures.js';

const DIR = path.join(FIXTURES, 'bitshuffle');
const CONTAINER = path.join(DIR, 'blosc_bitshuffle.zarr');
const expected = JSON.parse(fs.readFileSync(path.join(DIR, 'blosc_bitshuffle.expected.json'), 'utf8')) as Record<
  string,
  { dtype: string; shape: number[]; sha256: string }
>;

test('bit-shuffled blosc zstd and zlib arrays read exactly what zarr-python wrote', async () => {
  assert.equal(Object.keys(expected).length, 6);
  for (const [name, e] of Object.entries(expected)) {
    const got = await readWholeArray(CONTAINER, name);
    assert.deepEqual(got.shape, e.shape, name);
    assert.equal(sha256(got.data), e.sha256, `${name}: bytes differ from zarr-python's`);
  }
});

test('a bit-shuffled zstd stream that decodes to the wrong size is an error', async () => {
  const frame = new Uint8Array(fs.readFileSync(path.join(CONTAINER, 'zstd_uint16', '0.0.0')));
  const real = (await import('numcodecs/zstd')).default.fromConfig({ level: 1 } as never);
  const zstd = (stream: Uint8Array) => real.decode(stream);
  assert.equal(await decodeBloscChecked(frame, { zstd }), null, 'a sound frame is left to wasm to decode');
  const oneShort = async (stream: Uint8Array) => (await zstd(stream)).subarray(1);
  await assert.rejects(decodeBloscChecked(frame, { zstd: oneShort }), (error: unknown) => {
    assert.ok(error instanceof BloscFrameError);
    assert.match(
      error.message,
      /zstd stream 0 of block 0 is corrupt: it decodes to \d+ bytes, the frame announces \d+/,
    );
    return true;
  });
});
