/**
 * Blosc LZ4 frames through the checked decoder (zarr/blosc.ts: every stream walked and checked,
 * then decoded): uint8/16/32/64, shuffle and no shuffle, one block or several with a leftover
 * block, against the SHA-256 of zarr-python's bytes (test/fixtures/lz4, scripts/make_lz4_fixtures.py).
 * Cut-short and damaged multi-block frames are errors, never data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BloscFrameError, decodeBloscChecked, lz4Block, unshuffle } from '../../src/zarr/codecs/blosc.js';
import { readWholeArray, sha256 } from '../helpers/whole-array.js';
import { FIXTURES } from '../helpers/fixtures.js';

const DIR = path.join(FIXTURES, 'lz4');
const CONTAINER = path.join(DIR, 'blosc_lz4.zarr');
const expected = JSON.parse(fs.readFileSync(path.join(DIR, 'blosc_lz4.expected.json'), 'utf8')) as Record<
  string,
  { dtype: string; shape: number[]; sha256: string; layouts: { blocks: number; leftover: number }[] }
>;
const noZstd = { zstd: () => Promise.reject(new Error('no zstd here')) };

test('lz4 fixtures cover several blocks with a leftover block, and every type size', () => {
  const layouts = Object.values(expected).flatMap((e) => e.layouts);
  assert.ok(layouts.some((l) => l.blocks > 1 && l.leftover > 0));
  assert.deepEqual(
    new Set(Object.values(expected).map((e) => e.dtype)),
    new Set(['uint8', 'uint16', 'uint32', 'uint64']),
  );
});

test('blosc lz4 arrays read exactly what zarr-python wrote', async () => {
  for (const [name, e] of Object.entries(expected)) {
    const got = await readWholeArray(CONTAINER, name);
    assert.deepEqual(got.shape, e.shape, name);
    assert.equal(sha256(got.data), e.sha256, `${name}: bytes differ from zarr-python's`);
  }
});

test('a multi-block lz4 frame cut short or with a damaged stream is an error', async () => {
  const frame = new Uint8Array(fs.readFileSync(path.join(CONTAINER, 'u16_shuffle_blocks', '0.0.0')));
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const cbytes = view.getUint32(12, true);
  // Cut short: the header's cbytes no longer fits, or (header patched) a stream runs past the end.
  await assert.rejects(decodeBloscChecked(frame.subarray(0, cbytes - 10), noZstd), BloscFrameError);
  const cut = frame.slice(0, cbytes - 10);
  new DataView(cut.buffer).setUint32(12, cbytes - 10, true);
  await assert.rejects(decodeBloscChecked(cut, noZstd), /stream|cut short/);
  // Block 1 (the leftover: one stream, the frame's last bytes) one byte shorter, its length too.
  const block1 = view.getUint32(20, true);
  const shorter = frame.slice(0, cbytes - 1);
  const sv = new DataView(shorter.buffer);
  sv.setUint32(12, cbytes - 1, true);
  sv.setInt32(block1, view.getInt32(block1, true) - 1, true);
  await assert.rejects(decodeBloscChecked(shorter, noZstd), /lz4 stream 0 of block 1 is corrupt/);
  // The first match offset of block 0's first stream pointed before the output.
  const damaged = frame.slice();
  let ip = view.getUint32(16, true) + 4;
  const token = damaged[ip++]!;
  let literals = token >> 4;
  if (literals === 15) {
    let b: number;
    do {
      b = damaged[ip++]!;
      literals += b;
    } while (b === 255);
  }
  ip += literals;
  damaged[ip] = 0xff;
  damaged[ip + 1] = 0xff;
  await assert.rejects(decodeBloscChecked(damaged, noZstd), /points before the output/);
});

test('unshuffle: word-wise for 2, 4 and 8 bytes, the same bytes as the definition for every type size', () => {
  for (let typesize = 1; typesize <= 9; typesize++) {
    for (const length of [0, typesize, 7 * typesize + 3, 1000]) {
      const src = Uint8Array.from({ length }, (_, i) => (i * 131 + typesize) & 255);
      const n = Math.floor(length / typesize);
      const want = new Uint8Array(length);
      for (let j = 0; j < typesize; j++) for (let i = 0; i < n; i++) want[i * typesize + j] = src[j * n + i]!;
      want.set(src.subarray(n * typesize), n * typesize);
      const got = new Uint8Array(length + 8).subarray(3, 3 + length); // unaligned output
      unshuffle(typesize, src, got);
      assert.deepEqual(got, want, `typesize ${typesize}, ${length} bytes`);
    }
  }
});

test('lz4Block: overlapping matches at every distance 1-8 repeat their period; word copies at distance >= 4', () => {
  for (let distance = 1; distance <= 8; distance++) {
    for (const extra of [0, 1, 5, 14, 60, 100]) {
      // literals 0..distance-1, then one match of 4 + extra bytes at `distance`, then 5 literals.
      const length = 4 + extra;
      const seq: number[] = [];
      const lit = Array.from({ length: distance }, (_, i) => i + 1);
      const mlen = length - 4;
      seq.push((Math.min(distance, 15) << 4) | Math.min(mlen, 15));
      if (distance >= 15) seq.push(distance - 15);
      seq.push(...lit, distance & 255, distance >> 8);
      if (mlen >= 15) {
        let rest = mlen - 15;
        while (rest >= 255) {
          seq.push(255);
          rest -= 255;
        }
        seq.push(rest);
      }
      seq.push(5 << 4, 9, 9, 9, 9, 9);
      const out = new Uint8Array(distance + length + 5);
      assert.equal(lz4Block(Uint8Array.from(seq), out), out.length);
      const want = [...lit, ...Array.from({ length }, (_, k) => lit[k % distance]!), 9, 9, 9, 9, 9];
      assert.deepEqual([...out], want, `distance ${distance}, match ${length}`);
    }
  }
});
