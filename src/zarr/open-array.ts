/**
 * One array of an opened container as a Volume: its metadata checked (messages naming the file
 * and key), its chunks read through our own decoders, its world metadata given (a multiscale
 * level's) or read from its attributes by the conventions in metadata/conventions.ts.
 */
import type { ChunkCache } from './chunk-cache.js';
import { type DecodedChunk, zarrChunkSource } from './chunks.js';
import { DataFormatError } from '../errors.js';
import { readArrayMetadata } from './metadata/array.js';
import { type ContainerFormat, readWorldMetadata } from './metadata/conventions.js';
import type { SpatialMetadata } from './metadata/funlib.js';
import { n5ChunkSource } from './n5/blocks.js';
import { readN5ArrayMetadata } from './n5/metadata.js';
import type { OpenedStore } from './stores/index.js';
import { ZarrVolume } from './volume.js';

export interface OpenArrayArgs {
  opened: OpenedStore;
  /** The container as the user named it, for messages. */
  container: string;
  format?: ContainerFormat;
  path: string;
  cache: ChunkCache<DecodedChunk>;
  /** World metadata from a multiscale group, checked against the array's rank; else read from its attributes. */
  metadata?: SpatialMetadata | null;
  /** Where a multiscale group's metadata came from, for messages. */
  groupPath?: string;
}

export async function openArrayVolume(args: OpenArrayArgs): Promise<ZarrVolume> {
  const where = { container: args.container, path: args.path };
  const format = args.format ?? 'zarr';
  const { store } = args.opened;
  const stored = format === 'n5' ? await readN5ArrayMetadata(store, where) : await readArrayMetadata(store, where);
  let metadata = args.metadata ?? null;
  if (metadata) {
    if (metadata.axisNames.length !== stored.shape.length) {
      throw new DataFormatError(
        `multiscales names ${metadata.axisNames.length} axes but the array has ${stored.shape.length}`,
        { container: args.container, path: args.groupPath ?? args.path, attribute: 'multiscales' },
      );
    }
  } else {
    metadata = readWorldMetadata(stored.attrs, stored.shape.length, where, format);
  }
  const source = format === 'n5' ? n5ChunkSource(store, stored, where) : zarrChunkSource(store, stored, where);
  return new ZarrVolume({ container: args.container, path: args.path, source, stored, metadata, cache: args.cache });
}
