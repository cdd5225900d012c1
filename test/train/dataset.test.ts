/**
 * The training datasets: cropDataset (one crop, { raw, labels, mask }) and trainingDataset
 * (interleaved crops, batched { xs, ys } for fitDataset), over the zarr fixtures and over small
 * in-memory crops whose raw encodes where a voxel came from (so that locations, crop choices and
 * raw/labels alignment can be read back out of the tensors).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  OptionsError,
  cropDataset,
  openDataSplit,
  trainingDataset,
  type Crop,
  type CropSample,
  type DType,
  type DataSplit,
  type Roi,
  type StoredArray,
  type TargetFn,
  type TrainingElement,
  type Volume,
} from '../../src/index.js';
import { labelsToInt32 } from '../../src/train/dataset.js';
import { makeRng } from '../../src/train/random.js';
import { CropSampler } from '../../src/train/sampler.js';
import { fixturePath } from '../helpers/fixtures.js';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

let cropsSplit: Promise<DataSplit> | null = null;
const crops = () => (cropsSplit ??= openDataSplit(fixturePath('crops.zarr')));

// ---------------------------------------------------------------------------------------------
// In-memory crops. Coordinates g are global voxel indices (world / voxelSize).

type V3 = [number, number, number];

class MemVolume implements Volume {
  readonly container = 'memory';
  readonly units = ['nanometer', 'nanometer', 'nanometer'];
  readonly axisNames: string[];
  readonly shape: number[];
  readonly roi: Roi;
  readonly offset: number[];
  constructor(
    readonly path: string,
    readonly dtype: DType,
    readonly voxelSize: number[],
    offsetVox: V3,
    private readonly spatial: V3,
    readonly channels: number,
    private readonly data: StoredArray,
  ) {
    this.offset = offsetVox.map((o, i) => o * voxelSize[i]!);
    this.roi = { offset: this.offset, shape: spatial.map((s, i) => s * voxelSize[i]!) };
    this.shape = channels > 1 ? [channels, ...spatial] : [...spatial];
    this.axisNames = channels > 1 ? ['c^', 'z', 'y', 'x'] : ['z', 'y', 'x'];
  }

  async read(r: Roi): Promise<StoredArray> {
    const vs = this.voxelSize;
    const shape = r.shape.map((s, i) => s / vs[i]!) as V3;
    const begin = r.offset.map((o, i) => (o - this.offset[i]!) / vs[i]!);
    const C = this.channels;
    const out = new (this.data.constructor as new (n: number) => StoredArray)(shape[0] * shape[1] * shape[2] * C);
    const [SZ, SY, SX] = this.spatial;
    for (let z = 0; z < shape[0]; z++) {
      const sz = begin[0]! + z;
      if (sz < 0 || sz >= SZ) continue;
      for (let y = 0; y < shape[1]; y++) {
        const sy = begin[1]! + y;
        if (sy < 0 || sy >= SY) continue;
        for (let x = 0; x < shape[2]; x++) {
          const sx = begin[2]! + x;
          if (sx < 0 || sx >= SX) continue;
          for (let c = 0; c < C; c++) {
            out[((z * shape[1] + y) * shape[2] + x) * C + c] = this.data[((sz * SY + sy) * SX + sx) * C + c]!;
          }
        }
      }
    }
    return out;
  }
}

interface MemCropSpec {
  name: string;
  voxelSize?: V3;
  rawOffset: V3;
  rawShape: V3;
  channels?: number;
  raw: (g: V3, c: number) => number;
  labelsOffset: V3;
  labelsShape: V3;
  labels: (g: V3) => number | bigint;
  uint64?: boolean;
  mask?: (g: V3) => number;
}

function fill<T extends StoredArray>(
  arr: T,
  offset: V3,
  shape: V3,
  C: number,
  f: (g: V3, c: number) => number | bigint,
): T {
  let i = 0;
  for (let z = 0; z < shape[0]; z++)
    for (let y = 0; y < shape[1]; y++)
      for (let x = 0; x < shape[2]; x++)
        for (let c = 0; c < C; c++)
          (arr as unknown as (number | bigint)[])[i++] = f([offset[0] + z, offset[1] + y, offset[2] + x], c);
  return arr;
}

class MemCrop implements Crop {
  readonly name: string;
  readonly raw: MemVolume;
  readonly labels: MemVolume;
  readonly mask: MemVolume | null;
  readonly voxelSize: number[];
  constructor(spec: MemCropSpec) {
    const vs = spec.voxelSize ?? [4, 4, 4];
    const C = spec.channels ?? 1;
    const n = (s: V3) => s[0] * s[1] * s[2];
    this.name = spec.name;
    this.voxelSize = vs;
    this.raw = new MemVolume(
      `${spec.name}/raw`,
      'float32',
      vs,
      spec.rawOffset,
      spec.rawShape,
      C,
      fill(new Float32Array(n(spec.rawShape) * C), spec.rawOffset, spec.rawShape, C, spec.raw),
    );
    const labels = spec.uint64
      ? fill(new BigUint64Array(n(spec.labelsShape)), spec.labelsOffset, spec.labelsShape, 1, (g) =>
          BigInt(spec.labels(g)),
        )
      : fill(new Uint32Array(n(spec.labelsShape)), spec.labelsOffset, spec.labelsShape, 1, (g) =>
          Number(spec.labels(g)),
        );
    this.labels = new MemVolume(
      `${spec.name}/labels`,
      spec.uint64 ? 'uint64' : 'uint32',
      vs,
      spec.labelsOffset,
      spec.labelsShape,
      1,
      labels,
    );
    this.mask = spec.mask
      ? new MemVolume(
          `${spec.name}/mask`,
          'uint8',
          vs,
          spec.labelsOffset,
          spec.labelsShape,
          1,
          fill(new Uint8Array(n(spec.labelsShape)), spec.labelsOffset, spec.labelsShape, 1, (g) => spec.mask!(g)),
        )
      : null;
  }

  readRaw(r: Roi): Promise<Float32Array> {
    return this.raw.read(r) as Promise<Float32Array>;
  }

  async readMask(r: Roi): Promise<Uint8Array> {
    const vs = this.voxelSize;
    const shape = r.shape.map((s, i) => s / vs[i]!) as V3;
    const begin = r.offset.map((o, i) => o / vs[i]!);
    const lo = this.labels.offset.map((o, i) => o / vs[i]!);
    const hi = this.labels.roi.shape.map((s, i) => lo[i]! + s / vs[i]!);
    const stored = this.mask ? await this.mask.read(r) : null;
    const out = new Uint8Array(shape[0] * shape[1] * shape[2]);
    let i = 0;
    for (let z = 0; z < shape[0]; z++)
      for (let y = 0; y < shape[1]; y++)
        for (let x = 0; x < shape[2]; x++, i++) {
          const g = [begin[0]! + z, begin[1]! + y, begin[2]! + x];
          const inside = g.every((v, a) => v >= lo[a]! && v < hi[a]!);
          out[i] = inside && (stored === null || stored[i] !== 0) ? 1 : 0;
        }
    return out;
  }

  async read(r: Roi, labelsRoi: Roi = r): Promise<CropSample> {
    const vs = this.voxelSize;
    return {
      raw: await this.readRaw(r),
      rawShape: [...r.shape.map((s, i) => s / vs[i]!), this.raw.channels],
      labels: (await this.labels.read(labelsRoi)) as Uint32Array | BigUint64Array,
      mask: await this.readMask(labelsRoi),
      labelShape: labelsRoi.shape.map((s, i) => s / vs[i]!),
    };
  }
}

/** A float32-exact code for a global voxel (coordinates in [-20, 44)). */
const encode = (g: readonly number[]) => 1 + (g[0]! + 20) * 4096 + (g[1]! + 20) * 64 + (g[2]! + 20);
const decode = (v: number): V3 => {
  const k = Math.round(v) - 1;
  return [Math.floor(k / 4096) - 20, (Math.floor(k / 64) % 64) - 20, (k % 64) - 20];
};
const hash = (g: readonly number[]) => ((g[0]! * 73856093) ^ (g[1]! * 19349663) ^ (g[2]! * 83492791)) >>> 0;

/** A crop whose raw holds `encode(g)` over the labels' region grown by `context` voxels. */
function coordCrop(
  name: string,
  labelsOffset: V3,
  labelsShape: V3,
  context: number,
  extra: Partial<MemCropSpec> = {},
): MemCrop {
  return new MemCrop({
    name,
    rawOffset: labelsOffset.map((o) => o - context) as V3,
    rawShape: labelsShape.map((s) => s + 2 * context) as V3,
    raw: (g) => encode(g),
    labelsOffset,
    labelsShape,
    labels: (g) => encode(g),
    ...extra,
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers over datasets.

interface Taken {
  raw: Float32Array;
  labels: Int32Array;
  mask: Float32Array;
}

async function take(
  ds: tf.data.Dataset<tf.TensorContainerObject>,
  n: number,
  check?: (v: Record<string, tf.Tensor>) => void,
): Promise<Taken[]> {
  const it = await ds.iterator();
  const out: Taken[] = [];
  for (let i = 0; i < n; i++) {
    const r = await it.next();
    assert.equal(r.done, false);
    const v = r.value as Record<string, tf.Tensor>;
    check?.(v);
    out.push({
      raw: v.raw!.dataSync() as Float32Array,
      labels: v.labels!.dataSync() as Int32Array,
      mask: v.mask!.dataSync() as Float32Array,
    });
    tf.dispose(v);
  }
  return out;
}

interface Batch {
  xs: Float32Array;
  ys: Float32Array;
  xsShape: number[];
  ysShape: number[];
}

async function batches(
  ds: tf.data.Dataset<TrainingElement>,
  n: number,
  delay?: (i: number) => number,
): Promise<Batch[]> {
  const it = await ds.iterator();
  const out: Batch[] = [];
  for (let i = 0; i < n; i++) {
    if (delay) await new Promise((r) => setTimeout(r, delay(i)));
    const r = await it.next();
    assert.equal(r.done, false);
    const { xs, ys } = r.value;
    assert.equal(xs.dtype, 'float32');
    assert.equal(ys.dtype, 'float32');
    out.push({
      xs: xs.dataSync() as Float32Array,
      ys: ys.dataSync() as Float32Array,
      xsShape: xs.shape,
      ysShape: ys.shape,
    });
    tf.dispose([xs, ys]);
  }
  return out;
}

const bytes = (bs: Batch[]) => Buffer.concat(bs.flatMap((b) => [Buffer.from(b.xs.buffer), Buffer.from(b.ys.buffer)]));

/** Channel `c` of every voxel of sample `b` in a [b, z, y, x, C] array. */
function channel(data: Float32Array, shape: number[], b: number, c: number): Float32Array {
  const C = shape[4]!;
  const n = shape[1]! * shape[2]! * shape[3]!;
  const out = new Float32Array(n);
  for (let v = 0; v < n; v++) out[v] = data[(b * n + v) * C + c]!;
  return out;
}

const mean = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
};

async function rejects(p: Promise<unknown> | (() => unknown), pattern: RegExp): Promise<void> {
  await assert.rejects(
    async () => (typeof p === 'function' ? p() : p),
    (e: Error) => {
      assert.ok(e instanceof OptionsError, `expected an OptionsError, got ${e.constructor.name}: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

function throwsOptions(f: () => unknown, pattern: RegExp): void {
  assert.throws(f, (e: Error) => {
    assert.ok(e instanceof OptionsError, `expected an OptionsError, got ${e.constructor.name}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------

test('labelsToInt32: ids that fit are copied, larger ones relabelled consecutively (0 kept)', () => {
  assert.deepEqual([...labelsToInt32(new Uint8Array([0, 3, 255]))], [0, 3, 255]);
  assert.deepEqual([...labelsToInt32(new Uint16Array([0, 65535, 7]))], [0, 65535, 7]);
  assert.deepEqual([...labelsToInt32(new Uint32Array([0, 0x7fffffff, 5]))], [0, 0x7fffffff, 5]);
  assert.deepEqual([...labelsToInt32(new BigUint64Array([0n, 0x7fffffffn, 9n]))], [0, 0x7fffffff, 9]);
  // One id beyond int32: the whole sample is relabelled 1, 2, ... in order of first appearance.
  assert.deepEqual([...labelsToInt32(new Uint32Array([5, 0, 0x80000000, 5, 0xffffffff, 0]))], [1, 0, 2, 1, 3, 0]);
  const big = new BigUint64Array([2n ** 64n - 2n, 0n, 2n ** 53n + 1n, 2n ** 53n, 2n ** 64n - 2n, 3n]);
  assert.deepEqual([...labelsToInt32(big)], [1, 0, 2, 3, 1, 4]);
  const out = labelsToInt32(big);
  assert.ok(out instanceof Int32Array);
});

test('cropDataset: shapes, dtypes, and each sample is the crop read with the output centred in the input', async () => {
  const split = await crops();
  const crop = split.train[0]!; // crop_01: float32 raw with context, uint8 labels 6×6×8, uint8 mask
  assert.equal(crop.name, 'crop_01');
  const input = [4, 6, 6],
    output = [2, 2, 4];
  const samples = await take(cropDataset(crop, { inputShape: input, outputShape: output, seed: 3 }), 6, (v) => {
    assert.deepEqual(v.raw!.shape, [4, 6, 6, 1]);
    assert.equal(v.raw!.dtype, 'float32');
    assert.deepEqual(v.labels!.shape, [2, 2, 4, 1]);
    assert.equal(v.labels!.dtype, 'int32');
    assert.deepEqual(v.mask!.shape, [2, 2, 4, 1]);
    assert.equal(v.mask!.dtype, 'float32');
  });
  // Every possible output centre inside the labels' region, read directly.
  const vs = crop.voxelSize;
  const labelShape = crop.labels.roi.shape.map((s, i) => s / vs[i]!);
  const reads: { centre: number[]; sample: CropSample }[] = [];
  for (let z = 0; z < labelShape[0]!; z++)
    for (let y = 0; y < labelShape[1]!; y++)
      for (let x = 0; x < labelShape[2]!; x++) {
        const centre = [z, y, x];
        const outBegin = centre.map((c, i) => c - Math.floor(output[i]! / 2));
        const inBegin = outBegin.map((b, i) => b - (input[i]! - output[i]!) / 2);
        const w = (b: number[], s: number[]): Roi => ({
          offset: b.map((v, i) => crop.labels.roi.offset[i]! + v * vs[i]!),
          shape: s.map((v, i) => v * vs[i]!),
        });
        reads.push({ centre, sample: await crop.read(w(inBegin, input), w(outBegin, output)) });
      }
  for (const s of samples) {
    const match = reads.find(
      ({ sample: r }) =>
        r.raw.every((v, i) => v === s.raw[i]) &&
        r.mask.every((v, i) => v === s.mask[i]) &&
        Array.from(r.labels as ArrayLike<number | bigint>).every((v, i) => Number(v) === s.labels[i]),
    );
    assert.ok(match, 'the sample is the crop read at some output centre inside the labels region');
    assert.ok(
      s.raw.every((v) => v >= 0 && v <= 1),
      'raw normalized',
    );
    assert.ok(s.mask.every((v) => v === 0 || v === 1));
  }
  // And not all at the same place.
  assert.ok(new Set(samples.map((s) => Array.from(s.raw).join())).size > 1);
});

test('cropDataset: the output centre voxel is uniform over the labels region', async () => {
  const crop = coordCrop('uniform', [10, -3, 5], [3, 4, 5], 2);
  const n = 1200;
  const samples = await take(cropDataset(crop, { inputShape: [1, 1, 1], seed: 'u' }), n);
  const counts = new Map<string, number>();
  for (const s of samples) {
    const g = decode(s.raw[0]!);
    assert.ok(
      g[0] >= 10 && g[0] < 13 && g[1] >= -3 && g[1] < 1 && g[2] >= 5 && g[2] < 10,
      `centre ${g} inside the labels`,
    );
    assert.equal(s.labels[0], encode(g), 'labels and raw of the same voxel');
    assert.equal(s.mask[0], 1);
    counts.set(g.join(), (counts.get(g.join()) ?? 0) + 1);
  }
  assert.equal(counts.size, 60, 'every labels voxel is a centre sometimes');
  const expected = n / 60;
  const chi2 = [...counts.values()].reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 110, `chi² = ${chi2.toFixed(1)} for 59 degrees of freedom`); // p ≈ 5e-5
  // Even output shapes: the centre voxel is at floor(shape / 2) of the output box.
  const even = await take(cropDataset(crop, { inputShape: [2, 4, 2], seed: 'u' }), 200);
  for (const s of even) {
    const i = (1 * 4 + 2) * 2 + 1;
    assert.equal(s.mask[i], 1, 'the output centre voxel is inside the labels region');
  }
});

test('cropDataset: a crop smaller than the patch is zero-padded, mask 0 outside the labels', async () => {
  const split = await crops();
  const crop = split.test.find((c) => c.name === 'crop_04')!; // labels 3×5×5 (uint64), raw 7×9×9
  const samples = await take(
    cropDataset(crop, { inputShape: [12, 12, 12], outputShape: [8, 8, 8], seed: 1 }),
    5,
    (v) => {
      assert.deepEqual(v.raw!.shape, [12, 12, 12, 1]);
      assert.deepEqual(v.labels!.shape, [8, 8, 8, 1]);
    },
  );
  for (const s of samples) {
    const known = s.mask.reduce((a, b) => a + b, 0);
    assert.ok(known > 0 && known <= 75, `known ${known}`);
    s.mask.forEach((m, i) => {
      if (m === 0) assert.equal(s.labels[i], 0, 'labels 0 outside their region');
    });
    const rawNonZero = s.raw.reduce((a, v) => a + (v !== 0 ? 1 : 0), 0);
    assert.ok(rawNonZero <= 7 * 9 * 9 && rawNonZero < 12 ** 3);
  }
  // In memory, exactly: known = inside the labels' region, raw = 0 outside raw's.
  const tiny = coordCrop('tiny', [0, 0, 0], [2, 3, 2], 1);
  for (const s of await take(cropDataset(tiny, { inputShape: [8, 8, 8], outputShape: [6, 6, 6], seed: 5 }), 5)) {
    let known = 0;
    for (let v = 0; v < 216; v++) {
      const z = Math.floor(v / 36),
        y = Math.floor(v / 6) % 6,
        x = v % 6;
      const r = s.raw[((z + 1) * 8 + (y + 1)) * 8 + (x + 1)]!;
      if (s.mask[v]) {
        known++;
        assert.equal(s.labels[v], r, 'labels and raw aligned');
      } else {
        assert.equal(s.labels[v], 0);
        if (r !== 0) {
          const g = decode(r);
          assert.ok(
            g.some((c, a) => c < 0 || c >= [2, 3, 2][a]!),
            'mask 0 only outside the labels',
          );
        }
      }
    }
    assert.equal(known, 12, 'the whole tiny crop is inside every patch');
    assert.ok(s.raw.filter((v) => v !== 0).length === 4 * 5 * 4, 'raw zero outside its region');
  }
});

test('cropDataset: every sample honours minMasked, exactly (box parts outside the labels are unknown)', async () => {
  const shape: V3 = [5, 6, 6];
  const known = (g: V3) => (hash(g) % 3 !== 0 ? 1 : 0);
  const crop = coordCrop('masked', [0, 0, 0], shape, 2, { mask: known });
  const out: V3 = [2, 2, 2];
  const minMasked = 0.625; // ≥ 5 of 8
  // Brute force: centres c with at least 5 known voxels in [c − 1, c + 1).
  const valid = new Set<string>();
  for (let z = 0; z < 5; z++)
    for (let y = 0; y < 6; y++)
      for (let x = 0; x < 6; x++) {
        let k = 0;
        for (let dz = -1; dz < 1; dz++)
          for (let dy = -1; dy < 1; dy++)
            for (let dx = -1; dx < 1; dx++) {
              const g: V3 = [z + dz, y + dy, x + dx];
              if (g.every((v, a) => v >= 0 && v < shape[a]!)) k += known(g);
            }
        if (k >= 5) valid.add([z, y, x].join());
      }
  assert.ok(valid.size > 5 && valid.size < 150, `${valid.size} valid centres`);
  const seen = new Set<string>();
  let exact = 0;
  for (const s of await take(cropDataset(crop, { inputShape: out, minMasked, seed: 9 }), 1000)) {
    const frac = mean(s.mask);
    assert.ok(frac >= minMasked, `known fraction ${frac} < ${minMasked}`);
    if (frac === minMasked) exact++;
    const centre = decode(s.raw[7]!); // output centre voxel (1, 1, 1); the raw region covers it
    assert.ok(valid.has(centre.join()), `centre ${centre} is not a valid one`);
    seen.add(centre.join());
  }
  assert.equal(seen.size, valid.size, 'every valid centre is drawn (uniform over the valid ones)');
  assert.ok(exact > 0, 'a fraction of exactly minMasked is accepted');
});

test('minMasked that no location satisfies: a clear error at setup, not an endless loop', async () => {
  const split = await crops();
  const crop03 = split.test.find((c) => c.name === 'crop_03')!; // labels 8×6×6, mask with a 0 slab
  // The output is taller (y) than the labels: never fully known.
  const it = await cropDataset(crop03, {
    inputShape: [4, 8, 4],
    outputShape: [2, 8, 2],
    minMasked: 1,
    seed: 1,
  }).iterator();
  await rejects(it.next(), /crop_03.*minMasked|minMasked.*crop_03/s);
  const ds = trainingDataset(split.test, { inputShape: [4, 8, 4], outputShape: [2, 8, 2], minMasked: 1 });
  await rejects(ds.setup(), /crop_03/);
  await rejects(async () => (await ds.iterator()).next(), /no output patch.*known/);
  // A crop with no known voxel at all.
  const unknown = coordCrop('all_unknown', [0, 0, 0], [4, 4, 4], 0, { mask: () => 0 });
  await rejects(
    trainingDataset([unknown], { inputShape: [2, 2, 2], minMasked: 0.01 }).setup(),
    /all_unknown.*0 known/s,
  );
  // minMasked = 0 accepts anything, even that crop.
  const ok = await batches(trainingDataset([unknown], { inputShape: [2, 2, 2], minMasked: 0 }), 1);
  assert.equal(ok.length, 1);
});

test('trainingDataset: xs/ys shapes and dtypes for boundary, affinities, semantic and a user target', async () => {
  const split = await crops();
  const base = { inputShape: [6, 6, 6], outputShape: [4, 2, 4], batchSize: 3, seed: 1 } as const;
  const [b] = await batches(trainingDataset(split.train, base), 1);
  assert.deepEqual(b!.xsShape, [3, 6, 6, 6, 1]);
  assert.deepEqual(b!.ysShape, [3, 4, 2, 4, 2]);
  assert.ok(b!.ys.every((v) => v === 0 || v === 1));
  assert.ok(b!.xs.every((v) => v >= 0 && v <= 1));

  const [a] = await batches(trainingDataset(split.train, { ...base, target: 'affinities' }), 1);
  assert.deepEqual(a!.ysShape, [3, 4, 2, 4, 6]);
  const [a2] = await batches(
    trainingDataset(split.train, {
      ...base,
      target: 'affinities',
      offsets: [
        [0, 0, -1],
        [0, 0, -2],
      ],
    }),
    1,
  );
  assert.deepEqual(a2!.ysShape, [3, 4, 2, 4, 4]);

  // Semantic: class ids 0..2, one-hot over 3 channels + 1 mask channel.
  const classes = coordCrop('classes', [0, 0, 0], [6, 6, 6], 1, { labels: (g) => hash(g) % 3 });
  const [s] = await batches(trainingDataset([classes], { ...base, target: 'semantic', numClasses: 3 }), 1);
  assert.deepEqual(s!.ysShape, [3, 4, 2, 4, 4]);
  for (let v = 0; v < s!.ys.length / 4; v++) {
    const oneHot = s!.ys[v * 4]! + s!.ys[v * 4 + 1]! + s!.ys[v * 4 + 2]!;
    assert.equal(oneHot, 1);
  }

  // Two raw channels, and a user target with 2 channels and 1 mask channel.
  const twoChannels = coordCrop('two', [0, 0, 0], [6, 6, 6], 1, {
    channels: 2,
    raw: (_g, c) => (c === 0 ? 0.25 : 0.75),
  });
  const user: TargetFn = (labels, mask) => {
    const target = new Float32Array(labels.length * 2).fill(0.5);
    return { target, channels: 2, mask: Float32Array.from(mask), maskChannels: 1 };
  };
  const [u] = await batches(trainingDataset([twoChannels], { ...base, target: user }), 1);
  assert.deepEqual(u!.xsShape, [3, 6, 6, 6, 2]);
  assert.deepEqual(u!.ysShape, [3, 4, 2, 4, 3]);
  const c0 = channel(u!.xs, u!.xsShape, 0, 0),
    c1 = channel(u!.xs, u!.xsShape, 0, 1);
  assert.ok(c0.every((v) => v === 0 || v === 0.25) && c1.every((v) => v === 0 || v === 0.75));
  assert.ok(channel(u!.ys, u!.ysShape, 2, 1).every((v) => v === 0.5));
});

test('trainingDataset: same seed → identical bytes whatever the prefetch depth or timing; another seed differs', async () => {
  const split = await crops();
  const all = [...split.train, ...split.test]; // 4 crops, 3 voxel sizes, masks on two
  const options = {
    inputShape: [4, 6, 6],
    outputShape: [2, 4, 4],
    batchSize: 3,
    seed: 7,
    minMasked: 0.25,
    cropWeights: 'size' as const,
    augment: {
      mirror: true,
      transpose: true,
      intensity: { scale: [0.8, 1.2] as [number, number], shift: [-0.1, 0.1] as [number, number] },
      gamma: [0.7, 1.4] as [number, number],
    },
  };
  const n = 6;
  const reference = bytes(await batches(trainingDataset(all, { ...options, prefetch: 0 }), n));
  const jitter = (i: number) => [0, 7, 1, 0, 15, 3][i]!;
  for (const prefetch of [1, 4]) {
    const got = bytes(await batches(trainingDataset(all, { ...options, prefetch }), n, jitter));
    assert.ok(got.equals(reference), `prefetch ${prefetch} gives the same bytes`);
  }
  // A second iterator over the same dataset restarts the same sequence (shared setup, fresh reads).
  const ds = trainingDataset(all, { ...options, prefetch: 2 });
  await batches(ds, 2);
  assert.ok(bytes(await batches(ds, n)).equals(reference), 'a new iterator starts over');
  // Another seed: different batches.
  const other = bytes(await batches(trainingDataset(all, { ...options, seed: 8 }), n));
  assert.ok(!other.equals(reference));
  // The seed can be a string too; and batches within one run differ from each other.
  const perBatch = await batches(trainingDataset(all, { ...options, seed: 'run-a' }), 3);
  assert.ok(!Buffer.from(perBatch[0]!.xs.buffer).equals(Buffer.from(perBatch[1]!.xs.buffer)));

  // cropDataset: the same, per crop.
  const c = split.train[0]!;
  const a1 = await take(cropDataset(c, { inputShape: [4, 4, 4], seed: 3, augment: {} }), 8);
  const a2 = await take(cropDataset(c, { inputShape: [4, 4, 4], seed: 3, augment: {} }), 8);
  const a3 = await take(cropDataset(c, { inputShape: [4, 4, 4], seed: 4, augment: {} }), 8);
  const flat = (t: Taken[]) =>
    Buffer.concat(t.flatMap((s) => [s.raw, s.labels, s.mask].map((a) => Buffer.from(a.buffer))));
  assert.ok(flat(a1).equals(flat(a2)));
  assert.ok(!flat(a1).equals(flat(a3)));
});

test('trainingDataset: every sample honours minMasked (mask channel of ys)', async () => {
  const split = await crops();
  const all = [...split.train, ...split.test];
  for (const minMasked of [0.3, 0.75, 1]) {
    const ds = trainingDataset(all, {
      inputShape: [4, 4, 4],
      outputShape: [2, 2, 2],
      batchSize: 4,
      seed: 11,
      minMasked,
      augment: {},
    });
    let seenFull = 0,
      seenMin = 1;
    for (const b of await batches(ds, 15)) {
      assert.deepEqual(b.ysShape, [4, 2, 2, 2, 2]);
      for (let s = 0; s < 4; s++) {
        const frac = mean(channel(b.ys, b.ysShape, s, 1));
        assert.ok(frac >= minMasked, `sample known fraction ${frac} < minMasked ${minMasked}`);
        seenMin = Math.min(seenMin, frac);
        if (frac === 1) seenFull++;
      }
    }
    assert.ok(seenFull > 0);
    if (minMasked === 0.3) assert.ok(seenMin < 1, 'partly known samples are drawn too');
  }
});

test('trainingDataset: crop weights are respected (equal, numbers, size, masked)', async () => {
  // Constant raw per crop tells which crop a sample came from.
  const constCrop = (name: string, value: number, shape: V3, knownX = shape[2]) =>
    new MemCrop({
      name,
      rawOffset: [0, 0, 0],
      rawShape: shape,
      raw: () => value,
      labelsOffset: [0, 0, 0],
      labelsShape: shape,
      labels: () => 1,
      mask: knownX < shape[2] ? (g) => (g[2] < knownX ? 1 : 0) : undefined,
    });
  const fractions = async (
    cs: Crop[],
    cropWeights: Parameters<typeof trainingDataset>[1]['cropWeights'],
    minMasked = 0,
  ) => {
    const counts = new Map<number, number>();
    let total = 0;
    for (const b of await batches(
      trainingDataset(cs, { inputShape: [1, 1, 1], batchSize: 16, seed: 21, cropWeights, minMasked }),
      60,
    )) {
      for (const v of b.xs) {
        counts.set(v, (counts.get(v) ?? 0) + 1);
        total++;
      }
    }
    return (value: number) => (counts.get(value) ?? 0) / total;
  };
  const A = constCrop('a', 0.25, [4, 4, 4]),
    B = constCrop('b', 0.5, [4, 4, 8]);
  const near = (got: number, want: number, what: string) =>
    assert.ok(Math.abs(got - want) < 0.05, `${what}: ${got.toFixed(3)}, expected ≈ ${want.toFixed(3)}`); // 960 samples: σ ≤ 0.016

  let f = await fractions([A, B], 'equal');
  near(f(0.25), 0.5, 'equal');
  f = await fractions([A, B], [3, 1]);
  near(f(0.25), 0.75, '[3, 1]');
  f = await fractions([A, B], [0, 1]);
  assert.equal(f(0.25), 0, 'weight 0: never');
  f = await fractions([A, B], 'size'); // 64 vs 128 voxels
  near(f(0.25), 1 / 3, 'size');
  // masked: same size, known voxels 16 vs 48.
  const M1 = constCrop('m1', 0.25, [4, 4, 4], 1),
    M2 = constCrop('m2', 0.5, [4, 4, 4], 3);
  f = await fractions([M1, M2], 'masked');
  near(f(0.25), 0.25, 'masked');
  // with minMasked the known count still drives the weights
  f = await fractions([M1, M2], 'masked', 1);
  near(f(0.25), 0.25, 'masked, minMasked 1');
  const C3 = constCrop('c', 0.75, [2, 2, 2]);
  f = await fractions([A, B, C3], [1, 2, 5]);
  near(f(0.25), 1 / 8, '[1, 2, 5] a');
  near(f(0.5), 2 / 8, '[1, 2, 5] b');
  near(f(0.75), 5 / 8, '[1, 2, 5] c');
});

test('raw and labels stay aligned through trainingDataset and cropDataset with augmentation', async () => {
  // raw = labels = encode(global voxel); a user target passes the labels through as the target.
  const identity: TargetFn = (labels, mask) => ({
    target: Float32Array.from(labels as Uint32Array),
    channels: 1,
    mask: Float32Array.from(mask),
    maskChannels: 1,
  });
  const cases: { voxelSize: V3; input: V3; output: V3 }[] = [
    { voxelSize: [4, 4, 4], input: [8, 8, 8], output: [4, 4, 4] }, // everything mirrors and transposes
    { voxelSize: [4, 4, 4], input: [7, 8, 8], output: [4, 4, 4] }, // odd z context: z never mirrored, nor transposed
    { voxelSize: [8, 4, 4], input: [6, 8, 8], output: [4, 6, 6] }, // anisotropic: z stays z
  ];
  for (const { voxelSize, input, output } of cases) {
    const crop = coordCrop('coords', [3, -2, 1], [7, 9, 10], 3, {
      voxelSize,
      mask: (g) => (hash(g) % 5 !== 0 ? 1 : 0),
    });
    const ctx = input.map((s, i) => Math.floor((s - output[i]!) / 2));
    const orientations = new Set<string>();
    const ds = trainingDataset([crop], {
      inputShape: input,
      outputShape: output,
      batchSize: 4,
      seed: 5,
      target: identity,
      augment: { mirror: true, transpose: true },
    });
    for (const b of await batches(ds, 10)) {
      for (let s = 0; s < 4; s++) {
        const ids = channel(b.ys, b.ysShape, s, 0),
          mask = channel(b.ys, b.ysShape, s, 1),
          raw = channel(b.xs, b.xsShape, s, 0);
        let checked = 0;
        for (let v = 0; v < ids.length; v++) {
          if (!mask[v]) continue;
          const z = Math.floor(v / (output[1] * output[2])),
            y = Math.floor(v / output[2]) % output[1],
            x = v % output[2];
          const r = raw[((z + ctx[0]!) * input[1] + (y + ctx[1]!)) * input[2] + (x + ctx[2]!)]!;
          assert.equal(ids[v], r, `sample ${s}: labels and raw disagree at output voxel ${[z, y, x]}`);
          checked++;
        }
        assert.ok(checked > 0);
        // Orientation: how the global coordinate changes along each output axis.
        const at = (z: number, y: number, x: number) =>
          decode(raw[((z + ctx[0]!) * input[1] + (y + ctx[1]!)) * input[2] + (x + ctx[2]!)]!);
        const o = at(0, 0, 0);
        const steps = [at(1, 0, 0), at(0, 1, 0), at(0, 0, 1)].map((p) => p.map((c, i) => c - o[i]!).join(''));
        orientations.add(steps.join('|'));
        if (voxelSize[0] !== voxelSize[1] || input[0] % 2 !== output[0] % 2) {
          assert.match(steps[0]!, /^(1|-1)00$/, 'z stays on z');
          if (input[0] % 2 !== output[0] % 2) assert.equal(steps[0], '100', 'odd context: z is never mirrored');
        }
      }
    }
    assert.ok(orientations.size >= 4, `augmentation varies the orientation (${orientations.size} seen)`);
  }
  // cropDataset: int32 labels against raw.
  const crop = coordCrop('coords', [0, 0, 0], [6, 6, 6], 2);
  for (const s of await take(
    cropDataset(crop, { inputShape: [6, 6, 6], outputShape: [4, 4, 4], seed: 2, augment: {} }),
    20,
  )) {
    for (let v = 0; v < 64; v++) {
      if (!s.mask[v]) continue;
      const z = v >> 4,
        y = (v >> 2) & 3,
        x = v & 3;
      assert.equal(s.labels[v], s.raw[((z + 1) * 6 + (y + 1)) * 6 + (x + 1)]);
    }
  }
});

test('labels beyond int32 are relabelled consecutively per sample; ids that fit are kept', async () => {
  // uint64 ids 2^40 + j·2^33 + 7 for cells j of 2×2×2 voxels (j = 0: background), raw = j.
  const cell = (g: V3) => {
    const j = (Math.floor(g[0] / 2) * 9 + Math.floor(g[1] / 2) * 3 + Math.floor(g[2] / 2)) % 11;
    return j;
  };
  const big = new MemCrop({
    name: 'big',
    uint64: true,
    rawOffset: [0, 0, 0],
    rawShape: [6, 6, 6],
    raw: (g) => cell(g),
    labelsOffset: [0, 0, 0],
    labelsShape: [6, 6, 6],
    labels: (g) => (cell(g) === 0 ? 0n : 2n ** 40n + BigInt(cell(g)) * 2n ** 33n + 7n),
  });
  for (const s of await take(cropDataset(big, { inputShape: [4, 4, 4], seed: 1, augment: {} }), 20)) {
    const forward = new Map<number, number>(),
      backward = new Map<number, number>();
    let next = 1;
    for (let v = 0; v < 64; v++) {
      const j = s.raw[v]!,
        id = s.labels[v]!;
      if (!s.mask[v]) {
        assert.equal(id, 0);
        continue;
      }
      if (j === 0) {
        assert.equal(id, 0, 'background stays 0');
        continue;
      }
      if (!forward.has(j)) {
        assert.equal(id, next++, 'ids numbered 1, 2, ... in order of first appearance');
        forward.set(j, id);
        backward.set(id, j);
      }
      assert.equal(forward.get(j), id);
      assert.equal(backward.get(id), j);
    }
  }
  // The same crop with small uint64 ids: kept as they are.
  const small = new MemCrop({
    name: 'small',
    uint64: true,
    rawOffset: [0, 0, 0],
    rawShape: [6, 6, 6],
    raw: (g) => cell(g),
    labelsOffset: [0, 0, 0],
    labelsShape: [6, 6, 6],
    labels: (g) => BigInt(cell(g) * 1000),
  });
  for (const s of await take(cropDataset(small, { inputShape: [4, 4, 4], seed: 1 }), 5)) {
    s.labels.forEach((id, v) => {
      assert.equal(id, s.mask[v] ? s.raw[v]! * 1000 : 0);
    });
  }
  // Fixture: crop_04's uint64 ids (2^33, 2^53 + 3, 2^64 − 5).
  const split = await crops();
  const crop04 = split.test.find((c) => c.name === 'crop_04')!;
  assert.equal(crop04.labels.dtype, 'uint64');
  const sampler = await CropSampler.create(crop04, { inputShape: [3, 5, 5] });
  for (let k = 0; k < 10; k++) {
    const sample = await sampler.read(sampler.draw(makeRng('fixture').fork(k)));
    const ids = sample.labels as BigUint64Array;
    const out = labelsToInt32(ids);
    const pairs = new Map<bigint, number>();
    ids.forEach((id, i) => {
      if (!pairs.has(id)) pairs.set(id, out[i]!);
      assert.equal(pairs.get(id), out[i], 'one int32 id per uint64 id');
      assert.equal(id === 0n, out[i] === 0);
    });
    assert.equal(new Set(pairs.values()).size, pairs.size, 'distinct ids stay distinct');
  }
  for (const s of await take(cropDataset(crop04, { inputShape: [3, 5, 5], seed: 2 }), 5)) {
    const nonZero = new Set(Array.from(s.labels).filter((v) => v !== 0));
    assert.ok(
      [...nonZero].every((v) => v >= 1 && v <= nonZero.size),
      'consecutive ids from 1',
    );
  }
});

test('bad options fail early with a clear message', async () => {
  const split = await crops();
  const train = split.train;
  const crop = train[0]!;
  for (const make of [
    (o: Parameters<typeof cropDataset>[1]) => cropDataset(crop, o),
    (o: Parameters<typeof cropDataset>[1]) => trainingDataset(train, o),
  ]) {
    throwsOptions(() => make({ inputShape: [4, 4] }), /inputShape.*3 positive integers/);
    throwsOptions(() => make({ inputShape: [4, 0, 4] }), /inputShape/);
    throwsOptions(() => make({ inputShape: [4, 4.5, 4] }), /inputShape/);
    throwsOptions(() => make({ inputShape: [4, 4, 4], outputShape: [2, 6, 2] }), /outputShape.*larger than inputShape/);
    throwsOptions(() => make({ inputShape: [4096, 4096, 4096] }), /larger than anything/);
    throwsOptions(() => make({ inputShape: [4, 4, 4], minMasked: -0.1 }), /minMasked must be in \[0, 1\]/);
    throwsOptions(() => make({ inputShape: [4, 4, 4], minMasked: 1.5 }), /minMasked/);
    throwsOptions(() => make({ inputShape: [4, 4, 4], minMasked: NaN }), /minMasked/);
    throwsOptions(() => make({ inputShape: [4, 4, 4], augment: { gamma: [-1, 2] } }), /gamma/);
    throwsOptions(() => make({ inputShape: [4, 4, 4], augment: { mirror: [true, false] } }), /mirror/);
    throwsOptions(() => make({ inputShape: undefined as unknown as number[] }), /inputShape/);
  }
  const ok = { inputShape: [4, 4, 4] };
  throwsOptions(
    () => trainingDataset(train, { ...ok, cropWeights: [1, 2, 3] }),
    /3 entries for 2 crops \(crop_01, crop_02\)/,
  );
  throwsOptions(() => trainingDataset(train, { ...ok, cropWeights: [1, -1] }), /non-negative/);
  throwsOptions(() => trainingDataset(train, { ...ok, cropWeights: [0, 0] }), /not all zero/);
  throwsOptions(() => trainingDataset(train, { ...ok, cropWeights: [1, NaN] }), /non-negative/);
  throwsOptions(() => trainingDataset(train, { ...ok, cropWeights: 'bigger' as 'size' }), /'equal', 'size', 'masked'/);
  throwsOptions(() => trainingDataset(train, { ...ok, batchSize: 0 }), /batchSize/);
  throwsOptions(() => trainingDataset(train, { ...ok, prefetch: -1 }), /prefetch/);
  throwsOptions(() => trainingDataset([], ok), /at least one crop/);
  throwsOptions(() => trainingDataset(train, { ...ok, target: 'semantic' }), /numClasses/);
  // numClasses smaller than a label found: at setup, naming the crop and the label.
  await rejects(
    trainingDataset(train, { ...ok, target: 'semantic', numClasses: 4 }).setup(),
    /crop_0[12] has label \d+.*numClasses is 4/,
  );
  await rejects(
    async () => (await trainingDataset(train, { ...ok, target: 'semantic', numClasses: 4 }).iterator()).next(),
    /numClasses/,
  );
  // Crops with different raw channel counts.
  const one = coordCrop('one', [0, 0, 0], [4, 4, 4], 0),
    two = coordCrop('two', [0, 0, 0], [4, 4, 4], 0, { channels: 2 });
  await rejects(trainingDataset([one, two], ok).setup(), /two has 2 raw channels, one has 1/);
  // 'masked' weights where no crop has a known voxel.
  const unknown = coordCrop('unknown', [0, 0, 0], [4, 4, 4], 0, { mask: () => 0 });
  await rejects(trainingDataset([unknown], { ...ok, cropWeights: 'masked' }).setup(), /weight 0/);
});

test('iterators release their buffers: no tensors left after abandoned iterators', async () => {
  const split = await crops();
  const before = tf.memory().numTensors;
  const ds = trainingDataset(split.train, { inputShape: [4, 4, 4], batchSize: 2, prefetch: 3, seed: 1, augment: {} });
  for (let i = 0; i < 5; i++) {
    const it = await ds.iterator();
    const r = await it.next();
    tf.dispose(r.value); // the consumer owns what it took; nothing else is held
  }
  const c = cropDataset(split.train[1]!, { inputShape: [4, 4, 4], seed: 1 });
  for (let i = 0; i < 5; i++) {
    const it = await c.iterator();
    tf.dispose((await it.next()).value);
    tf.dispose((await it.next()).value);
  }
  // Let the abandoned prefetches settle.
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(tf.memory().numTensors, before);
});
