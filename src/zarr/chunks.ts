/**
 * Reading one chunk of a zarrita array: fetch the bytes, tell a missing chunk (the fill value, as
 * zarr specifies) from a present one, decode, and name the chunk key when decoding fails.
 */
import type * as zarr from 'zarrita';
import { DataFormatError } from '../errors.js';
import type { StoredArray } from '../types.js';

export interface DecodedChunk {
  /** Null for a chunk that is not stored: every voxel is the array's fill value. */
  data: StoredArray | null;
  shape: number[];
  stride: number[];
}

interface ZarritaContext {
  encodeChunkKey(coords: number[]): string;
  getChunkBytes(coords: number[]): Promise<Uint8Array | undefined>;
  codec: { decode(bytes: Uint8Array): Promise<{ data: unknown; shape: number[]; stride: number[] }> };
  chunkShape: number[];
  getStrides(shape: number[]): number[];
}

/** zarrita keeps the pieces we need on a symbol-keyed context (zarrita 0.7). */
function zarritaContext(arr: zarr.Array<zarr.DataType>): ZarritaContext | null {
  for (const sym of Object.getOwnPropertySymbols(arr)) {
    if (sym.description === 'zarrita.context') {
      const ctx = (arr as unknown as Record<symbol, ZarritaContext>)[sym];
      if (ctx && typeof ctx.getChunkBytes === 'function' && typeof ctx.encodeChunkKey === 'function') return ctx;
    }
  }
  return null;
}

/** zarrita gives bool chunks as a BoolArray over 0/1 bytes: read those bytes. */
function asStoredArray(data: unknown): StoredArray {
  if (ArrayBuffer.isView(data)) return data as StoredArray;
  const d = data as { buffer: ArrayBufferLike; byteOffset: number; length: number };
  return new Uint8Array(d.buffer, d.byteOffset, d.length);
}

export interface ChunkReader {
  key(coords: number[]): string;
  read(coords: number[]): Promise<DecodedChunk>;
}

/**
 * `sharding` (v3 sharded arrays): the inner chunk shape and the shard shape. Chunk coordinates
 * are then inner-chunk coordinates, and messages name the shard file they live in.
 */
export function chunkReader(
  arr: zarr.Array<zarr.DataType>,
  where: { container: string; path: string },
  sharding: { inner: readonly number[]; shard: readonly number[] } | null = null,
): ChunkReader {
  const ctx = zarritaContext(arr);
  const encode = (coords: number[]) => ctx?.encodeChunkKey(coords) ?? coords.join('.');
  const key = (coords: number[]) =>
    sharding ? encode(coords.map((c, i) => Math.floor((c * sharding.inner[i]!) / sharding.shard[i]!))) : encode(coords);
  const describe = (coords: number[]) =>
    sharding ? `inner chunk [${coords.join(', ')}] of shard ${key(coords)}` : `chunk ${key(coords)}`;
  const fail = (coords: number[], cause: unknown): never => {
    const reason =
      cause instanceof Error
        ? cause.cause instanceof Error
          ? `${cause.message}: ${cause.cause.message}`
          : cause.message
        : String(cause);
    throw new DataFormatError(`${describe(coords)} could not be read: ${reason}`, where, { cause });
  };
  if (!ctx) {
    // Unknown zarrita internals: decode through the public API (missing chunks allocate a fill chunk).
    return {
      key,
      read: async (coords) => {
        try {
          const c = await arr.getChunk(coords);
          return { data: asStoredArray(c.data), shape: c.shape, stride: c.stride };
        } catch (cause) {
          return fail(coords, cause);
        }
      },
    };
  }
  const chunkShape = ctx.chunkShape;
  const fillStride = ctx.getStrides(chunkShape);
  return {
    key,
    read: async (coords) => {
      let bytes: Uint8Array | undefined;
      try {
        bytes = await ctx.getChunkBytes(coords);
      } catch (cause) {
        if (cause instanceof DataFormatError) throw cause;
        return fail(coords, cause);
      }
      if (!bytes) return { data: null, shape: chunkShape, stride: fillStride };
      try {
        const c = await ctx.codec.decode(bytes);
        const data = asStoredArray(c.data);
        const expected = c.shape.reduce((a, b) => a * b, 1);
        if (data.length !== expected) {
          throw new Error(
            `it decodes to ${data.length} values where a chunk of shape [${c.shape.join(', ')}] holds ${expected} ` +
              '(cut short, or written with other metadata: compressor, dtype, chunks)',
          );
        }
        return { data, shape: c.shape, stride: c.stride };
      } catch (cause) {
        return fail(coords, cause);
      }
    },
  };
}
