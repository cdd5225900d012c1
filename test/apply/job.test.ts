/**
 * The blockwise job module as the callers of segmentVolume meet it: the grouped options
 * (`output`, `parameters`, `coordination`) write the same array as the flat ones of the first
 * releases, and a job that is not there yet (a phase not run, other workers that never came) is a
 * JobStateError naming the array and what is missing, never an OptionsError.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { writeBlockChunks } from '../../src/apply/block-io.js';
import { segmentVolume } from '../../src/apply/index.js';
import { JobStateError, OptionsError, roi } from '../../src/index.js';
import { funlibAttributes, ZarrArrayWriter } from '../../src/zarr/write/index.js';
import { arrayFiles, rng } from '../helpers/apply.js';

const SHAPE = [8, 10, 12];
const BLOCK = [4, 5, 6];
let root: string;
let prediction: string;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-job-'));
  const location = { container: path.join(root, 'pred.zarr'), path: 'p' };
  const writer = await ZarrArrayWriter.create(location, {
    format: 2,
    shape: [1, ...SHAPE],
    chunks: [1, 4, 5, 6],
    dtype: 'float32',
    compressor: 'none',
    attributes: funlibAttributes({
      voxelSize: [1, 1, 1],
      offset: [0, 0, 0],
      units: ['nm', 'nm', 'nm'],
      channels: true,
    }),
  });
  const r = rng(3);
  const values = Float32Array.from({ length: SHAPE[0]! * SHAPE[1]! * SHAPE[2]! }, () => r());
  const whole = { index: 0, coords: [0, 0, 0], voxelOffset: [0, 0, 0], voxelShape: SHAPE, roi: roi([0, 0, 0], SHAPE) };
  await writeBlockChunks(writer, whole, values);
  prediction = `${location.container}/p`;
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('grouped options write the same array as the flat ones', async () => {
  const flat = path.join(root, 'flat.zarr', 's');
  const grouped = path.join(root, 'grouped.zarr', 's');
  await segmentVolume(prediction, {
    output: flat,
    blockShape: BLOCK,
    chunkShape: [4, 5, 6],
    compressor: 'zlib',
    durable: false,
    threshold: 0.6,
    idOffset: 5,
  });
  const result = await segmentVolume(prediction, {
    output: { array: grouped, chunkShape: [4, 5, 6], compressor: 'zlib', durable: false },
    blockShape: BLOCK,
    parameters: { threshold: 0.6, idOffset: 5 },
    coordination: { worker: 0, workers: 1 },
  });
  assert.equal(result.parameters.threshold, 0.6);
  const a = await arrayFiles(flat);
  const b = await arrayFiles(grouped);
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, v] of a) assert.ok(v.equals(b.get(k)!), `file ${k} differs`);
});

test('an unfinished job is a JobStateError naming the array and what is missing', async () => {
  const out = path.join(root, 'staged.zarr', 's');
  const opts = { output: out, blockShape: BLOCK, parameters: { threshold: 0.5 } };
  const refusal = (pattern: RegExp, missing?: number) => (e: unknown) => {
    assert.ok(e instanceof JobStateError, `a JobStateError, got ${String(e)}`);
    assert.ok(!(e instanceof OptionsError));
    assert.equal(e.array, `${path.join(root, 'staged.zarr')}/s`);
    assert.equal(e.missing, missing);
    assert.match(e.message, pattern);
    return true;
  };
  // Worker 0 of 2 labels its half; the join finds the other half missing.
  await segmentVolume(prediction, { ...opts, coordination: { phase: 'label', worker: 0, workers: 2 } });
  await assert.rejects(
    segmentVolume(prediction, { ...opts, coordination: { phase: 'join' } }),
    refusal(/4 of 8 blocks are not labelled yet; run --phase label on every worker first/, 4),
  );
  await assert.rejects(
    segmentVolume(prediction, { ...opts, coordination: { phase: 'write' } }),
    refusal(/the blocks are not joined yet; run --phase join first/),
  );
  // In one command, worker 0 waits for worker 1's labels, which never come.
  const waits: string[] = [];
  await assert.rejects(
    segmentVolume(prediction, {
      ...opts,
      coordination: { worker: 0, workers: 2, pollMs: 5, waitSeconds: 0.05, onWait: (m) => waits.push(m) },
    }),
    refusal(
      /gave up waiting for the blocks of the other workers to be labelled after 0\.05 s; run the phases separately/,
      4,
    ),
  );
  assert.deepEqual(waits, ['worker 0/2: waiting for the blocks of the other workers to be labelled (4 left)']);
  // A bad argument is still an OptionsError.
  await assert.rejects(
    segmentVolume(prediction, { ...opts, coordination: { phase: 'bogus' as never } }),
    (e: unknown) => e instanceof OptionsError && /phase must be all, label, join or write/.test(e.message),
  );
});
