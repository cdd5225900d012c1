/**
 * Local paths (Node): a folder or a .zip file. Loaded on demand, so the reading core has no
 * static dependency on `node:` modules; bundles for a page get `local.browser.ts` instead
 * (package.json `browser` field).
 */
import type { OpenedStore } from './types.js';

export async function openLocal(location: string): Promise<OpenedStore> {
  if (/\.zip$/i.test(location)) return (await import('./zip.js')).openZip(location);
  return (await import('./directory.js')).openDirectory(location);
}
