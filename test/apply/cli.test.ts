/**
 * `tfjs-zarr predict` and `segment` end to end (cpu backend, a tiny checkpoint): `--processes 3`
 * writes the same bytes as one process; a predict run killed with SIGKILL part-way and run again
 * gives the same array; zarr-python-compatible output that `segment` turns into instances; clear
 * messages for a bad checkpoint and an output that exists with another shape.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { saveCheckpoint } from '../../src/eval/checkpoint.js';
import { connectedComponents } from '../../src/eval/components.js';
import { openDataSplit } from '../../src/index.js';
import { openArray } from '../../src/apply/index.js';
import { writeDemoContainer } from '../../examples/synthetic/write-container.js';
import { arrayFiles, samePartition, tinyValidNet } from '../helpers/apply.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

let root: string;
let checkpoint: string;
let raw: string;
const ENV = { ...process.env, TFJS_ZARR_BACKEND: 'cpu', NO_COLOR: '1' };

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: REPO_ROOT, env: ENV, timeout: 120_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

before(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-apply-cli-'));
  await writeDemoContainer(path.join(root, 'demo.zarr'), { small: true });
  raw = path.join(root, 'demo.zarr', 'test', 'crop_03', 'raw');
  checkpoint = path.join(root, 'runs', 'x', 'best', 'crop_03');
  const model = tinyValidNet();
  await saveCheckpoint(model, checkpoint, {
    crop: 'crop_03',
    postProcessor: 'boundary',
    parameters: { threshold: 0.45 },
    voi: 1,
  });
  model.dispose();
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const predictArgs = (output: string) => [
  'predict',
  '--checkpoint',
  checkpoint,
  '--input',
  raw,
  '--output',
  output,
  '--block',
  '4,4,4',
];

test('predict: --processes 3 writes the same bytes as one process; segment follows the checkpoint', async () => {
  const one = path.join(root, 'one.zarr', 'prediction');
  const three = path.join(root, 'three.zarr', 'prediction');
  const [a, b] = await Promise.all([cli(predictArgs(one)), cli([...predictArgs(three), '--processes', '3'])]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.match(a.stdout, /280 blocks computed, 0 already done, of 280/);
  assert.match(a.stderr, /predict: 280\/280 blocks/);
  const fa = await arrayFiles(one);
  const fb = await arrayFiles(three);
  assert.equal(fa.size, 282); // .zarray, .zattrs, 280 chunks
  for (const [k, v] of fa) assert.ok(v.equals(fb.get(k)!), `file ${k} differs`);

  const seg = path.join(root, 'one.zarr', 'segmentation');
  const s = await cli(['segment', '--input', one, '--output', seg, '--block', '8,8,8']);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /boundary, threshold 0\.45/);
  const prediction = await openArray(one);
  const values = (await prediction.read(prediction.roi)) as Float32Array;
  const expected = connectedComponents(
    Uint8Array.from(values, (v) => (v > 0.45 ? 1 : 0)),
    prediction.roi.shape.map((n, i) => n / prediction.voxelSize[i]!),
  );
  const written = await openArray(seg);
  samePartition((await written.read(written.roi)) as BigUint64Array, expected.labels, true);
  // The outputs open as a DaCapo crop (prediction as raw, segmentation as labels).
  const split = await openDataSplit({
    path: path.join(root, 'one.zarr'),
    rawName: 'prediction',
    gtName: 'segmentation',
  });
  assert.equal(split.test[0]!.labels.dtype, 'uint64');
});

test('predict killed with SIGKILL part-way continues to the same array', async () => {
  const out = path.join(root, 'killed.zarr', 'prediction');
  const markers = path.join(out, '.blocks', 'predict');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...predictArgs(out), '--quiet'], {
    cwd: REPO_ROOT,
    env: ENV,
    stdio: 'ignore',
  });
  const exited = new Promise((r) => child.on('exit', r));
  let marked = 0;
  while (marked < 20) {
    await new Promise((r) => setTimeout(r, 20));
    marked = (await readdir(markers).catch(() => [])).filter((n) => n.endsWith('.json')).length;
    if (child.exitCode !== null) break;
  }
  child.kill('SIGKILL');
  await exited;
  assert.ok(marked >= 20 && marked < 280, `killed after ${marked} blocks`);
  const again = await cli(predictArgs(out));
  assert.equal(again.code, 0, again.stderr);
  const m = /(\d+) blocks computed, (\d+) already done/.exec(again.stdout)!;
  assert.ok(Number(m[2]) >= marked && Number(m[1]) + Number(m[2]) === 280, again.stdout);
  const clean = await arrayFiles(path.join(root, 'one.zarr', 'prediction'));
  const resumed = await arrayFiles(out);
  for (const [k, v] of clean) assert.ok(v.equals(resumed.get(k)!), `file ${k} differs`);
});

test('clear errors: a bad checkpoint, an output with another shape', async () => {
  const bad = path.join(root, 'not-a-checkpoint');
  await mkdir(bad, { recursive: true });
  await writeFile(path.join(bad, 'model.json'), '{"modelTopology": 1}');
  const r = await cli(['predict', '--checkpoint', bad, '--input', raw, '--output', path.join(root, 'o.zarr', 'p')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--checkpoint .*not-a-checkpoint: cannot load a model there/);
  const exists = await cli([
    ...predictArgs(path.join(root, 'one.zarr', 'prediction')),
    '--block',
    '8,8,8',
    '--roi',
    '2072,304,4072:64,64,64',
  ]);
  assert.equal(exists.code, 1);
  assert.match(
    exists.stderr,
    /one\.zarr, array prediction: exists with shape \[1, 19, 29, 28\].*this run writes shape \[1, 8, 8, 8\].*--overwrite/,
  );
  const usage = await cli([
    'segment',
    '--input',
    path.join(root, 'one.zarr', 'prediction'),
    '--output',
    'x.zarr/s',
    '--method',
    'mutex',
  ]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--method must be boundary, affinities, semantic or watershed, got mutex/);
});
