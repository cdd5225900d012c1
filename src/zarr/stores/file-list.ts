/**
 * A zarr container given as the files of a picked folder (`<input type=file webkitdirectory>`'s
 * FileList, or an array of its Files): keys are the files' paths below the picked folder
 * (`webkitRelativePath` without its first segment). Range reads slice the file.
 */
import type { AbsolutePath, AsyncReadable, RangeQuery } from '@zarrita/storage';
import { DataFormatError } from '../../errors.js';
import { listMetadata, type ListedFolder } from './listing.js';
import { relativePath, topFolder } from './source.js';
import { METADATA_FILES, type OpenedStore, rangeBounds, shortReadError } from './types.js';

export function openFileList(files: readonly File[], container: string): OpenedStore {
  const top = topFolder(files);
  const byKey = new Map<string, File>();
  for (const file of files) {
    const path = relativePath(file);
    byKey.set(top === null ? path : path.slice(top.length + 1), file);
  }
  if (byKey.size > 0 && ![...byKey.keys()].some((k) => METADATA_FILES.has(k.split('/').pop()!))) {
    throw new DataFormatError(
      `none of the ${byKey.size} picked files is zarr metadata (.zgroup, .zarray, .zattrs, zarr.json); ` +
        'some browsers leave out hidden files such as .zarray when a folder is picked this way: ' +
        'pick the folder with showDirectoryPicker() or give the container as a .zip file',
      { container },
    );
  }
  const store: AsyncReadable = {
    async get(key: AbsolutePath) {
      const file = byKey.get(key.slice(1));
      return file ? new Uint8Array(await file.arrayBuffer()) : undefined;
    },
    async getRange(key: AbsolutePath, range: RangeQuery) {
      const file = byKey.get(key.slice(1));
      if (!file) return undefined;
      const bounds = rangeBounds(range, file.size);
      if (!bounds) throw shortReadError(container, key, range, file.size);
      return new Uint8Array(await file.slice(bounds.start, bounds.end).arrayBuffer());
    },
  };
  return { container, kind: 'directory', store, listMetadataKeys: () => listMetadata(keyFolder(byKey, '')) };
}

/** The folder `prefix` ('' or 'a/b/') of a set of file paths. */
function keyFolder(byKey: ReadonlyMap<string, File>, prefix: string): ListedFolder {
  return {
    async list() {
      const files = new Set<string>();
      const folders = new Set<string>();
      for (const key of byKey.keys()) {
        if (!key.startsWith(prefix)) continue;
        const rest = key.slice(prefix.length).split('/');
        (rest.length === 1 ? files : folders).add(rest[0]!);
      }
      return { files: [...files], folders: [...folders] };
    },
    folder: async (name) => keyFolder(byKey, `${prefix}${name}/`),
    text: (name) => byKey.get(`${prefix}${name}`)!.text(),
  };
}
