/**
 * A store is a zarrita `AsyncReadable` (`get(key) → bytes | undefined`) plus, where the medium
 * allows it, a listing of metadata keys so groups can be discovered without consolidated metadata.
 */
import type { AsyncReadable, RangeQuery } from '@zarrita/storage';
import { DataFormatError } from '../../errors.js';

export interface OpenedStore {
  /** The location as the user gave it, for messages. */
  readonly container: string;
  readonly kind: 'directory' | 'http' | 'zip' | 'memory' | 'bucket';
  readonly store: AsyncReadable;
  /**
   * Paths of every zarr metadata file (`.zarray`, `.zgroup`, `.zattrs`, `zarr.json`), relative to
   * the root without a leading slash; null where the medium cannot list (http).
   */
  listMetadataKeys(): Promise<string[] | null>;
  /**
   * Names of the folders directly inside `path` (relative to the root, '' for the root), sorted;
   * null where the medium cannot list. For media that list one folder at a time (buckets), where
   * listing every key would list every chunk.
   */
  listChildren?(path: string): Promise<string[] | null>;
}

/** `parent/name` for zarr keys and node paths, where '' is the root. */
export function joinKey(parent: string, name: string): string {
  return parent ? `${parent}/${name}` : name;
}

/** The metadata files a listing reports (zarr v2, v3, and N5's attributes.json). */
export const METADATA_FILES = new Set(['.zarray', '.zgroup', '.zattrs', 'zarr.json', '.zmetadata', 'attributes.json']);

/** The byte range [start, end) a range query asks of a file of `size` bytes, or null if it reaches past the end. */
export function rangeBounds(range: RangeQuery, size: number): { start: number; end: number } | null {
  const start = 'suffixLength' in range ? size - range.suffixLength : range.offset;
  const end = 'suffixLength' in range ? size : range.offset + range.length;
  return start < 0 || end > size || start > end ? null : { start, end };
}

/**
 * A range read that reaches past the end of a file (a shard index pointing beyond its shard, a
 * shard cut short): an error naming the file, where a plain read would zero-fill or shorten.
 */
export function shortReadError(container: string, key: string, range: RangeQuery, size: number): DataFormatError {
  const asked =
    'suffixLength' in range
      ? `its last ${range.suffixLength} bytes`
      : `bytes [${range.offset}, ${range.offset + range.length})`;
  return new DataFormatError(
    `${key.replace(/^\//, '')} is ${size} bytes long but ${asked} were asked (the file is cut short or an index points past its end)`,
    {
      container,
    },
  );
}
