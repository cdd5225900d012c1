/**
 * Local paths (Node): a folder or a .zip file. Loaded on demand, so the reading core has no
 * static dependency on `node:` modules; bundles for a page get `local.browser.ts` instead
 * (package.json `browser` field).
 */
import type { DirectoryOptions } from './directory.js';
import type { OpenedStore } from './types.js';

export async function openLocal(location: string, options: DirectoryOptions = {}): Promise<OpenedStore> {
  if (/\.zip$/i.test(location)) return (await import('./zip.js')).openZip(location);
  return (await import('./directory.js')).openDirectory(location, options);
}
