/**
 * Training from a container over HTTP, as served by a static file server or an object store (S3,
 * GCS): give openDataSplit a URL. HTTP cannot list folders, so a container in the crops layout
 * needs consolidated metadata (zarr-python: `zarr.consolidate_metadata(path)`; `consolidate` below
 * does the same for zarr v3); the simple layout needs none.
 *
 * Without an argument, the script generates the demo container, consolidates it, serves its folder
 * from a local server on 127.0.0.1 (any free port), trains from http://127.0.0.1:<port>/data.zarr
 * and closes the server. With a URL, it trains on that container instead:
 *
 *   node --import tsx examples/http.ts                                   # local server, ~5 min
 *   node --import tsx examples/http.ts https://example.org/my/data.zarr  # your own container
 *   node --import tsx examples/http.ts --smoke                           # a handful of batches
 *
 * Options: --data DIR (the container served locally, generated there once), --run DIR,
 * --epochs N.
 */
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  ValidationHook,
  describeBackend,
  maskedLoss,
  openDataSplit,
  trainingDataset,
  unet3d,
  useFastestBackend,
} from '../src/index.js';
import { exampleArgs, printBest, printEvaluation } from './common.js';
import { consolidate } from './synthetic/consolidate.js';
import { ensureDemoContainer } from './synthetic/write-container.js';

const { smoke, option, positionals } = exampleArgs();
const userUrl = positionals.find((a) => /^https?:\/\//i.test(a));
const dataDir = path.resolve(option('data', `demo-data/http${smoke ? '-small' : ''}/data.zarr`));
const runDir = path.resolve(option('run', `runs/http${smoke ? '-smoke' : ''}`));
const EPOCHS = Number(option('epochs', smoke ? '2' : '10'));
const BATCHES_PER_EPOCH = smoke ? 2 : 12;
const INPUT: [number, number, number] = smoke ? [8, 16, 16] : [16, 48, 48];

/** A minimal static file server (GET; 404 for anything that is not a file), like an object store. */
async function serve(folder: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    const file = path.join(folder, new URL(req.url ?? '/', 'http://x').pathname); // zarr keys need no decoding
    const info = file.startsWith(folder + path.sep) ? await stat(file).catch(() => null) : null;
    if (req.method !== 'GET' || !info?.isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Length': info.size, 'Content-Type': 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  // Training blocks the event loop for seconds at a time, which would let the server's keep-alive
  // timer close a connection just as the client reuses it (ECONNRESET): let clients close idle ones.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { url: `http://127.0.0.1:${port}`, close };
}

// 1. The container's URL: the user's, or the demo container served from here.
let server: Awaited<ReturnType<typeof serve>> | null = null;
let url = userUrl;
if (!url) {
  await ensureDemoContainer(dataDir, { small: smoke });
  await consolidate(dataDir);
  server = await serve(path.dirname(dataDir));
  url = `${server.url}/${path.basename(dataDir)}`;
}
console.log(`Container ${url}${server ? ` (served from ${path.relative(process.cwd(), dataDir)})` : ''}`);

try {
  await useFastestBackend({ quiet: true });
  console.log(`Backend: ${describeBackend()}`);

  // 2. Open over HTTP: chunks are fetched on demand (and cached) as patches are read.
  const split = await openDataSplit(url);
  console.log(
    `Layout ${split.layout}: train ${split.train.map((c) => c.name).join(', ')}; test ${split.test.map((c) => c.name).join(', ')}`,
  );

  const channels = split.train[0]!.raw.channels;
  const model = unet3d({ inputShape: [...INPUT, channels], outputChannels: 1, baseFilters: smoke ? 4 : 8, depth: 2 });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: maskedLoss('binaryCrossentropy') });
  const dataset = trainingDataset(split.train, {
    reuseDisposed: true, // fitDataset disposes each batch after its step
    inputShape: INPUT,
    batchSize: smoke ? 2 : 4,
    seed: 1,
    target: 'boundary',
    minMasked: 0.5,
  });

  await rm(runDir, { recursive: true, force: true }); // start afresh (the hook would resume from it)
  const hook = new ValidationHook({
    crops: split.test,
    runDir,
    onEvaluation: printEvaluation,
  });
  await model.fitDataset(dataset, {
    epochs: EPOCHS,
    batchesPerEpoch: BATCHES_PER_EPOCH,
    callbacks: [hook],
    verbose: 0,
  });

  // 3. The best checkpoint per test crop (written locally, whatever the data's location).
  printBest(hook.best);
} finally {
  await server?.close();
}
