/** Local paths in a page: there are none; the user's files come as picked objects instead. */
import { DataFormatError } from '../../errors.js';
import type { OpenedStore } from './types.js';

export async function openLocal(location: string, _options: { blockingReads?: boolean } = {}): Promise<OpenedStore> {
  throw new DataFormatError(
    'a page cannot open a local path: give an http(s) or bucket URL, a folder from showDirectoryPicker(), ' +
      'the FileList of <input type=file webkitdirectory>, or a .zip File',
    { container: location },
  );
}
