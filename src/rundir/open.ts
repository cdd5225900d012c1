/**
 * Opens a run directory by its location (Node): a folder, or `indexeddb://…` where IndexedDB
 * exists. Bundles for a page get `open.browser.ts` instead (package.json `browser` field).
 */
import { FileRunDir } from './file-run-dir.js';
import { IndexedDbRunDir } from './indexeddb-run-dir.js';
import { isIndexedDbLocation, type RunDir } from './run-dir.js';

export function openRunDir(location: string): RunDir {
  return isIndexedDbLocation(location) ? new IndexedDbRunDir(location) : new FileRunDir(location);
}
