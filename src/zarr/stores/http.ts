/**
 * A zarr container served over http(s) (object stores such as S3 serve zarr this way).
 *
 * Every request has a time limit for the response headers (`requestTimeoutMs`) and for each
 * stretch without body bytes (`idleTimeoutMs`). Network errors, timeouts, 408, 429 and 5xx are
 * retried with exponential backoff and full jitter (honouring `Retry-After`), as S3 clients do for
 * `SlowDown`; then the read fails with an error naming the URL. 404 is a missing key (a missing
 * chunk reads as the fill value); 403 and every other status are errors. A range request answered
 * without its range (a server ignoring `Range`) or an HTML page for a zarr key (a "soft 404") is
 * an error saying so.
 */
import type { AbsolutePath, AsyncReadable, RangeQuery } from '@zarrita/storage';
import { DataFormatError } from '../../errors.js';
import { explainFetchFailure } from './cors.js';
import { type OpenedStore, shortReadError } from './types.js';

export interface HttpOptions {
  /** Time allowed until the response headers arrive, per attempt (default 30 000 ms). */
  requestTimeoutMs: number;
  /** Time allowed without receiving body bytes, per attempt (default 30 000 ms). */
  idleTimeoutMs: number;
  /** Retries after the first attempt (default 5). */
  retries: number;
  /** First backoff delay; doubles each retry, with full jitter (default 250 ms). */
  retryBaseDelayMs: number;
  /** Longest wait between attempts, `Retry-After` included (default 20 000 ms). */
  retryMaxDelayMs: number;
}

export const DEFAULT_HTTP_OPTIONS: Readonly<HttpOptions> = Object.freeze({
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  retries: 5,
  retryBaseDelayMs: 250,
  retryMaxDelayMs: 20_000,
});

const RETRIED_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** A failure worth another attempt (network, timeout, 429/5xx), with the server's wish for a delay. */
class TransientError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

export async function openHttp(location: string, options: Partial<HttpOptions> = {}): Promise<OpenedStore> {
  const opts = { ...DEFAULT_HTTP_OPTIONS, ...options };
  const root = new URL(location);
  if (!root.pathname.endsWith('/')) root.pathname += '/';
  const base = root.href;
  // Keys are file names: each segment is percent-encoded, so `crop%5Fa` and `crop#1` reach the server as named.
  const baseUrl = new URL(base);
  const urlOf = (key: AbsolutePath) => {
    const url = new URL(key.slice(1).split('/').map(encodeURIComponent).join('/'), baseUrl);
    url.search = baseUrl.search; // a presigned or tokened root keeps its query on every key
    return url.href;
  };
  const request = async (key: AbsolutePath, range: RangeQuery | null): Promise<Uint8Array | undefined> => {
    const url = urlOf(key);
    const failure = (message: string, cause?: unknown) =>
      new DataFormatError(
        `GET ${url}${range ? ` (${rangeHeader(range)})` : ''}: ${message}`,
        { container: location },
        { cause },
      );
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await attemptOnce(url, range, opts);
        if (result.kind === 'missing') return undefined;
        if (result.kind === 'bytes') {
          if (range) checkRange(result, range, location, key);
          return result.bytes;
        }
        throw failure(result.message);
      } catch (error) {
        if (!(error instanceof TransientError))
          throw error instanceof DataFormatError ? error : failure(String(error), error);
        if (attempt >= opts.retries) {
          throw failure(`${error.message}; gave up after ${attempt + 1} attempts`, error);
        }
        const backoff = Math.random() * Math.min(opts.retryMaxDelayMs, opts.retryBaseDelayMs * 2 ** attempt);
        await sleep(Math.min(opts.retryMaxDelayMs, Math.max(backoff, error.retryAfterMs ?? 0)));
      }
    }
  };
  const store: AsyncReadable = {
    get: (key: AbsolutePath) => request(key, null),
    // Sharded v3 arrays read shard indexes and inner chunks by byte range.
    getRange: (key: AbsolutePath, range: RangeQuery) => request(key, range),
  };
  return { container: location, kind: 'http', store, listMetadataKeys: async () => null };
}

type Attempt =
  | { kind: 'missing' }
  | { kind: 'bytes'; status: number; bytes: Uint8Array; contentRange: string | null }
  | { kind: 'error'; message: string };

const rangeHeader = (range: RangeQuery) =>
  'suffixLength' in range ? `bytes=-${range.suffixLength}` : `bytes=${range.offset}-${range.offset + range.length - 1}`;

async function attemptOnce(url: string, range: RangeQuery | null, opts: HttpOptions): Promise<Attempt> {
  const controller = new AbortController();
  let timedOut = '';
  let timer = setTimeout(() => {
    timedOut = `no response within ${opts.requestTimeoutMs} ms (requestTimeoutMs)`;
    controller.abort();
  }, opts.requestTimeoutMs);
  try {
    let response: Response;
    try {
      response = await fetch(url, {
        signal: controller.signal,
        headers: range ? { Range: rangeHeader(range) } : {},
      });
    } catch (error) {
      const failure = timedOut ? null : await explainFetchFailure(url, range !== null);
      if (failure?.cors === 'yes') return { kind: 'error', message: failure.message };
      const hint = failure?.cors === 'maybe' ? ` (${failure.message})` : '';
      throw new TransientError(timedOut || `network error: ${describe(error)}${hint}`);
    }
    clearTimeout(timer);
    const status = response.status;
    if (status === 404) {
      await response.body?.cancel().catch(() => {});
      return { kind: 'missing' };
    }
    if (status !== 200 && status !== 206) {
      await response.body?.cancel().catch(() => {});
      const what = `HTTP ${status} ${response.statusText}`.trim();
      if (RETRIED_STATUSES.has(status))
        throw new TransientError(what, retryAfterMs(response.headers.get('retry-after')));
      const why =
        status === 403
          ? ' (forbidden: not read as a missing chunk)'
          : status === 416
            ? ' (the byte range reaches past the end of the file: cut short, or an index points past its end)'
            : '';
      return { kind: 'error', message: `${what}${why}` };
    }
    const type = response.headers.get('content-type') ?? '';
    if (/^\s*text\/html/i.test(type)) {
      await response.body?.cancel().catch(() => {});
      return {
        kind: 'error',
        message: `the server answered ${status} with an HTML page (content-type ${type}), not zarr data; a "soft 404"? A missing key must be a 404`,
      };
    }
    // The body, with a timer that restarts whenever bytes arrive.
    const parts: Uint8Array[] = [];
    let total = 0;
    const reader = response.body?.getReader();
    if (reader) {
      const idle = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = `the body stalled: no bytes for ${opts.idleTimeoutMs} ms (idleTimeoutMs) after ${total} bytes`;
          controller.abort();
        }, opts.idleTimeoutMs);
      };
      idle();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(value);
          total += value.length;
          idle();
        }
      } catch (error) {
        throw new TransientError(timedOut || `the body broke off after ${total} bytes: ${describe(error)}`);
      }
    }
    // A cross-origin answer hides Content-Encoding (the length would be the compressed one); the
    // browser checks that body against Content-Length itself.
    const hidden = response.headers.get('content-encoding') || response.type === 'cors';
    const expected = hidden ? null : response.headers.get('content-length');
    if (expected !== null && Number(expected) !== total) {
      throw new TransientError(`the body ended after ${total} of ${expected} bytes`);
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    return { kind: 'bytes', status, bytes, contentRange: response.headers.get('content-range') };
  } finally {
    clearTimeout(timer);
  }
}

/** A range answer must be a 206 for exactly the bytes asked (or the whole file when it is shorter). */
function checkRange(
  result: Extract<Attempt, { kind: 'bytes' }>,
  range: RangeQuery,
  container: string,
  key: AbsolutePath,
) {
  const asked = 'suffixLength' in range ? range.suffixLength : range.length;
  if (result.status !== 206) {
    throw new DataFormatError(
      `the server ignored the Range header of a request for ${key.slice(1)} (${rangeHeader(range)}): it answered ` +
        `${result.status} with ${result.bytes.length} bytes instead of 206 with ${asked}; sharded arrays need a server that serves byte ranges`,
      { container },
    );
  }
  const total = /\/(\d+)\s*$/.exec(result.contentRange ?? '')?.[1];
  if (result.bytes.length !== asked)
    throw shortReadError(container, key, range, total ? Number(total) : result.bytes.length);
  const start = /bytes\s+(\d+)-/.exec(result.contentRange ?? '')?.[1];
  if ('offset' in range && start !== undefined && Number(start) !== range.offset) {
    throw new DataFormatError(
      `the server answered the range request for ${key.slice(1)} (${rangeHeader(range)}) with another range (${result.contentRange})`,
      { container },
    );
  }
}

function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

function describe(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  return [e?.message, e?.cause?.code ?? e?.cause?.message].filter(Boolean).join(': ') || String(error);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
