/** A container held in memory: file names (relative to the root) to bytes. */
import type { AbsolutePath, AsyncReadable, RangeQuery } from '@zarrita/storage';
import { METADATA_FILES, type OpenedStore, rangeBounds, shortReadError } from './types.js';

export function openMemory(container: string, files: ReadonlyMap<string, Uint8Array>): OpenedStore {
  const store: AsyncReadable = {
    get: async (key: AbsolutePath) => files.get(key.slice(1)),
    async getRange(key: AbsolutePath, range: RangeQuery) {
      const all = files.get(key.slice(1));
      if (!all) return undefined;
      const bounds = rangeBounds(range, all.length);
      if (!bounds) throw shortReadError(container, key, range, all.length);
      return all.subarray(bounds.start, bounds.end);
    },
  };
  const keys = [...files.keys()].filter((k) => METADATA_FILES.has(k.split('/').pop()!)).sort();
  return { container, kind: 'memory', store, listMetadataKeys: async () => keys };
}
