/**
 * UpSampling3D's gradient is the sum of dy over each input voxel's block, on the cpu backend too
 * (whose ResizeNearestNeighborGrad reads dy with the input's batch stride: wrong for a batch of
 * more than one image, which the upsampling's reshaped views always are).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { UpSampling3D } from '../../src/models/layers.js';

test('UpSampling3D gradient = block sums of dy (cpu, batch 2, anisotropic size)', async () => {
  await tf.setBackend('cpu');
  const size = [2, 3, 1] as const;
  const x = tf.randomNormal([2, 2, 3, 4, 2], 0, 1, 'float32', 1) as tf.Tensor5D;
  const dy = tf.randomNormal([2, 4, 9, 4, 2], 0, 1, 'float32', 2);
  const layer = new UpSampling3D({ size: [...size] });
  const up = layer.apply(x) as tf.Tensor;
  assert.deepEqual(up.shape, [2, 4, 9, 4, 2]);
  const grad = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(layer.apply(input) as tf.Tensor, dy)))(x);
  const d = dy.arraySync() as number[][][][][];
  const expected: number[] = [];
  for (let b = 0; b < 2; b++)
    for (let z = 0; z < 2; z++)
      for (let y = 0; y < 3; y++)
        for (let w = 0; w < 4; w++)
          for (let c = 0; c < 2; c++) {
            let sum = 0;
            for (let i = 0; i < size[0]; i++)
              for (let j = 0; j < size[1]; j++)
                for (let k = 0; k < size[2]; k++)
                  sum += d[b]![size[0] * z + i]![size[1] * y + j]![size[2] * w + k]![c]!;
            expected.push(sum);
          }
  const got = grad.dataSync();
  const worst = Math.max(...Array.from(got, (v, i) => Math.abs(v - expected[i]!)));
  assert.ok(worst < 1e-5, `largest difference ${worst}`);
  tf.dispose([x, dy, up, grad]);
});
