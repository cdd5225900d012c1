/**
 * Buckets (src/zarr/stores/bucket.ts): zarr and N5 containers without consolidated metadata in a
 * real S3-compatible server (s3rver on 127.0.0.1, started and stopped here), found by listing
 * (ListObjectsV2, every page), read by keys and byte ranges, anonymously and signed; a GCS
 * stand-in for gs:// (its JSON listing, paged); and the fault-injecting server as an S3 endpoint
 * for what s3rver does not do: 403 with S3's error documents, a bucket in another region, and the
 * SigV4 signature checked by an independent computation.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DataFormatError, openDataSplit } from '../../src/index.js';
import type { DataConfigOptions } from '../../src/zarr/config.js';
import { parseS3Listing } from '../../src/zarr/stores/bucket.js';
import { startFaultServer, type Fault, type FaultRequest } from '../helpers/fault-server.js';
import {
  assertSplitMeta,
  assertSplitReads,
  captureWarnings,
  FIXTURES,
  loadExpected,
  type SplitLike,
} from '../helpers/fixtures.js';
import { startGcsServer } from '../helpers/gcs-server.js';
import { S3RVER_KEYS, type S3Server, startS3Server } from '../helpers/s3-server.js';

const FAST = { requestTimeoutMs: 2000, idleTimeoutMs: 2000, retries: 2, retryBaseDelayMs: 5, retryMaxDelayMs: 50 };
const noConsolidated = (name: string) => name === '.zmetadata';

/** Opens with no AWS_* variables from the environment of whoever runs the tests. */
async function open(options: DataConfigOptions) {
  const saved = Object.entries(process.env).filter(([k]) => k.startsWith('AWS_') || k === 'STORAGE_EMULATOR_HOST');
  for (const [k] of saved) delete process.env[k];
  try {
    return (await captureWarnings(() => openDataSplit({ http: FAST, ...options }))).result;
  } finally {
    for (const [k, v] of saved) process.env[k] = v;
  }
}

describe('s3:// on an S3-compatible server (s3rver)', () => {
  let s3: S3Server;
  before(async () => {
    s3 = await startS3Server('data');
    await s3.upload(path.join(FIXTURES, 'crops.zarr'), 'crops.zarr', noConsolidated);
    await s3.upload(path.join(FIXTURES, 'simple.zarr'), 'simple.zarr');
    await s3.upload(path.join(FIXTURES, 'v3.zarr'), 'v3.zarr');
    await s3.upload(path.join(FIXTURES, 'n5', 'crops.n5'), 'n5/crops.n5');
    // Seven crops beside stray files: with one key per page, the crops arrive over many pages.
    const crop = path.join(FIXTURES, 'crops.zarr', 'train', 'crop_01');
    for (let i = 0; i < 7; i++) await s3.upload(crop, `paged.zarr/train/crop_0${i}`);
    await s3.upload(path.join(FIXTURES, 'crops.zarr', 'test'), 'paged.zarr/test', noConsolidated);
    const strays = fs.mkdtempSync(path.join(os.tmpdir(), 'strays-'));
    for (const name of ['.zgroup', 'a.txt', 'crop_03.txt', 'm.txt', 'notes.md', 'z.txt']) {
      fs.writeFileSync(path.join(strays, name), name === '.zgroup' ? '{"zarr_format": 2}' : 'not a crop');
    }
    await s3.upload(strays, 'paged.zarr/train');
    await s3.upload(strays, 'paged.zarr', (n) => n !== '.zgroup');
    fs.rmSync(strays, { recursive: true });
  });
  after(() => s3?.close());

  for (const [container, expected] of [
    ['crops.zarr', 'crops'],
    ['n5/crops.n5', 'n5/crops'],
    ['simple.zarr', 'simple'],
    ['v3.zarr', 'v3'],
  ] as const) {
    test(`${container} without consolidated metadata: listed, read like the local container`, async () => {
      const split = await open({ path: `s3://data/${container}`, bucket: { endpoint: s3.endpoint } });
      const exp = loadExpected(expected);
      assertSplitMeta(split as unknown as SplitLike, exp);
      await assertSplitReads(split as unknown as SplitLike, exp);
    });
  }

  test('AWS_ENDPOINT_URL from the environment; the https URL of the bucket works too', async () => {
    process.env['AWS_ENDPOINT_URL'] = s3.endpoint;
    try {
      const split = (await captureWarnings(() => openDataSplit({ path: 's3://data/crops.zarr', http: FAST }))).result;
      assert.deepEqual(
        split.train.map((c) => c.name),
        ['crop_01', 'crop_02'],
      );
      const https = (await captureWarnings(() => openDataSplit({ path: `${s3.endpoint}/data/crops.zarr`, http: FAST })))
        .result;
      assert.deepEqual(
        https.test.map((c) => c.name),
        ['crop_03', 'crop_04'],
      );
    } finally {
      delete process.env['AWS_ENDPOINT_URL'];
    }
  });

  test('listing follows every page (one key a page): all seven crops, the strays ignored', async () => {
    const split = await open({ path: 's3://data/paged.zarr', bucket: { endpoint: s3.endpoint, pageSize: 1 } });
    assert.deepEqual(
      split.train.map((c) => c.name),
      ['crop_00', 'crop_01', 'crop_02', 'crop_03', 'crop_04', 'crop_05', 'crop_06'],
    );
    assert.deepEqual(
      split.test.map((c) => c.name),
      ['crop_03', 'crop_04'],
    );
  });

  test('signed requests: the right key reads; an unknown key is refused, naming the credentials', async () => {
    const signed = await open({ path: 's3://data/crops.zarr', bucket: { endpoint: s3.endpoint, ...S3RVER_KEYS } });
    const crop = signed.train[0]!;
    assert.equal((await crop.read(crop.labels.roi)).labels.length > 0, true);
    await assert.rejects(
      open({
        path: 's3://data/crops.zarr',
        bucket: { endpoint: s3.endpoint, accessKeyId: 'NOBODY', secretAccessKey: 'x' },
      }),
      (e: unknown) => {
        assert.ok(e instanceof DataFormatError, String(e));
        assert.match(e.message, /403 .*InvalidAccessKeyId.*the credentials were refused; check AWS_ACCESS_KEY_ID/);
        return true;
      },
    );
  });

  test('a container that is not there: 404s, said as such', async () => {
    await assert.rejects(
      open({ path: 's3://data/nothing.zarr', bucket: { endpoint: s3.endpoint } }),
      /s3:\/\/data\/nothing\.zarr: no zarr group or array found \(HTTP 404 for zarr\.json, \.zgroup and \.zarray\)/,
    );
    await assert.rejects(
      open({ path: 's3://nobucket/crops.zarr', bucket: { endpoint: s3.endpoint } }),
      /no zarr group or array found/,
    );
  });
});

describe('gs:// (a GCS stand-in: JSON listing, pages counting folders)', () => {
  test('crops found over pages of one entry, read like the local container; 403 names the permission', async () => {
    const gcs = await startGcsServer(FIXTURES, 'em-data', (key) => key === 'n5/crops.n5/test/crop_d/raw/0/0/0');
    try {
      const split = await open({
        path: 'gs://em-data/n5/crops.n5',
        bucket: { gcsEndpoint: gcs.endpoint, pageSize: 1 },
      });
      const exp = loadExpected('n5/crops');
      assertSplitMeta(split as unknown as SplitLike, exp);
      assert.ok(gcs.listings.filter((l) => l.includes('pageToken')).length >= 3, 'several pages were asked');
      const crop = split.train[1]!;
      assert.deepEqual(
        await crop.raw.read(crop.raw.roi),
        await (await open({ path: `${FIXTURES}/n5/crops.n5` })).train[1]!.raw.read(crop.raw.roi),
      );
      const forbidden = split.test[1]!.raw;
      await assert.rejects(forbidden.read(forbidden.roi), (e: unknown) => {
        assert.ok(e instanceof DataFormatError, String(e));
        assert.match(
          e.message,
          /HTTP 403 .*\(forbidden\): reading gs:\/\/em-data\/n5\/crops\.n5\/test\/crop_d\/raw\/0\/0\/0 needs storage\.objects\.get/,
        );
        return true;
      });
    } finally {
      await gcs.close();
    }
  });
});

/** The fault server as an S3 endpoint: path-style `/<bucket>/<key>` maps onto test/fixtures/<bucket>/<key>. */
async function withEndpoint(
  faultFor: (req: FaultRequest) => Fault | null,
  body: (endpoint: string, log: string[]) => Promise<void>,
) {
  const server = await startFaultServer(FIXTURES, faultFor);
  try {
    await body(server.url, server.log);
  } finally {
    await server.close();
  }
}

const accessDenied = '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';

describe('S3 answers s3rver does not give (the fault server as the endpoint)', () => {
  test('403 on an object names s3:GetObject and the bucket; 403 on a listing names s3:ListBucket', async () => {
    const chunk403 = (req: FaultRequest): Fault | null =>
      req.isChunk
        ? { kind: 'status', status: 403, body: accessDenied, headers: { 'Content-Type': 'application/xml' } }
        : null;
    await withEndpoint(chunk403, async (endpoint) => {
      const split = await open({ path: 's3://n5/gunpowder.n5', bucket: { endpoint } });
      const raw = split.train[0]!.raw;
      await assert.rejects(raw.read(raw.roi), (e: unknown) => {
        assert.ok(e instanceof DataFormatError, String(e));
        assert.match(
          e.message,
          /HTTP 403 Forbidden \(AccessDenied: Access Denied\): reading s3:\/\/n5\/gunpowder\.n5\/raw\/\d\/\d\/\d needs s3:GetObject on arn:aws:s3:::n5\/\*, which anonymous requests .* lack/,
        );
        return true;
      });
    });
    const list403 = (req: FaultRequest): Fault | null =>
      req.query.includes('list-type=2') ? { kind: 'status', status: 403, body: accessDenied } : null;
    await withEndpoint(list403, async (endpoint) => {
      await assert.rejects(
        open({ path: 's3://n5/crops.n5', bucket: { endpoint } }),
        /listing s3:\/\/n5\/crops\.n5\/train\/ needs s3:ListBucket on arn:aws:s3:::n5/,
      );
    });
  });

  test('a bucket in another region is followed (signed for the region S3 names); a persistent one is named', async () => {
    const seen: string[] = [];
    let moved = false;
    const once = (req: FaultRequest): Fault | null => {
      if (req.headers.authorization) seen.push(String(req.headers.authorization));
      if (moved) return null;
      moved = true;
      return {
        kind: 'status',
        status: 301,
        headers: { 'x-amz-bucket-region': 'eu-west-2' },
        body: '<Error><Code>PermanentRedirect</Code></Error>',
      };
    };
    await withEndpoint(once, async (endpoint) => {
      const split = await open({ path: 's3://n5/gunpowder.n5', bucket: { endpoint, ...S3RVER_KEYS } });
      const raw = split.train[0]!.raw;
      await raw.read(raw.roi);
    });
    assert.match(seen[0]!, /Credential=S3RVER\/\d{8}\/us-east-1\/s3\/aws4_request/);
    assert.match(seen.at(-1)!, /Credential=S3RVER\/\d{8}\/eu-west-2\/s3\/aws4_request/);
    const always = (): Fault => ({
      kind: 'status',
      status: 400,
      body: '<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region is wrong</Message><Region>ap-south-1</Region></Error>',
    });
    let regions = 0;
    await withEndpoint(
      (req) => {
        if (String(req.headers.authorization).includes('ap-south-1')) regions++;
        return always();
      },
      async (endpoint) => {
        await assert.rejects(
          open({ path: 's3://n5/gunpowder.n5', bucket: { endpoint, ...S3RVER_KEYS, region: 'us-west-1' } }),
          /AuthorizationHeaderMalformed.*is in another region than ap-south-1; set AWS_REGION/,
        );
      },
    );
    assert.ok(regions > 0, 'the region S3 named was tried');
  });

  test('signed requests carry a valid SigV4 signature (checked by an independent computation)', async () => {
    const requests: FaultRequest[] = [];
    await withEndpoint(
      (req) => {
        requests.push(req);
        return null;
      },
      async (endpoint) => {
        const split = await open({
          path: 's3://n5/gunpowder.n5',
          bucket: {
            endpoint,
            accessKeyId: 'AKIDEXAMPLE',
            secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
            sessionToken: 'TOKEN',
          },
        });
        const raw = split.train[0]!.raw;
        await raw.read(raw.roi);
      },
    );
    assert.ok(requests.length > 3);
    for (const req of requests) {
      assert.equal(
        sigV4(req, 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'),
        /Signature=([0-9a-f]{64})/.exec(String(req.headers.authorization))?.[1],
      );
      assert.equal(req.headers['x-amz-security-token'], 'TOKEN');
    }
  });

  test('timeouts and retries as over http: a stalled chunk is asked again', async () => {
    let stalled = false;
    await withEndpoint(
      (req) => {
        if (!req.isChunk || stalled) return null;
        stalled = true;
        return { kind: 'stall' };
      },
      async (endpoint) => {
        const split = await open({
          path: 's3://n5/gunpowder.n5',
          bucket: { endpoint },
          http: { ...FAST, requestTimeoutMs: 200 },
        });
        const raw = split.train[0]!.raw;
        const local = (await open({ path: path.join(FIXTURES, 'n5', 'gunpowder.n5') })).train[0]!.raw;
        assert.deepEqual(await raw.read(raw.roi), await local.read(raw.roi));
      },
    );
  });
});

/** AWS SigV4 of a received GET, computed from its own headers (RFC 3986 encoding, S3's rules). */
function sigV4(req: FaultRequest, secret: string): string {
  const auth = String(req.headers.authorization);
  const signed = /SignedHeaders=([^,]+)/.exec(auth)![1]!.split(';');
  const scope = /Credential=[^/]+\/([^,]+)/.exec(auth)![1]!;
  const [date, region, service] = scope.split('/');
  const enc = (s: string) =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = new URLSearchParams(req.query);
  const canonicalQuery = [...query.entries()]
    .map(([k, v]) => [enc(k), enc(v)])
    .sort(([a, x], [b, y]) => (a! < b! ? -1 : a! > b! ? 1 : x! < y! ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const uri = req.path.split('/').map(enc).join('/');
  const headers = signed.map((h) => `${h}:${String(req.headers[h]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [
    'GET',
    uri,
    canonicalQuery,
    headers,
    signed.join(';'),
    String(req.headers['x-amz-content-sha256']),
  ].join('\n');
  const toSign = [
    'AWS4-HMAC-SHA256',
    String(req.headers['x-amz-date']),
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex');
}

test('S3 listings: prefixes XML-unescaped and URL-decoded where the answer says encoding-type url', () => {
  const xml = `<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
    <CommonPrefixes><Prefix>c/crop%20a/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>c/crop_%26b/</Prefix></CommonPrefixes>
    <NextContinuationToken>a&amp;b</NextContinuationToken></ListBucketResult>`;
  assert.deepEqual(parseS3Listing(xml), { prefixes: ['c/crop a/', 'c/crop_&b/'], next: 'a&b' });
  const plain =
    '<ListBucketResult><IsTruncated>false</IsTruncated><CommonPrefixes><Prefix>x/a&amp;b/</Prefix></CommonPrefixes></ListBucketResult>';
  assert.deepEqual(parseS3Listing(plain), { prefixes: ['x/a&b/'], next: null });
});
