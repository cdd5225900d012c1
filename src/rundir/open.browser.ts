/** Opens a run directory by its location in a page: IndexedDB (`indexeddb://exp1`) only. */
import { OptionsError } from '../errors.js';
import { IndexedDbRunDir } from './indexeddb-run-dir.js';
import { isIndexedDbLocation, type RunDir } from './run-dir.js';

export function openRunDir(location: string): RunDir {
  if (isIndexedDbLocation(location)) return new IndexedDbRunDir(location);
  throw new OptionsError(
    `a page keeps runs in IndexedDB: give a location such as 'indexeddb://exp1', not ${JSON.stringify(location)}`,
  );
}
