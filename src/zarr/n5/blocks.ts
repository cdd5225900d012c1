/**
 * N5 blocks, read as zarr-python's N5ChunkWrapper reads them. A block lives at
 * `<dataset>/<i_x>/<i_y>/<i_z>` (grid coordinates in N5's x-fastest order, reversed from ours). It
 * starts with a big-endian header: mode (u16: 0 default, 1 varlength), the number of dimensions
 * (u16), the block's size per dimension (u32 each, x-fastest), and for mode 1 the number of
 * elements (u32); then the compressed elements, big-endian. Edge blocks may be truncated to the
 * dataset's bounds: they are padded with zeros to the full block, as zarr-python does. A block
 * that is not stored reads as 0 (N5 has no fill value).
 */
import type { AbsolutePath, AsyncReadable } from '@zarrita/storage';
import { DataFormatError } from '../../errors.js';
import { xxhash32 } from '../checksums.js';
import { inflate, lz4Block } from '../codecs/blosc.js';
import { blosc, type BytesDecoder, bz2, lz4, xz, zstd } from '../codecs/checked.js';
import { typedView } from '../codecs/pipeline.js';
import { checkChunkLength, type ChunkSource, type DecodedChunk, reasonOf, type Where } from '../chunks.js';
import { STORED_ARRAY_TYPES } from '../dtypes.js';
import { cOrderStrides, copyBox } from '../gather.js';
import type { ArrayMetadata, N5ChunkStorage } from '../metadata/array.js';
import { newStoredArray } from '../volume.js';
import { joinKey } from '../stores/types.js';

export function n5ChunkSource(store: AsyncReadable, meta: ArrayMetadata, where: Where): ChunkSource {
  const { compression } = meta.storage as N5ChunkStorage;
  const decompress = n5Decompressor(compression);
  const full = meta.chunks;
  const fullStrides = cOrderStrides(full);
  const key = (coords: readonly number[]) => joinKey(where.path, [...coords].reverse().join('/'));
  const bytesPerElement = STORED_ARRAY_TYPES[meta.dtype].BYTES_PER_ELEMENT;
  return {
    key,
    async read(coords) {
      const bytes = await store.get(`/${key(coords)}` as AbsolutePath);
      if (!bytes) return { data: null, shape: full, stride: fullStrides };
      const what = `block ${[...coords].reverse().join('/')}`;
      try {
        const header = readHeader(bytes, full);
        const payload = await decompress(bytes.subarray(header.length));
        const elements = header.shape.reduce((a, b) => a * b, 1);
        if (header.elements !== null && header.elements !== elements) {
          throw new Error(
            `its varlength header holds ${header.elements} elements, a block of [${header.shape.join(', ')}] ${elements}`,
          );
        }
        if (payload.length !== elements * bytesPerElement) {
          throw new Error(
            `it decodes to ${payload.length} bytes where a ${meta.dtype} block of shape [${header.shape.join(', ')}] holds ` +
              `${elements * bytesPerElement} (cut short, or written with another compression or data type)`,
          );
        }
        const data = typedView(payload, meta.dtype, true);
        checkChunkLength(data, header.shape);
        return padded({ data, shape: header.shape, stride: cOrderStrides(header.shape) }, meta, fullStrides);
      } catch (cause) {
        throw new DataFormatError(`${what} could not be read: ${reasonOf(cause)}`, where, { cause });
      }
    },
  };
}

interface BlockHeader {
  /** Bytes before the compressed data. */
  length: number;
  /** The block's shape in C order. */
  shape: number[];
  /** Mode 1 (varlength): the number of elements the header announces. */
  elements: number | null;
}

function readHeader(bytes: Uint8Array, full: readonly number[]): BlockHeader {
  if (bytes.length < 4) throw new Error(`${bytes.length} bytes cannot hold an N5 block header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mode = view.getUint16(0);
  if (mode === 2) throw new Error('it is an object block (mode 2), not an array block');
  if (mode > 2) throw new Error(`its header gives mode ${mode} (N5 knows 0, 1 and 2)`);
  const ndim = view.getUint16(2);
  if (ndim !== full.length) throw new Error(`its header gives ${ndim} dimensions, the dataset has ${full.length}`);
  const length = 4 + 4 * ndim + (mode === 1 ? 4 : 0);
  if (bytes.length < length) throw new Error(`its ${length}-byte header is cut short (${bytes.length} bytes)`);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i)).reverse();
  shape.forEach((n, a) => {
    if (n > full[a]!) {
      throw new Error(`its header gives shape [${shape.join(', ')}], larger than the blockSize [${full.join(', ')}]`);
    }
  });
  return { length, shape, elements: mode === 1 ? view.getUint32(4 + 4 * ndim) : null };
}

/** A truncated (edge) block inside a zero-filled full block; a full block as it is. */
function padded(block: DecodedChunk, meta: ArrayMetadata, fullStrides: number[]): DecodedChunk {
  if (block.shape.every((n, a) => n === meta.chunks[a])) return block;
  const out = newStoredArray(
    meta.dtype,
    meta.chunks.reduce((a, b) => a * b, 1),
  );
  const zeros = block.shape.map(() => 0);
  copyBox(block.data!, block.stride, zeros, out, fullStrides, zeros, block.shape);
  return { data: out, shape: meta.chunks, stride: fullStrides };
}

/** The decompressor of an N5 `compression` (as the N5 libraries and zarr-python write them). */
export function n5Decompressor(compression: Record<string, unknown>): BytesDecoder {
  switch (compression['type']) {
    case 'raw':
      return async (b) => b;
    case 'gzip':
      return compression['useZlib'] === true ? zlibStream : gzipStream;
    case 'bzip2':
      return bz2;
    case 'xz':
      return xz;
    case 'blosc':
      return blosc;
    case 'zstd':
      return zstd;
    case 'lz4':
      return (b) => (isLz4JavaStream(b) ? lz4JavaStream(b) : lz4(b));
    default:
      throw new Error(`N5 compression ${JSON.stringify(compression['type'])} is not supported`);
  }
}

const gzipStream: BytesDecoder = async (b) => {
  try {
    return await inflate(b, 'gzip');
  } catch (error) {
    throw new Error(`gzip stream is corrupt or cut short: ${(error as Error).message}`);
  }
};
const zlibStream: BytesDecoder = async (b) => {
  try {
    return await inflate(b, 'deflate');
  } catch (error) {
    throw new Error(`zlib stream is corrupt or cut short: ${(error as Error).message}`);
  }
};

const LZ4_MAGIC = [0x4c, 0x5a, 0x34, 0x42, 0x6c, 0x6f, 0x63, 0x6b]; // "LZ4Block"
const LZ4_SEED = 0x9747b28c;

const isLz4JavaStream = (b: Uint8Array) => b.length >= 8 && LZ4_MAGIC.every((m, i) => b[i] === m);

/**
 * n5-java's lz4 (lz4-java's LZ4BlockOutputStream): blocks of "LZ4Block", a token (method 0x10
 * raw or 0x20 LZ4, and the level), compressed and decompressed lengths and the XXH32 of the
 * decompressed bytes (masked to 28 bits; little-endian u32 each), then the data; an empty block
 * ends the stream. (zarr-python writes numcodecs' LZ4 instead: read by `lz4`.)
 */
export const lz4JavaStream: BytesDecoder = async (b) => {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const parts: Uint8Array[] = [];
  let at = 0;
  let total = 0;
  for (;;) {
    if (at + 21 > b.length || !LZ4_MAGIC.every((m, i) => b[at + i] === m)) {
      throw new Error(`lz4 block stream is corrupt or cut short at byte ${at} (no LZ4Block header)`);
    }
    const method = b[at + 8]! & 0xf0;
    const compressed = view.getInt32(at + 9, true);
    const size = view.getInt32(at + 13, true);
    const checksum = view.getUint32(at + 17, true);
    at += 21;
    if (size === 0 && compressed === 0) break;
    if (compressed < 0 || size < 0 || at + compressed > b.length) {
      throw new Error(`lz4 block stream is cut short: a block of ${compressed} bytes at byte ${at - 21}`);
    }
    const data = b.subarray(at, at + compressed);
    let out: Uint8Array;
    if (method === 0x10) {
      if (compressed !== size) throw new Error('lz4 block stream: a raw block whose two lengths differ');
      out = data;
    } else if (method === 0x20) {
      out = new Uint8Array(size);
      const produced = lz4Block(data, out);
      if (produced !== size) throw new Error(`lz4 block decodes to ${produced} bytes, its header says ${size}`);
    } else {
      throw new Error(`lz4 block stream: unknown compression method 0x${method.toString(16)}`);
    }
    if ((xxhash32(out, LZ4_SEED) & 0xfffffff) !== checksum) {
      throw new Error('lz4 block stream: a block fails its checksum (the data is damaged)');
    }
    parts.push(out);
    total += size;
    at += compressed;
  }
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return all;
};
