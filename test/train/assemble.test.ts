/**
 * The fused batch assembly (train/assemble.ts) gives exactly what the step-by-step reference gives:
 * crop.read → applyAugment → makeTarget → concatTargetMask, for every target, over the zarr
 * fixtures written by zarr-python (uint8/uint16/float32 raw with context, uint8…uint64 labels with
 * ids above 2^32, stored masks or none, patches running off the labels, anisotropic voxels).
 */
import { test, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zarr from 'zarrita';
import FileSystemStore from '@zarrita/storage/fs';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { openDataSplit, trainingDataset } from '../../src/index.js';
import { makeRng } from '../../src/train/random.js';
import { CropSampler } from '../../src/train/sampler.js';
import {
  boundaryTarget,
  concatTargetMask,
  makeTarget,
  type TargetFn,
  type TargetKind,
} from '../../src/train/targets.js';
import type { ZarrCrop } from '../../src/zarr/crop.js';
import { fixturePath } from '../helpers/fixtures.js';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const augment = {
  mirror: true,
  transpose: true,
  intensity: { scale: [0.8, 1.2] as [number, number], shift: [-0.1, 0.1] as [number, number] },
  gamma: [0.7, 1.4] as [number, number],
};

/** A user target that hands the mask back as it gets it (a stored mask holds 2 and 255: known is 1). */
const echoMask: TargetFn = (labels, mask) => ({
  target: Float32Array.from({ length: labels.length }, (_, i) => Number(labels[i]) % 3),
  channels: 1,
  mask: Float32Array.from(mask),
  maskChannels: 1,
});

async function allCrops(): Promise<ZarrCrop[]> {
  const out: ZarrCrop[] = [];
  for (const name of ['simple.zarr', 'crops.zarr', 'v3.zarr', 'traintest.zarr']) {
    const split = await openDataSplit(fixturePath(name));
    for (const c of [...split.train, ...split.test]) if (!out.includes(c)) out.push(c);
  }
  return out;
}

async function maxLabel(crop: ZarrCrop): Promise<number> {
  const labels = await crop.labels.read(crop.labels.roi);
  let max = 0;
  for (let i = 0; i < labels.length; i++) max = Math.max(max, Number(labels[i]));
  return max;
}

type Target = [TargetKind | TargetFn, { offsets?: number[][]; numClasses?: number }];

/** Three batches of 3 from the fused path against the step-by-step reference; returns the samples compared. */
async function compareWithSteps(
  crop: ZarrCrop,
  target: Target[0],
  targetOptions: Target[1],
  withAugment: boolean,
  shapes = { inputShape: [8, 8, 8], outputShape: [4, 4, 4] }, // ≥ 512 voxels: uint8 raw goes through the lookup table
): Promise<number> {
  const options = {
    ...shapes,
    batchSize: 3,
    seed: `${crop.name}-${typeof target === 'function' ? 'user' : target}`,
    target,
    ...targetOptions,
    augment: withAugment ? augment : (false as const),
  };
  const ds = trainingDataset([crop], { ...options, workers: 0 }); // the in-thread path; workers.test.ts: workers give the same bytes
  const it = await ds.iterator();
  const sampler = await CropSampler.create(crop, options);
  const root = makeRng(options.seed);
  let compared = 0;
  for (let k = 0; k < 3; k++) {
    const { xs, ys } = (await it.next()).value;
    const xsData = xs.dataSync() as Float32Array,
      ysData = ys.dataSync() as Float32Array;
    tf.dispose([xs, ys]);
    for (let b = 0; b < 3; b++) {
      const plan = sampler.draw(root.fork(k * 3 + b).fork('sample'));
      const sample = await sampler.read(plan);
      const t = makeTarget(target, sample.labels, sample.mask, sample.labelShape, targetOptions);
      const wantYs = concatTargetMask(t);
      const gotXs = xsData.subarray(b * sample.raw.length, (b + 1) * sample.raw.length);
      const gotYs = ysData.subarray(b * wantYs.length, (b + 1) * wantYs.length);
      const what = `${crop.raw.container} ${crop.name} ${typeof target === 'function' ? 'user' : target} ${JSON.stringify(targetOptions)} augment ${withAugment} batch ${k} sample ${b}`;
      assert.deepEqual(gotXs, sample.raw, `xs: ${what}`);
      assert.deepEqual(gotYs, wantYs, `ys: ${what}`);
      compared++;
    }
  }
  return compared;
}

test('fused assembly = read → applyAugment → makeTarget → concatTargetMask, every target, every fixture crop', async () => {
  const crops = await allCrops();
  let compared = 0;
  for (const crop of crops) {
    const targets: Target[] = [
      ['boundary', {}],
      [echoMask, {}],
      ['affinities', {}],
      [
        'affinities',
        {
          offsets: [
            [0, -2, 1],
            [1, 0, 0],
          ],
        },
      ],
    ];
    const max = await maxLabel(crop);
    if (max < 32) targets.push(['semantic', { numClasses: max + 1 }]);
    for (const [target, targetOptions] of targets) {
      for (const withAugment of [false, true])
        compared += await compareWithSteps(crop, target, targetOptions, withAugment);
    }
  }
  assert.ok(compared > 100, `${compared} samples compared`);
});

test('fused assembly = steps with a mask inside the labels, a mask beyond them, and none (patches off every edge; a raw chunk missing)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tfjs-zarr-masks-'));
  try {
    const root = zarr.root(new FileSystemStore(dir));
    await zarr.create(root);
    const write = async (
      name: string,
      dtype: string,
      offset: readonly number[],
      shape: readonly number[],
      data: ArrayLike<unknown>,
    ) => {
      const attributes = { voxel_size: [2, 2, 2], offset, axis_names: ['z', 'y', 'x'], units: ['nm', 'nm', 'nm'] };
      // uint64 chunks that the labels fill whole (a partial chunk would be filled with a number, not a bigint).
      const chunkShape = dtype === 'uint64' ? [4, 4, 4] : [3, 4, 5];
      const fillValue = dtype === 'uint8' ? 7 : 0; // raw: a missing chunk reads as 7
      const arr = await zarr.create(root.resolve(name), { shape, chunkShape, dtype, attributes, fillValue } as never);
      const stride = [shape[1]! * shape[2]!, shape[2]!, 1];
      await zarr.set(arr as never, null, { data, shape, stride } as never);
    };
    const rng = makeRng('masks');
    const n = (s: readonly number[]) => s[0]! * s[1]! * s[2]!;
    for (const [crop, mask] of [
      ['inner', { offset: [8, 6, 8], shape: [4, 6, 5] }],
      ['outer', { offset: [0, 0, 0], shape: [12, 12, 12] }],
      ['none', null],
    ] as const) {
      const g = `${mask ? 'train' : 'test'}/${crop}`;
      await zarr.create(root.resolve(g.split('/')[0]!));
      await zarr.create(root.resolve(g));
      await write(
        `${g}/raw`,
        'uint8',
        [0, 0, 0],
        [12, 12, 12],
        Uint8Array.from({ length: 1728 }, () => rng.int(256)),
      );
      await rm(path.join(dir, g, 'raw', 'c', '1', '1', '1')); // a raw chunk inside the labels, not stored
      const ids = BigUint64Array.from({ length: 512 }, (_, i) => (i % 7 < 5 ? 2n ** 40n + BigInt((i >> 5) % 3) : 0n));
      await write(`${g}/labels`, 'uint64', [4, 4, 4], [8, 8, 8], ids);
      if (mask) {
        const known = Uint8Array.from({ length: n(mask.shape) }, () => [0, 1, 200][rng.int(3)]!);
        await write(`${g}/mask`, 'uint8', mask.offset, mask.shape, known);
      }
    }
    const split = await openDataSplit(dir);
    const crops = [...split.train, ...split.test] as ZarrCrop[];
    assert.deepEqual(
      crops.map((c) => [c.name, c.mask !== null]),
      [
        ['inner', true],
        ['outer', true],
        ['none', false],
      ],
    );
    let compared = 0;
    for (const crop of crops) {
      for (const target of ['boundary', echoMask, 'affinities'] as const)
        for (const withAugment of [false, true])
          compared += await compareWithSteps(crop, target, {}, withAugment, {
            inputShape: [16, 16, 16],
            outputShape: [12, 12, 12],
          });
    }
    assert.equal(compared, 3 * 3 * 2 * 9);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('fused assembly = steps for uint16 raw through the lookup table (patches of 2 · 65536 voxels)', async () => {
  const split = await openDataSplit(fixturePath('traintest.zarr'));
  const crop = split.train[0] as ZarrCrop;
  assert.equal(crop.raw.dtype, 'uint16');
  const shapes = { inputShape: [32, 64, 64], outputShape: [4, 4, 4] };
  for (const withAugment of [false, true])
    assert.equal(await compareWithSteps(crop, 'boundary', {}, withAugment, shapes), 9);
});

test('boundary target over uint64 ids on both sides of 2^63 − 2^52 (float64 fast path and word pairs) = brute force', () => {
  const shape = [5, 6, 7];
  const n = 5 * 6 * 7;
  const rng = makeRng('big-ids');
  for (const high of [0x7fefffffn, 0x7ff00000n, 0xffffffffn, 0x80000000n, 0n]) {
    const labels = new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      const cell = ((i >> 1) % 3) + (rng.next() < 0.15 ? 1 : 0);
      // The same low words under different high words must differ; 0 stays background.
      labels[i] = cell === 0 ? 0n : (BigInt(cell % 2 ? high : 1n) << 32n) | BigInt(cell);
    }
    const got = boundaryTarget(labels, new Uint8Array(n).fill(1), shape).target;
    const at = (z: number, y: number, x: number) => labels[(z * 6 + y) * 7 + x]!;
    for (let z = 0; z < 5; z++)
      for (let y = 0; y < 6; y++)
        for (let x = 0; x < 7; x++) {
          let interior = at(z, y, x) !== 0n;
          for (const [dz, dy, dx] of [
            [1, 0, 0],
            [-1, 0, 0],
            [0, 1, 0],
            [0, -1, 0],
            [0, 0, 1],
            [0, 0, -1],
          ] as const) {
            const [a, b, c] = [z + dz, y + dy, x + dx];
            if (a >= 0 && b >= 0 && c >= 0 && a < 5 && b < 6 && c < 7 && at(a, b, c) !== at(z, y, x)) interior = false;
          }
          assert.equal(got[(z * 6 + y) * 7 + x], interior ? 1 : 0, `high ${high.toString(16)} at ${[z, y, x]}`);
        }
  }
});
