/**
 * Serves a folder over http with CORS headers, so neuroglancer (or zarr over http) can read a
 * local zarr container:  node --import tsx examples/apply/serve.ts out.zarr 8000
 * then in neuroglancer add the layer source  zarr2://http://localhost:8000/segmentation
 */
import { createReadStream, promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

const root = path.resolve(process.argv[2] ?? '.');
const port = Number(process.argv[3] ?? 8000);

http
  .createServer(async (req, res) => {
    const headers = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': '*' };
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(root, path.normalize(rel));
    const stat = file.startsWith(root) ? await fsp.stat(file).catch(() => null) : null;
    if (req.method === 'OPTIONS') return res.writeHead(204, headers).end();
    if (!stat?.isFile()) return res.writeHead(404, headers).end();
    res.writeHead(200, { ...headers, 'Content-Length': stat.size });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  })
  .listen(port, () => console.log(`serving ${root} on http://localhost:${port}/ (Ctrl-C to stop)`));
