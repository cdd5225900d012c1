/**
 * Remote faults, through a fault-injecting server on 127.0.0.1 (test/helpers/fault-server.ts):
 * stalls and resets are retried within bounded time, 429/5xx retried honouring Retry-After, and
 * what cannot be right (403, ignored Range, HTML soft 404, persistent faults) is an error naming
 * the URL. Timeouts here are short; the defaults are documented in the README.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { DataConfig, DataFormatError, OptionsError, openDataSplit } from '../../src/index.js';
import type { HttpOptions } from '../../src/zarr/stores/http.js';
import { checkCase, corpusCases } from '../helpers/corpus.js';
import { type Fault, type FaultRequest, startFaultServer } from '../helpers/fault-server.js';

const FIXTURES = path.resolve('test/fixtures');
const FAST: Partial<HttpOptions> = {
  requestTimeoutMs: 300,
  idleTimeoutMs: 200,
  retries: 3,
  retryBaseDelayMs: 5,
  retryMaxDelayMs: 100,
};

async function withServer<T>(
  faultFor: (req: FaultRequest) => Fault | null,
  body: (url: string, log: string[]) => Promise<T>,
  maxRequests = 2000,
): Promise<T> {
  const server = await startFaultServer(FIXTURES, faultFor, { maxRequests });
  try {
    return await body(server.url, server.log);
  } finally {
    await server.close();
  }
}

/** Reads every array of traintest.zarr over http and compares with the local read. */
async function readsLikeLocal(url: string, http: Partial<HttpOptions> = FAST): Promise<void> {
  const remote = await openDataSplit({ path: `${url}/traintest.zarr`, http });
  const local = await openDataSplit('test/fixtures/traintest.zarr');
  for (const [r, l] of [
    [remote.train[0]!, local.train[0]!],
    [remote.test[0]!, local.test[0]!],
  ] as const) {
    assert.deepEqual(await r.raw.read(r.raw.roi), await l.raw.read(l.raw.roi));
    assert.deepEqual(await r.labels.read(r.labels.roi), await l.labels.read(l.labels.roi));
  }
}

/** The fault for the first request of the first chunk asked (one fault per run keeps tests short). */
const firstChunkAttempt = (fault: Fault) => {
  let victim: string | null = null;
  return (req: FaultRequest) => {
    if (req.isChunk) victim ??= req.path;
    return req.path === victim && req.attempt === 1 ? fault : null;
  };
};
const everyChunk = (fault: Fault) => (req: FaultRequest) => (req.isChunk ? fault : null);

async function failsNaming(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DataFormatError, String(error));
    assert.match(error.message, /http:\/\/127\.0\.0\.1:\d+\/traintest\.zarr\/train\/raw\/\d/);
    for (const p of patterns) assert.match(error.message, p);
    return true;
  });
}

async function readTrainRaw(url: string, http: Partial<HttpOptions> = FAST) {
  const split = await openDataSplit({ path: `${url}/traintest.zarr`, http });
  const raw = split.train[0]!.raw;
  return raw.read(raw.roi);
}

describe('http faults', () => {
  it('a chunk request that is never answered is retried after requestTimeoutMs', () =>
    withServer(firstChunkAttempt({ kind: 'stall' }), (url) => readsLikeLocal(url)));

  it('a body that stalls halfway is retried after idleTimeoutMs', () =>
    withServer(firstChunkAttempt({ kind: 'stall-body' }), (url) => readsLikeLocal(url)));

  it('one 503 on every key (metadata included) does not abort the read', () =>
    withServer(
      (req) => (req.attempt === 1 ? { kind: 'status', status: 503 } : null),
      (url) => readsLikeLocal(url),
    ));

  it('429 with Retry-After waits as asked, then reads', () =>
    withServer(firstChunkAttempt({ kind: 'status', status: 429, headers: { 'Retry-After': '1' } }), async (url) => {
      const start = Date.now();
      await readsLikeLocal(url, { ...FAST, retryMaxDelayMs: 5000 });
      assert.ok(Date.now() - start >= 900, `waited ${Date.now() - start} ms, Retry-After asked 1 s`);
    }));

  it('a server that never answers fails within the timeouts, naming the URL', () =>
    withServer(everyChunk({ kind: 'stall' }), async (url) => {
      const start = Date.now();
      await failsNaming(readTrainRaw(url), /requestTimeoutMs/, /4 attempts/);
      assert.ok(Date.now() - start < 5000);
    }));

  it('a body that always stalls fails naming idleTimeoutMs', () =>
    withServer(everyChunk({ kind: 'stall-body' }), (url) => failsNaming(readTrainRaw(url), /idleTimeoutMs/)));

  it('persistent 503 fails after the retries, naming the status', () =>
    withServer(everyChunk({ kind: 'status', status: 503 }), (url) =>
      failsNaming(readTrainRaw(url), /503/, /attempts/),
    ));

  it('persistent resets fail after the retries', () =>
    withServer(everyChunk({ kind: 'reset' }), (url) => failsNaming(readTrainRaw(url), /network error/)));

  it('403 is an error at once (not a missing chunk, not retried)', () =>
    withServer(everyChunk({ kind: 'status', status: 403 }), async (url, log) => {
      await failsNaming(readTrainRaw(url), /403/, /forbidden/);
      const chunkRequests = log.filter((l) => /raw\/\d/.test(l));
      assert.ok(chunkRequests.every((l) => l.endsWith('403')));
      assert.equal(new Set(chunkRequests).size, chunkRequests.length, 'a 403 was retried');
    }));

  it('an HTML "soft 404" for a chunk is an error saying so', () =>
    withServer(everyChunk({ kind: 'soft-404' }), (url) => failsNaming(readTrainRaw(url), /HTML/, /soft 404/)));

  it('a 404 chunk reads as the fill value', () =>
    withServer(everyChunk({ kind: 'status', status: 404 }), async (url) => {
      const values = await readTrainRaw(url);
      assert.ok(values.every((v) => v === 0));
    }));

  it('a server that ignores Range fails a sharded read, saying so', () =>
    withServer(
      (req) => (req.range ? { kind: 'ignore-range' } : null),
      async (url) => {
        const split = await openDataSplit({ path: `${url}/v3.zarr`, http: FAST });
        const sharded = [...split.train, ...split.test].flatMap((c) => [c.raw, c.labels]);
        const results = await Promise.allSettled(sharded.map((v) => v.read(v.roi)));
        const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
        assert.ok(errors.length > 0, 'no sharded array failed');
        for (const e of errors) {
          assert.ok(e instanceof DataFormatError);
          assert.match(e.message, /ignored the Range header/);
        }
      },
    ));
});

describe('http options', () => {
  it('are checked by DataConfig', () => {
    for (const http of [{ retries: -1 }, { requestTimeoutMs: 0 }, { idleTimeoutMs: Number.NaN }, { retry: 3 }]) {
      assert.throws(() => new DataConfig({ path: 'http://127.0.0.1:1/x.zarr', http } as never), OptionsError);
    }
    assert.equal(new DataConfig({ path: 'x.zarr' }).http.requestTimeoutMs, 30_000);
  });

  it('a query string on the root URL (presigned, tokened) is kept on every key', () =>
    withServer(
      () => null,
      async (url, log) => {
        const split = await openDataSplit({ path: `${url}/traintest.zarr?token=abc`, http: FAST });
        await split.train[0]!.raw.read(split.train[0]!.raw.roi);
        assert.ok(log.length > 0);
      },
    ));
});

describe('broken corpus over http', () => {
  const served = corpusCases().filter((c) => c.container.endsWith('.zarr') && c.name !== 'symlinks');
  it(`${served.length} cases read (or fail) as they do locally`, () =>
    withServer(
      () => null,
      async (url) => {
        const queue = [...served];
        const worker = async () => {
          for (let c = queue.shift(); c; c = queue.shift()) {
            const location = `${url}/broken/${path.basename(c.container)}`;
            await checkCase(location, c.expected, { http: FAST }).catch((error: Error) => {
              throw new Error(`${c.name}: ${error.message}`);
            });
          }
        };
        await Promise.all(Array.from({ length: 6 }, worker));
      },
      50_000,
    ));
});
