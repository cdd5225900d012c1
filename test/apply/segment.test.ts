/**
 * segmentVolume: blocks labelled alone, joined across faces and relabelled give the same partition
 * as post-processing the whole volume at once — on predictions whose objects cross many block
 * faces (blocks 4×6×5 with clipped edge blocks, prediction chunks 6³ unrelated to the blocks) —
 * for boundaries (components of a threshold), affinities (with long-range offsets) and semantic
 * argmax; uint64 ids above 2^53 stay exact; 1 worker, 3 workers at once and the phases run as
 * separate steps write byte-identical arrays; a run stopped part-way continues to the same array.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { saveCheckpoint } from '../../src/eval/checkpoint.js';
import { affinityComponents, connectedComponents } from '../../src/eval/components.js';
import { roi } from '../../src/index.js';
import { openArray, segmentVolume } from '../../src/apply/index.js';
import { writeBlockChunks } from '../../src/apply/block-io.js';
import { resolveSegmentParameters } from '../../src/apply/segment.js';
import { funlibAttributes, ZarrArrayWriter } from '../../src/zarr/write/index.js';
import { arrayFiles, rng, samePartition, tinyValidNet } from '../helpers/apply.js';

const SHAPE = [18, 20, 22] as const;
const N = SHAPE[0] * SHAPE[1] * SHAPE[2];
const VOXEL = [4, 2, 2];
const OFFSET = [40, -8, 6];
const BLOCK = [4, 6, 5];
const OFFSETS = [
  [-1, 0, 0],
  [0, -1, 0],
  [0, 0, -1],
  [-2, 0, 0],
  [0, -3, -1],
];
let root: string;

/** A smooth random field in [0, 1] per channel ([z, y, x, c]): blobs that cross block faces. */
function smoothField(channels: number, seed: number): Float32Array {
  const r = rng(seed);
  let f = Float32Array.from({ length: N * channels }, () => r());
  const [Z, Y, X] = SHAPE;
  for (let pass = 0; pass < 3; pass++) {
    const g = new Float32Array(f.length);
    for (let z = 0; z < Z; z++)
      for (let y = 0; y < Y; y++)
        for (let x = 0; x < X; x++)
          for (let c = 0; c < channels; c++) {
            let sum = 0;
            let n = 0;
            for (let dz = -1; dz <= 1; dz++)
              for (let dy = -1; dy <= 1; dy++)
                for (let dx = -1; dx <= 1; dx++) {
                  const zz = z + dz;
                  const yy = y + dy;
                  const xx = x + dx;
                  if (zz < 0 || yy < 0 || xx < 0 || zz >= Z || yy >= Y || xx >= X) continue;
                  sum += f[((zz * Y + yy) * X + xx) * channels + c]!;
                  n++;
                }
            g[((z * Y + y) * X + x) * channels + c] = sum / n;
          }
    f = g;
  }
  // Stretch around 0.5 so a threshold of 0.5 cuts blobs of a few voxels to many blocks wide.
  return f.map((v) => Math.min(1, Math.max(0, 0.5 + (v - 0.5) * 8)));
}

async function writePrediction(name: string, values: Float32Array, channels: number, attributes = {}): Promise<string> {
  const location = { container: path.join(root, 'pred.zarr'), path: name };
  const writer = await ZarrArrayWriter.create(location, {
    format: 2,
    shape: [channels, ...SHAPE],
    chunks: [channels, 6, 6, 6],
    dtype: 'float32',
    compressor: 'none',
    attributes: {
      ...funlibAttributes({ voxelSize: VOXEL, offset: OFFSET, units: ['nm', 'nm', 'nm'], channels: true }),
      ...attributes,
    },
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
  return `${location.container}/${name}`;
}

async function readSegmentation(p: string): Promise<BigUint64Array> {
  const v = await openArray(p);
  assert.equal(v.dtype, 'uint64');
  assert.deepEqual(v.shape, [...SHAPE]);
  assert.deepEqual(v.offset, OFFSET);
  return (await v.read(v.roi)) as BigUint64Array;
}

let boundary: string;
let boundaryValues: Float32Array;

before(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-segment-'));
  boundaryValues = smoothField(1, 3);
  boundary = await writePrediction('boundary', boundaryValues, 1);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

function wholeBoundary(threshold: number): Uint32Array {
  const fg = Uint8Array.from(boundaryValues, (v) => (v > threshold ? 1 : 0));
  return connectedComponents(fg, [...SHAPE]).labels;
}

test('boundaries: blockwise components equal whole-volume components; uint64 ids above 2^53 exact', async () => {
  const out = path.join(root, 'seg.zarr', 'boundary');
  const idOffset = 2n ** 60n;
  const result = await segmentVolume(boundary, { output: out, blockShape: BLOCK, threshold: 0.7, idOffset });
  assert.equal(result.grid.blocks.length, 5 * 4 * 5);
  const seg = await readSegmentation(out);
  const expected = wholeBoundary(0.7);
  const { segments } = samePartition(seg, expected, true);
  const count = connectedComponents(
    Uint8Array.from(boundaryValues, (v) => (v > 0.7 ? 1 : 0)),
    [...SHAPE],
  ).count;
  assert.equal(segments - 1, count); // plus the background
  assert.equal(result.segments, count);
  assert.ok(count > 5, `${count} objects`);
  // Objects really cross blocks: some span more than 3 blocks along z.
  const spans = new Map<number, Set<number>>();
  expected.forEach((l, v) => {
    if (l === 0) return;
    const z = Math.floor(v / (SHAPE[1] * SHAPE[2]));
    if (!spans.has(l)) spans.set(l, new Set());
    spans.get(l)!.add(Math.floor(z / BLOCK[0]!));
  });
  assert.ok(Math.max(...[...spans.values()].map((s) => s.size)) >= 4);
  const ids = new Set<bigint>();
  for (const id of seg) if (id !== 0n) ids.add(id);
  assert.deepEqual(
    [...ids].sort((a, b) => (a < b ? -1 : 1)),
    Array.from({ length: count }, (_, i) => idOffset + BigInt(i + 1)),
  );
});

test('1 worker, 3 workers at once, and the phases as separate steps give byte-identical arrays', async () => {
  const one = path.join(root, 'one.zarr', 's');
  const three = path.join(root, 'three.zarr', 's');
  const staged = path.join(root, 'staged.zarr', 's');
  const opts = { blockShape: BLOCK, threshold: 0.8, durable: false };
  await segmentVolume(boundary, { ...opts, output: one });
  await Promise.all(
    [0, 1, 2].map((worker) => segmentVolume(boundary, { ...opts, output: three, worker, workers: 3, pollMs: 10 })),
  );
  for (const phase of ['label', 'join', 'write'] as const) {
    const workers = phase === 'join' ? [0] : [0, 1];
    for (const worker of workers)
      await segmentVolume(boundary, { ...opts, output: staged, phase, worker, workers: workers.length });
  }
  const a = await arrayFiles(one);
  for (const other of [three, staged]) {
    const b = await arrayFiles(other);
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [k, v] of a) assert.ok(v.equals(b.get(k)!), `${other}: file ${k} differs`);
  }
  samePartition(await readSegmentation(one), wholeBoundary(0.8), true);
});

test('a segmentation stopped part-way continues to the same array', async () => {
  const clean = path.join(root, 'clean.zarr', 's');
  const resumed = path.join(root, 'resumed.zarr', 's');
  const opts = { blockShape: BLOCK, threshold: 0.5, durable: false };
  await segmentVolume(boundary, { ...opts, output: clean });
  for (const stopIn of ['label', 'write']) {
    const controller = new AbortController();
    await assert.rejects(
      segmentVolume(boundary, {
        ...opts,
        output: resumed,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === stopIn && p.done === 30) controller.abort();
        },
      }),
      { name: 'AbortError' },
    );
  }
  const again = await segmentVolume(boundary, { ...opts, output: resumed });
  assert.equal(again.skipped, 30);
  const a = await arrayFiles(clean);
  const b = await arrayFiles(resumed);
  for (const [k, v] of a) assert.ok(v.equals(b.get(k)!), `file ${k} differs`);
});

test('affinities with long-range offsets: blockwise equals affinityComponents of the whole volume', async () => {
  const values = smoothField(OFFSETS.length, 11);
  const p = await writePrediction('affinities', values, OFFSETS.length, {
    // Written under the method's first name, as predictions recorded before the rename are.
    tfjs_zarr_postprocess: { method: 'affinity', threshold: 0.55, offsets: OFFSETS },
  });
  const out = path.join(root, 'seg.zarr', 'affinities');
  const result = await segmentVolume(p, { output: out, blockShape: BLOCK });
  assert.equal(result.parameters.method, 'affinities');
  assert.equal(result.parameters.threshold, 0.55);
  const expected = affinityComponents(values, [...SHAPE], OFFSETS, 0.55);
  const { segments } = samePartition(await readSegmentation(out), expected.labels, false);
  assert.equal(segments, expected.count);
  assert.ok(expected.count > 20 && expected.count < N / 2, `${expected.count} segments`);
});

test('semantic: the argmax, blockwise', async () => {
  const values = smoothField(3, 5);
  const p = await writePrediction('semantic', values, 3);
  const out = path.join(root, 'seg.zarr', 'semantic');
  await segmentVolume(p, { output: out, blockShape: BLOCK, method: 'semantic' });
  const seg = await readSegmentation(out);
  for (let v = 0; v < N; v++) {
    const c = [0, 1, 2].reduce((best, k) => (values[v * 3 + k]! > values[v * 3 + best]! ? k : best), 0);
    assert.equal(seg[v], BigInt(c));
  }
});

test("parameters from a checkpoint's checkpoint.json; bad parameters are clear errors", async () => {
  const dir = path.join(root, 'runs', 'best', 'crop_03');
  const model = tinyValidNet();
  await saveCheckpoint(model, dir, {
    crop: 'crop_03',
    postProcessor: 'boundary',
    parameters: { threshold: 0.6 },
    voi: 1,
  });
  model.dispose();
  const out = path.join(root, 'seg.zarr', 'from-checkpoint');
  const result = await segmentVolume(boundary, { output: out, blockShape: BLOCK, checkpoint: dir });
  assert.deepEqual(result.parameters, {
    method: 'boundary',
    threshold: 0.6,
    offsets: [
      [-1, 0, 0],
      [0, -1, 0],
      [0, 0, -1],
    ],
  });
  samePartition(await readSegmentation(out), wholeBoundary(0.6), true);
  await assert.rejects(segmentVolume(boundary, { output: out, blockShape: BLOCK, threshold: 0.3 }), {
    name: 'OptionsError',
    message: /seg\.zarr\/from-checkpoint was started with other settings \(threshold: 0\.6 there, 0\.3 now\)/,
  });
  const three = await writePrediction('three', smoothField(3, 1), 3);
  await assert.rejects(segmentVolume(three, { output: path.join(root, 'x.zarr', 'y') }), {
    name: 'OptionsError',
    message: /pred\.zarr\/three has 3 channels and no recorded post-processing; give the method/,
  });
  await assert.rejects(
    segmentVolume(three, { output: path.join(root, 'x.zarr', 'y'), method: 'affinities', offsets: [[-1, 0, 0]] }),
    {
      name: 'OptionsError',
      message: /has 3 channels but 1 affinity offsets were given/,
    },
  );
});

test("method 'affinity' still works as 'affinities', with a deprecation message", async (t) => {
  const warn = t.mock.method(console, 'warn', () => undefined);
  const three = await openArray(await writePrediction('three-old-name', smoothField(3, 1), 3));
  const params = await resolveSegmentParameters(three, {}, { method: 'affinity' });
  assert.equal(params.method, 'affinities');
  assert.equal(warn.mock.callCount(), 1);
  assert.match(String(warn.mock.calls[0]!.arguments[0]), /'affinity' is deprecated; it is now called 'affinities'/);
});
