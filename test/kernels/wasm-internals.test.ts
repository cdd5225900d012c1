/**
 * The parts of @tensorflow/tfjs-backend-wasm (4.22, pinned) that the kernels and the threaded
 * start rely on without a public API: they fail here, by name, when a release changes them
 * (rather than the kernels silently falling back to copies or to one thread).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { backendHeap } from '../../src/kernels/context.js';

test("the wasm backend's heap: its memory, malloc and free (kernels work on it in place)", async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend();
  const heap = backendHeap(backend);
  assert.ok(heap, 'backend.wasm has a memory (wasmMemory or asm.memory), _malloc and _free');
  const at = heap.malloc(64);
  assert.ok(at > 0 && at % 8 === 0);
  heap.free(at);
  for (const method of ['typedArrayFromHeap', 'makeOutput', 'getMemoryOffset'] as const) {
    assert.equal(typeof (backend as unknown as Record<string, unknown>)[method], 'function', `BackendWasm.${method}`);
  }
  const t = tf.tensor1d([1, 2, 3]);
  const offset = (backend as unknown as { getMemoryOffset(id: object): number }).getMemoryOffset(t.dataId);
  assert.deepEqual(
    Array.from(new Float32Array(heap.memory.buffer, offset, 3)),
    [1, 2, 3],
    'tensors live at getMemoryOffset',
  );
  t.dispose();
});

test('the threaded build: its emscripten factory and pthread worker script, and the exports used', () => {
  const require = createRequire(import.meta.url);
  const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const out = path.join(dist, '..', 'wasm-out');
  assert.equal(typeof require(path.join(out, 'tfjs-backend-wasm-threaded-simd.js')), 'function');
  const { wasmWorkerContents } = require(path.join(out, 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: unknown;
  };
  assert.equal(typeof wasmWorkerContents, 'string');
  assert.match(wasmWorkerContents as string, /importScripts/, 'the worker loads the main script by importScripts');
  assert.ok(existsSync(path.join(dist, 'tfjs-backend-wasm-threaded-simd.wasm')));
  assert.equal(typeof wasm.BackendWasm, 'function');
  assert.equal(typeof wasm.setThreadsCount, 'function');
  assert.equal(typeof wasm.getThreadsCount, 'function');
});
