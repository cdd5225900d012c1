/**
 * `channelRange(t, begin, count)`: channels [begin, begin + count) of the last axis. tfjs's wasm
 * backend slices rank-5 tensors element by element through generic index arithmetic (tens of ms
 * for a batch of targets); on wasm this is a kernel of our own copying runs of the heap, without
 * a gradient (it splits targets, which need none). Elsewhere it is tf.slice.
 */
import * as tf from '@tensorflow/tfjs';

const CHANNELS = 'TfjsZarrChannelRange';

interface WasmBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

tf.registerKernel({
  kernelName: CHANNELS,
  backendName: 'wasm',
  kernelFunc: (({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]) => {
    const b = backend as WasmBackend;
    const x = inputs['x']!;
    const begin = attrs!['begin'] as number;
    const count = attrs!['count'] as number;
    const last = x.shape[x.shape.length - 1]!;
    const out = b.makeOutput([...x.shape.slice(0, -1), count], x.dtype);
    const src = b.typedArrayFromHeap(x);
    const dst = b.typedArrayFromHeap(out);
    const n = dst.length / Math.max(1, count);
    if (count === 1) {
      for (let i = 0, j = begin; i < n; i++, j += last) dst[i] = src[j]!;
    } else {
      for (let i = 0; i < n; i++) dst.set(src.subarray(i * last + begin, i * last + begin + count), i * count);
    }
    return out;
  }) as tf.KernelFunc,
});

export function channelRange(t: tf.Tensor, begin: number, count: number): tf.Tensor {
  const last = t.shape[t.rank - 1]!;
  if (begin === 0 && count === last) return t;
  if (tf.getBackend() === 'wasm' && t.dtype !== 'string') {
    return tf.engine().runKernel(CHANNELS, { x: t }, { begin, count }) as tf.Tensor;
  }
  const start = new Array<number>(t.rank).fill(0);
  start[t.rank - 1] = begin;
  const size = [...t.shape];
  size[t.rank - 1] = count;
  return tf.slice(t, start, size);
}
