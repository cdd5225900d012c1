/**
 * Evaluation benchmark: tiled prediction + post-processing + VOI of a 128^3 region of a crop,
 * with the time split between the model (inside model.predict) and our code (reads, stitching,
 * connected components over the threshold sweep, VOI).
 */
import type * as tf from '@tensorflow/tfjs';
import {
  boundaryPostProcessor,
  describeBackend,
  openDataSplit,
  predictCrop,
  roi,
  unet3d,
  useFastestBackend,
  variationOfInformation,
} from '../src/index.js';
import { ensureTrainContainer } from './pipeline.js';

export async function benchPredict(): Promise<Record<string, number | string>> {
  await useFastestBackend({ quiet: true });
  const split = await openDataSplit(ensureTrainContainer());
  const crop = split.test[0]!;
  const region = roi(crop.labels.roi.offset, [128 * 8, 128 * 8, 128 * 8]);
  const model = unet3d({ inputShape: [32, 64, 64, 1], outputChannels: 1, baseFilters: 8, depth: 2 });
  let modelMs = 0;
  // Time the model alone by wrapping predict.
  const timed = new Proxy(model, {
    get(target, prop, receiver) {
      if (prop === 'predict') {
        return (x: tf.Tensor) => {
          const t = performance.now();
          const y = target.predict(x) as tf.Tensor;
          y.dataSync();
          modelMs += performance.now() - t;
          return y;
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
  let t = performance.now();
  const prediction = await predictCrop(timed, crop, { region, outputShape: [24, 56, 56], batchSize: 2 });
  const predictMs = performance.now() - t;
  const gt = await crop.labels.read(region);
  const mask = await crop.readMask(region);
  const pp = boundaryPostProcessor();
  t = performance.now();
  let postMs = 0;
  let voiMs = 0;
  for (const p of pp.parameters) {
    const t0 = performance.now();
    const seg = pp.apply(prediction.data, prediction.shape, p);
    const t1 = performance.now();
    variationOfInformation(gt as BigUint64Array, seg, { mask });
    postMs += t1 - t0;
    voiMs += performance.now() - t1;
  }
  model.dispose();
  return {
    backend: describeBackend(),
    predictSeconds: predictMs / 1000,
    modelSeconds: modelMs / 1000,
    ourPredictSeconds: (predictMs - modelMs) / 1000,
    postProcessSeconds: postMs / 1000,
    voiSeconds: voiMs / 1000,
    thresholds: pp.parameters.length,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchPredict();
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(24)} ${typeof v === 'number' ? v.toFixed(3) : v}`);
}
