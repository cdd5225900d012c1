/**
 * WebGPU binds each tensor as one storage buffer, and a buffer larger than the device's
 * `maxStorageBufferBindingSize` fails validation (asynchronously: the results are silently
 * wrong). Layers check the tensors they make against it, for a clear error instead.
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';

/** WebGPU's largest storage buffer binding on this device (bytes), or null off WebGPU. */
export function webGpuBufferLimit(): number | null {
  if (tf.engine().backendName !== 'webgpu') return null;
  const device = (tf.backend() as unknown as { device?: { limits?: { maxStorageBufferBindingSize?: number } } }).device;
  return device?.limits?.maxStorageBufferBindingSize ?? null;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 0)} MiB`;

/** Throws when a float32 tensor of `shape` would not fit in one WebGPU buffer binding. */
export function checkBufferLimit(what: string, shape: readonly number[], limit = webGpuBufferLimit()): void {
  if (limit === null) return;
  const bytes = 4 * shape.reduce((a, b) => a * b, 1);
  if (bytes <= limit) return;
  throw new OptionsError(
    `${what}: a tensor of shape [${shape.join(', ')}] takes ${mib(bytes)}, more than WebGPU's ` +
      `maxStorageBufferBindingSize on this device (${mib(limit)}); use a smaller batch size or inputShape, ` +
      'fewer filters, or another backend',
  );
}
