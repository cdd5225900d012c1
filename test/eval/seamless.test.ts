/**
 * Seamless tiled prediction: a 'same'-padded U-Net (pooling, upsampling, skips) predicting a crop
 * tile by tile, with any tile size and with the defaults, gives what the same U-Net predicts for
 * the whole region in one piece, away from the region's own borders. The reference is
 * independent of the tiling code: a second unet3d with the same seed (so the same weights) built
 * for the region's size, run once on raw over the labels region.
 *
 * Why "away from the borders": the one piece sees its own zero padding at the region's border,
 * the tiles there see raw context (here raw extends beyond the labels) — both correct, not equal.
 * Voxels farther from the border than the U-Net's receptive radius (REACH, computed by hand
 * below) see neither. Today's tiling (each tile's whole output kept, tiles not on the pooling
 * grid) fails this test: tile borders show as seams.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { predictCrop, roi, unet3d, type UNetOptions } from '../../src/index.js';
import { modelReach, planTiling } from '../../src/eval/tiling.js';
import { WorldCrop, WorldVolume, type P3 } from '../helpers/world-crop.js';

// wasm: PatchConv3D's own path (the one training and validation run), and fast.
before(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

/** A smooth, non-periodic raw pattern of world position. */
const pattern = (p: P3) =>
  0.5 + 0.25 * Math.sin(p[0] * 0.031 + p[1] * 0.043) + 0.25 * Math.cos(p[2] * 0.037 - p[1] * 0.011);

/** Labels region `shape` voxels at `voxel`, raw around it with `context` voxels more on each side. */
function crop(voxel: number[], shape: number[], context: number[]): WorldCrop {
  const offset = voxel.map((v, i) => 5 * v * (i + 1));
  const labelsRoi = roi(
    offset,
    shape.map((s, i) => s * voxel[i]!),
  );
  const rawRoi = roi(
    offset.map((o, i) => o - context[i]! * voxel[i]!),
    shape.map((s, i) => (s + 2 * context[i]!) * voxel[i]!),
  );
  return new WorldCrop(
    'tiles',
    new WorldVolume('raw', 'float32', voxel, rawRoi, pattern),
    new WorldVolume('labels', 'uint32', voxel, labelsRoi, () => 1),
    null,
  );
}

async function onePiece(options: Omit<UNetOptions, 'inputShape'>, c: WorldCrop): Promise<Float32Array> {
  const shape = c.labels.shape as [number, number, number];
  const model = unet3d({ ...options, inputShape: [...shape, 1] });
  const raw = await c.readRaw(c.labels.roi);
  const out = tf.tidy(() => model.predict(tf.tensor5d(raw, [1, ...shape, 1])) as tf.Tensor);
  const data = (await out.data()) as Float32Array;
  out.dispose();
  model.dispose();
  return data;
}

/** max |a − b| over voxels at least `band` voxels (per axis) from the region's border; and the voxels compared. */
function interiorDiff(a: Float32Array, b: Float32Array, shape: number[], channels: number, band: number[]) {
  const [Z, Y, X] = shape as [number, number, number];
  let worst = 0;
  let compared = 0;
  for (let z = band[0]!; z < Z - band[0]!; z++)
    for (let y = band[1]!; y < Y - band[1]!; y++)
      for (let x = band[2]!; x < X - band[2]!; x++)
        for (let c = 0; c < channels; c++) {
          const i = ((z * Y + y) * X + x) * channels + c;
          worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
          compared++;
        }
  return { worst, compared };
}

const CASES: {
  name: string;
  options: Omit<UNetOptions, 'inputShape'>;
  voxel: number[];
  shape: number[];
  reach: number[];
  tiles: number[][];
  /** A tile budget that cuts the region into a few tiles per axis. */
  smallBudget: number;
}[] = [
  {
    // Isotropic, depth 2, 3³ kernels, one conv per block. Receptive radius in input voxels (a
    // conv at stride s adds s, an upsampling from stride 2s to s adds s): down0 1, down1 2,
    // bottom 4, up1 2 + 2, up0 1 + 1 = 13.
    name: 'isotropic U-Net (pool 2, 3³ kernels)',
    options: { outputChannels: 2, baseFilters: 2, depth: 2, convsPerBlock: 1, seed: 11 },
    voxel: [8, 8, 8],
    shape: [40, 44, 48],
    reach: [13, 13, 13],
    smallBudget: 52 ** 3,
    tiles: [
      [40, 40, 40],
      [48, 36, 44],
      [56, 48, 40],
    ],
  },
  {
    // Serial sections: pooling [1,2,2] then [1,3,3], in-plane kernels except the bottom's.
    // z: only the bottom's 3×3×3 conv reaches across sections (stride 1): 1. y, x: down0 1,
    // down1 2, bottom 6, up1 4 + 2, up0 1 + 1 = 17 (an upsampling by u to stride s adds (u − 1)·s).
    name: 'anisotropic U-Net (pool [1,2,2], [1,3,3]; kernels [1,3,3], [1,3,3], 3)',
    options: {
      outputChannels: 1,
      baseFilters: 2,
      downsampleFactors: [
        [1, 2, 2],
        [1, 3, 3],
      ],
      kernelSizes: [[1, 3, 3], [1, 3, 3], 3],
      convsPerBlock: 1,
      seed: 12,
    },
    voxel: [40, 4, 4],
    shape: [9, 66, 72],
    reach: [1, 17, 17],
    smallBudget: 5 * 60 * 60,
    tiles: [
      [4, 42, 42],
      [3, 48, 60],
      [9, 42, 54],
    ],
  },
];

for (const tc of CASES) {
  test(`seamless tiles, ${tc.name}: any tile size predicts as one piece away from the borders`, async () => {
    const c = crop(tc.voxel, tc.shape, [6, 20, 20]);
    const channels = tc.options.outputChannels;
    const whole = await onePiece(tc.options, c);
    // The model built for training: a small input, far smaller than the crop.
    const model = unet3d({ ...tc.options, inputShape: [...tc.tiles[0]!, 1] as [number, number, number, number] });
    assert.deepEqual(modelReach(model).reach, tc.reach, 'reach read from the layers');
    const runs: [string, Parameters<typeof predictCrop>[2]][] = [
      ['defaults', {}],
      ['defaults, small tiles', { maxTileVoxels: tc.smallBudget }],
      ...tc.tiles.map((t): [string, Parameters<typeof predictCrop>[2]] => [`input ${t.join('×')}`, { inputShape: t }]),
    ];
    for (const [what, options] of runs) {
      const tiled = await predictCrop(model, c, options);
      assert.deepEqual(tiled.shape, [...tc.shape, channels]);
      const { worst, compared } = interiorDiff(tiled.data, whole, tc.shape, channels, tc.reach);
      assert.ok(compared > 1000, `${what}: ${compared} voxels compared`);
      assert.ok(worst < 1e-5, `${what}: max |tiled − one piece| = ${worst} away from the borders`);
    }
    const many = planTiling(model, {
      regionShape: tc.shape,
      voxelSize: tc.voxel,
      rawVoxelSize: tc.voxel,
      maxTileVoxels: tc.smallBudget,
    });
    assert.ok(
      many.keep.some((k, a) => k < tc.shape[a]!),
      'the small budget does cut the region into several tiles',
    );
    model.dispose();
  });
}

test('keeping whole tile outputs (the first release tiling) shows seams: the check above can fail', async () => {
  const tc = CASES[0]!;
  const c = crop(tc.voxel, tc.shape, [6, 20, 20]);
  const whole = await onePiece(tc.options, c);
  const model = unet3d({ ...tc.options, inputShape: [16, 16, 16, 1] });
  const tiled = await predictCrop(model, c, { inputShape: [16, 16, 16], outputShape: [16, 16, 16] });
  const { worst } = interiorDiff(tiled.data, whole, tc.shape, 2, tc.reach);
  assert.ok(worst > 1e-3, `seams expected, max difference ${worst}`);
  model.dispose();
});
