/**
 * Opens the store a location names: a local folder, an http(s) URL, a bucket (`s3://`, `gs://`,
 * or the https URL of one), or a .zip file. Each medium lives in its own module and is loaded only
 * when used, so the reading core has no static dependency on `node:` modules.
 */
import type { BucketOptions } from './bucket.js';
import type { HttpOptions } from './http.js';
import type { OpenedStore } from './types.js';

export type { BucketOptions } from './bucket.js';
export type { HttpOptions } from './http.js';

export interface StoreOptions {
  http?: Partial<HttpOptions>;
  /** Buckets: region, endpoint, credentials (over the AWS_* environment variables), page size. */
  bucket?: BucketOptions;
  /** Local folders: read files with blocking calls (see DirectoryOptions). */
  blockingFileReads?: boolean;
}
export type { OpenedStore } from './types.js';
export { joinKey, METADATA_FILES } from './types.js';

export function isUrl(location: string): boolean {
  return /^(https?|s3|gs):\/\//i.test(location);
}

export async function openStore(location: string, options: StoreOptions = {}): Promise<OpenedStore> {
  if (isUrl(location)) {
    const { bucketEnvironment } = await import('./environment.js');
    const bucket = { ...bucketEnvironment(), ...options.bucket };
    const buckets = await import('./bucket.js');
    if (buckets.isBucketUrl(location, bucket)) return buckets.openBucket(location, bucket, options.http);
    return (await import('./http.js')).openHttp(location, options.http);
  }
  if (/\.zip$/i.test(location)) return (await import('./zip.js')).openZip(location);
  return (await import('./directory.js')).openDirectory(location, { blockingReads: options.blockingFileReads });
}
