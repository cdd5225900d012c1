import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { channelRange } from '../../src/kernels/channels.js';

test('channelRange on wasm equals tf.slice of the last axis on cpu, float and int, one and several channels', async () => {
  for (const dtype of ['float32', 'int32'] as const) {
    for (const [begin, count] of [
      [0, 1],
      [1, 1],
      [1, 3],
      [0, 4],
    ]) {
      const results: number[][] = [];
      for (const backend of ['cpu', 'wasm']) {
        await tf.setBackend(backend);
        results.push(
          tf.tidy(() => {
            const t = tf.cast(tf.mul(tf.randomUniform([2, 3, 4, 5, 4], 0, 1, 'float32', 1), 100), dtype);
            const r = channelRange(t, begin!, count!);
            assert.deepEqual(r.shape, [2, 3, 4, 5, count]);
            assert.equal(r.dtype, dtype);
            const s = tf.slice(t, [0, 0, 0, 0, begin!], [-1, -1, -1, -1, count!]);
            return [...r.dataSync(), ...s.dataSync()];
          }),
        );
      }
      assert.deepEqual(results[1], results[0], `${dtype} [${begin}, +${count})`);
    }
  }
});
