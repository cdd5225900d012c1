import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm, readFile, readdir, rename, mkdir, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as path from 'node:path';
import { saveCheckpoint, loadCheckpoint, readCheckpointInfo, recoverCheckpoint } from '../../src/eval/checkpoint.js';
import { fileSaveHandler, fileLoadHandler } from '../../src/eval/model-files.js';
import { unet3d } from '../../src/models/unet.js';

let root: string;

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  root = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-ckpt-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

function tinyModel(seed: number): tf.LayersModel {
  const model = tf.sequential();
  model.add(
    tf.layers.conv3d({
      inputShape: [4, 4, 4, 1],
      filters: 2,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      biasInitializer: tf.initializers.randomNormal({ seed: seed + 1 }),
    }),
  );
  model.add(
    tf.layers.conv3d({
      filters: 1,
      kernelSize: 1,
      activation: 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
    }),
  );
  return model;
}

function input(): tf.Tensor {
  return tf.tidy(() => tf.linspace(-1, 1, 2 * 64).reshape([2, 4, 4, 4, 1]));
}

async function predict(model: tf.LayersModel, x: tf.Tensor): Promise<Float32Array> {
  const y = model.predict(x) as tf.Tensor;
  const data = (await y.data()) as Float32Array;
  y.dispose();
  return data;
}

async function siblings(dir: string): Promise<string[]> {
  const base = path.basename(dir);
  return (await readdir(path.dirname(dir))).filter((n) => n.startsWith(`${base}.`));
}

test('save → load round trip gives identical predictions; files are model.json, weights.bin, checkpoint.json', async () => {
  const dir = path.join(root, 'run1', 'best', 'crop_03');
  const model = tinyModel(1);
  const info = { epoch: 3, scores: { voi: 0.5, voiSplit: 0.2, voiMerge: 0.3 }, parameters: { threshold: 0.5 } };
  await saveCheckpoint(model, dir, info);

  assert.deepEqual((await readdir(dir)).sort(), ['checkpoint.json', 'model.json', 'weights.bin']);
  assert.deepEqual(await siblings(dir), []);
  assert.deepEqual(await readCheckpointInfo(dir), info);
  // pretty JSON
  assert.match(await readFile(path.join(dir, 'checkpoint.json'), 'utf8'), /\n {2}"epoch": 3,\n/);

  const x = input();
  const expected = await predict(model, x);
  for (const p of [dir, path.join(dir, 'model.json')]) {
    const loaded = await loadCheckpoint(p);
    assert.deepEqual(await predict(loaded, x), expected);
    assert.deepEqual(loaded.inputs[0]!.shape, [null, 4, 4, 4, 1]);
    loaded.dispose();
  }
  assert.deepEqual(await readCheckpointInfo(path.join(dir, 'model.json')), info);
  x.dispose();
  model.dispose();
});

test('model.json has the layout tfjs-node file:// writes', async () => {
  const dir = path.join(root, 'layout');
  const model = tinyModel(2);
  await saveCheckpoint(model, dir, { epoch: 0 });
  const text = await readFile(path.join(dir, 'model.json'), 'utf8');
  assert.ok(!text.includes('\n'), 'compact JSON, like JSON.stringify(modelJSON)');
  const json = JSON.parse(text);
  assert.deepEqual(Object.keys(json).slice(0, 5), [
    'modelTopology',
    'weightsManifest',
    'format',
    'generatedBy',
    'convertedBy',
  ]);
  assert.equal(json.format, 'layers-model');
  assert.match(json.generatedBy, /^TensorFlow\.js tfjs-layers v/);
  assert.equal(json.convertedBy, null);
  assert.equal(json.modelTopology.class_name, 'Sequential');
  assert.equal(json.weightsManifest.length, 1);
  assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
  const specs = json.weightsManifest[0].weights as { name: string; shape: number[]; dtype: string }[];
  assert.deepEqual(
    specs.map((s) => s.shape),
    model.getWeights().map((w) => w.shape),
  );
  const bytes = specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal((await stat(path.join(dir, 'weights.bin'))).size, bytes);

  // What tfjs-node's loader does with these files: modelTopology + weightsManifest read from
  // model.json, weights from the manifest paths relative to it.
  const bin = await readFile(path.join(dir, json.weightsManifest[0].paths[0]));
  const viaMemory = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: specs as tf.io.WeightsManifestEntry[],
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
    }),
  );
  const x = input();
  assert.deepEqual(await predict(viaMemory, x), await predict(model, x));
  x.dispose();
  viaMemory.dispose();
  model.dispose();
});

test('fileLoadHandler reads what tfjs-node writes, including several weight files', async () => {
  const model = tinyModel(3);
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
  );
  const a = artifacts!;
  const whole = new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData!));
  // Written the way tfjs-node's NodeFileSystem.save does, but with the weights in two shards.
  const dir = path.join(root, 'node-written');
  await mkdir(dir, { recursive: true });
  const cut = 40;
  await writeFile(path.join(dir, 'a.bin'), whole.subarray(0, cut));
  await writeFile(path.join(dir, 'b.bin'), whole.subarray(cut));
  await writeFile(
    path.join(dir, 'model.json'),
    JSON.stringify({
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths: ['a.bin', 'b.bin'], weights: a.weightSpecs }],
      format: a.format,
      generatedBy: a.generatedBy,
      convertedBy: a.convertedBy,
    }),
  );
  const loaded = await tf.loadLayersModel(fileLoadHandler(dir));
  const x = input();
  assert.deepEqual(await predict(loaded, x), await predict(model, x));
  x.dispose();
  loaded.dispose();
  model.dispose();
});

test('fileSaveHandler concatenates weightData given as several ArrayBuffers', async () => {
  const dir = path.join(root, 'sharded-save');
  const one = new Uint8Array([1, 2, 3, 4]).buffer;
  const two = new Uint8Array([5, 6, 7, 8, 9, 10, 11, 12]).buffer;
  await fileSaveHandler(dir).save!({
    modelTopology: { class_name: 'Sequential', config: {} },
    format: 'layers-model',
    generatedBy: 'test',
    convertedBy: null,
    weightSpecs: [
      { name: 'a', shape: [1], dtype: 'float32' },
      { name: 'b', shape: [2], dtype: 'float32' },
    ],
    weightData: [one, two],
    userDefinedMetadata: { note: 'kept' },
  });
  assert.deepEqual([...(await readFile(path.join(dir, 'weights.bin')))], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
  assert.deepEqual(json.userDefinedMetadata, { note: 'kept' });
  assert.equal('trainingConfig' in json, false);
  const back = await fileLoadHandler(path.join(dir, 'model.json')).load!();
  assert.deepEqual(
    [...new Uint8Array(tf.io.CompositeArrayBuffer.join(back.weightData!))],
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
  );
  assert.deepEqual(back.userDefinedMetadata, { note: 'kept' });
});

test('a crash before the swap leaves the previous checkpoint intact and no temporary directory', async () => {
  const dir = path.join(root, 'crash', 'best', 'crop_01');
  const first = tinyModel(10);
  await saveCheckpoint(first, dir, { epoch: 1 });
  const x = input();
  const expected = await predict(first, x);

  const second = tinyModel(20);
  assert.notDeepEqual(await predict(second, x), expected);
  let called = false;
  await assert.rejects(
    saveCheckpoint(
      second,
      dir,
      { epoch: 2 },
      {
        beforeSwap: async () => {
          called = true;
          // everything is already written to the temporary directory at this point
          const [tmp] = await siblings(dir);
          assert.match(tmp!, /^crop_01\.tmp-\d+-[0-9a-f]+$/);
          assert.deepEqual((await readdir(path.join(path.dirname(dir), tmp!))).sort(), [
            'checkpoint.json',
            'model.json',
            'weights.bin',
          ]);
          throw new Error('simulated crash');
        },
      },
    ),
    /simulated crash/,
  );
  assert.ok(called);
  assert.deepEqual(await siblings(dir), []);
  assert.deepEqual(await readCheckpointInfo(dir), { epoch: 1 });
  const loaded = await loadCheckpoint(dir);
  assert.deepEqual(await predict(loaded, x), expected);
  loaded.dispose();

  // and a later save replaces it normally
  await saveCheckpoint(second, dir, { epoch: 2 });
  assert.deepEqual(await readCheckpointInfo(dir), { epoch: 2 });
  const reloaded = await loadCheckpoint(dir);
  assert.deepEqual(await predict(reloaded, x), await predict(second, x));
  assert.deepEqual(await siblings(dir), []);
  reloaded.dispose();
  x.dispose();
  first.dispose();
  second.dispose();
});

test('a failing model save (before the swap) leaves the previous checkpoint too', async () => {
  const dir = path.join(root, 'fail-save');
  const model = tinyModel(4);
  await saveCheckpoint(model, dir, { epoch: 1 });
  const broken = tinyModel(5);
  broken.save = async () => {
    throw new Error('disk full');
  };
  await assert.rejects(saveCheckpoint(broken, dir, { epoch: 2 }), /disk full/);
  assert.deepEqual(await readCheckpointInfo(dir), { epoch: 1 });
  assert.deepEqual(await siblings(dir), []);
  model.dispose();
  broken.dispose();
});

test('a crash between the two renames: the .old- checkpoint is read, then restored', async () => {
  const dir = path.join(root, 'between', 'crop_02');
  const model = tinyModel(30);
  await saveCheckpoint(model, dir, { epoch: 7 });
  // state after "rename dir → .old-" and before "rename tmp → dir", tmp half written
  const old = `${dir}.old-99999999-abcdef`;
  await rename(dir, old);
  const tmp = `${dir}.tmp-99999999-abcdef`;
  await mkdir(tmp);
  await writeFile(path.join(tmp, 'model.json'), '{"modelTop');

  const x = input();
  const expected = await predict(model, x);
  // reading works without repairing
  assert.deepEqual(await readCheckpointInfo(dir), { epoch: 7 });
  const fromOld = await loadCheckpoint(dir);
  assert.deepEqual(await predict(fromOld, x), expected);
  fromOld.dispose();

  await recoverCheckpoint(dir);
  assert.deepEqual(await siblings(dir), []);
  assert.deepEqual((await readdir(dir)).sort(), ['checkpoint.json', 'model.json', 'weights.bin']);
  assert.deepEqual(await readCheckpointInfo(dir), { epoch: 7 });
  const restored = await loadCheckpoint(dir);
  assert.deepEqual(await predict(restored, x), expected);
  restored.dispose();
  x.dispose();
  model.dispose();
});

test('the next save restores a leftover .old- first, then replaces it and cleans up', async () => {
  const dir = path.join(root, 'next-save', 'crop_04');
  const a = tinyModel(40);
  await saveCheckpoint(a, dir, { epoch: 1 });
  await rename(dir, `${dir}.old-99999999-0011aa`);
  await mkdir(`${dir}.tmp-99999999-0011aa`);
  // a stale .old- next to an intact checkpoint is removed too
  const b = tinyModel(41);
  let seen: string[] = [];
  await saveCheckpoint(
    b,
    dir,
    { epoch: 2 },
    {
      beforeSwap: async () => {
        seen = (await readdir(path.dirname(dir))).sort();
      },
    },
  );
  // by the time of the swap, the old checkpoint was back at dir and the leftovers gone
  assert.equal(seen.length, 2);
  assert.ok(seen.includes('crop_04'));
  assert.ok(seen.some((n) => /^crop_04\.tmp-\d+-[0-9a-f]+$/.test(n) && !n.includes('99999999')));
  assert.deepEqual(await siblings(dir), []);
  assert.deepEqual(await readCheckpointInfo(dir), { epoch: 2 });
  a.dispose();
  b.dispose();
});

test('concurrent saves to one directory in one process are serialized', async () => {
  const dir = path.join(root, 'concurrent');
  const models = [tinyModel(50), tinyModel(51), tinyModel(52)];
  await Promise.all(models.map((m, i) => saveCheckpoint(m, dir, { epoch: i })));
  assert.deepEqual(await readCheckpointInfo(dir), { epoch: 2 });
  assert.deepEqual(await siblings(dir), []);
  const x = input();
  const loaded = await loadCheckpoint(dir);
  assert.deepEqual(await predict(loaded, x), await predict(models[2]!, x));
  loaded.dispose();
  x.dispose();
  for (const m of models) m.dispose();
});

test('U-Net checkpoints with custom layers load back', async () => {
  const dir = path.join(root, 'unet');
  const model = unet3d({ inputShape: [8, 8, 8, 1], outputChannels: 1, baseFilters: 2, depth: 2 });
  await saveCheckpoint(model, dir, { epoch: 0 });
  const topology = JSON.stringify(JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')).modelTopology);
  assert.match(topology, /UpSampling3D/);
  const x = tf.randomUniform([1, 8, 8, 8, 1], 0, 1, 'float32', 7);
  const loaded = await loadCheckpoint(dir);
  assert.deepEqual(await predict(loaded, x), await predict(model, x));
  loaded.dispose();
  x.dispose();
  model.dispose();
});

test('a U-Net checkpoint loads in a process that imports only the checkpoint module', async () => {
  const dir = path.join(root, 'unet-fresh');
  const model = unet3d({ inputShape: [8, 8, 8, 1], outputChannels: 1, baseFilters: 2, depth: 1 });
  await saveCheckpoint(model, dir, { epoch: 0 });
  model.dispose();
  const script = [
    "import * as tf from '@tensorflow/tfjs';",
    "import { loadCheckpoint } from './src/eval/checkpoint.ts';",
    "await tf.setBackend('cpu');",
    `const m = await loadCheckpoint(${JSON.stringify(dir)});`,
    'console.log(m.layers.map((l) => l.getClassName()).join(","));',
  ].join('\n');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: path.resolve(import.meta.dirname, '../..'),
    },
  );
  assert.match(stdout, /PatchConv3D/);
  assert.match(stdout, /UpSampling3D/);
});

test('missing checkpoints: readCheckpointInfo → null, loadCheckpoint rejects', async () => {
  const dir = path.join(root, 'nothing-here');
  assert.equal(await readCheckpointInfo(dir), null);
  await assert.rejects(loadCheckpoint(dir), /does not exist/);
});
