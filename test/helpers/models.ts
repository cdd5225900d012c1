/** Small seeded models for the training and evaluation tests. */
import * as tf from '@tensorflow/tfjs';
import { maskedLoss } from '../../src/index.js';

/**
 * Two 'valid' 3×3×3 convolutions (relu, then one sigmoid channel), compiled with a masked binary
 * cross-entropy: the output is 4 voxels smaller than the input on each axis. The same options
 * give the same initial weights.
 */
export function twoConvNet(options: {
  inputShape: readonly number[];
  filters: number;
  /** Seeds of the two kernels' initializers. */
  seeds: [number, number];
  learningRate: number;
}): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.conv3d({
      inputShape: [...options.inputShape, 1],
      filters: options.filters,
      kernelSize: 3,
      padding: 'valid',
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: options.seeds[0] }),
    }),
  );
  model.add(
    tf.layers.conv3d({
      filters: 1,
      kernelSize: 3,
      padding: 'valid',
      activation: 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: options.seeds[1] }),
    }),
  );
  model.compile({ optimizer: tf.train.adam(options.learningRate), loss: maskedLoss('binaryCrossentropy') });
  return model;
}
