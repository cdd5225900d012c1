import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { openDataSplit, DataFormatError } from '../../src/index.js';

/** Serves test/fixtures, but resets the connection of the first `resets` requests for each chunk. */
async function flakyServer(resets: number): Promise<{ url: string; close(): Promise<void> }> {
  const root = path.resolve('test/fixtures');
  const seen = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const n = (seen.get(rel) ?? 0) + 1;
    seen.set(rel, n);
    const isChunk = !/(\.z\w+|zarr\.json)$/.test(rel);
    if (isChunk && n <= resets) return void req.socket.destroy();
    const file = path.join(root, rel);
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200).end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('http reads retry requests whose connection was reset', async () => {
  const server = await flakyServer(1);
  try {
    const remote = await openDataSplit(`${server.url}/traintest.zarr`);
    const local = await openDataSplit('test/fixtures/traintest.zarr');
    const crop = remote.train[0]!;
    assert.deepEqual(await crop.raw.read(crop.raw.roi), await local.train[0]!.raw.read(crop.raw.roi));
  } finally {
    await server.close();
  }
});

test('http reads give up with a DataFormatError naming the key when resets persist', async () => {
  const server = await flakyServer(100);
  try {
    const remote = await openDataSplit({ path: `${server.url}/traintest.zarr`, http: { retryBaseDelayMs: 5 } });
    const crop = remote.train[0]!;
    await assert.rejects(
      crop.raw.read(crop.raw.roi),
      (e: unknown) => e instanceof DataFormatError && /train\/raw/.test(e.message),
    );
  } finally {
    await server.close();
  }
});
