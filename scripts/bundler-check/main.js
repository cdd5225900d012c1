// The page of scripts/check-bundlers.ts: the package as a user imports it, no tf import of its own.
import { describeBackend, openDataSplit, trainingDataset, useFastestBackend } from 'tfjs-zarr';

const options = {
  inputShape: [4, 6, 6],
  outputShape: [2, 4, 4],
  batchSize: 3,
  seed: 7,
  minMasked: 0.25,
  cropWeights: 'size',
  target: 'boundary',
  augment: { mirror: true, transpose: true, intensity: { scale: [0.8, 1.2], shift: [-0.1, 0.1] }, gamma: [0.7, 1.4] },
};
try {
  await useFastestBackend({ prefer: 'cpu', quiet: true });
  const split = await openDataSplit(new URL('/fixtures/traintest.zarr', location.href).href);
  const ds = trainingDataset(split.train, { ...options, workers: 1 });
  const it = await ds.iterator();
  const parts = [];
  let running = 0;
  for (let i = 0; i < 5; i++) {
    const { xs, ys } = (await it.next()).value;
    running = Math.max(running, ds.workersRunning);
    for (const t of [xs, ys]) parts.push(new Uint8Array(t.dataSync().slice().buffer));
    xs.dispose();
    ys.dispose();
  }
  ds.close();
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', all)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
  globalThis.result = { digest, running, backend: describeBackend() };
} catch (e) {
  globalThis.result = { error: String(e?.stack ?? e) };
}
