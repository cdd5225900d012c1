/**
 * A fault-injecting http server for tests: serves a directory on 127.0.0.1 like an object store
 * (GET, byte ranges, 404 for anything that is not a file), except where a rule says otherwise:
 * reset the connection, never answer, send half the body and stall, answer a status (503, 429
 * with Retry-After, 403...), ignore the Range header, or answer an HTML "soft 404".
 *
 * Bounded: it answers at most `maxRequests` requests (then 500 "budget exhausted"), and closing it
 * (or `lifetimeMs` passing) destroys every open connection, stalled ones included.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';

export type Fault =
  | { kind: 'reset' }
  | { kind: 'stall' }
  | { kind: 'stall-body'; afterBytes?: number }
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'ignore-range' }
  | { kind: 'soft-404' };

export interface FaultRequest {
  /** Decoded path, e.g. '/traintest.zarr/train/raw/0.0.0'. */
  path: string;
  /** 1 for the first request of this path, 2 for the second... */
  attempt: number;
  range: string | undefined;
  isChunk: boolean;
  /** The request's headers (signed bucket requests carry Authorization, x-amz-date...). */
  headers: http.IncomingHttpHeaders;
  /** The query string ('' without one): bucket listings. */
  query: string;
}

export interface FaultServer {
  url: string;
  /** 'METHOD path [range] → outcome' per request. */
  log: string[];
  close(): Promise<void>;
}

const isMetadata = (p: string) => /(\.zarray|\.zgroup|\.zattrs|\.zmetadata|zarr\.json|attributes\.json)$/.test(p);

export async function startFaultServer(
  root: string,
  faultFor: (req: FaultRequest) => Fault | null,
  { maxRequests = 2000, lifetimeMs = 60_000 } = {},
): Promise<FaultServer> {
  const base = path.resolve(root);
  const log: string[] = [];
  const attempts = new Map<string, number>();
  const sockets = new Set<Socket>();
  let served = 0;
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const attempt = (attempts.get(rel) ?? 0) + 1;
    attempts.set(rel, attempt);
    const range = req.headers.range;
    const note = (outcome: string) => log.push(`${req.method} ${rel}${range ? ` ${range}` : ''} → ${outcome}`);
    if (++served > maxRequests) {
      note('500 budget exhausted');
      return void res.writeHead(500).end('request budget exhausted');
    }
    const query = new URL(req.url ?? '/', 'http://x').search;
    const fault = faultFor({ path: rel, attempt, range, isChunk: !isMetadata(rel), headers: req.headers, query });
    if (fault?.kind === 'reset') {
      note('reset');
      return void req.socket.destroy();
    }
    if (fault?.kind === 'stall') return void note('stall');
    if (fault?.kind === 'status') {
      note(String(fault.status));
      return void res.writeHead(fault.status, fault.headers).end(fault.body ?? `status ${fault.status}`);
    }
    if (fault?.kind === 'soft-404') {
      note('200 html');
      return void res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<html>Not here</html>');
    }
    const file = path.resolve(base, `.${rel}`);
    const stat = file.startsWith(base + path.sep) ? fs.statSync(file, { throwIfNoEntry: false }) : undefined;
    if (!stat?.isFile()) {
      note('404');
      return void res.writeHead(404).end('not found');
    }
    const data = fs.readFileSync(file);
    let status = 200;
    let body = data;
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/octet-stream' };
    const m = range && fault?.kind !== 'ignore-range' ? /^bytes=(\d*)-(\d*)$/.exec(range) : null;
    if (m) {
      const start = m[1] === '' ? Math.max(0, data.length - Number(m[2])) : Number(m[1]);
      const end = m[1] === '' || m[2] === '' ? data.length - 1 : Math.min(Number(m[2]), data.length - 1);
      if (start >= data.length || start > end) {
        note('416');
        return void res.writeHead(416, { 'Content-Range': `bytes */${data.length}` }).end();
      }
      status = 206;
      body = data.subarray(start, end + 1);
      headers['Content-Range'] = `bytes ${start}-${end}/${data.length}`;
    }
    headers['Content-Length'] = String(body.length);
    res.writeHead(status, headers);
    if (fault?.kind === 'stall-body') {
      note(`${status} stalled body`);
      res.write(body.subarray(0, fault.afterBytes ?? Math.floor(body.length / 2)));
      return;
    }
    note(String(status));
    res.end(body);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | null = null;
  const close = () => {
    closed ??= new Promise<void>((resolve) => {
      clearTimeout(lifetime);
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
    return closed;
  };
  const lifetime = setTimeout(close, lifetimeMs);
  lifetime.unref();
  return { url: `http://127.0.0.1:${port}`, log, close };
}
