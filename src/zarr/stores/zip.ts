/** A zarr container in a .zip file. */
import { openAsBlob } from 'node:fs';
import type { AbsolutePath, AsyncReadable, RangeQuery } from '@zarrita/storage';
import { unzip, type ZipEntry } from 'unzipit';
import { DataFormatError } from '../../errors.js';
import { METADATA_FILES, type OpenedStore } from './types.js';

export async function openZip(location: string): Promise<OpenedStore> {
  const blob = await openAsBlob(location).catch((cause: unknown) => {
    throw new DataFormatError(`cannot open zip file: ${(cause as Error).message}`, { container: location });
  });
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
  const store: AsyncReadable = {
    async get(key: AbsolutePath) {
      const entry = byKey.get(key.slice(1));
      if (!entry) return undefined;
      return new Uint8Array(await entry.arrayBuffer());
    },
    async getRange(key: AbsolutePath, range: RangeQuery) {
      const entry = byKey.get(key.slice(1));
      if (!entry) return undefined;
      const all = new Uint8Array(await entry.arrayBuffer());
      if ('suffixLength' in range) return all.subarray(all.length - range.suffixLength);
      return all.subarray(range.offset, range.offset + range.length);
    },
  };
  const keys = [...byKey.keys()].filter((k) => METADATA_FILES.has(k.split('/').pop()!)).sort();
  return { container: location, kind: 'zip', store, listMetadataKeys: async () => keys };
}

function commonZarrPrefix(names: string[]): string {
  const rootMeta = names.some((n) => METADATA_FILES.has(n));
  if (rootMeta) return '';
  const first = names.find((n) => METADATA_FILES.has(n.split('/').pop()!));
  if (!first) return '';
  const top = first.split('/')[0]!;
  return names.every((n) => n.startsWith(`${top}/`)) ? `${top}/` : '';
}
