/**
 * Blosc 1 frames, checked before they are trusted. numcodecs.js' wasm decoder ignores blosc's
 * return code, so a frame cut short or a corrupt stream decodes to garbage without an error. Here
 * the header's sizes are checked against the buffer, every block and stream offset against the
 * frame, and every compressed stream against the bytes the frame announces: LZ4 streams of
 * byte-shuffled frames and BloscLZ streams are decoded in JavaScript by decoders that check every
 * literal run, match offset and length as they go, zlib through DecompressionStream, zstd through
 * numcodecs' decoder (which does report errors), and those frames assembled here (unshuffled, or
 * byte-unshuffled). Other LZ4 frames (not shuffled, or bit-shuffled) are walked (every literal
 * run, match offset and length checked, nothing copied) and then decoded by wasm; snappy streams
 * are checked for their sizes only.
 *
 * Frame layout (c-blosc 1.x README_HEADER): 16-byte header (version, versionlz, flags, typesize,
 * nbytes, blocksize, cbytes; little-endian u32s), then — unless the frame is stored (flag 0x02) —
 * one u32 start offset per block; each block holds one stream, or `typesize` streams when split,
 * each a u32 length followed by that many bytes (a length equal to the stream's raw size means
 * stored as is).
 */

import { copyBytes } from '../gather.js';

export const BLOSC_HEADER_BYTES = 16;
const DOSHUFFLE = 0x01;
const MEMCPYED = 0x02;
const DOBITSHUFFLE = 0x04;
const DONT_SPLIT = 0x10;
const COMPRESSORS = ['blosclz', 'lz4', 'snappy', 'zlib', 'zstd'];
const NO_BYTES = new Uint8Array(0);

/** A frame that is not what it claims; the message says what is wrong. */
export class BloscFrameError extends Error {}

export interface BloscStreamDecoders {
  zstd(stream: Uint8Array): Promise<Uint8Array>;
}

export interface BloscHeader {
  flags: number;
  typesize: number;
  nbytes: number;
  blocksize: number;
  cbytes: number;
}

export function bloscHeader(data: Uint8Array): BloscHeader {
  if (data.length < BLOSC_HEADER_BYTES) {
    throw new BloscFrameError(`blosc frame of ${data.length} bytes is shorter than its 16-byte header`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const header = {
    flags: data[2]!,
    typesize: data[3]!,
    nbytes: view.getUint32(4, true),
    blocksize: view.getUint32(8, true),
    cbytes: view.getUint32(12, true),
  };
  if (data[0] === 0 || data[0]! > 4) throw new BloscFrameError(`not a blosc 1 frame (format version ${data[0]})`);
  if (header.cbytes > data.length) {
    throw new BloscFrameError(
      `blosc frame is cut short: its header says ${header.cbytes} bytes, ${data.length} are stored`,
    );
  }
  if (header.cbytes < BLOSC_HEADER_BYTES)
    throw new BloscFrameError(`blosc header gives an impossible size (${header.cbytes} bytes)`);
  return header;
}

/** The payload of a frame stored without compression (flag 0x02), checked; null for other frames. */
export function bloscMemcpyedPayload(data: Uint8Array): Uint8Array | null {
  const h = bloscHeader(data);
  if ((h.flags & MEMCPYED) === 0) return null;
  if (BLOSC_HEADER_BYTES + h.nbytes !== h.cbytes) {
    throw new BloscFrameError(
      `stored blosc frame is inconsistent: ${h.nbytes} data bytes need a ${BLOSC_HEADER_BYTES + h.nbytes}-byte frame, the header says ${h.cbytes}`,
    );
  }
  const payload = data.subarray(BLOSC_HEADER_BYTES, h.cbytes);
  // The bytes codec builds typed views over this; keep it aligned for 8-byte types.
  return payload.byteOffset % 8 === 0 ? payload : payload.slice();
}

/**
 * Decodes a compressed (not stored) frame after checking it whole. Returns null when the frame is
 * sound but its shuffle or compressor is left to the wasm decoder.
 */
export async function decodeBloscChecked(data: Uint8Array, decoders: BloscStreamDecoders): Promise<Uint8Array | null> {
  const h = bloscHeader(data);
  const { flags, typesize, nbytes, blocksize, cbytes } = h;
  const compressor = COMPRESSORS[flags >> 5];
  if (!compressor) throw new BloscFrameError(`blosc frame names unknown compressor code ${flags >> 5}`);
  if (nbytes === 0) return new Uint8Array(0);
  if (blocksize === 0 || typesize === 0) throw new BloscFrameError('blosc header gives a block size or type size of 0');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const nblocks = Math.ceil(nbytes / blocksize);
  const leftover = nbytes % blocksize;
  const bstartsEnd = BLOSC_HEADER_BYTES + 4 * nblocks;
  if (bstartsEnd > cbytes)
    throw new BloscFrameError(`blosc frame is cut short: ${nblocks} block offsets do not fit in ${cbytes} bytes`);
  const bitshuffle = (flags & DOBITSHUFFLE) !== 0 && blocksize >= typesize;
  const shuffle = (flags & DOSHUFFLE) !== 0 && typesize > 1;
  // LZ4 frames without a byte shuffle (uint8 raw, the common case) are only walked here: wasm then
  // decodes them faster than JavaScript (measured). Byte-shuffled ones decode faster here (one
  // pass into a scratch block, a word-wise unshuffle, no copies into and out of wasm memory).
  // Bit-shuffled and snappy frames are only checked here, then decoded by wasm.
  const walkOnly = (compressor === 'lz4' && !shuffle) || compressor === 'snappy' || bitshuffle;
  const out = walkOnly ? null : new Uint8Array(nbytes);
  const tmp = out && shuffle ? new Uint8Array(blocksize) : null;
  // BloscLZ has no walk-only check: streams of frames left to wasm are decoded into scratch space.
  const scratch = !out && compressor === 'blosclz' ? new Uint8Array(blocksize) : null;
  for (let j = 0; j < nblocks; j++) {
    const isLeftover = j === nblocks - 1 && leftover > 0;
    const bsize = isLeftover ? leftover : blocksize;
    const nsplits = (flags & DONT_SPLIT) === 0 && !isLeftover ? typesize : 1;
    // Unshuffled blocks decode straight into the output; shuffled ones through `tmp`.
    const block = tmp ?? out?.subarray(j * blocksize) ?? NO_BYTES;
    const neblock = Math.floor(bsize / nsplits);
    if (neblock * nsplits !== bsize)
      throw new BloscFrameError(`blosc block of ${bsize} bytes cannot split into ${nsplits} streams`);
    let src = view.getUint32(BLOSC_HEADER_BYTES + 4 * j, true);
    if (src < bstartsEnd || src >= cbytes)
      throw new BloscFrameError(`blosc block ${j} starts at ${src}, outside the frame`);
    for (let s = 0; s < nsplits; s++) {
      if (src + 4 > cbytes) throw new BloscFrameError(`blosc frame is cut short in block ${j}`);
      const csize = view.getInt32(src, true);
      src += 4;
      if (csize <= 0 || src + csize > cbytes) {
        throw new BloscFrameError(
          `blosc stream ${s} of block ${j} claims ${csize} bytes; the frame ends ${cbytes - src} bytes later`,
        );
      }
      const stream = data.subarray(src, src + csize);
      const target = block.subarray(s * neblock, (s + 1) * neblock);
      if (csize === neblock) {
        if (out) target.set(stream);
      } else if (compressor === 'lz4') {
        checkStream('lz4', () => (out ? lz4Block(stream, target) : lz4Walk(stream, neblock)), neblock, s, j);
      } else if (compressor === 'blosclz') {
        const into = scratch ? scratch.subarray(0, neblock) : target;
        checkStream('blosclz', () => blosclzBlock(stream, into), neblock, s, j);
      } else await decodeStream(compressor, stream, out ? target : neblock, decoders, `stream ${s} of block ${j}`);
      src += csize;
    }
    if (tmp && out) unshuffle(typesize, tmp.subarray(0, bsize), out.subarray(j * blocksize, j * blocksize + bsize));
  }
  return out;
}

/** Runs a synchronous checking decoder (a block has up to `typesize` streams: no await each). */
function checkStream(compressor: string, decode: () => number, expected: number, s: number, j: number): void {
  let produced: number;
  try {
    produced = decode();
  } catch (error) {
    throw new BloscFrameError(`blosc ${compressor} stream ${s} of block ${j} is corrupt: ${(error as Error).message}`);
  }
  if (produced !== expected) {
    throw new BloscFrameError(
      `blosc ${compressor} stream ${s} of block ${j} is corrupt: it decodes to ${produced} bytes, the frame announces ${expected}`,
    );
  }
}

/**
 * Decodes a zlib or zstd stream and checks its size against the block's share. `target` is where
 * the bytes go, or only their expected count when the frame is just checked here (bit-shuffled
 * frames: wasm decodes them after).
 */
async function decodeStream(
  compressor: string,
  stream: Uint8Array,
  target: Uint8Array | number,
  decoders: BloscStreamDecoders,
  which: string,
): Promise<void> {
  let bytes: Uint8Array;
  try {
    if (compressor === 'zlib') bytes = await inflate(stream, 'deflate');
    else if (compressor === 'zstd') bytes = await decoders.zstd(stream);
    else return; // snappy: sizes checked, decoded by wasm
  } catch (error) {
    throw new BloscFrameError(`blosc ${compressor} ${which} is corrupt: ${(error as Error).message}`);
  }
  const expected = typeof target === 'number' ? target : target.length;
  if (bytes.length !== expected) {
    throw new BloscFrameError(
      `blosc ${compressor} ${which} is corrupt: it decodes to ${bytes.length} bytes, the frame announces ${expected}`,
    );
  }
  if (typeof target !== 'number') target.set(bytes);
}

/** Decompresses with the platform's checking inflater (zlib and gzip streams carry checksums). */
export async function inflate(bytes: Uint8Array, format: 'deflate' | 'gzip'): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Byte unshuffle: element i's byte j is at src[j * n + i]. Types of 2, 4 and 8 bytes are rebuilt
 * a 16- or 32-bit word at a time (little-endian through a DataView, whatever the platform).
 */
export function unshuffle(typesize: number, src: Uint8Array, dest: Uint8Array): void {
  const n = Math.floor(src.length / typesize);
  const out = new DataView(dest.buffer, dest.byteOffset, dest.byteLength);
  if (typesize === 2) {
    for (let i = 0; i < n; i++) out.setUint16(2 * i, src[i]! | (src[n + i]! << 8), true);
  } else if (typesize === 4 || typesize === 8) {
    for (let w = 0; w < typesize; w += 4) {
      const b0 = w * n;
      for (let i = 0; i < n; i++) {
        const word =
          src[b0 + i]! | (src[b0 + n + i]! << 8) | (src[b0 + 2 * n + i]! << 16) | (src[b0 + 3 * n + i]! << 24);
        out.setUint32(typesize * i + w, word, true);
      }
    }
  } else {
    for (let j = 0; j < typesize; j++) {
      const base = j * n;
      for (let i = 0; i < n; i++) dest[i * typesize + j] = src[base + i]!;
    }
  }
  dest.set(src.subarray(n * typesize), n * typesize);
}

const corrupt = (what: string): never => {
  throw new Error(what);
};

/** Copies `length` bytes from `distance` back (the regions may overlap: a run repeats). */
function copyMatch(out: Uint8Array, op: number, distance: number, length: number): void {
  const from = op - distance;
  if (length < 24) {
    for (let k = 0; k < length; k++) out[op + k] = out[from + k]!;
  } else if (distance === 1) {
    out.fill(out[from]!, op, op + length);
  } else {
    // The copied bytes repeat with period `distance`: copy in doubling pieces.
    let done = 0;
    let piece = distance;
    while (done < length) {
      const n = Math.min(piece, length - done);
      out.copyWithin(op + done, from, from + n);
      done += n;
      piece += n;
    }
  }
}

/**
 * Walks an LZ4 block without decoding it: every length and offset checked against the stream and
 * an output of `size` bytes. Returns the output length the block produces; throws if inconsistent.
 */
export function lz4Walk(src: Uint8Array, size: number): number {
  let ip = 0;
  let op = 0;
  const end = src.length;
  while (ip < end) {
    const token = src[ip++]!;
    let literals = token >> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (ip >= end) corrupt('literal length runs past the end');
        b = src[ip++]!;
        literals += b;
      } while (b === 255);
    }
    ip += literals;
    op += literals;
    if (ip > end) corrupt('literals run past the end of the stream');
    if (op > size) corrupt('literals overflow the output');
    if (ip === end) return op;
    if (ip + 2 > end) corrupt('match offset cut short');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) corrupt(`match offset ${offset} points before the output`);
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (ip >= end) corrupt('match length runs past the end');
        b = src[ip++]!;
        length += b;
      } while (b === 255);
    }
    op += length + 4;
    if (op > size) corrupt('match overflows the output');
  }
  return corrupt('stream ends without its last literals');
}

/**
 * An LZ4 block (no frame) into `out`; returns the bytes written, throws on any inconsistency.
 * Short literal runs and short matches move 4 bytes at a time through DataViews (`set(subarray)`
 * would allocate a view per run); a match at distance >= 4 never reads a byte it has not yet
 * written that way, closer ones go byte by byte, long ones through copyWithin (copyMatch).
 */
export function lz4Block(src: Uint8Array, out: Uint8Array): number {
  const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const ov = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const end = src.length;
  const size = out.length;
  let ip = 0;
  let op = 0;
  while (ip < end) {
    const token = src[ip++]!;
    let literals = token >> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (ip >= end) corrupt('literal length runs past the end');
        b = src[ip++]!;
        literals += b;
      } while (b === 255);
    }
    if (ip + literals > end) corrupt('literals run past the end of the stream');
    if (op + literals > size) corrupt('literals overflow the output');
    if (literals < 64) {
      copyBytes(sv, ip, ov, op, literals);
    } else {
      out.set(src.subarray(ip, ip + literals), op);
    }
    ip += literals;
    op += literals;
    if (ip === end) return op;
    if (ip + 2 > end) corrupt('match offset cut short');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) corrupt(`match offset ${offset} points before the output`);
    let length = token & 15;
    if (length === 15) {
      let b: number;
      do {
        if (ip >= end) corrupt('match length runs past the end');
        b = src[ip++]!;
        length += b;
      } while (b === 255);
    }
    length += 4;
    if (op + length > size) corrupt('match overflows the output');
    if (offset >= 4 && length < 64) {
      copyBytes(ov, op - offset, ov, op, length);
    } else {
      copyMatch(out, op, offset, length);
    }
    op += length;
  }
  return corrupt('stream ends without its last literals');
}

/** A BloscLZ stream into `out` (c-blosc 1.x format); returns the bytes written, throws on inconsistency. */
export function blosclzBlock(src: Uint8Array, out: Uint8Array): number {
  const MAX_DISTANCE = 8191;
  const end = src.length;
  if (end === 0) return 0;
  let ip = 0;
  let op = 0;
  let ctrl = src[ip++]! & 31;
  for (;;) {
    if (ctrl >= 32) {
      let len = (ctrl >> 5) - 1;
      let ofs = (ctrl & 31) << 8;
      if (len === 6) {
        let code: number;
        do {
          if (ip + 1 >= end) corrupt('match length runs past the end');
          code = src[ip++]!;
          len += code;
        } while (code === 255);
      } else if (ip + 1 >= end) corrupt('match cut short');
      const code = src[ip++]!;
      len += 3;
      let ref = op - ofs - code;
      if (code === 255 && ofs === 31 << 8) {
        if (ip + 1 >= end) corrupt('far match cut short');
        ofs = (src[ip]! << 8) + src[ip + 1]!;
        ip += 2;
        ref = op - ofs - MAX_DISTANCE;
      }
      if (op + len > out.length) corrupt('match overflows the output');
      if (ref - 1 < 0) corrupt('match points before the output');
      ref--;
      copyMatch(out, op, op - ref, len);
      op += len;
      if (ip >= end) break;
      ctrl = src[ip++]!;
    } else {
      ctrl++;
      if (op + ctrl > out.length) corrupt('literals overflow the output');
      if (ip + ctrl > end) corrupt('literals run past the end of the stream');
      for (let k = 0; k < ctrl; k++) out[op + k] = src[ip + k]!;
      op += ctrl;
      ip += ctrl;
      if (ip >= end) break;
      ctrl = src[ip++]!;
    }
  }
  return op;
}
