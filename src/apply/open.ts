/**
 * Naming and opening single arrays for the apply commands: `data.zarr/raw` is the array `raw` of
 * the container `data.zarr` (the container is the path up to its last component ending in `.zarr`,
 * `.zr`, `.n5` or `.zip`; without one, the last component is the array and the rest the container).
 */
import { OptionsError } from '../errors.js';
import type { ArrayLocation } from '../zarr/write/file-store.js';
import { openVolumeAt } from '../zarr/container.js';
import type { ZarrVolume } from '../zarr/volume.js';

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
  const loc = parseArrayLocation(location, options.option);
  return openVolumeAt(loc.container, loc.path, { cacheBytes: options.cacheBytes ?? 256 * 1024 * 1024 });
}
