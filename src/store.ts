/**
 * Stores: a zarrita `AsyncReadable` (`get(key) → bytes | undefined`) plus, where the medium allows
 * it, a listing of metadata keys so groups can be discovered without consolidated metadata.
 */
import { promises as fs, openAsBlob } from 'node:fs';
import * as path from 'node:path';
import type { AbsolutePath, AsyncReadable, RangeQuery } from '@zarrita/storage';
import FileSystemStore from '@zarrita/storage/fs';
import FetchStore from '@zarrita/storage/fetch';
import { unzip, type ZipEntry } from 'unzipit';
import { DataFormatError } from './errors.js';

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

const METADATA_FILES = new Set(['.zarray', '.zgroup', '.zattrs', 'zarr.json', '.zmetadata']);

export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

export async function openStore(location: string): Promise<OpenedStore> {
  if (isUrl(location)) return openHttp(location);
  if (/\.zip$/i.test(location)) return openZip(location);
  return openDirectory(location);
}

async function openDirectory(location: string): Promise<OpenedStore> {
  const root = path.resolve(location);
  const stat = await fs.stat(root).catch(() => null);
  if (!stat) throw new DataFormatError('no such file or directory', { container: location });
  if (!stat.isDirectory()) {
    throw new DataFormatError('not a directory (a zarr container is a folder, a .zip file or a URL)', {
      container: location,
    });
  }
  return {
    container: location,
    kind: 'directory',
    store: new FileSystemStore(root),
    listMetadataKeys: () => walkMetadata(root),
  };
}

/** Metadata files below `root`, not descending into arrays (whose folders hold only chunks). */
async function walkMetadata(root: string): Promise<string[]> {
  const keys: string[] = [];
  async function visit(dir: string, rel: string): Promise<void> {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    const names = new Set(entries.map((e) => e.name));
    for (const e of entries) {
      if (e.isFile() && METADATA_FILES.has(e.name)) keys.push(rel ? `${rel}/${e.name}` : e.name);
    }
    if (names.has('.zarray')) return;
    if (names.has('zarr.json')) {
      const meta = JSON.parse(await fs.readFile(path.join(dir, 'zarr.json'), 'utf8')) as { node_type?: string };
      if (meta.node_type === 'array') return;
    }
    await Promise.all(
      entries
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => visit(path.join(dir, e.name), rel ? `${rel}/${e.name}` : e.name)),
    );
  }
  await visit(root, '');
  return keys.sort();
}

async function openHttp(location: string): Promise<OpenedStore> {
  const url = location.endsWith('/') ? location.slice(0, -1) : location;
  const fetchStore = new FetchStore(url);
  // FetchStore throws a bare Error on statuses other than 200/206/404: say which URL failed.
  const failed = (key: AbsolutePath, cause: unknown): never => {
    throw new DataFormatError(`HTTP request for ${key.slice(1)} failed: ${(cause as Error).message}`, {
      container: location,
    }, { cause });
  };
  const store: AsyncReadable = {
    get: (key: AbsolutePath) => withRetries(() => fetchStore.get(key)).catch((cause) => failed(key, cause)),
    // Sharded v3 arrays read shard indexes and inner chunks by byte range.
    getRange: (key: AbsolutePath, range: RangeQuery) =>
      withRetries(() => fetchStore.getRange(key, range)).catch((cause) => failed(key, cause)),
  };
  return { container: location, kind: 'http', store, listMetadataKeys: async () => null };
}

/**
 * Retries a request that failed at the network level (fetch's TypeError: reset, refused,
 * timeout) a few times with a short back-off. A training step blocks the event loop for seconds,
 * long enough for a server to close an idle keep-alive connection just as the client reuses it.
 * HTTP error statuses are not retried.
 */
async function withRetries<T>(request: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await request();
    } catch (error) {
      if (!(error instanceof TypeError) || i >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * i));
    }
  }
}

async function openZip(location: string): Promise<OpenedStore> {
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
