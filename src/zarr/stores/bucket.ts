/**
 * Containers in object-store buckets: `s3://bucket/key` (AWS S3 and every S3-compatible store:
 * MinIO, Ceph, R2, Wasabi...), `gs://bucket/key` (Google Cloud Storage), and https URLs of those
 * buckets. Reads go through the http store's requests (same timeouts, retries and errors); folders
 * are listed one at a time (S3's ListObjectsV2, GCS's JSON listing, every page), so crops are found
 * without consolidated metadata and without listing every chunk.
 *
 * Anonymous unless credentials are given (`BucketOptions`, which the Node entry fills from the
 * standard AWS_* environment variables): then S3 requests are signed with SigV4 (aws4fetch). A
 * custom endpoint (`endpoint`, AWS_ENDPOINT_URL) is addressed path-style. A bucket in another
 * region than the one asked is followed where S3 says which (301 with x-amz-bucket-region, 400
 * AuthorizationHeaderMalformed), and named otherwise. Fetch only: this module runs in a browser.
 */
import type { AbsolutePath, AsyncReadable, RangeQuery } from '@zarrita/storage';
import { AwsClient } from 'aws4fetch';
import { DataFormatError } from '../../errors.js';
import {
  DEFAULT_HTTP_OPTIONS,
  getWithRetries,
  type HttpAnswer,
  type HttpOptions,
  keyUrl,
  type Sender,
} from './http.js';
import type { OpenedStore } from './types.js';

export interface BucketOptions {
  /** S3 region (default: found from the bucket; us-east-1 for custom endpoints). */
  region?: string;
  /** An S3-compatible endpoint, e.g. `http://127.0.0.1:9000`: buckets addressed path-style. */
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Never sign, even with credentials at hand (public buckets). */
  anonymous?: boolean;
  /** Where `gs://` buckets are served (default https://storage.googleapis.com; emulators elsewhere). */
  gcsEndpoint?: string;
  /** Keys asked per listing page (default 1000, the most S3 and GCS give). */
  pageSize?: number;
}

interface Target {
  provider: 's3' | 'gcs';
  bucket: string;
  /** The container's key prefix in the bucket: '' or ending in '/'. */
  prefix: string;
  region: string | null;
  /** Path-style endpoint (custom S3 endpoints, path-style https URLs, GCS). */
  endpoint: string | null;
}

const AWS_HOST = /^(?:(.+)\.)?s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com$/i;

export function isBucketUrl(location: string, options: BucketOptions = {}): boolean {
  return bucketTarget(location, options) !== null;
}

/** The bucket a location names, or null when it names none (a plain http URL, a path). */
function bucketTarget(location: string, options: BucketOptions): Target | null {
  const m = /^(s3|gs):\/\/([^/]+)\/?(.*)$/i.exec(location);
  if (m) {
    const provider = m[1]!.toLowerCase() === 's3' ? 's3' : 'gcs';
    const prefix = folder(m[3]!);
    if (provider === 'gcs') {
      return {
        provider,
        bucket: m[2]!,
        prefix,
        region: null,
        endpoint: options.gcsEndpoint ?? 'https://storage.googleapis.com',
      };
    }
    return { provider, bucket: m[2]!, prefix, region: options.region ?? null, endpoint: options.endpoint ?? null };
  }
  if (!/^https?:\/\//i.test(location)) return null;
  const url = new URL(location);
  const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const pathStyle = (provider: 's3' | 'gcs', region: string | null): Target | null =>
    segments.length === 0
      ? null
      : { provider, bucket: segments[0]!, prefix: folder(segments.slice(1).join('/')), region, endpoint: url.origin };
  if (options.endpoint && url.origin === new URL(options.endpoint).origin)
    return pathStyle('s3', options.region ?? null);
  if (url.hostname === 'storage.googleapis.com') return pathStyle('gcs', null);
  const gcsHost = /^(.+)\.storage\.googleapis\.com$/i.exec(url.hostname);
  if (gcsHost) {
    return {
      provider: 'gcs',
      bucket: gcsHost[1]!,
      prefix: folder(segments.join('/')),
      region: null,
      endpoint: 'https://storage.googleapis.com',
    };
  }
  const aws = AWS_HOST.exec(url.hostname);
  if (!aws) return null;
  const region = aws[2] && aws[2] !== 'external-1' ? aws[2] : (options.region ?? null);
  if (!aws[1]) return pathStyle('s3', region);
  return { provider: 's3', bucket: aws[1], prefix: folder(segments.join('/')), region, endpoint: null };
}

const folder = (key: string) => (key === '' || key.endsWith('/') ? key : `${key}/`);

export async function openBucket(
  location: string,
  options: BucketOptions = {},
  http: Partial<HttpOptions> = {},
): Promise<OpenedStore> {
  const target = bucketTarget(location, options);
  if (!target)
    throw new DataFormatError('not a bucket URL (s3://bucket/key or gs://bucket/key)', { container: location });
  const opts = { ...DEFAULT_HTTP_OPTIONS, ...http };
  const client = bucketClient(target, options);
  const get = (key: AbsolutePath, range: RangeQuery | null) => {
    const full = target.prefix + key.slice(1);
    const url = () => keyUrl(client.base(), full);
    const onError = (a: HttpAnswer) => client.explain(a, 'get', full);
    return getWithRetries({ url, range, container: location, key, send: client.send, onError }, opts);
  };
  const store: AsyncReadable = { get: (key) => get(key, null), getRange: (key, range) => get(key, range) };
  const pageSize = options.pageSize ?? 1000;
  const listChildren = async (path: string): Promise<string[]> => {
    const prefix = target.prefix + (path ? `${path}/` : '');
    const names = new Set<string>();
    let token: string | null = null;
    do {
      const url = client.listPage(prefix, token, pageSize);
      const onError = (a: HttpAnswer) => client.explain(a, 'list', prefix);
      const request = {
        url,
        range: null,
        container: location,
        key: `/${path}` as AbsolutePath,
        send: client.send,
        onError,
      };
      const bytes = await getWithRetries(request, opts);
      if (!bytes) return []; // no such bucket: nothing there (the container's metadata says the rest)
      const text = new TextDecoder().decode(bytes);
      const listed = target.provider === 's3' ? parseS3Listing(text) : parseGcsListing(text);
      for (const p of listed.prefixes) if (p.startsWith(prefix)) names.add(p.slice(prefix.length).replace(/\/$/, ''));
      token = listed.next;
    } while (token);
    return [...names].filter(Boolean).sort();
  };
  return { container: location, kind: 'bucket', store, listMetadataKeys: async () => null, listChildren };
}

/** How a bucket is addressed, signed and its errors read; the S3 region learnt from its answers. */
interface BucketClient {
  /** The bucket's root URL (ends in '/'). */
  base(): URL;
  /** The URL of one page of the listing of `prefix`'s folders. */
  listPage(prefix: string, token: string | null, pageSize: number): () => string;
  send: Sender | undefined;
  /** 'again' when S3 named the bucket's region (now used), else what the error means. */
  explain(answer: HttpAnswer, action: 'get' | 'list', key: string): 'again' | string | null;
}

function bucketClient(target: Target, options: BucketOptions): BucketClient {
  const s3 = target.provider === 's3';
  const signer =
    s3 && !options.anonymous && options.accessKeyId && options.secretAccessKey
      ? new AwsClient({
          accessKeyId: options.accessKeyId,
          secretAccessKey: options.secretAccessKey,
          sessionToken: options.sessionToken,
          service: 's3',
        })
      : null;
  // The region requests are signed for and, on AWS, addressed to; learnt from S3's answers.
  let region = target.region ?? (target.endpoint || !signer ? null : 'us-east-1');
  const base = (): URL => {
    if (target.endpoint) return new URL(`${target.endpoint.replace(/\/+$/, '')}/${encodeURIComponent(target.bucket)}/`);
    const host = region ? `s3.${region}.amazonaws.com` : 's3.amazonaws.com';
    // Virtual-hosted style, except for bucket names with dots (TLS would not match them).
    return target.bucket.includes('.')
      ? new URL(`https://${host}/${encodeURIComponent(target.bucket)}/`)
      : new URL(`https://${target.bucket}.${host}/`);
  };
  return {
    base,
    listPage: (prefix, token, pageSize) =>
      s3 ? s3Page(base, prefix, token, pageSize) : gcsPage(target.endpoint!, target.bucket, prefix, token, pageSize),
    send: signer
      ? async (url, headers, signal) =>
          fetch(await signer.sign(url, { method: 'GET', headers, aws: { region: region ?? 'us-east-1' } }), { signal })
      : undefined,
    explain(answer, action, key) {
      const moved = regionOf(answer);
      if (s3 && moved && moved !== region) {
        region = moved;
        return 'again';
      }
      const where = `${s3 ? 's3' : 'gs'}://${target.bucket}/${key}`;
      return bucketError(answer, { s3, action, bucket: target.bucket, key: where, region, signed: signer !== null });
    },
  };
}

/** One page of S3's ListObjectsV2 (folders only: delimiter '/'). */
function s3Page(base: () => URL, prefix: string, token: string | null, pageSize: number): () => string {
  return () => {
    const url = base();
    url.search = '';
    const q = url.searchParams;
    q.set('list-type', '2');
    q.set('prefix', prefix);
    q.set('delimiter', '/');
    q.set('max-keys', String(pageSize));
    q.set('encoding-type', 'url');
    if (token) q.set('continuation-token', token);
    return url.href;
  };
}

/** One page of GCS's JSON listing (folders only: delimiter '/'). */
function gcsPage(
  endpoint: string,
  bucket: string,
  prefix: string,
  token: string | null,
  pageSize: number,
): () => string {
  return () => {
    const url = new URL(`${endpoint.replace(/\/+$/, '')}/storage/v1/b/${encodeURIComponent(bucket)}/o`);
    url.searchParams.set('prefix', prefix);
    url.searchParams.set('delimiter', '/');
    url.searchParams.set('maxResults', String(pageSize));
    url.searchParams.set('fields', 'prefixes,nextPageToken');
    if (token) url.searchParams.set('pageToken', token);
    return url.href;
  };
}

interface Listing {
  prefixes: string[];
  next: string | null;
}

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescapeXml = (s: string) =>
  s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) =>
    e[0] === '#'
      ? String.fromCodePoint(Number(e[1] === 'x' || e[1] === 'X' ? `0${e.slice(1)}` : e.slice(1)))
      : (XML_ENTITIES[e] ?? m),
  );
const tag = (xml: string, name: string) => new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1] ?? null;

/** S3's ListBucketResult: the common prefixes and the continuation token (keys URL-encoded where it says so). */
export function parseS3Listing(xml: string): Listing {
  if (!/<ListBucketResult[\s>]/.test(xml)) throw new Error('not an S3 ListBucketResult');
  const urlEncoded = tag(xml, 'EncodingType') === 'url';
  const decode = (s: string) => {
    const text = unescapeXml(s);
    return urlEncoded ? decodeURIComponent(text.replace(/\+/g, ' ')) : text;
  };
  const prefixes = [...xml.matchAll(/<CommonPrefixes>\s*<Prefix>([\s\S]*?)<\/Prefix>/g)].map((m) => decode(m[1]!));
  const truncated = tag(xml, 'IsTruncated') === 'true';
  const next = tag(xml, 'NextContinuationToken');
  return { prefixes, next: truncated && next ? unescapeXml(next) : null };
}

function parseGcsListing(json: string): Listing {
  const doc = JSON.parse(json) as { prefixes?: string[]; nextPageToken?: string };
  return { prefixes: doc.prefixes ?? [], next: doc.nextPageToken ?? null };
}

/** The region S3 says the bucket is in: a redirect's x-amz-bucket-region, or the error document's. */
function regionOf(answer: HttpAnswer): string | null {
  if (answer.status !== 301 && answer.status !== 400 && answer.status !== 307) return null;
  const header = answer.headers.get('x-amz-bucket-region');
  if (header) return header;
  const code = tag(answer.body, 'Code');
  if (
    code === 'AuthorizationHeaderMalformed' ||
    code === 'PermanentRedirect' ||
    code === 'IllegalLocationConstraintException'
  ) {
    return (
      tag(answer.body, 'Region') ??
      /s3[.-]([a-z0-9-]+)\.amazonaws\.com/.exec(tag(answer.body, 'Endpoint') ?? '')?.[1] ??
      null
    );
  }
  return null;
}

/** What an error answer from a bucket means: the permission missing, the credentials refused, the region. */
function bucketError(
  answer: HttpAnswer,
  at: { s3: boolean; action: 'get' | 'list'; bucket: string; key: string; region: string | null; signed: boolean },
): string | null {
  const code = at.s3 ? tag(answer.body, 'Code') : gcsReason(answer.body);
  const said = at.s3 ? tag(answer.body, 'Message') : null;
  const what = `HTTP ${answer.status} ${answer.statusText}${code ? ` (${code}${said ? `: ${said}` : ''})` : ''}`;
  const who = at.signed ? 'these credentials' : 'anonymous requests (no AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY set)';
  if (
    code === 'SignatureDoesNotMatch' ||
    code === 'InvalidAccessKeyId' ||
    code === 'ExpiredToken' ||
    code === 'InvalidToken'
  ) {
    return `${what}: the credentials were refused; check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN`;
  }
  if (answer.status === 403) {
    if (!at.s3) {
      const permission = at.action === 'get' ? 'storage.objects.get' : 'storage.objects.list';
      return `${what}: ${at.action === 'get' ? 'reading' : 'listing'} ${at.key} needs ${permission} on gs://${at.bucket} (anonymous reads need it granted to allUsers)`;
    }
    if (at.action === 'list')
      return `${what}: listing ${at.key} needs s3:ListBucket on arn:aws:s3:::${at.bucket}, which ${who} lack`;
    return (
      `${what}: reading ${at.key} needs s3:GetObject on arn:aws:s3:::${at.bucket}/*, which ${who} lack ` +
      '(S3 also answers 403 for a key that does not exist when s3:ListBucket is not granted)'
    );
  }
  if (at.s3 && (answer.status === 301 || code === 'AuthorizationHeaderMalformed' || code === 'PermanentRedirect')) {
    return `${what}: the bucket ${at.bucket} is in another region than ${at.region ?? 'the one asked'}; set AWS_REGION (or DataConfig bucket.region) to its region`;
  }
  return null;
}

function gcsReason(body: string): string | null {
  try {
    return (JSON.parse(body) as { error?: { errors?: { reason?: string }[] } }).error?.errors?.[0]?.reason ?? null;
  } catch {
    return tag(body, 'Code');
  }
}
