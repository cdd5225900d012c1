/**
 * Chunk bytes, pure: a C-order typed array of one whole chunk → its stored bytes before
 * compression (zarr's little-endian `bytes`). Compression happens where the chunk is stored
 * (file-store.ts, node:zlib off the main thread).
 */
import type { ArraySpec } from './metadata.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export type ChunkData = Uint8Array | Uint16Array | Uint32Array | BigUint64Array | Float32Array;

const CONSTRUCTORS = {
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  float32: Float32Array,
} as const;

/** A zero-filled chunk of the array's dtype and chunk shape. */
export function emptyChunk(spec: Pick<ArraySpec, 'dtype' | 'chunks'>): ChunkData {
  return new CONSTRUCTORS[spec.dtype](spec.chunks.reduce((a, b) => a * b, 1));
}

/** The chunk's uncompressed stored bytes (a view of `data`). */
export function chunkBytes(spec: Pick<ArraySpec, 'dtype' | 'chunks'>, data: ChunkData): Uint8Array {
  const n = spec.chunks.reduce((a, b) => a * b, 1);
  if (data.length !== n || !(data instanceof CONSTRUCTORS[spec.dtype])) {
    throw new Error(`chunkBytes: expected ${n} ${spec.dtype} values, got ${data.length} (${data.constructor.name})`);
  }
  if (!LITTLE_ENDIAN) throw new Error('chunkBytes: big-endian hosts are not supported');
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
