/**
 * The private internal of unzipit that tfjs-zarr relies on: a ZipEntry's CRC-32 from the central
 * directory (`_rawEntry.crc32`). unzipit does not check CRCs and its public ZipEntry does not
 * expose them; the zip store checks every entry it reads (src/zarr/stores/zip-blob.ts).
 * test/internals/unzipit.test.ts fails when an unzipit release changes it, and package.json pins
 * unzipit to the exact version it was checked against.
 */
import type { ZipEntry } from 'unzipit';

/** The CRC-32 the zip's central directory stores for `entry` (unsigned). */
export function zipEntryCrc32(entry: ZipEntry): number {
  const raw = (entry as unknown as { _rawEntry?: { crc32?: unknown } })._rawEntry;
  if (typeof raw?.crc32 !== 'number') {
    throw new Error('unzipit no longer exposes the entry CRC-32 (_rawEntry.crc32): see src/internals/unzipit.ts');
  }
  return raw.crc32 >>> 0;
}
