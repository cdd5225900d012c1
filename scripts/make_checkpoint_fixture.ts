/**
 * A tiny unet3d checkpoint as tfjs-zarr 0.1 saved it (before per-level pooling and kernel sizes):
 *   node --import tsx scripts/make_checkpoint_fixture.ts   → test/models/fixtures/unet-0.1/
 * model.json + weights.bin (loadCheckpoint's layout) and expected.json: the model's output for a
 * fixed input, so the test can check that checkpoints written by that release still load and
 * predict the same. It was run on the 0.1 code (`upsampleFactors` then meant what
 * `outputUpsample` means now; run today it takes the deprecated alias).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { fileSaveHandler } from '../src/eval/model-files.js';
import { unet3d } from '../src/models/unet.js';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test', 'models', 'fixtures', 'unet-0.1');

/** The fixed input: [1, 4, 8, 8, 1], a smooth deterministic pattern. */
export function fixtureInput(): tf.Tensor5D {
  return tf.tensor5d(
    Float32Array.from({ length: 4 * 8 * 8 }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.37)),
    [1, 4, 8, 8, 1],
  );
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  const model = unet3d({
    inputShape: [4, 8, 8, 1],
    outputChannels: 2,
    baseFilters: 2,
    depth: 1,
    seed: 5,
    upsampleFactors: [1, 2, 2],
  } as Parameters<typeof unet3d>[0]);
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  await model.save(fileSaveHandler(OUT));
  const expected = Array.from((model.predict(fixtureInput()) as tf.Tensor).dataSync());
  await writeFile(path.join(OUT, 'expected.json'), `${JSON.stringify({ shape: [1, 4, 16, 16, 2], expected })}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
