/**
 * A decoded-chunk cache shared by every read of a container: LRU, bounded in bytes, with
 * in-flight de-duplication (two reads wanting the same chunk decode it once) and a bounded queue
 * so at most `concurrency` chunk fetches/decodes run at a time.
 */

/** Default cap: 512 MiB of decoded chunks per opened container. */
export const DEFAULT_CACHE_BYTES = 512 * 1024 * 1024;
/** Default number of chunk fetches/decodes in flight at once. */
export const DEFAULT_CONCURRENCY = 16;

export interface CacheStats {
  hits: number;
  misses: number;
  evictions: number;
  bytes: number;
  entries: number;
}

export class ChunkCache<V> {
  readonly maxBytes: number;
  readonly concurrency: number;
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private readonly inFlight = new Map<string, Promise<V>>();
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private totalBytes = 0;
  /** Bytes of the cap taken for data derived from chunks (`reserve`). */
  private reserved = 0;
  private readonly counters = { hits: 0, misses: 0, evictions: 0 };

  constructor(options: { maxBytes?: number; concurrency?: number } = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_CACHE_BYTES;
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  }

  /** The cached value for `key`, or `load()`'s result (cached when it fits). */
  get(key: string, load: () => Promise<V>, sizeOf: (value: V) => number): Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      this.counters.hits++;
      // Refresh recency: Map keeps insertion order, so re-insert at the end.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return Promise.resolve(hit.value);
    }
    const pending = this.inFlight.get(key);
    if (pending) {
      this.counters.hits++;
      return pending;
    }
    this.counters.misses++;
    const promise = this.schedule(load).then(
      (value) => {
        this.inFlight.delete(key);
        this.insert(key, value, sizeOf(value));
        return value;
      },
      (error: unknown) => {
        this.inFlight.delete(key);
        throw error;
      },
    );
    this.inFlight.set(key, promise);
    return promise;
  }

  /**
   * Takes `bytes` of the cap for memory derived from the chunks (a boundary table built from a
   * labels array), so that cache and derived data stay under one cap. Refused (false) when chunks
   * would be left less than half of it.
   */
  reserve(bytes: number): boolean {
    if (!(bytes >= 0) || this.reserved + bytes > this.maxBytes / 2) return false;
    this.reserved += bytes;
    this.evictToFit();
    return true;
  }

  /** Gives back `bytes` taken by `reserve`. */
  unreserve(bytes: number): void {
    this.reserved = Math.max(0, this.reserved - bytes);
  }

  /** Bytes of the cap taken by `reserve` and not given back. */
  get reservedBytes(): number {
    return this.reserved;
  }

  stats(): CacheStats {
    return { ...this.counters, bytes: this.totalBytes, entries: this.entries.size };
  }

  clear(): void {
    this.entries.clear();
    this.totalBytes = 0;
  }

  private insert(key: string, value: V, bytes: number): void {
    if (bytes > this.maxBytes - this.reserved) return;
    this.entries.set(key, { value, bytes });
    this.totalBytes += bytes;
    this.evictToFit();
  }

  private evictToFit(): void {
    for (const [k, e] of this.entries) {
      if (this.totalBytes <= this.maxBytes - this.reserved) break;
      this.entries.delete(k);
      this.totalBytes -= e.bytes;
      this.counters.evictions++;
    }
  }

  private async schedule(load: () => Promise<V>): Promise<V> {
    if (this.running >= this.concurrency) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running++;
    try {
      return await load();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
