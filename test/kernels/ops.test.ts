/**
 * The kernels' ops on wasm against tfjs's own ops on the cpu backend (tf.conv3d, tf.maxPool3d, an
 * up-sampling by plain repeats): values and every gradient (cases in test/helpers/kernel-cases.ts),
 * with the kernels on tfjs's (unshared) heap on one thread and on a shared memory of their own on
 * two; the same bits on any thread count. test/kernels/threaded-heap.test.ts covers tfjs's
 * threaded build.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { conv3dOp, upSample3dOp } from '../../src/kernels/ops.js';
import { kernelPool, setKernelThreads } from '../../src/kernels/context.js';
import { spawnKernelThread } from '../../src/kernels/node-threads.js';
import { assertKernelsEqualCpu, CASES, convNames, convResults } from '../helpers/kernel-cases.js';

async function withThreads(threads: number, fn: () => Promise<void>): Promise<void> {
  const got = await setKernelThreads(threads, spawnKernelThread);
  try {
    assert.equal(got.threads, threads, got.note);
    await fn();
  } finally {
    await setKernelThreads(1, undefined);
  }
}

after(async () => {
  await setKernelThreads(1, undefined);
});

test('on one thread, on the wasm backend heap (no copies), the ops equal cpu', async () => {
  await withThreads(1, async () => {
    await tf.setBackend('wasm');
    const heap = (tf.backend() as unknown as { wasm: { asm: { memory: WebAssembly.Memory } } }).wasm.asm.memory;
    assert.ok(kernelPool(tf.backend()).runtime.livesOn(heap), 'the kernels live on the backend heap');
    await assertKernelsEqualCpu('1 thread, in place');
  });
});

test('on two threads, on a shared memory of their own (tensors copied), the ops equal cpu', async () => {
  await withThreads(2, async () => {
    await tf.setBackend('wasm');
    const pool = kernelPool(tf.backend());
    assert.ok(pool.runtime.shared && !pool.runtime.foreign);
    await assertKernelsEqualCpu('2 threads, copies');
  });
});

test('conv3dOp gives the same bits on 1 and 2 threads', async () => {
  const c = CASES[5]!;
  let one: Float32Array[] = [];
  await withThreads(1, async () => {
    one = await convResults('wasm', c);
  });
  await withThreads(2, async () => {
    const two = await convResults('wasm', c);
    for (const [i, t] of two.entries()) assert.deepEqual(t, one[i], convNames(c)[i]);
  });
});

test('the up-sampling gradient on cpu is the sum over each block (not tfjs nearest resize gradient)', async () => {
  await tf.setBackend('cpu');
  tf.tidy(() => {
    const x = tf.zeros([1, 2, 1, 1, 1]) as tf.Tensor5D;
    const w = tf.tensor5d([1, 2, 3, 4], [1, 4, 1, 1, 1]);
    const [g] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(upSample3dOp(a as tf.Tensor5D, [2, 1, 1]), w)))([x]);
    assert.deepEqual(Array.from(g!.dataSync()), [3, 7]);
  });
});

test('on the unshared heap, results do not change when a call grows the heap', async () => {
  await withThreads(1, async () => {
    await tf.setBackend('wasm');
    const heap = (tf.backend() as unknown as { wasm: { asm: { memory: WebAssembly.Memory } } }).wasm.asm.memory;
    const run = () =>
      tf.tidy(() => {
        const x = tf.randomUniform([2, 24, 64, 64, 8], -1, 1, 'float32', 1) as tf.Tensor5D;
        const w = tf.randomUniform([3, 3, 3, 8, 8], -1, 1, 'float32', 2) as tf.Tensor5D;
        const b = tf.randomUniform([8], -1, 1, 'float32', 3) as tf.Tensor1D;
        const f = (a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) =>
          tf.sum(conv3dOp([a as tf.Tensor5D], k as tf.Tensor5D, c as tf.Tensor1D, { padding: 'same', relu: true }));
        const grads = tf.grads(f)([x, w, b]);
        return [conv3dOp([x], w, b, { padding: 'same', relu: true }), ...grads].map((t) => t.dataSync().slice());
      });
    const before = heap.buffer.byteLength;
    const first = run();
    assert.ok(heap.buffer.byteLength > before, 'the first call grew the heap');
    const second = run();
    for (const [i, t] of first.entries()) {
      assert.ok(t.every(Number.isFinite), `result ${i} is finite`);
      assert.deepEqual(t, second[i], `result ${i}`);
    }
  });
});
