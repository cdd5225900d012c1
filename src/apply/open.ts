/**
 * Naming and opening single arrays for the apply commands: `data.zarr/raw` is the array `raw` of
 * the container `data.zarr` (the container is the path up to its last component ending in `.zarr`,
 * `.zr`, `.n5` or `.zip`; without one, the last component is the array and the rest the container).
 */
import * as zarr from 'zarrita';
import { DataFormatError, OptionsError } from '../errors.js';
import type { ArrayLocation } from '../zarr/write/file-store.js';
import { ChunkCache } from '../zarr/chunk-cache.js';
import type { DecodedChunk } from '../zarr/chunks.js';
import { registerFastCodecs } from '../zarr/codecs.js';
import { readArrayMetadata } from '../zarr/metadata/array.js';
import { readSpatialMetadata } from '../zarr/metadata/funlib.js';
import { openStore } from '../zarr/stores/index.js';
import { escapeKeyPath, unescapingStore } from '../zarr/stores/keys.js';
import { ZarrVolume } from '../zarr/volume.js';

const CONTAINER = /\.(zarr|zr|n5|zip)$/i;

export function parseArrayLocation(location: string | ArrayLocation, option = 'array'): ArrayLocation {
  if (typeof location !== 'string') return location;
  const trimmed = location.replace(/\/+$/, '');
  const url = /^[a-z]+:\/\/[^/]*/i.exec(trimmed)?.[0] ?? '';
  const parts = trimmed.slice(url.length).split('/');
  let split = -1;
  for (let i = parts.length - 2; i >= 0; i--) {
    if (CONTAINER.test(parts[i]!)) {
      split = i;
      break;
    }
  }
  if (split < 0) split = parts.length - 2;
  const container = url + parts.slice(0, split + 1).join('/');
  const path = parts.slice(split + 1).join('/');
  if (!path || (!container && !url)) {
    throw new OptionsError(
      `${option} ${JSON.stringify(location)} must name an array inside a container, e.g. data.zarr/raw`,
    );
  }
  return { container: container || '.', path };
}

export function formatArrayLocation(loc: ArrayLocation): string {
  return `${loc.container}/${loc.path}`;
}

/** Opens one array (zarr v2 or v3, local, http(s) or zip) as a Volume in world coordinates. */
export async function openArray(
  location: string | ArrayLocation,
  options: { cacheBytes?: number; option?: string } = {},
): Promise<ZarrVolume> {
  registerFastCodecs();
  const loc = parseArrayLocation(location, options.option);
  const opened = await openStore(loc.container);
  // The reading layer's checks first (messages naming file and key), then zarrita, pinned to the format.
  const stored = await readArrayMetadata(opened.store, loc);
  let array: zarr.Array<zarr.DataType>;
  try {
    const location = zarr.root(unescapingStore(opened.store)).resolve(escapeKeyPath(loc.path));
    array = await (stored.format === 3 ? zarr.open.v3 : zarr.open.v2)(location, { kind: 'array' });
  } catch (cause) {
    throw new DataFormatError(`cannot open the array from ${stored.metadataKey}: ${(cause as Error).message}`, loc, {
      cause,
    });
  }
  const metadata = readSpatialMetadata(stored.attrs, stored.shape.length, loc);
  const cache = new ChunkCache<DecodedChunk>({ maxBytes: options.cacheBytes ?? 256 * 1024 * 1024 });
  return new ZarrVolume({ container: loc.container, path: loc.path, array, stored, metadata, cache });
}
