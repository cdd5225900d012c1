/**
 * Max pooling (window = stride, per-axis factors) and nearest up-sampling on the kernels, as tfjs
 * kernels of our own names registered for the wasm backend with their gradients, and the ops that
 * run them there and compose tfjs's ops on every other backend. Pooling's gradient goes to the
 * last maximum of each window (tfjs's cpu backend's rule); up-sampling's is the sum over each block.
 */
import * as tf from '@tensorflow/tfjs';
import { KernelIo, size } from './io.js';
import * as jobs from './jobs.js';

type Triple = [number, number, number];

const MAX_POOL = 'TfjsZarrMaxPool3D';
const MAX_POOL_GRAD = 'TfjsZarrMaxPool3DGrad';
const UP_SAMPLE = 'TfjsZarrUpSample3D';
const UP_SAMPLE_GRAD = 'TfjsZarrUpSample3DGrad';

function factorsOf(attrs: tf.NamedAttrMap | undefined): Triple {
  return attrs!['factors'] as Triple;
}

function fineBlock(shape: readonly number[], ptr: number): jobs.Block {
  const [b, z, y, x, c] = shape as [number, number, number, number, number];
  return { ptr, b, z, y, x, c };
}

function coarseShape(shape: readonly number[], f: Triple): number[] {
  const [b, z, y, x, c] = shape as [number, number, number, number, number];
  return [b, Math.floor(z / f[0]), Math.floor(y / f[1]), Math.floor(x / f[2]), c];
}

function resampleKernel(kind: jobs.ResampleKernel) {
  return ({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo =>
    KernelIo.run(backend, (io) => {
      const f = factorsOf(attrs);
      switch (kind) {
        case 'max_pool_task': {
          const x = inputs['x']!;
          const out = io.output(coarseShape(x.shape, f));
          jobs.resample(io.pool, kind, fineBlock(x.shape, io.input(x)), 0, out.at, f);
          return out.info;
        }
        case 'max_pool_grad_task': {
          const x = inputs['x']!;
          const out = io.output(x.shape);
          const fine = fineBlock(x.shape, io.input(x));
          // No whole window along z: no task would run, the gradient is 0 everywhere.
          if (fine.z < f[0]) io.pool.runtime.f32.fill(0, out.at / 4, out.at / 4 + size(x.shape));
          else jobs.resample(io.pool, kind, fine, io.input(inputs['dy']!), out.at, f);
          return out.info;
        }
        case 'upsample_task': {
          const x = inputs['x']!;
          const [b, z, y, xx, c] = x.shape as [number, number, number, number, number];
          const outShape = [b, z * f[0], y * f[1], xx * f[2], c];
          const out = io.output(outShape);
          jobs.resample(io.pool, kind, fineBlock(outShape, 0), io.input(x), out.at, f);
          return out.info;
        }
        case 'upsample_grad_task': {
          const dy = inputs['dy']!;
          const out = io.output(coarseShape(dy.shape, f));
          jobs.resample(io.pool, kind, fineBlock(dy.shape, io.input(dy)), 0, out.at, f);
          return out.info;
        }
      }
    });
}

tf.registerKernel({
  kernelName: MAX_POOL,
  backendName: 'wasm',
  kernelFunc: resampleKernel('max_pool_task') as tf.KernelFunc,
});
tf.registerKernel({
  kernelName: MAX_POOL_GRAD,
  backendName: 'wasm',
  kernelFunc: resampleKernel('max_pool_grad_task') as tf.KernelFunc,
});
tf.registerKernel({
  kernelName: UP_SAMPLE,
  backendName: 'wasm',
  kernelFunc: resampleKernel('upsample_task') as tf.KernelFunc,
});
tf.registerKernel({
  kernelName: UP_SAMPLE_GRAD,
  backendName: 'wasm',
  kernelFunc: resampleKernel('upsample_grad_task') as tf.KernelFunc,
});
tf.registerGradient({
  kernelName: MAX_POOL,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => ({
    x: () => tf.engine().runKernel(MAX_POOL_GRAD, { dy: dy as tf.Tensor, x: saved[0]! }, attrs) as tf.Tensor,
  }),
});
tf.registerGradient({
  kernelName: UP_SAMPLE,
  gradFunc: (dy, _saved, attrs) => ({
    x: () => tf.engine().runKernel(UP_SAMPLE_GRAD, { dy: dy as tf.Tensor }, attrs) as tf.Tensor,
  }),
});

/** Max pooling with window = stride = `factors` per axis ('valid'), like tf.maxPool3d. */
export function maxPool3dOp(x: tf.Tensor5D, factors: Triple): tf.Tensor5D {
  if (tf.getBackend() !== 'wasm') return tf.maxPool3d(x, factors, factors, 'valid');
  return tf.engine().runKernel(MAX_POOL, { x }, { factors }) as tf.Tensor5D;
}

/** Nearest-neighbour repeats of rank-4 views: y and x as an image per section, then z as an image of height z and width 1. */
function repeatVoxels(x: tf.Tensor5D, [sz, sy, sx]: Triple): tf.Tensor5D {
  const [b, z, y, w, c] = x.shape;
  let t: tf.Tensor = x;
  if (sy !== 1 || sx !== 1) {
    t = tf.image.resizeNearestNeighbor(tf.reshape(t, [b * z, y, w, c]) as tf.Tensor4D, [y * sy, w * sx]);
  }
  if (sz !== 1) {
    t = tf.image.resizeNearestNeighbor(tf.reshape(t, [b, z, 1, y * sy * w * sx * c]) as tf.Tensor4D, [z * sz, 1]);
  }
  return tf.reshape(t, [b, z * sz, y * sy, w * sx, c]);
}

/**
 * Nearest-neighbour up-sampling: every voxel repeated `factors[i]` times along spatial axis i.
 * Off wasm: `repeatVoxels` with its gradient written out, each input voxel getting the sum of dy
 * over its block (an average pool times the block's volume): tfjs-backend-cpu's
 * ResizeNearestNeighborGrad reads dy with the input's batch stride, wrong for more than one image.
 */
export function upSample3dOp(x: tf.Tensor5D, factors: Triple): tf.Tensor5D {
  if (factors.every((f) => f === 1)) return x;
  if (tf.getBackend() === 'wasm') return tf.engine().runKernel(UP_SAMPLE, { x }, { factors }) as tf.Tensor5D;
  const volume = factors[0] * factors[1] * factors[2];
  const op = tf.customGrad((...args: unknown[]) => {
    const [input] = args as [tf.Tensor5D, tf.GradSaveFunc];
    return {
      value: repeatVoxels(input, factors),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) =>
        tf.mul(tf.avgPool3d((Array.isArray(dy) ? dy[0]! : dy) as tf.Tensor5D, factors, factors, 'valid'), volume),
    };
  });
  return tf.tidy(() => op(x) as tf.Tensor5D);
}
