/**
 * Reading one chunk of an array: fetch its bytes, tell a missing chunk (the fill value, as zarr
 * specifies) from a present one, decode it through our codec pipeline, and name the chunk key
 * when that fails. zarr v2 and v3 (sharded too) here; N5 blocks in n5/blocks.ts.
 */
import type { AbsolutePath, AsyncReadable } from '@zarrita/storage';
import { DataFormatError } from '../errors.js';
import type { StoredArray } from '../types.js';
import { chunkDecoder, type ChunkDecoder } from './codecs/pipeline.js';
import { cOrderStrides } from './gather.js';
import type { ArrayMetadata, ZarrChunkStorage } from './metadata/array.js';
import { joinKey } from './stores/types.js';

export interface DecodedChunk {
  /** Null for a chunk that is not stored: every voxel is the array's fill value. */
  data: StoredArray | null;
  shape: number[];
  stride: number[];
}

/** An array's chunks by grid coordinates (v3 with sharding: inner-chunk coordinates). */
export interface ChunkSource {
  /** The store key of the file holding the chunk, relative to the container (for messages). */
  key(coords: readonly number[]): string;
  read(coords: readonly number[]): Promise<DecodedChunk>;
}

export interface Where {
  container: string;
  path: string;
}

/** The message of a decoding failure with its cause's, as one line. */
export function reasonOf(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  return cause.cause instanceof Error ? `${cause.message}: ${cause.cause.message}` : cause.message;
}

/** Checks a decoded chunk holds exactly as many values as its shape says. */
export function checkChunkLength(data: StoredArray, shape: readonly number[]): void {
  const expected = shape.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new Error(
      `it decodes to ${data.length} values where a chunk of shape [${shape.join(', ')}] holds ${expected} ` +
        '(cut short, or written with other metadata: compressor, dtype, chunks)',
    );
  }
}

/** The chunks of a zarr v2 or v3 array. */
export function zarrChunkSource(store: AsyncReadable, meta: ArrayMetadata, where: Where): ChunkSource {
  const storage = meta.storage as ZarrChunkStorage;
  const decoder = chunkDecoder(storage.codecs, meta.dtype, meta.chunks);
  const fillStride = cOrderStrides(meta.chunks);
  const missing = (): DecodedChunk => ({ data: null, shape: meta.chunks, stride: fillStride });
  const fileKey = (coords: readonly number[]) => joinKey(where.path, storage.key(coords));
  const fail = (what: string, cause: unknown): never => {
    throw new DataFormatError(`${what} could not be read: ${reasonOf(cause)}`, where, { cause });
  };
  const decode = async (bytes: Uint8Array, what: string): Promise<DecodedChunk> => {
    try {
      const c = await decoder.decode(bytes);
      checkChunkLength(c.data, c.shape);
      return c;
    } catch (cause) {
      return fail(what, cause);
    }
  };

  if (meta.shardShape && storage.sharding) {
    const shards = shardReader(store, meta, storage, where);
    const perShard = meta.shardShape.map((s, i) => s / meta.chunks[i]!);
    const shardOf = (coords: readonly number[]) => coords.map((c, i) => Math.floor(c / perShard[i]!));
    const key = (coords: readonly number[]) => fileKey(shardOf(coords));
    return {
      key,
      async read(coords) {
        const what = `inner chunk [${coords.join(', ')}] of shard ${storage.key(shardOf(coords))}`;
        const bytes = await shards.inner(
          key(coords),
          coords.map((c, i) => c % perShard[i]!),
          what,
        );
        return bytes ? decode(bytes, what) : missing();
      },
    };
  }
  return {
    key: fileKey,
    async read(coords) {
      const what = `chunk ${storage.key(coords)}`;
      let bytes: Uint8Array | undefined;
      try {
        bytes = await store.get(`/${fileKey(coords)}` as AbsolutePath);
      } catch (cause) {
        if (cause instanceof DataFormatError) throw cause;
        return fail(what, cause);
      }
      return bytes ? decode(bytes, what) : missing();
    },
  };
}

/** A shard's index entry meaning "this inner chunk is not stored". */
const EMPTY = 2n ** 64n - 1n;
const SHARD_INDEXES_KEPT = 64;

/**
 * zarr v3 `sharding_indexed` with the index at the end: per inner chunk a little-endian u64 offset
 * and length (both 2^64 − 1 for a missing chunk), then the index codecs' trailer (crc32c). Indexes
 * are read by suffix range and kept for the last shards asked; inner chunks by range.
 */
function shardReader(store: AsyncReadable, meta: ArrayMetadata, storage: ZarrChunkStorage, where: Where) {
  const perShard = meta.shardShape!.map((s, i) => s / meta.chunks[i]!);
  const count = perShard.reduce((a, b) => a * b, 1);
  const indexDecoder: ChunkDecoder = chunkDecoder(storage.sharding!.indexCodecs, 'uint64', [...perShard, 2]);
  const trailer = storage.sharding!.indexCodecs.some((c) => c.name === 'crc32c') ? 4 : 0;
  const indexBytes = count * 16 + trailer;
  const indexes = new Map<string, Promise<BigUint64Array | null>>();
  const strides = cOrderStrides(perShard);

  const readIndex = async (key: string, what: string): Promise<BigUint64Array | null> => {
    const path = `/${key}` as AbsolutePath;
    let bytes: Uint8Array | undefined;
    if (store.getRange) bytes = await store.getRange(path, { suffixLength: indexBytes });
    else bytes = (await store.get(path))?.subarray(-indexBytes);
    if (!bytes) return null;
    try {
      if (bytes.length !== indexBytes)
        throw new Error(`the shard is ${bytes.length} bytes, shorter than its ${indexBytes}-byte index`);
      return (await indexDecoder.decode(bytes)).data as BigUint64Array;
    } catch (cause) {
      throw new DataFormatError(`${what}: the shard index could not be read: ${reasonOf(cause)}`, where, { cause });
    }
  };
  const index = (key: string, what: string) => {
    let entry = indexes.get(key);
    if (entry) {
      indexes.delete(key);
    } else {
      entry = readIndex(key, what);
      entry.catch(() => indexes.delete(key));
      if (indexes.size >= SHARD_INDEXES_KEPT) indexes.delete(indexes.keys().next().value!);
    }
    indexes.set(key, entry);
    return entry;
  };

  return {
    /** The stored bytes of inner chunk `local` (coordinates within the shard), or undefined if absent. */
    async inner(key: string, local: number[], what: string): Promise<Uint8Array | undefined> {
      const idx = await index(key, what);
      if (!idx) return undefined;
      const i = local.reduce((sum, c, a) => sum + c * strides[a]!, 0);
      const offset = idx[2 * i]!;
      const length = idx[2 * i + 1]!;
      if (offset === EMPTY && length === EMPTY) return undefined;
      const path = `/${key}` as AbsolutePath;
      const range = { offset: Number(offset), length: Number(length) };
      const bytes = store.getRange
        ? await store.getRange(path, range)
        : (await store.get(path))?.subarray(range.offset, range.offset + range.length);
      if (!bytes || bytes.length !== range.length) {
        throw new DataFormatError(
          `${what}: the shard index points at bytes [${range.offset}, ${range.offset + range.length}) past the end of ${key}`,
          where,
        );
      }
      return bytes;
    },
  };
}
