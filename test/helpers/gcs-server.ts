/**
 * A small stand-in for Google Cloud Storage on 127.0.0.1, for gs:// tests: serves a directory as
 * one bucket through GCS's JSON listing (`/storage/v1/b/<bucket>/o?prefix&delimiter&maxResults&
 * pageToken`, prefixes counted towards maxResults as GCS does) and its object URLs
 * (`/<bucket>/<key>`, byte ranges, 404 for a missing object), with an optional 403 for some keys.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface GcsServer {
  endpoint: string;
  /** Listing requests served (one per page). */
  listings: string[];
  close(): Promise<void>;
}

export async function startGcsServer(
  root: string,
  bucket: string,
  forbidden: (key: string) => boolean = () => false,
): Promise<GcsServer> {
  const all = (fs.readdirSync(root, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(root, f)).isFile())
    .map((f) => f.split(path.sep).join('/'))
    .sort();
  const listings: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const listing = `/storage/v1/b/${bucket}/o`;
    if (url.pathname === listing) {
      listings.push(url.search);
      const prefix = url.searchParams.get('prefix') ?? '';
      const max = Number(url.searchParams.get('maxResults') ?? 1000);
      const after = url.searchParams.get('pageToken') ?? '';
      const entries = [
        ...new Set(
          all
            .filter((k) => k.startsWith(prefix))
            .map((k) => {
              const rest = k.slice(prefix.length);
              const slash = rest.indexOf('/');
              return slash < 0 ? k : prefix + rest.slice(0, slash + 1);
            }),
        ),
      ].filter((e) => e > after);
      const page = entries.slice(0, max);
      const body = {
        prefixes: page.filter((e) => e.endsWith('/')),
        items: page.filter((e) => !e.endsWith('/')).map((name) => ({ name })),
        ...(entries.length > max ? { nextPageToken: page[page.length - 1] } : {}),
      };
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    const key = decodeURIComponent(url.pathname).replace(new RegExp(`^/${bucket}/`), '');
    if (forbidden(key)) {
      const error = { error: { code: 403, message: 'Forbidden', errors: [{ reason: 'forbidden' }] } };
      res.writeHead(403, { 'Content-Type': 'application/json' }).end(JSON.stringify(error));
      return;
    }
    if (!all.includes(key)) {
      res.writeHead(404).end('No such object');
      return;
    }
    const data = fs.readFileSync(path.join(root, key));
    const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (m) {
      const start = m[1] === '' ? data.length - Number(m[2]) : Number(m[1]);
      const end = m[1] === '' || m[2] === '' ? data.length - 1 : Number(m[2]);
      res
        .writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${data.length}` })
        .end(data.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(data);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    listings,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
