/**
 * A zarr container in a folder the user picked in a page (`showDirectoryPicker()`): keys are file
 * names below the folder, read through the File System Access API. Folder handles are looked up
 * once per folder; a range read slices the file without reading the rest.
 */
import type { AbsolutePath, AsyncReadable, RangeQuery } from '@zarrita/storage';
import { DataFormatError } from '../../errors.js';
import { listMetadata, type ListedFolder } from './listing.js';
import type { DirectoryHandle } from './source.js';
import { type OpenedStore, rangeBounds, shortReadError } from './types.js';

/** The File System Access API's "not there" errors (no such entry, or a file where a folder is asked). */
const isMissing = (e: unknown) => ['NotFoundError', 'TypeMismatchError'].includes((e as { name?: string })?.name ?? '');

export function openHandle(root: DirectoryHandle, container: string): OpenedStore {
  const folders = new Map<string, Promise<DirectoryHandle | null>>([['', Promise.resolve(root)]]);
  const folder = (path: string): Promise<DirectoryHandle | null> => {
    let found = folders.get(path);
    if (!found) {
      const cut = path.lastIndexOf('/');
      found = folder(path.slice(0, Math.max(cut, 0))).then((parent) =>
        parent ? parent.getDirectoryHandle(path.slice(cut + 1)).catch(missingAsNull) : null,
      );
      folders.set(path, found);
    }
    return found;
  };
  const file = async (key: AbsolutePath): Promise<File | undefined> => {
    const path = key.slice(1);
    const cut = path.lastIndexOf('/');
    try {
      const parent = await folder(path.slice(0, Math.max(cut, 0)));
      if (!parent) return undefined;
      const handle = await parent.getFileHandle(path.slice(cut + 1)).catch(missingAsNull);
      return handle ? await handle.getFile() : undefined;
    } catch (cause) {
      throw new DataFormatError(`cannot read ${path}: ${(cause as Error).message}`, { container }, { cause });
    }
  };
  const store: AsyncReadable = {
    async get(key: AbsolutePath) {
      const f = await file(key);
      return f ? new Uint8Array(await f.arrayBuffer()) : undefined;
    },
    async getRange(key: AbsolutePath, range: RangeQuery) {
      const f = await file(key);
      if (!f) return undefined;
      const bounds = rangeBounds(range, f.size);
      if (!bounds) throw shortReadError(container, key, range, f.size);
      return new Uint8Array(await f.slice(bounds.start, bounds.end).arrayBuffer());
    },
  };
  return { container, kind: 'directory', store, listMetadataKeys: () => listMetadata(handleFolder(root)) };
}

function missingAsNull(e: unknown): null {
  if (isMissing(e)) return null;
  throw e;
}

function handleFolder(handle: DirectoryHandle): ListedFolder {
  return {
    async list() {
      const files: string[] = [];
      const folders: string[] = [];
      for await (const entry of handle.values()) (entry.kind === 'file' ? files : folders).push(entry.name);
      return { files, folders };
    },
    folder: async (name) => handleFolder(await handle.getDirectoryHandle(name)),
    text: async (name) => (await (await handle.getFileHandle(name)).getFile()).text(),
  };
}
