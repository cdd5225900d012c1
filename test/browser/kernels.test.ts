/**
 * tfjs-zarr's wasm kernels in a page: on 2 threads (Web Workers sharing the threaded build's heap)
 * in a cross-origin isolated page, on the page's thread in one that is not; either way a U-Net's
 * gradients through the masked loss equal the cpu backend's, and describeBackend says how many
 * threads run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openLibraryPage } from '../helpers/library-page.js';

declare const tz: typeof import('../../src/browser.js');
declare const tf: typeof import('@tensorflow/tfjs');

/** Runs in the page: the worst relative difference from cpu of a small U-Net's loss and gradients. */
async function unetAgainstCpu(wasmThreads: number): Promise<{ why: string; relative: number }> {
  const name = await tz.useFastestBackend({ prefer: 'wasm', wasmThreads, quiet: true });
  const why = tz.describeBackend();
  if (name !== 'wasm') return { why, relative: Number.NaN };
  const gradients = async (backend: string) => {
    await tf.setBackend(backend);
    const unet = tz.unet3d({ inputShape: [12, 24, 24, 1], outputChannels: 1, baseFilters: 8, depth: 2, seed: 3 });
    const [, oz, oy, ox] = unet.outputs[0]!.shape as number[];
    const x = tf.tensor(
      Float32Array.from({ length: 2 * 12 * 24 * 24 }, (_, i) => Math.sin(0.37 * i)),
      [2, 12, 24, 24, 1],
    );
    const yTrue = tf.tidy(() => {
      const target = tf.greater(tf.randomUniform([2, oz!, oy!, ox!, 1], 0, 1, 'float32', 5), 0.5).toFloat();
      return tf.concat([target, tf.onesLike(target)], 4);
    });
    const loss = tz.maskedLoss('binaryCrossentropy');
    const { value, grads } = tf.variableGrads(() => loss(yTrue, unet.apply(x) as import('@tensorflow/tfjs').Tensor));
    const out = [
      [...(await value.data())],
      ...(await Promise.all(Object.values(grads).map(async (g) => [...(await g.data())]))),
    ];
    tf.dispose([x, yTrue, value, ...Object.values(grads)]);
    unet.dispose();
    return out;
  };
  const reference = await gradients('cpu');
  const got = await gradients('wasm');
  let relative = 0;
  for (const [k, ref] of reference.entries()) {
    const scale = Math.max(1e-6, ...ref.map(Math.abs));
    for (let i = 0; i < ref.length; i++) relative = Math.max(relative, Math.abs(got[k]![i]! - ref[i]!) / scale);
  }
  return { why, relative };
}

test('a cross-origin isolated page: the kernels on 2 threads equal cpu, and describeBackend says so', async () => {
  const lib = await openLibraryPage();
  try {
    const r = await lib.page.evaluate(unetAgainstCpu, 2);
    assert.match(
      r.why,
      /^wasm \(SIMD; threaded build, (2 threads|1 thread; tfjs-zarr kernels on 2 threads); chosen by prefer: 'wasm'\)$/,
    );
    assert.ok(r.relative < 1e-4, `gradients differ from cpu by ${r.relative} of their scale`);
    const workers = lib.messages.concat(lib.errors).filter((m) => /kernel thread/.test(m));
    assert.deepEqual(workers, [], 'no kernel thread failed');
  } finally {
    await lib.close();
  }
});

test('a page that is not cross-origin isolated: the kernels on its thread, equal to cpu', async () => {
  const lib = await openLibraryPage({ isolated: false });
  try {
    const r = await lib.page.evaluate(unetAgainstCpu, 2);
    assert.match(r.why, /^wasm \(SIMD; no threads: the page is not cross-origin isolated/);
    assert.ok(r.relative < 1e-4, `gradients differ from cpu by ${r.relative} of their scale`);
  } finally {
    await lib.close();
  }
});
