/** A zarr container in a local .zip file (Node): the file is read as a Blob (see zip-blob.ts). */
import { openAsBlob } from 'node:fs';
import { DataFormatError } from '../../errors.js';
import type { OpenedStore } from './types.js';
import { openZipBlob } from './zip-blob.js';

export async function openZip(location: string): Promise<OpenedStore> {
  const blob = await openAsBlob(location).catch((cause: unknown) => {
    throw new DataFormatError(`cannot open zip file: ${(cause as Error).message}`, { container: location });
  });
  return openZipBlob(blob, location);
}
