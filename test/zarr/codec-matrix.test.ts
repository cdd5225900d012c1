/**
 * The decoder matrix (scripts/make_codec_fixtures.py, test/fixtures/codecs/matrix.json): chunks
 * zarr-python 2.13 wrote with every Blosc cname × shuffle × typesize × clevel × blocksize, the
 * standalone Zstd (negative levels; frames without a content size, with and without checksum),
 * GZip, Zlib, LZ4, BZ2 and LZMA, edge chunks, chunks that are all the fill value (written or left
 * out) and arrays with no chunk written. Each reads, through the library's read path, to the
 * SHA-256 of zarr-python's read of the same array.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { DataFormatError } from '../../src/index.js';
import { ChunkCache } from '../../src/zarr/chunk-cache.js';
import { BloscFrameError, decodeBloscChecked } from '../../src/zarr/codecs/blosc.js';
import { zstd } from '../../src/zarr/codecs/checked.js';
import { openArrayVolume } from '../../src/zarr/open-array.js';
import { openMemory } from '../../src/zarr/stores/memory.js';
import { captureWarnings, FIXTURES } from '../helpers/fixtures.js';
import { sha256 } from '../helpers/whole-array.js';

interface Case {
  zarray: Record<string, unknown>;
  chunks: Record<string, string>;
  dtype: string;
  shape: number[];
  sha256: string;
}
const matrix = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'codecs', 'matrix.json'), 'utf8')) as {
  zarray: Record<string, unknown>;
  cases: Record<string, Case>;
};

/** The case's files as zarr-python wrote them. */
function files(c: Case): Map<string, Uint8Array> {
  const zarray = new TextEncoder().encode(JSON.stringify({ ...matrix.zarray, ...c.zarray }));
  return new Map([
    ['.zarray', zarray],
    ...Object.entries(c.chunks).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))] as [string, Uint8Array]),
  ]);
}

async function readCase(name: string, store: Map<string, Uint8Array>) {
  const opened = openMemory(`matrix:${name}`, store);
  const { result } = await captureWarnings(async () => {
    const volume = await openArrayVolume({ opened, container: opened.container, path: '', cache: new ChunkCache() });
    return volume.read(volume.roi);
  });
  return result;
}

const names = Object.keys(matrix.cases);
const groups = [...new Set(names.map((n) => n.split('/').slice(0, 2).join('/')))];

test('the matrix covers every blosc cname, shuffle, typesize, clevel and blocksize, and the standalone codecs', () => {
  const blosc = names.filter((n) => n.startsWith('blosc/')).map((n) => n.split('/'));
  const axis = (i: number) => new Set(blosc.map((p) => p[i]));
  assert.deepEqual(axis(1), new Set(['lz4', 'lz4hc', 'blosclz', 'zstd', 'zlib', 'snappy']));
  assert.deepEqual(axis(2), new Set(['noshuffle', 'shuffle', 'bitshuffle']));
  assert.deepEqual(axis(3), new Set(['t1', 't2', 't4', 't8']));
  assert.deepEqual(axis(4), new Set(['c0', 'c1', 'c5', 'c9']));
  assert.deepEqual(axis(5), new Set(['b0', 'b128', '1KiB']));
  for (const g of ['zstd', 'gzip', 'zlib', 'lz4', 'bz2', 'lzma', 'layout'])
    assert.ok(
      names.some((n) => n.startsWith(`${g}/`)),
      g,
    );
});

for (const group of groups) {
  describe(group, () => {
    for (const name of names.filter((n) => n.startsWith(`${group}/`) || n === group)) {
      test(name, async () => {
        const c = matrix.cases[name]!;
        const data = await readCase(name, files(c));
        assert.equal(sha256(data), c.sha256, `${name}: bytes differ from zarr-python's read`);
      });
    }
  });
}

test('a damaged zstd checksum, cut-short xz, bz2 and blosc chunks, a damaged blosclz stream: errors naming the chunk', async () => {
  const damage = async (name: string, chunk: string, hurt: (b: Uint8Array) => Uint8Array, pattern: RegExp) => {
    const store = files(matrix.cases[name]!);
    store.set(chunk, hurt(store.get(chunk)!.slice()));
    await assert.rejects(readCase(name, store), (error: unknown) => {
      assert.ok(error instanceof DataFormatError, String(error));
      assert.match(error.message, new RegExp(`chunk ${chunk.replace(/\./g, '\\.')} could not be read`));
      assert.match(error.message, pattern);
      return true;
    });
  };
  const flipLast = (b: Uint8Array) => {
    b[b.length - 1]! ^= 0xff;
    return b;
  };
  await damage('zstd/cli_no_content_size_checksum', '0.0.0', flipLast, /zstd/);
  await damage(
    'lzma/preset1_check4',
    '0.0.1',
    (b) => b.subarray(0, b.length - 20),
    /xz stream is corrupt or cut short/,
  );
  await damage('bz2/level9', '1.1.0', (b) => b.subarray(0, b.length - 9), /bz2 stream is corrupt or cut short/);
  // Blosc 1 frames carry no checksum: what can be caught is a frame cut short or a stream that
  // does not decode to its block's share.
  await damage(
    'blosc/zstd/bitshuffle/t2/c5/b128',
    '0.0.0',
    (b) => b.subarray(0, b.length - 5),
    /blosc frame is cut short/,
  );
  await damage(
    'blosc/blosclz/bitshuffle/t8/c9/b128',
    '0.0.0',
    (b) => {
      const v = new DataView(b.buffer, b.byteOffset);
      const stream = v.getUint32(16, true) + 4; // block 0's first stream
      b[stream]! ^= 0x1f; // its first control byte: a literal run of another length
      return b;
    },
    /blosclz stream 0 of block 0 is corrupt/,
  );
});

test('bit-shuffled blosc zstd frames are checked against the block share, not an empty target (the regression)', async () => {
  const c = matrix.cases['blosc/zstd/bitshuffle/t2/c5/b0']!;
  const frame = new Uint8Array(Buffer.from(c.chunks['0.0.0']!, 'base64'));
  assert.equal(await decodeBloscChecked(frame, { zstd }), null, 'a sound bit-shuffled frame is left to wasm to decode');
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
