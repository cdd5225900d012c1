/**
 * Buckets in a page (headless Chromium, the package bundled through its `browser` export): s3rver
 * on 127.0.0.1 with a CORS rule for the page's origin holds zarr and N5 containers without
 * consolidated metadata; `s3://` and the bucket's http URL are listed (ListObjectsV2, one key a
 * page) and read exactly as zarr-python wrote them, anonymously and signed (SigV4 by aws4fetch,
 * WebCrypto); refused credentials are said as such; a bucket without a CORS rule for the page is
 * named as a CORS failure; Web Workers open the bucket again and make the same batches.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { assertSplitMeta, assertSplitReads, FIXTURES, loadExpected } from '../helpers/fixtures.js';
import { type LibraryPage, openLibraryPage } from '../helpers/library-page.js';
import { remoteSplit } from '../helpers/remote-split.js';
import { S3RVER_KEYS, type S3Server, startS3Server } from '../helpers/s3-server.js';

declare const tz: typeof import('../../src/browser.js');

const FAST = { requestTimeoutMs: 5000, idleTimeoutMs: 5000, retries: 1, retryBaseDelayMs: 5, retryMaxDelayMs: 50 };
const noConsolidated = (name: string) => name === '.zmetadata';

let lib: LibraryPage;
let s3: S3Server;

before(async () => {
  lib = await openLibraryPage();
  s3 = await startS3Server('data', { corsOrigin: lib.server.url });
  await s3.upload(path.join(FIXTURES, 'crops.zarr'), 'crops.zarr', noConsolidated);
  await s3.upload(path.join(FIXTURES, 'n5', 'crops.n5'), 'n5/crops.n5');
});

after(async () => {
  await lib?.close();
  await s3?.close();
});

/** What the page's openDataSplit throws, as `name: message` ('opened' if it does not). */
function openError(url: string, bucket: Record<string, unknown>): Promise<string> {
  return lib.page.evaluate(
    ({ url, bucket, http }) =>
      tz.openDataSplit({ path: url, bucket, http }).then(
        () => 'opened',
        (e: Error) => `${e.name}: ${e.message}`,
      ),
    { url, bucket, http: FAST },
  );
}

test('s3:// zarr and N5 without consolidated metadata: listed page by page, read as zarr-python wrote them', async () => {
  for (const [container, expected] of [
    ['crops.zarr', 'crops'],
    ['n5/crops.n5', 'n5/crops'],
  ] as const) {
    const options = { bucket: { endpoint: s3.endpoint, pageSize: 1 }, http: FAST };
    const split = await remoteSplit(lib.page, { kind: 'url', url: `s3://data/${container}`, options }, container);
    const exp = loadExpected(expected);
    assertSplitMeta(split, exp);
    await assertSplitReads(split, exp);
  }
  assert.deepEqual(lib.errors, []);
});

test('signed requests (SigV4 in the page) read the same; refused credentials are said as such', async () => {
  const options = { bucket: { endpoint: s3.endpoint, ...S3RVER_KEYS }, http: FAST };
  const url = `${s3.endpoint}/data/crops.zarr`; // the bucket's own http URL
  const split = await remoteSplit(lib.page, { kind: 'url', url, options }, 'signed');
  const exp = loadExpected('crops');
  assertSplitMeta(split, exp);
  await assertSplitReads(split, exp);

  const refused = await openError('s3://data/crops.zarr', {
    endpoint: s3.endpoint,
    accessKeyId: 'NOBODY',
    secretAccessKey: 'x',
  });
  assert.match(refused, /^DataFormatError: .*403 .*InvalidAccessKeyId.*the credentials were refused/);
  lib.errors.length = 0; // the browser's own report of the 403
});

test('a bucket without a CORS rule for the page: the error names CORS and what the bucket must send', async () => {
  const closed = await startS3Server('data');
  try {
    await closed.upload(path.join(FIXTURES, 'crops.zarr'), 'crops.zarr', noConsolidated);
    const message = await openError('s3://data/crops.zarr', { endpoint: closed.endpoint });
    assert.match(message, /^DataFormatError: /);
    assert.match(message, /CORS/);
    assert.match(message, /Access-Control-Allow-Origin/);
    lib.errors.length = 0;
  } finally {
    await closed.close();
  }
});

test('Web Workers open the bucket again: batches from N5 in s3 equal those made without workers', async () => {
  const digests = await lib.page.evaluate(
    async ({ endpoint, http }) => {
      const tfp = (globalThis as unknown as { tf: typeof import('@tensorflow/tfjs') }).tf;
      await tfp.setBackend('cpu');
      const split = await tz.openDataSplit({ path: 's3://data/n5/crops.n5', bucket: { endpoint }, http });
      const options = { inputShape: [4, 4, 4], batchSize: 2, seed: 5, target: 'boundary' as const };
      const out: { workers: number; running: number; values: number[] }[] = [];
      for (const workers of [0, 2]) {
        const ds = tz.trainingDataset(split.train, { ...options, workers });
        const it = await ds.iterator();
        const values: number[] = [];
        for (let i = 0; i < 3; i++) {
          const { xs, ys } = (await it.next()).value;
          values.push(...(xs.dataSync() as Float32Array), ...(ys.dataSync() as Float32Array));
          tfp.dispose([xs, ys]);
        }
        out.push({ workers, running: ds.workersRunning, values });
        ds.close();
      }
      return out;
    },
    { endpoint: s3.endpoint, http: FAST },
  );
  assert.equal(digests[1]!.running, 2, 'two workers ran');
  assert.ok(digests[0]!.values.length > 0);
  assert.deepEqual(digests[1]!.values, digests[0]!.values);
  assert.deepEqual(lib.errors, []);
});
