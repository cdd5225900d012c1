/**
 * A zarr container in a .zip archive held as a Blob (a File the user picked in a page, or a local
 * .zip opened as a Blob in Node). Entries are found through the central directory and unpacked
 * when read; each entry's CRC-32 is checked on its first read.
 */
import type { AbsolutePath, AsyncReadable, RangeQuery } from '@zarrita/storage';
import { unzip, type ZipEntry } from 'unzipit';
import { DataFormatError } from '../../errors.js';
import { zipEntryCrc32 } from '../../internals/unzipit.js';
import { crc32 } from '../checksums.js';
import { METADATA_FILES, type OpenedStore, rangeBounds, shortReadError } from './types.js';

export async function openZipBlob(blob: Blob, location: string): Promise<OpenedStore> {
  let entries: Record<string, ZipEntry>;
  try {
    ({ entries } = await unzip(blob));
  } catch (cause) {
    throw new DataFormatError(`not a readable zip file: ${(cause as Error).message}`, { container: location });
  }
  // A zip made by zipping the folder itself has every key under "<name>.zarr/": strip that prefix.
  const names = Object.keys(entries);
  const prefix = commonZarrPrefix(names);
  const byKey = new Map<string, ZipEntry>();
  for (const name of names) {
    if (!name.endsWith('/')) byKey.set(name.slice(prefix.length), entries[name]!);
  }
  // unzipit does not check CRC-32s: check each entry once (a shard read by ranges is unpacked again per range).
  const verified = new Set<string>();
  const read = async (name: string, entry: ZipEntry): Promise<Uint8Array> => {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await entry.arrayBuffer());
    } catch (cause) {
      throw new DataFormatError(
        `entry ${name} cannot be unpacked: ${(cause as Error).message}`,
        { container: location },
        { cause },
      );
    }
    if (!verified.has(name)) {
      const expected = zipEntryCrc32(entry);
      const actual = crc32(bytes);
      if (actual !== expected) {
        throw new DataFormatError(
          `entry ${name}: Bad CRC-32 (stored ${hex(expected)}, computed ${hex(actual)}); the zip file is damaged`,
          { container: location },
        );
      }
      verified.add(name);
    }
    return bytes;
  };
  const store: AsyncReadable = {
    async get(key: AbsolutePath) {
      const entry = byKey.get(key.slice(1));
      return entry ? read(key.slice(1), entry) : undefined;
    },
    async getRange(key: AbsolutePath, range: RangeQuery) {
      const entry = byKey.get(key.slice(1));
      if (!entry) return undefined;
      const all = await read(key.slice(1), entry);
      const bounds = rangeBounds(range, all.length);
      if (!bounds) throw shortReadError(location, key, range, all.length);
      return all.subarray(bounds.start, bounds.end);
    },
  };
  const keys = [...byKey.keys()].filter((k) => METADATA_FILES.has(k.split('/').pop()!)).sort();
  return { container: location, kind: 'zip', store, listMetadataKeys: async () => keys };
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

function commonZarrPrefix(names: string[]): string {
  const rootMeta = names.some((n) => METADATA_FILES.has(n));
  if (rootMeta) return '';
  const first = names.find((n) => METADATA_FILES.has(n.split('/').pop()!));
  if (!first) return '';
  const top = first.split('/')[0]!;
  return names.every((n) => n.startsWith(`${top}/`)) ? `${top}/` : '';
}
