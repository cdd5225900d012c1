/**
 * segmentVolume's 'watershed' method (not blockwise-exact, as documented): the seeds are the
 * whole volume's (components of the prediction above the threshold, joined exactly across
 * blocks), the background is the whole volume's, one block gives exactly the whole-volume
 * watershed (watershedPostProcessor, scikit-image's), and many blocks with their halo agree with it
 * on nearly every voxel; the threshold and mask threshold come from a checkpoint.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { saveCheckpoint } from '../../src/eval/checkpoint.js';
import { connectedComponents } from '../../src/eval/components.js';
import { watershedPostProcessor } from '../../src/eval/postprocess.js';
import { roi } from '../../src/index.js';
import { openArray, segmentVolume } from '../../src/apply/index.js';
import { writeBlockChunks } from '../../src/apply/block-io.js';
import { funlibAttributes, ZarrArrayWriter } from '../../src/zarr/write/index.js';
import { rng, samePartition, tinyValidNet } from '../helpers/apply.js';

const SHAPE = [16, 20, 22] as const;
const N = SHAPE[0] * SHAPE[1] * SHAPE[2];
const VOXEL = [4, 2, 2];
const OFFSET = [40, -8, 6];
let root: string;
let values: Float32Array;
let prediction: string;

/** A smooth field in [−1, 1] (a distance-like prediction with plateaus: quantized to 1/16). */
function field(seed: number): Float32Array {
  const r = rng(seed);
  let f = Float32Array.from({ length: N }, () => r());
  const [Z, Y, X] = SHAPE;
  for (let pass = 0; pass < 4; pass++) {
    const g = new Float32Array(N);
    for (let z = 0; z < Z; z++)
      for (let y = 0; y < Y; y++)
        for (let x = 0; x < X; x++) {
          let sum = 0,
            n = 0;
          for (let d = -1; d <= 1; d++) {
            for (const [zz, yy, xx] of [
              [z + d, y, x],
              [z, y + d, x],
              [z, y, x + d],
            ] as const) {
              if (zz < 0 || yy < 0 || xx < 0 || zz >= Z || yy >= Y || xx >= X) continue;
              sum += f[(zz * Y + yy) * X + xx]!;
              n++;
            }
          }
          g[(z * Y + y) * X + x] = sum / n;
        }
    f = g;
  }
  return f.map((v) => Math.round(Math.max(-1, Math.min(1, (v - 0.5) * 10)) * 16) / 16);
}

before(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-segment-ws-'));
  values = field(11);
  const location = { container: path.join(root, 'pred.zarr'), path: 'distance' };
  const writer = await ZarrArrayWriter.create(location, {
    format: 2,
    shape: [1, ...SHAPE],
    chunks: [1, 4, 5, 6],
    dtype: 'float32',
    compressor: 'none',
    attributes: funlibAttributes({ voxelSize: VOXEL, offset: OFFSET, units: ['nm', 'nm', 'nm'], channels: true }),
  });
  const whole = {
    index: 0,
    coords: [0, 0, 0],
    voxelOffset: [0, 0, 0],
    voxelShape: [...SHAPE],
    roi: roi(
      OFFSET,
      SHAPE.map((s, i) => s * VOXEL[i]!),
    ),
  };
  await writeBlockChunks(writer, whole, values);
  prediction = `${location.container}/distance`;
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const THRESHOLD = 0.5;
const MASK = 0;

function wholeWatershed(): Uint32Array {
  const post = watershedPostProcessor({ input: 'distance', thresholds: [THRESHOLD], maskThreshold: MASK });
  return post.apply(values, [...SHAPE, 1], post.parameters[0]!);
}

async function segment(name: string, options: object): Promise<BigUint64Array> {
  const out = path.join(root, 'seg.zarr', name);
  await segmentVolume(prediction, {
    output: out,
    method: 'watershed',
    threshold: THRESHOLD,
    maskThreshold: MASK,
    ...options,
  });
  return (await (await openArray(out)).read((await openArray(out)).roi)) as BigUint64Array;
}

test('one block: exactly the whole-volume watershed', async () => {
  const seg = await segment('one', { blockShape: [...SHAPE] });
  samePartition(seg, wholeWatershed(), true);
});

test('many blocks: the whole volume seeds and background exactly, nearly every voxel as the whole-volume flood', async () => {
  const seg = await segment('many', { blockShape: [4, 6, 5] });
  const whole = wholeWatershed();
  // The seeds: the same partition on the seed voxels; the background: the same voxels.
  const seedVoxels = [...values.keys()].filter((i) => values[i]! > THRESHOLD);
  samePartition(
    seedVoxels.map((i) => seg[i]!),
    seedVoxels.map((i) => whole[i]!),
    true,
  );
  const seeds = connectedComponents(
    Uint8Array.from(values, (v) => (v > THRESHOLD ? 1 : 0)),
    [...SHAPE],
  ).count;
  assert.ok(seeds >= 4, `${seeds} seeds`);
  for (let i = 0; i < N; i++) assert.equal(seg[i] === 0n, whole[i] === 0, `background at voxel ${i}`);
  // Flooded voxels: the seed each got, compared through the seeds' ids.
  const idOfSeed = new Map<number, bigint>();
  for (const i of seedVoxels) idOfSeed.set(whole[i]!, seg[i]!);
  let same = 0,
    flooded = 0;
  for (let i = 0; i < N; i++) {
    if (whole[i] === 0 || values[i]! > THRESHOLD) continue;
    flooded++;
    if (idOfSeed.get(whole[i]!) === seg[i]) same++;
  }
  assert.ok(flooded > 100, `${flooded} flooded voxels`);
  console.log(`${same} of ${flooded} flooded voxels as the whole-volume watershed (blocks 4×6×5, halo half a block)`);
  assert.ok(same / flooded >= 0.97, `${same} of ${flooded} flooded voxels as the whole-volume watershed`);
});

test("threshold and mask threshold from a watershed checkpoint's parameters", async () => {
  const checkpoint = path.join(root, 'ckpt');
  const model = tinyValidNet();
  await saveCheckpoint(model, checkpoint, {
    epoch: 3,
    postProcessor: 'watershed',
    parameters: { threshold: THRESHOLD, maskThreshold: MASK },
  });
  model.dispose();
  const out = path.join(root, 'seg.zarr', 'from-checkpoint');
  const result = await segmentVolume(prediction, { output: out, checkpoint, blockShape: [...SHAPE] });
  assert.deepEqual(
    [result.parameters.method, result.parameters.threshold, result.parameters.maskThreshold],
    ['watershed', THRESHOLD, MASK],
  );
  const seg = (await (await openArray(out)).read((await openArray(out)).roi)) as BigUint64Array;
  samePartition(seg, wholeWatershed(), true);
});
