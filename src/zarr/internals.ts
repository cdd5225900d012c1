/**
 * Every private internal of a dependency that the reading layer relies on, in one place, each
 * pinned by test/zarr/internals.test.ts (which fails when the dependency changes it) and the
 * dependency pinned to an exact version in package.json.
 *
 * - unzipit 2.0.0: a ZipEntry's CRC-32 from the central directory (`_rawEntry.crc32`). unzipit
 *   does not check CRCs and its public ZipEntry does not expose them; we check every entry we
 *   read (stores/zip.ts).
 */
import type { ZipEntry } from 'unzipit';

/** The CRC-32 the zip's central directory stores for `entry` (unsigned). */
export function zipEntryCrc32(entry: ZipEntry): number {
  const raw = (entry as unknown as { _rawEntry?: { crc32?: unknown } })._rawEntry;
  if (typeof raw?.crc32 !== 'number') {
    throw new Error('unzipit no longer exposes the entry CRC-32 (_rawEntry.crc32): see src/zarr/internals.ts');
  }
  return raw.crc32 >>> 0;
}
