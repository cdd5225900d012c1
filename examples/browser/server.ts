/**
 * A small static server for pages on 127.0.0.1: folders mounted under URL prefixes, byte ranges,
 * and the headers threads need (`Cross-Origin-Opener-Policy: same-origin`,
 * `Cross-Origin-Embedder-Policy: require-corp`: the page is then cross-origin isolated, so
 * SharedArrayBuffer and the threaded wasm backend are available). Used by `npm run demo:browser`
 * and the browser tests.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface PageServerOptions {
  /** URL prefix ('/', '/data/') → folder. The longest matching prefix wins. */
  mounts: Record<string, string>;
  /** Send COOP/COEP (default true). */
  isolated?: boolean;
  /** Send `Access-Control-Allow-Origin: *` (default true; false: a server that ignores CORS). */
  cors?: boolean;
  /** Port (default 0: any free port). */
  port?: number;
}

export interface PageServer {
  /** 'http://127.0.0.1:<port>' */
  url: string;
  /** Every request as 'METHOD /path status'. */
  log: string[];
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.map': 'application/json',
};

export async function startPageServer(options: PageServerOptions): Promise<PageServer> {
  const mounts = Object.entries(options.mounts)
    .map(([prefix, dir]) => [prefix.endsWith('/') ? prefix : `${prefix}/`, path.resolve(dir)] as const)
    .sort((a, b) => b[0].length - a[0].length);
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    const headers: http.OutgoingHttpHeaders = { 'Cache-Control': 'no-store' };
    if (options.isolated ?? true) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    if (options.cors ?? true) {
      headers['Access-Control-Allow-Origin'] = '*';
      headers['Access-Control-Allow-Headers'] = 'Range';
      headers['Access-Control-Expose-Headers'] = 'Content-Range, Content-Length';
      headers['Cross-Origin-Resource-Policy'] = 'cross-origin';
    }
    const done = (status: number, body?: Buffer | string, more: http.OutgoingHttpHeaders = {}) => {
      log.push(`${req.method} ${req.url} ${status}`);
      res.writeHead(status, { ...headers, ...more });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method === 'OPTIONS') return done(204);
    if (req.method !== 'GET' && req.method !== 'HEAD') return done(405, 'method not allowed');
    let rel: string;
    try {
      rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return done(400, 'bad path');
    }
    const mount = mounts.find(([prefix]) => rel.startsWith(prefix) || `${rel}/` === prefix);
    if (!mount) return done(404, 'not found');
    const [prefix, dir] = mount;
    let file = path.resolve(dir, `.${rel.slice(prefix.length - 1)}`);
    if (file !== dir && !file.startsWith(dir + path.sep)) return done(404, 'not found');
    if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory()) file = path.join(file, 'index.html');
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (!stat?.isFile()) return done(404, 'not found');
    const data = fs.readFileSync(file);
    const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range?.trim() ?? '');
    if (req.headers.range && (!range || (range[1] === '' && range[2] === ''))) {
      return done(416, 'bad range', { 'Content-Range': `bytes */${data.length}` });
    }
    if (range) {
      const suffix = range[1] === '';
      const start = suffix ? Math.max(0, data.length - Number(range[2])) : Number(range[1]);
      const end = suffix || range[2] === '' ? data.length - 1 : Math.min(Number(range[2]), data.length - 1);
      if (start >= data.length || start > end) {
        return done(416, 'range not satisfiable', { 'Content-Range': `bytes */${data.length}` });
      }
      return done(206, data.subarray(start, end + 1), {
        'Content-Type': type,
        'Content-Range': `bytes ${start}-${end}/${data.length}`,
        'Accept-Ranges': 'bytes',
      });
    }
    return done(200, data, { 'Content-Type': type, 'Content-Length': String(data.length) });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
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
