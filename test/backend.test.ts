import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useFastestBackend, describeBackend } from '../src/backend.js';

test('useFastestBackend picks wasm or cpu here (tfjs-node absent) and tensors compute', async () => {
  const saved = process.env['TFJS_ZARR_BACKEND'];
  delete process.env['TFJS_ZARR_BACKEND'];
  try {
    const name = await useFastestBackend({ quiet: true });
    assert.ok(['tensorflow', 'wasm', 'cpu'].includes(name), name);
    assert.equal(tf.getBackend(), name);
    if (tf.findBackendFactory('tensorflow') == null) {
      assert.ok(name === 'wasm' || name === 'cpu', name);
    }
    const y = tf.tensor1d([1, 2, 3]).square();
    assert.deepEqual(Array.from(await y.data()), [1, 4, 9]);
    y.dispose();
    const line = describeBackend();
    assert.ok(line.startsWith(name), line);
    assert.ok(!line.includes('\n'));
    if (name !== 'tensorflow') assert.match(line, /tfjs-node/);
  } finally {
    if (saved !== undefined) process.env['TFJS_ZARR_BACKEND'] = saved;
  }
});

test('TFJS_ZARR_BACKEND overrides the choice; prefer picks when the env var is unset', async () => {
  const saved = process.env['TFJS_ZARR_BACKEND'];
  try {
    process.env['TFJS_ZARR_BACKEND'] = 'cpu';
    assert.equal(await useFastestBackend({ prefer: 'wasm', quiet: true }), 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
    assert.match(describeBackend(), /^cpu .*TFJS_ZARR_BACKEND=cpu/);

    delete process.env['TFJS_ZARR_BACKEND'];
    const name = await useFastestBackend({ prefer: 'cpu', quiet: true });
    assert.equal(name, 'cpu');

    // An unavailable preference falls back instead of failing.
    process.env['TFJS_ZARR_BACKEND'] = 'tensorflow';
    const fallback = await useFastestBackend({ quiet: true });
    assert.ok(['tensorflow', 'wasm', 'cpu'].includes(fallback));
  } finally {
    if (saved === undefined) delete process.env['TFJS_ZARR_BACKEND'];
    else process.env['TFJS_ZARR_BACKEND'] = saved;
    await useFastestBackend({ quiet: true });
  }
});
