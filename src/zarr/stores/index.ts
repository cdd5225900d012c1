/**
 * Opens the store a container source names: an http(s) URL, a local folder or .zip file (Node),
 * or an object a page hands out (a picked folder, its files, a .zip File/Blob). Each medium lives
 * in its own module; local paths go through `local.ts`, which bundles for a page replace.
 */
import type { HttpOptions } from './http.js';
import { openLocal } from './local.js';
import { type ContainerSource, pickedSource, sourceLabel } from './source.js';
import type { OpenedStore } from './types.js';

export type { HttpOptions } from './http.js';
export type { ContainerSource } from './source.js';
export type { OpenedStore } from './types.js';
export { joinKey, METADATA_FILES } from './types.js';

export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

export async function openStore(source: ContainerSource, http: Partial<HttpOptions> = {}): Promise<OpenedStore> {
  const picked = pickedSource(source);
  if (picked) return openPicked(picked, sourceLabel(source));
  const location = source as string;
  if (isUrl(location)) return (await import('./http.js')).openHttp(location, http);
  return openLocal(location);
}

async function openPicked(picked: NonNullable<ReturnType<typeof pickedSource>>, label: string): Promise<OpenedStore> {
  switch (picked.kind) {
    case 'handle':
      return (await import('./handle.js')).openHandle(picked.handle, label);
    case 'files':
      return (await import('./file-list.js')).openFileList(picked.files, label);
    case 'blob':
      return (await import('./zip-blob.js')).openZipBlob(picked.blob, label);
  }
}
