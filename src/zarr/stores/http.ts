/** A zarr container served over http(s) (object stores such as S3 serve zarr this way). */
import type { AbsolutePath, AsyncReadable, RangeQuery } from '@zarrita/storage';
import FetchStore from '@zarrita/storage/fetch';
import { DataFormatError } from '../../errors.js';
import type { OpenedStore } from './types.js';

export async function openHttp(location: string): Promise<OpenedStore> {
  const url = location.endsWith('/') ? location.slice(0, -1) : location;
  const fetchStore = new FetchStore(url);
  // FetchStore throws a bare Error on statuses other than 200/206/404: say which URL failed.
  const failed = (key: AbsolutePath, cause: unknown): never => {
    throw new DataFormatError(
      `HTTP request for ${key.slice(1)} failed: ${(cause as Error).message}`,
      {
        container: location,
      },
      { cause },
    );
  };
  const store: AsyncReadable = {
    get: (key: AbsolutePath) => withRetries(() => fetchStore.get(key)).catch((cause) => failed(key, cause)),
    // Sharded v3 arrays read shard indexes and inner chunks by byte range.
    getRange: (key: AbsolutePath, range: RangeQuery) =>
      withRetries(() => fetchStore.getRange(key, range)).catch((cause) => failed(key, cause)),
  };
  return { container: location, kind: 'http', store, listMetadataKeys: async () => null };
}

/**
 * Retries a request that failed at the network level (fetch's TypeError: reset, refused,
 * timeout) a few times with a short back-off. A training step blocks the event loop for seconds,
 * long enough for a server to close an idle keep-alive connection just as the client reuses it.
 * HTTP error statuses are not retried.
 */
async function withRetries<T>(request: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await request();
    } catch (error) {
      if (!(error instanceof TypeError) || i >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * i));
    }
  }
}
