/**
 * A store is a zarrita `AsyncReadable` (`get(key) → bytes | undefined`) plus, where the medium
 * allows it, a listing of metadata keys so groups can be discovered without consolidated metadata.
 */
import type { AsyncReadable } from '@zarrita/storage';

export interface OpenedStore {
  /** The location as the user gave it, for messages. */
  readonly container: string;
  readonly kind: 'directory' | 'http' | 'zip' | 'memory';
  readonly store: AsyncReadable;
  /**
   * Paths of every zarr metadata file (`.zarray`, `.zgroup`, `.zattrs`, `zarr.json`), relative to
   * the root without a leading slash; null where the medium cannot list (http).
   */
  listMetadataKeys(): Promise<string[] | null>;
}

/** `parent/name` for zarr keys and node paths, where '' is the root. */
export function joinKey(parent: string, name: string): string {
  return parent ? `${parent}/${name}` : name;
}

/** The zarr metadata files a listing reports. */
export const METADATA_FILES = new Set(['.zarray', '.zgroup', '.zattrs', 'zarr.json', '.zmetadata']);
