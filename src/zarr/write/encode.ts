/**
 * Chunk encoding, pure: a C-order typed array of one whole chunk → its stored bytes (little
 * endian, then gzip/zlib through numcodecs' encoders, which are fflate underneath).
 */
import { GZip, Zlib } from 'numcodecs';
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

export async function encodeChunk(spec: ArraySpec, data: ChunkData): Promise<Uint8Array> {
  const n = spec.chunks.reduce((a, b) => a * b, 1);
  if (data.length !== n || !(data instanceof CONSTRUCTORS[spec.dtype])) {
    throw new Error(`encodeChunk: expected ${n} ${spec.dtype} values, got ${data.length} (${data.constructor.name})`);
  }
  if (!LITTLE_ENDIAN) throw new Error('encodeChunk: big-endian hosts are not supported');
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const level = spec.level ?? 1;
  if (spec.compressor === 'gzip') {
    const gz = await GZip.fromConfig({ id: 'gzip', level }).encode(bytes);
    // MTIME 0 ("no time stamp", RFC 1952): the same chunk always has the same bytes, whoever wrote it.
    gz.fill(0, 4, 8);
    return gz;
  }
  if (spec.compressor === 'zlib') return Zlib.fromConfig({ id: 'zlib', level }).encode(bytes);
  return bytes;
}
