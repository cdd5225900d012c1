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

/** Sends one GET (the bucket store signs it here); plain `fetch` by default. */
export type Sender = (url: string, headers: Record<string, string>, signal: AbortSignal) => Promise<Response>;

const plainFetch: Sender = (url, headers, signal) => fetch(url, { headers, signal });

/** An answer that is neither data nor a missing key: what the store makes of it. */
export interface HttpAnswer {
  status: number;
  statusText: string;
  headers: Headers;
  /** The start of the body (S3 and GCS explain errors there). */
  body: string;
}

export interface GetRequest {
  /** The URL of each attempt (a bucket store may move to another region between attempts). */
  url: () => string;
  range: RangeQuery | null;
  /** The container, for messages. */
  container: string;
  /** The key asked for, for range checks and messages. */
  key: AbsolutePath;
  send?: Sender;
  /**
   * Another reading of an error status: 'again' to send the request once more at once (a region
   * now known), or a message to fail with; null for the default.
   */
  onError?: (answer: HttpAnswer) => 'again' | string | null;
}

/**
 * GET with timeouts and retries: the bytes, undefined for 404 (a missing key), or a
 * DataFormatError naming the URL.
 */
export async function getWithRetries(req: GetRequest, opts: HttpOptions): Promise<Uint8Array | undefined> {
  const { range } = req;
  let again = false;
  for (let attempt = 0; ; attempt++) {
    const url = req.url();
    const failure = (message: string, cause?: unknown) =>
      new DataFormatError(
        `GET ${url}${range ? ` (${rangeHeader(range)})` : ''}: ${message}`,
        { container: req.container },
        { cause },
      );
    try {
      const result = await attemptOnce(url, range, opts, req.send ?? plainFetch);
      if (result.kind === 'missing') return undefined;
      if (result.kind === 'refused') throw failure(result.message);
      if (result.kind === 'bytes') {
        const whole = range && 'suffixLength' in range ? suffixAsOffset(result, range) : null;
        // A server that reads `bytes=-n` as `bytes=0-n` (some S3-compatible ones): ask for the offsets.
        if (whole) return getWithRetries({ ...req, range: whole }, opts);
        if (range) checkRange(result, range, req.container, req.key);
        return result.bytes;
      }
      const told = req.onError?.(result.answer) ?? null;
      if (told === 'again' && !again) {
        again = true;
        attempt--;
        continue;
      }
      throw failure(told && told !== 'again' ? told : defaultMessage(result.answer));
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
}

function defaultMessage(answer: HttpAnswer & { htmlType?: string }): string {
  const what = `HTTP ${answer.status} ${answer.statusText}`.trim();
  if (answer.status === 403) return `${what} (forbidden: not read as a missing chunk)`;
  if (answer.status === 416) {
    return `${what} (the byte range reaches past the end of the file: cut short, or an index points past its end)`;
  }
  if (answer.htmlType) {
    return (
      `the server answered ${answer.status} with an HTML page (content-type ${answer.htmlType}), not zarr data; ` +
      'a "soft 404"? A missing key must be a 404'
    );
  }
  return what;
}

/** The URL of `key` below `base` (which ends in '/'): each segment percent-encoded, the base's query kept. */
export function keyUrl(base: URL, key: string): string {
  // Keys are file names: `crop%5Fa` and `crop#1` reach the server as named.
  const url = new URL(key.split('/').map(encodeURIComponent).join('/'), base);
  url.search = base.search; // a presigned or tokened root keeps its query on every key
  return url.href;
}

export async function openHttp(location: string, options: Partial<HttpOptions> = {}): Promise<OpenedStore> {
  const opts = { ...DEFAULT_HTTP_OPTIONS, ...options };
  const base = new URL(location);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const request = (key: AbsolutePath, range: RangeQuery | null) =>
    getWithRetries({ url: () => keyUrl(base, key.slice(1)), range, container: location, key }, opts);
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
  | { kind: 'error'; answer: HttpAnswer & { htmlType?: string } }
  /** Refused by the page's CORS rules: said once, not retried. */
  | { kind: 'refused'; message: string };

const rangeHeader = (range: RangeQuery) =>
  'suffixLength' in range ? `bytes=-${range.suffixLength}` : `bytes=${range.offset}-${range.offset + range.length - 1}`;

/** One timer that aborts a request; `reason` says why once it has fired ('' when the why is not a timeout). */
class Watchdog {
  reason = '';
  private timer: ReturnType<typeof setTimeout> | undefined;
  constructor(private readonly controller: AbortController) {}
  /** (Re)starts the timer: after `ms` the request is aborted with `reason()`. */
  arm(ms: number, reason: () => string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.reason = reason();
      this.controller.abort();
    }, ms);
  }
  stop(): void {
    clearTimeout(this.timer);
  }
}

async function attemptOnce(url: string, range: RangeQuery | null, opts: HttpOptions, send: Sender): Promise<Attempt> {
  const controller = new AbortController();
  const watchdog = new Watchdog(controller);
  watchdog.arm(opts.requestTimeoutMs, () => `no response within ${opts.requestTimeoutMs} ms (requestTimeoutMs)`);
  try {
    let response: Response;
    try {
      response = await send(url, range ? { Range: rangeHeader(range) } : {}, controller.signal);
    } catch (error) {
      const failure = watchdog.reason ? null : await explainFetchFailure(url, range !== null);
      if (failure?.cors === 'yes') return { kind: 'refused', message: failure.message };
      const hint = failure?.cors === 'maybe' ? ` (${failure.message})` : '';
      throw new TransientError(watchdog.reason || `network error: ${describe(error)}${hint}`);
    }
    watchdog.stop();
    const status = response.status;
    if (status === 404) {
      await response.body?.cancel().catch(() => {});
      return { kind: 'missing' };
    }
    if (status !== 200 && status !== 206) {
      if (RETRIED_STATUSES.has(status)) {
        await response.body?.cancel().catch(() => {});
        throw new TransientError(
          `HTTP ${status} ${response.statusText}`.trim(),
          retryAfterMs(response.headers.get('retry-after')),
        );
      }
      watchdog.arm(opts.idleTimeoutMs, () => ''); // a stalled error body is cut off
      const body = await errorBody(response);
      return { kind: 'error', answer: { status, statusText: response.statusText, headers: response.headers, body } };
    }
    const type = response.headers.get('content-type') ?? '';
    if (/^\s*text\/html/i.test(type)) {
      await response.body?.cancel().catch(() => {});
      const answer = { status, statusText: response.statusText, headers: response.headers, body: '', htmlType: type };
      return { kind: 'error', answer };
    }
    const bytes = await readBody(response, watchdog, opts.idleTimeoutMs);
    return { kind: 'bytes', status, bytes, contentRange: response.headers.get('content-range') };
  } finally {
    watchdog.stop();
  }
}

/**
 * A 200/206 answer's body, with a timer that restarts whenever bytes arrive, checked against its
 * Content-Length.
 */
async function readBody(response: Response, watchdog: Watchdog, idleTimeoutMs: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = response.body?.getReader();
  if (reader) {
    const idle = () =>
      watchdog.arm(
        idleTimeoutMs,
        () => `the body stalled: no bytes for ${idleTimeoutMs} ms (idleTimeoutMs) after ${total} bytes`,
      );
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
      throw new TransientError(watchdog.reason || `the body broke off after ${total} bytes: ${describe(error)}`);
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
  return bytes;
}

/**
 * The offset range that a suffix range asked, where a 206 answered another range (its
 * Content-Range names the file's size): null when the answer is the suffix asked.
 */
function suffixAsOffset(
  result: Extract<Attempt, { kind: 'bytes' }>,
  range: { suffixLength: number },
): RangeQuery | null {
  const m = /bytes\s+(\d+)-(\d+)\/(\d+)/.exec(result.contentRange ?? '');
  if (result.status !== 206 || !m) return null;
  const size = Number(m[3]);
  const start = Math.max(0, size - range.suffixLength);
  return Number(m[1]) === start ? null : { offset: start, length: size - start };
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

/** The first few KiB of an error answer's body (S3's and GCS's error documents are short). */
async function errorBody(response: Response): Promise<string> {
  try {
    const text = await response.text();
    return text.slice(0, 4096);
  } catch {
    return '';
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
