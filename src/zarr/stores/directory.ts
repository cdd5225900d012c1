/** A zarr container in a local folder. */
import { type Dirent, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { AbsolutePath, AsyncReadable, RangeQuery } from '@zarrita/storage';
import { DataFormatError } from '../../errors.js';
import { joinKey, METADATA_FILES, type OpenedStore, rangeBounds, shortReadError } from './types.js';

export interface DirectoryOptions {
  /**
   * Read files with blocking calls. For threads that do nothing but read (the training workers):
   * one blocking read of a cached file costs far less than the four thread-pool round trips (open,
   * stat, read, close) of an asynchronous one. Never on a thread that serves anything else.
   */
  blockingReads?: boolean;
}

export async function openDirectory(location: string, options: DirectoryOptions = {}): Promise<OpenedStore> {
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
    store: directoryStore(root, location, options.blockingReads === true),
    listMetadataKeys: () => walkMetadata(root),
  };
}

const isMissing = (error: unknown) => ['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '');

/**
 * Keys are file names below the root (never URL-decoded). Unlike @zarrita/storage's file store, a
 * range read past the end of a file is an error rather than zero-filled bytes.
 */
function directoryStore(root: string, container: string, blockingReads: boolean): AsyncReadable {
  const file = (key: AbsolutePath) => path.join(root, ...key.slice(1).split('/'));
  return {
    async get(key: AbsolutePath) {
      try {
        if (blockingReads) {
          const bytes = readFileSync(file(key));
          // Large files get a buffer of their own: view it; copy small (pooled, maybe unaligned) ones.
          return bytes.byteOffset === 0 ? new Uint8Array(bytes.buffer, 0, bytes.byteLength) : new Uint8Array(bytes);
        }
        return new Uint8Array(await fs.readFile(file(key)));
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    async getRange(key: AbsolutePath, range: RangeQuery) {
      let handle: fs.FileHandle;
      try {
        handle = await fs.open(file(key), 'r');
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
      try {
        const size = (await handle.stat()).size;
        const bounds = rangeBounds(range, size);
        if (!bounds) throw shortReadError(container, key, range, size);
        const data = new Uint8Array(bounds.end - bounds.start);
        const { bytesRead } = await handle.read(data, 0, data.length, bounds.start);
        if (bytesRead !== data.length) throw shortReadError(container, key, range, bounds.start + bytesRead);
        return data;
      } finally {
        await handle.close();
      }
    },
  };
}

/**
 * Metadata files below `root`, not descending into arrays (whose folders hold only chunks).
 * Symbolic links to folders and files are followed, as zarr-python does (a link back to an
 * enclosing folder is not followed again).
 */
async function walkMetadata(root: string): Promise<string[]> {
  const keys: string[] = [];
  const kindOf = async (dir: string, e: Dirent): Promise<'file' | 'dir' | null> => {
    if (e.isFile()) return 'file';
    if (e.isDirectory()) return 'dir';
    if (!e.isSymbolicLink()) return null;
    const target = await fs.stat(path.join(dir, e.name)).catch(() => null);
    return target?.isFile() ? 'file' : target?.isDirectory() ? 'dir' : null;
  };
  async function visit(dir: string, rel: string, enclosing: ReadonlySet<string>): Promise<void> {
    const real = await fs.realpath(dir);
    if (enclosing.has(real)) return;
    const inside = new Set([...enclosing, real]);
    const entries = await fs.readdir(dir, { withFileTypes: true });
    const kinds = await Promise.all(entries.map((e) => kindOf(dir, e)));
    const files = new Set(entries.filter((_, i) => kinds[i] === 'file').map((e) => e.name));
    for (const name of [...files].sort()) if (METADATA_FILES.has(name)) keys.push(joinKey(rel, name));
    if (files.has('.zarray')) return;
    // An array's folder holds only chunks. A damaged metadata file is reported by the node index
    // when that node is asked about.
    const meta = async (name: string): Promise<Record<string, unknown>> => {
      try {
        const doc: unknown = JSON.parse(await fs.readFile(path.join(dir, name), 'utf8'));
        return typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : {};
      } catch {
        return {};
      }
    };
    if (files.has('zarr.json') && (await meta('zarr.json'))['node_type'] === 'array') return;
    if (files.has('attributes.json') && 'dimensions' in (await meta('attributes.json'))) return;
    await Promise.all(
      entries
        .filter((e, i) => kinds[i] === 'dir' && !e.name.startsWith('.'))
        .map((e) => visit(path.join(dir, e.name), joinKey(rel, e.name), inside)),
    );
  }
  await visit(root, '', new Set());
  return keys.sort();
}
