/**
 * A real S3-compatible server for tests (the npm package s3rver) on 127.0.0.1, started and stopped
 * by the tests in a process of its own (s3rver-main.cjs says why): a fresh directory per server,
 * one bucket, objects uploaded through signed PUTs (s3rver's own account, S3RVER / S3RVER), so
 * what is read back went through S3's API both ways.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AwsClient } from 'aws4fetch';

/** s3rver's built-in credentials. */
export const S3RVER_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface S3Server {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  bucket: string;
  /** Uploads every file below `dir` to `<prefix>/<relative path>`, skipping names `skip` matches. */
  upload(dir: string, prefix: string, skip?: (name: string) => boolean): Promise<number>;
  close(): Promise<void>;
}

export interface S3ServerOptions {
  /** Origins (a pattern with at most one `*`) the bucket's CORS rule lets read it: for pages. */
  corsOrigin?: string;
}

export async function startS3Server(bucket = 'data', options: S3ServerOptions = {}): Promise<S3Server> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 's3rver-'));
  const main = path.join(import.meta.dirname, 's3rver-main.cjs');
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', main, directory, bucket, ...(options.corsOrigin ? [options.corsOrigin] : [])],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver exited with code ${code}`)));
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new AwsClient({ ...S3RVER_KEYS, service: 's3', region: 'us-east-1' });
  const put = async (key: string, body: Uint8Array<ArrayBuffer>) => {
    const url = `${endpoint}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
    const res = await client.fetch(url, { method: 'PUT', body });
    if (!res.ok) throw new Error(`PUT ${key}: HTTP ${res.status} ${await res.text()}`);
  };
  const upload = async (dir: string, prefix: string, skip: (name: string) => boolean = () => false) => {
    const files = (fs.readdirSync(dir, { recursive: true }) as string[]).filter(
      (f) => fs.statSync(path.join(dir, f)).isFile() && !skip(path.basename(f)),
    );
    for (let i = 0; i < files.length; i += 16) {
      await Promise.all(
        files
          .slice(i, i + 16)
          .map((f) =>
            put(`${prefix}/${f.split(path.sep).join('/')}`, new Uint8Array(fs.readFileSync(path.join(dir, f)))),
          ),
      );
    }
    return files.length;
  };
  const close = async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.end(); // the server closes and exits
    await exited;
    fs.rmSync(directory, { recursive: true, force: true });
  };
  return { endpoint, bucket, upload, close };
}
