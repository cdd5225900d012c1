/**
 * Bucket settings from the standard environment variables, read where the process has them (the
 * Node entry; a page has none): AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
 * AWS_REGION (or AWS_DEFAULT_REGION), AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (S3-compatible
 * endpoints), STORAGE_EMULATOR_HOST (a GCS emulator). Options given in code win over these.
 */
import type { BucketOptions } from './bucket.js';

export function bucketEnvironment(): BucketOptions {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  const given = (name: string) => (env[name] ? env[name] : undefined);
  const emulator = given('STORAGE_EMULATOR_HOST');
  const options: BucketOptions = {
    accessKeyId: given('AWS_ACCESS_KEY_ID'),
    secretAccessKey: given('AWS_SECRET_ACCESS_KEY'),
    sessionToken: given('AWS_SESSION_TOKEN'),
    region: given('AWS_REGION') ?? given('AWS_DEFAULT_REGION'),
    endpoint: given('AWS_ENDPOINT_URL_S3') ?? given('AWS_ENDPOINT_URL'),
    gcsEndpoint: emulator && !/^https?:\/\//.test(emulator) ? `http://${emulator}` : emulator,
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as BucketOptions;
}
