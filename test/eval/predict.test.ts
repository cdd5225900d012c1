/**
 * predictCrop: tiled prediction over a crop's labels region must equal one prediction over the
 * whole region (with the same context), for 'same' and 'valid' models, whatever the tiling
 * (regions that are not a multiple of the tile, regions smaller than a tile, batches).
 *
 * How the references are built. Let R be the model's receptive radius (voxels each side).
 * - 'valid' model: output voxel j depends on input [j - R, j + R] only, so the whole-volume
 *   reference is the model applied once to raw over the labels region grown by R (zero-filled
 *   outside raw, exactly what predictCrop reads); its output is the labels region.
 * - 'same' model: a tile's output is only "right" where the model's own zero padding at the
 *   tile border is out of reach, so predictCrop keeps a centred `outputShape` = input − 2c with
 *   c ≥ R. The reference is the same weights applied once to raw over the labels region grown by
 *   c (zero-filled outside raw), cropped by c on every side: each kept voxel then sees the same
 *   input values in both, and never the reference's own border padding (c ≥ R).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { openDataSplit, predictCrop, OptionsError, roi, roiGrow, type Crop, type Roi } from '../../src/index.js';
import { tileStarts } from '../../src/eval/tiling.js';
import { writeDemoContainer } from '../../examples/synthetic/write-container.js';
import { fixturePath } from '../helpers/fixtures.js';

let root: string;
let crop03: Crop; // test, 16×24×24 labels at 8 nm, raw context [1,2,3] before / [2,3,1] after (partly missing)
let crop04: Crop; // test, 10×24×24 labels at 16×8×8 nm, raw == labels region (all context is zero padding)
let simple: Crop; // fixture, 6×8×7 labels at 4 nm: smaller than the big tiles below

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  root = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-predict-'));
  const dir = path.join(root, 'demo.zarr');
  await writeDemoContainer(dir, { small: true });
  const split = await openDataSplit(dir);
  crop03 = split.test.find((c) => c.name === 'crop_03')!;
  crop04 = split.test.find((c) => c.name === 'crop_04')!;
  simple = (await openDataSplit(fixturePath('simple.zarr'))).test[0]!;
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * Two 3×3×3 convolutions (receptive radius 2) and a 1×1×1 head; `spatial` null for any size.
 * Seeded, so two calls with the same seed have the same weights whatever the input shape.
 */
function convNet(
  spatial: number[] | null,
  padding: 'same' | 'valid',
  outChannels: number,
  seed: number,
): tf.LayersModel {
  const inputShape = [...(spatial ?? [null, null, null]), 1] as number[];
  const k = (s: number) => tf.initializers.glorotUniform({ seed: seed + s });
  const b = (s: number) => tf.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: seed + s });
  const model = tf.sequential();
  model.add(
    tf.layers.conv3d({
      inputShape,
      filters: 3,
      kernelSize: 3,
      padding,
      activation: 'tanh',
      kernelInitializer: k(1),
      biasInitializer: b(2),
    }),
  );
  model.add(
    tf.layers.conv3d({
      filters: 2,
      kernelSize: 3,
      padding,
      activation: 'tanh',
      kernelInitializer: k(3),
      biasInitializer: b(4),
    }),
  );
  model.add(
    tf.layers.conv3d({
      filters: outChannels,
      kernelSize: 1,
      activation: 'sigmoid',
      kernelInitializer: k(5),
      biasInitializer: b(6),
    }),
  );
  return model;
}

/** The same network with free spatial dims and `model`'s weights. */
function flexibleTwin(model: tf.LayersModel, padding: 'same' | 'valid', outChannels: number): tf.LayersModel {
  const twin = convNet(null, padding, outChannels, 999);
  twin.setWeights(model.getWeights());
  return twin;
}

function voxels(r: Roi, vs: readonly number[]): number[] {
  return r.shape.map((s, i) => s / vs[i]!);
}

/**
 * Runs `flex` once on raw over `region` grown by `grow` voxels (zero-filled outside raw) and
 * returns its output with `crop` voxels cut from every side: [z, y, x, c] data and shape.
 */
async function wholeVolume(
  flex: tf.LayersModel,
  c: Crop,
  region: Roi,
  grow: number[],
  cut: number[],
): Promise<{ data: Float32Array; shape: number[] }> {
  const vs = c.voxelSize;
  const grown = roiGrow(
    region,
    grow.map((g, i) => g * vs[i]!),
  );
  const raw = await c.readRaw(grown);
  const inShape = voxels(grown, vs);
  const out = tf.tidy(() => {
    const y = flex.predict(tf.tensor5d(raw, [1, inShape[0]!, inShape[1]!, inShape[2]!, 1])) as tf.Tensor5D;
    const [, z, yy, x, ch] = y.shape;
    return y.slice([0, cut[0]!, cut[1]!, cut[2]!, 0], [1, z - 2 * cut[0]!, yy - 2 * cut[1]!, x - 2 * cut[2]!, ch]);
  });
  const data = (await out.data()) as Float32Array;
  const shape = out.shape.slice(1);
  out.dispose();
  return { data, shape };
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string, tol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(
    worst <= tol,
    `${what}: max |tiled − whole| = ${worst} at ${at} (tiled ${actual[at]}, whole ${expected[at]})`,
  );
}

/** Not a constant: a wrongly placed tile would show. */
function assertVaries(data: Float32Array, what: string): void {
  let min = Infinity;
  let max = -Infinity;
  for (const v of data) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.ok(
    max - min > 1e-3,
    `${what}: prediction is (nearly) constant [${min}, ${max}]; the test would prove nothing`,
  );
}

test('tileStarts: a regular grid, the last tile moved inward, one tile when the length fits', () => {
  assert.deepEqual(tileStarts(16, 6), [0, 6, 10]);
  assert.deepEqual(tileStarts(24, 6), [0, 6, 12, 18]);
  assert.deepEqual(tileStarts(6, 6), [0]);
  assert.deepEqual(tileStarts(4, 6), [0]);
  assert.deepEqual(tileStarts(7, 6), [0, 1]);
  assert.deepEqual(tileStarts(1, 1), [0]);
  for (let n = 1; n <= 30; n++) {
    for (let t = 1; t <= 9; t++) {
      const s = tileStarts(n, t);
      // covers [0, n), never starts outside, never leaves a gap
      assert.equal(s[0], 0);
      for (let i = 1; i < s.length; i++)
        assert.ok(s[i]! > s[i - 1]! && s[i]! <= s[i - 1]! + t, `gap in ${s} (n ${n}, t ${t})`);
      if (n >= t) assert.equal(s.at(-1)! + t, n, `last tile ends at n (n ${n}, t ${t})`);
      else assert.deepEqual(s, [0]);
    }
  }
});

test("'valid' model: tiled prediction equals one whole-volume prediction (output shape from the model)", async () => {
  // Input 12³ → output 8³ (radius 2), 3 output channels.
  const model = convNet([12, 12, 12], 'valid', 3, 10);
  const flex = flexibleTwin(model, 'valid', 3);
  // crop_03: 16×24×24 = 2×3×3 tiles (multiples of 8); crop_04: z 10 → starts [0, 2] (shifted inward).
  for (const c of [crop03, crop04]) {
    const progress: [number, number][] = [];
    // Tiles of the model's own input (12³ → 8³ kept); then the default, grown tiles.
    const p = await predictCrop(model, c, {
      inputShape: [12, 12, 12],
      batchSize: 4,
      onProgress: (d, t) => progress.push([d, t]),
    });
    const labelShape = voxels(c.labels.roi, c.voxelSize);
    assert.deepEqual(p.shape, [...labelShape, 3]);
    assert.deepEqual(p.roi, c.labels.roi);
    const ref = await wholeVolume(flex, c, c.labels.roi, [2, 2, 2], [0, 0, 0]);
    assert.deepEqual(ref.shape, p.shape);
    assertVaries(p.data, c.name);
    assertClose(p.data, ref.data, `valid ${c.name}`);
    const tiles = labelShape.reduce((a, n) => a * tileStarts(n, 8).length, 1);
    assert.deepEqual(progress.at(-1), [tiles, tiles]);
    assert.equal(progress.length, Math.ceil(tiles / 4));
    const grown = await predictCrop(model, c, { maxTileVoxels: 16 ** 3 });
    assertClose(grown.data, ref.data, `valid ${c.name}, grown tiles`);
  }
  // Whole crop smaller than a tile on every axis: the fixture's 6×8×7 labels with 12³ outputs.
  const big = convNet([16, 16, 16], 'valid', 3, 10);
  const bigFlex = flexibleTwin(big, 'valid', 3);
  const p = await predictCrop(big, simple, {});
  assert.deepEqual(p.shape, [6, 8, 7, 3]);
  const ref = await wholeVolume(bigFlex, simple, simple.labels.roi, [2, 2, 2], [0, 0, 0]);
  assertVaries(p.data, 'simple');
  assertClose(p.data, ref.data, 'valid simple.zarr (smaller than a tile)');
});

test("'same' model: tiles keeping input − 2·radius equal one whole-volume prediction", async () => {
  // Radius 2: input 10³, keep 6³ (context 2 each side, from the model's 10³ output).
  const model = convNet([10, 10, 10], 'same', 1, 20);
  const flex = flexibleTwin(model, 'same', 1);
  // crop_03 z 16 → [0, 6, 10], y/x 24 → [0, 6, 12, 18]; crop_04 z 10 → [0, 4].
  for (const c of [crop03, crop04, simple]) {
    const p = await predictCrop(model, c, { outputShape: [6, 6, 6], batchSize: 3 });
    assert.deepEqual(p.shape, [...voxels(c.labels.roi, c.voxelSize), 1]);
    const ref = await wholeVolume(flex, c, c.labels.roi, [2, 2, 2], [2, 2, 2]);
    assert.deepEqual(ref.shape, p.shape);
    assertVaries(p.data, c.name);
    assertClose(p.data, ref.data, `same ${c.name}`);
  }
  // More context than the radius changes nothing: input 12³, keep 6³ (context 3).
  const wide = convNet([12, 12, 12], 'same', 1, 20);
  const p = await predictCrop(wide, crop03, { outputShape: [6, 6, 6] });
  const ref = await wholeVolume(flex, crop03, crop03.labels.roi, [2, 2, 2], [2, 2, 2]);
  assertClose(p.data, ref.data, 'same crop_03, context 3');
  // A region smaller than one kept tile (4×5×3 voxels inside crop_03's labels, off its corner).
  const vs = crop03.voxelSize;
  const region = roi(
    crop03.labels.roi.offset.map((o, i) => o + [5, 7, 20][i]! * vs[i]!),
    [4, 5, 3].map((n, i) => n * vs[i]!),
  );
  const small = await predictCrop(model, crop03, { outputShape: [6, 6, 6], region });
  assert.deepEqual(small.shape, [4, 5, 3, 1]);
  assert.deepEqual(small.roi, region);
  const smallRef = await wholeVolume(flex, crop03, region, [2, 2, 2], [2, 2, 2]);
  assertClose(small.data, smallRef.data, 'same, region smaller than a tile');
});

test("'same' model with a free input shape: inputShape from the options", async () => {
  const flex = convNet(null, 'same', 2, 30);
  const p = await predictCrop(flex, crop04, { inputShape: [8, 10, 12], outputShape: [4, 6, 8], batchSize: 5 });
  assert.deepEqual(p.shape, [10, 24, 24, 2]);
  const ref = await wholeVolume(flex, crop04, crop04.labels.roi, [2, 2, 2], [2, 2, 2]);
  assertClose(p.data, ref.data, 'same crop_04, free input');
  await assert.rejects(predictCrop(flex, crop04, {}), OptionsError, 'no input shape: an OptionsError');
});

test('batching does not change the result; every batch size gives the same bytes', async () => {
  const model = convNet([12, 12, 12], 'valid', 1, 40);
  const one = await predictCrop(model, crop03, { batchSize: 1 });
  for (const batchSize of [2, 5, 100]) {
    const p = await predictCrop(model, crop03, { batchSize });
    assert.deepEqual(p.data, one.data, `batchSize ${batchSize}`);
  }
});

test('prediction leaks no tensors', async () => {
  const model = convNet([12, 12, 12], 'valid', 1, 50);
  await predictCrop(model, crop04, {}); // first call may create lazily-kept backend state
  const before = tf.memory().numTensors;
  await predictCrop(model, crop04, { batchSize: 3 });
  await predictCrop(model, crop03, { outputShape: [6, 6, 6] });
  assert.equal(tf.memory().numTensors, before);
});

test('bad tiling options are OptionsErrors', async () => {
  const model = convNet([12, 12, 12], 'valid', 1, 60);
  // kept output larger than the model output
  await assert.rejects(predictCrop(model, crop03, { outputShape: [10, 8, 8] }), OptionsError);
  // kept output not centred (odd difference)
  await assert.rejects(predictCrop(model, crop03, { outputShape: [7, 8, 8] }), OptionsError);
  // a region that is not voxel aligned
  const r = crop03.labels.roi;
  await assert.rejects(
    predictCrop(model, crop03, { region: roi(r.offset, [r.shape[0]! - 3, r.shape[1]!, r.shape[2]!]) }),
    OptionsError,
  );
  // an empty region
  await assert.rejects(predictCrop(model, crop03, { region: roi(r.offset, [0, 8, 8]) }), OptionsError);
});

test('a failure mid-prediction rejects once, with no unhandled rejection from the read ahead', async () => {
  const model = convNet([12, 12, 12], 'valid', 1, 70);
  let reads = 0;
  // Every read after the first batch's fails; the first batch's onProgress throws, while the
  // second batch's read (started ahead) is failing.
  const failing: Crop = Object.create(crop03, {
    readRaw: {
      value: async (r: Roi) => {
        if (reads++ >= 2) throw new Error('read failed');
        return crop03.readRaw(r);
      },
    },
  });
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    await assert.rejects(
      predictCrop(model, failing, {
        batchSize: 2,
        onProgress: () => {
          throw new Error('progress callback failed');
        },
      }),
      /progress callback failed/,
    );
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.deepEqual(unhandled, []);
});
