/**
 * Opens the store a container source names: an http(s) URL, a bucket (`s3://`, `gs://`, or the
 * https URL of one), a local folder or .zip file (Node), or an object a page hands out (a picked
 * folder, its files, a .zip File/Blob). Each medium lives in its own module and is loaded only
 * when used; local paths go through `local.ts`, which bundles for a page replace.
 */
import type { BucketOptions } from './bucket.js';
import type { HttpOptions } from './http.js';
import { openLocal } from './local.js';
import { type ContainerSource, type PickedSource, pickedSource, sourceLabel } from './source.js';
import type { OpenedStore } from './types.js';

export type { BucketOptions } from './bucket.js';
export type { HttpOptions } from './http.js';
export type { ContainerSource } from './source.js';
export type { OpenedStore } from './types.js';
export { joinKey, METADATA_FILES } from './types.js';

export interface StoreOptions {
  http?: Partial<HttpOptions>;
  /** Buckets: region, endpoint, credentials (over the AWS_* environment variables), page size. */
  bucket?: BucketOptions;
  /** Local folders: read files with blocking calls (see DirectoryOptions). */
  blockingFileReads?: boolean;
}

export function isUrl(location: string): boolean {
  return /^(https?|s3|gs):\/\//i.test(location);
}

export async function openStore(source: ContainerSource, options: StoreOptions = {}): Promise<OpenedStore> {
  const picked = pickedSource(source);
  if (picked) return openPicked(picked, sourceLabel(source));
  const location = source as string;
  if (isUrl(location)) {
    const { bucketEnvironment } = await import('./environment.js');
    const bucket = { ...bucketEnvironment(), ...options.bucket };
    const buckets = await import('./bucket.js');
    if (buckets.isBucketUrl(location, bucket)) return buckets.openBucket(location, bucket, options.http);
    return (await import('./http.js')).openHttp(location, options.http);
  }
  return openLocal(location, { blockingReads: options.blockingFileReads });
}

async function openPicked(picked: PickedSource, label: string): Promise<OpenedStore> {
  switch (picked.kind) {
    case 'handle':
      return (await import('./handle.js')).openHandle(picked.handle, label);
    case 'files':
      return (await import('./file-list.js')).openFileList(picked.files, label);
    case 'blob':
      return (await import('./zip-blob.js')).openZipBlob(picked.blob, label);
  }
}
