/**
 * With tfjs-backend-wasm's threaded build (started by useFastestBackend with threads > 1) the
 * kernels live on its shared heap, reading and writing tfjs's tensors in place, on two threads and
 * on one: values and gradients equal the cpu backend's (cases in test/helpers/kernel-cases.ts).
 * Where threads cannot start here, the test says why and checks the one-thread fallback.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, useFastestBackend } from '../../src/backend.js';
import { kernelPool, kernelThreads, setKernelThreads } from '../../src/kernels/context.js';
import { spawnKernelThread } from '../../src/kernels/node-threads.js';
import { assertKernelsEqualCpu } from '../helpers/kernel-cases.js';

after(async () => {
  await setKernelThreads(1, undefined);
});

test('the kernels on the threaded build heap, on 2 threads and on 1, equal cpu', async (t) => {
  const saved = process.env['TFJS_ZARR_BACKEND'];
  process.env['TFJS_ZARR_BACKEND'] = 'wasm';
  try {
    await useFastestBackend({ quiet: true, threads: 2 });
  } finally {
    if (saved === undefined) delete process.env['TFJS_ZARR_BACKEND'];
    else process.env['TFJS_ZARR_BACKEND'] = saved;
  }
  const wasm = tf.findBackend('wasm') as unknown as { wasm: { wasmMemory?: WebAssembly.Memory } };
  const heap = wasm.wasm.wasmMemory;
  if (!(heap?.buffer instanceof SharedArrayBuffer) || kernelThreads() !== 2) {
    t.diagnostic(`threads did not start here: ${describeBackend()}`);
    await assertKernelsEqualCpu('fallback');
    return;
  }
  assert.ok(kernelPool(tf.backend()).runtime.livesOn(heap), 'the kernels live on the shared heap');
  await assertKernelsEqualCpu('threaded build, 2 threads, in place');
  await setKernelThreads(1, spawnKernelThread, { backend: tf.findBackend('wasm') });
  assert.ok(kernelPool(tf.findBackend('wasm')).runtime.livesOn(heap));
  await assertKernelsEqualCpu('threaded build, 1 thread, in place');
});
