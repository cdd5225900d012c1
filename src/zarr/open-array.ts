/**
 * One array of an opened container as a Volume: its metadata checked (messages naming the file
 * and key), its chunks read through our own codec pipeline, its world metadata given (a
 * multiscale level's) or read from its attributes.
 */
import { ChunkCache } from './chunk-cache.js';
import { type DecodedChunk, zarrChunkSource } from './chunks.js';
import { DataFormatError } from '../errors.js';
import { readArrayMetadata } from './metadata/array.js';
import { readSpatialMetadata, type SpatialMetadata } from './metadata/funlib.js';
import { type OpenedStore, openStore, type StoreOptions } from './stores/index.js';
import { ZarrVolume } from './volume.js';

export interface OpenArrayArgs {
  opened: OpenedStore;
  /** The container as the user named it, for messages. */
  container: string;
  path: string;
  cache: ChunkCache<DecodedChunk>;
  /** World metadata from a multiscale group, checked against the array's rank; else read from its attributes. */
  metadata?: SpatialMetadata | null;
  /** Where a multiscale group's metadata came from, for messages. */
  groupPath?: string;
}

export async function openArrayVolume(args: OpenArrayArgs): Promise<ZarrVolume> {
  const where = { container: args.container, path: args.path };
  const stored = await readArrayMetadata(args.opened.store, where);
  let metadata = args.metadata ?? null;
  if (metadata) {
    if (metadata.axisNames.length !== stored.shape.length) {
      throw new DataFormatError(
        `multiscales names ${metadata.axisNames.length} axes but the array has ${stored.shape.length}`,
        { container: args.container, path: args.groupPath ?? args.path, attribute: 'multiscales' },
      );
    }
  } else {
    metadata = readSpatialMetadata(stored.attrs, stored.shape.length, where);
  }
  const source = zarrChunkSource(args.opened.store, stored, where);
  return new ZarrVolume({ container: args.container, path: args.path, source, stored, metadata, cache: args.cache });
}

/** Opens the array at `path` of the container at `location` with a chunk cache of its own. */
export async function openVolumeAt(
  location: string,
  path: string,
  options: { cacheBytes?: number } & StoreOptions = {},
): Promise<ZarrVolume> {
  const opened = await openStore(location, options);
  const cache = new ChunkCache<DecodedChunk>({ maxBytes: options.cacheBytes });
  return openArrayVolume({ opened, container: location, path, cache });
}
