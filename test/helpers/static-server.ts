/**
 * A tiny static file server for tests: serves a directory over http on 127.0.0.1 (port 0 = any
 * free port), like an object store serving a zarr container. GET and HEAD, byte ranges
 * ("bytes=a-b", "bytes=a-", "bytes=-n": sharded zarr v3 reads shard indexes by suffix range),
 * 404 for anything that is not a file (directories included: there is no listing over http).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface StaticServer {
  /** 'http://127.0.0.1:<port>' (no trailing slash) */
  url: string;
  /** Every request as 'METHOD /path status' (for debugging failed tests). */
  log: string[];
  close(): Promise<void>;
}

export async function startStaticServer(root: string): Promise<StaticServer> {
  const base = path.resolve(root);
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    const done = (status: number, body?: Buffer | string, headers: http.OutgoingHttpHeaders = {}) => {
      log.push(`${req.method} ${req.url} ${status}`);
      res.writeHead(status, { 'Access-Control-Allow-Origin': '*', ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return done(405, 'method not allowed');
    let rel: string;
    try {
      rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return done(400, 'bad path');
    }
    const file = path.resolve(base, `.${rel}`);
    if (file !== base && !file.startsWith(base + path.sep)) return done(404, 'not found');
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      return done(404, 'not found');
    }
    if (!stat.isFile()) return done(404, 'not found');
    const data = fs.readFileSync(file);
    const range = req.headers.range;
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (!m || (m[1] === '' && m[2] === ''))
        return done(416, 'bad range', { 'Content-Range': `bytes */${data.length}` });
      let start: number;
      let end: number;
      if (m[1] === '') {
        const n = Number(m[2]);
        start = Math.max(0, data.length - n);
        end = data.length - 1;
      } else {
        start = Number(m[1]);
        end = m[2] === '' ? data.length - 1 : Math.min(Number(m[2]), data.length - 1);
      }
      if (start >= data.length || start > end) {
        return done(416, 'range not satisfiable', { 'Content-Range': `bytes */${data.length}` });
      }
      const body = data.subarray(start, end + 1);
      return done(206, body, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(body.length),
        'Content-Range': `bytes ${start}-${end}/${data.length}`,
        'Accept-Ranges': 'bytes',
      });
    }
    return done(200, data, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(data.length),
      'Accept-Ranges': 'bytes',
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
