/**
 * `tfjs-zarr train` end to end on a tiny synthetic container (cpu backend, a 2-filter U-Net):
 * a run interrupted by SIGINT and resumed, and a run killed (SIGKILL) in the middle of saving its
 * resume point and resumed, end exactly as an uninterrupted run of the same config — the same
 * batches (first sample index and loss of every batch), scores, best checkpoints and final
 * weights and optimizer state. The report of the run renders in headless Chromium with its
 * images and without console errors.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { writeDemoContainer } from '../../examples/synthetic/write-container.js';
import { resolveRunConfig } from '../../src/run/config.js';
import { prepareRunDir, trainRun } from '../../src/run/train.js';
import { writeRunReport } from '../../src/report/run-report.js';
import { findChromium, inspectPage } from '../helpers/browser.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let dir: string;
let data: string;
let configFile: string;
const quiet = { message() {}, batch() {}, epoch() {}, validation() {}, evaluation() {}, stop() {} };

const RUN = {
  model: { baseFilters: 2, depth: 1 },
  inputShape: [8, 16, 16],
  batchSize: 2,
  epochs: 3,
  batchesPerEpoch: 6,
  minMasked: 0.5,
  augment: { mirror: true, transpose: true },
  optimizer: { learningRate: 0.01 },
  validation: { thresholds: [0.4, 0.6] },
  backend: 'cpu',
};

interface Proc {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `tfjs-zarr train` as a user does; `onLine` sees each stdout line (and may signal the process). */
function train(args: string[], env: Record<string, string> = {}, onLine?: (line: string, pid: number) => void) {
  return new Promise<Proc>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (d) => {
      stdout += String(d);
      partial += String(d);
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) onLine?.(l, child.pid!);
    });
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

async function lines(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Everything a run directory holds that must not depend on interruptions (times and paths left out). */
async function outcome(runDir: string) {
  const scores = (await lines(path.join(runDir, 'scores.jsonl'))).map(({ time: _, ...rest }) => rest);
  const best: Record<string, unknown> = {};
  for (const crop of (await readdir(path.join(runDir, 'best'))).sort()) {
    const {
      checkpoint: _,
      time: _time,
      ...info
    } = JSON.parse(await readFile(path.join(runDir, 'best', crop, 'checkpoint.json'), 'utf8'));
    best[crop] = { info, weights: await readFile(path.join(runDir, 'best', crop, 'weights.bin')) };
  }
  const {
    time: _t,
    trainSeconds: _s,
    ...state
  } = JSON.parse(await readFile(path.join(runDir, 'latest', 'checkpoint.json'), 'utf8'));
  return {
    loss: await lines(path.join(runDir, 'loss.jsonl')),
    scores,
    best,
    state,
    weights: await readFile(path.join(runDir, 'latest', 'weights.bin')),
    optimizer: await readFile(path.join(runDir, 'latest', 'optimizer.bin')),
  };
}

let reference: Awaited<ReturnType<typeof outcome>>;
const referenceDir = () => path.join(dir, 'runs', 'reference');

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tfjs-zarr-train-'));
  data = path.join(dir, 'data.zarr');
  await writeDemoContainer(data, { small: true });
  configFile = path.join(dir, 'run.json');
  await writeFile(configFile, JSON.stringify({ ...RUN, data }, null, 2));
  // The uninterrupted run, in this process.
  await tf.setBackend('cpu');
  const config = resolveRunConfig({ ...RUN, data, runDir: referenceDir() });
  await prepareRunDir(config);
  const result = await trainRun(config, { progress: quiet });
  assert.equal(result.status, 'complete');
  reference = await outcome(referenceDir());
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tfjs-zarr train', () => {
  test('the uninterrupted run: every batch logged with its samples, every epoch evaluated', () => {
    assert.equal(reference.loss.length, RUN.epochs * RUN.batchesPerEpoch);
    reference.loss.forEach((row, i) => {
      assert.equal(row['batch'], i);
      assert.equal(row['firstSample'], i * RUN.batchSize);
      assert.equal(row['epoch'], Math.floor(i / RUN.batchesPerEpoch));
    });
    assert.equal(reference.scores.length, RUN.epochs * 2 * 2); // epochs × test crops × thresholds
    assert.deepEqual(reference.state, { epoch: 3, batchInEpoch: 0, batches: 18, samples: 36 });
    assert.deepEqual(Object.keys(reference.best), ['crop_03', 'crop_04']);
  });

  test('SIGINT stops after the step, saves, exits 130; train --run resumes into the uninterrupted result', async () => {
    const runDir = path.join(dir, 'runs', 'sigint');
    let sent = false;
    const first = await train([configFile, '--run', runDir], {}, (line, pid) => {
      if (!sent && line.startsWith('epoch 1/3')) {
        sent = true;
        setTimeout(() => process.kill(pid, 'SIGINT'), 200); // most likely in the middle of epoch 2
      }
    });
    assert.equal(first.code, 130, `${first.stdout}\n${first.stderr}`);
    assert.match(first.stdout, /Interrupted after .*\(\d+ batches\); resume point saved/);
    const saved = JSON.parse(await readFile(path.join(runDir, 'latest', 'checkpoint.json'), 'utf8'));
    assert.ok(saved.batches >= 6 && saved.batches < 18, `interrupted after ${saved.batches} batches`);

    const second = await train(['--run', runDir]);
    assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
    assert.match(
      second.stdout,
      new RegExp(`Resuming .* \\(${saved.batches} batches, ${saved.samples} samples trained\\)`),
    );
    assert.deepEqual(await outcome(runDir), reference);
  });

  test('stopped in the middle of an epoch (abort signal) and resumed: the uninterrupted result', async () => {
    const runDir = path.join(dir, 'runs', 'aborted');
    const config = resolveRunConfig({ ...RUN, data, runDir });
    await prepareRunDir(config);
    const controller = new AbortController();
    const stopped = await trainRun(config, {
      signal: controller.signal,
      progress: { ...quiet, batch: (p) => (p.epoch === 1 && p.batch === 2 ? controller.abort() : undefined) },
    });
    assert.equal(stopped.status, 'interrupted');
    assert.deepEqual(
      { ...stopped.state, trainSeconds: 0 },
      { epoch: 1, batchInEpoch: 2, batches: 8, samples: 16, trainSeconds: 0 },
    );
    const resumed = await trainRun(config, { progress: quiet });
    assert.equal(resumed.status, 'complete');
    assert.deepEqual(resumed.resumedFrom?.batches, 8);
    assert.deepEqual(await outcome(runDir), reference);
  });

  test('SIGKILL in the middle of a save: the previous resume point is intact and the resumed run ends as if never killed', async () => {
    const runDir = path.join(dir, 'runs', 'sigkill');
    const marker = path.join(dir, 'stalled');
    let killed = false;
    const child = train([configFile, '--run', runDir], { TFJS_ZARR_TEST_STALL_SAVE: marker });
    // The first save (after epoch 1) goes through; the second stalls after writing its files.
    let exited: Proc | null = null;
    void child.then((p) => (exited = p));
    const deadline = Date.now() + 90_000;
    while (!existsSync(marker) && !exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(marker), `the save never stalled: ${JSON.stringify(exited)}`);
    const pid = Number((await readFile(marker, 'utf8')).trim());
    process.kill(pid, 'SIGKILL');
    killed = true;
    const first = await child;
    assert.ok(killed);
    assert.equal(first.signal, 'SIGKILL');
    const siblings = (await readdir(path.join(runDir))).filter((n) => n.startsWith('latest'));
    assert.ok(siblings.includes('latest'), `resume point left: ${siblings}`);
    assert.ok(
      siblings.some((n) => n.startsWith('latest.tmp-')),
      `the killed save left its temporary directory: ${siblings}`,
    );
    const previous = JSON.parse(await readFile(path.join(runDir, 'latest', 'checkpoint.json'), 'utf8'));
    assert.equal(previous.batches, 6, 'the complete resume point is the one saved after epoch 1');
    // The killed process had logged epoch 2 past that point: the resume must not count it twice.
    assert.equal((await lines(path.join(runDir, 'loss.jsonl'))).length, 12);

    const second = await train(['--run', runDir]);
    assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
    assert.match(second.stdout, /Resuming .* at epoch 2, batch 1 \(6 batches, 12 samples trained\)/);
    assert.deepEqual(
      (await readdir(runDir)).filter((n) => n.startsWith('latest')),
      ['latest'],
      'leftovers of the killed save removed',
    );
    assert.deepEqual(await outcome(runDir), reference);
  });

  test('a run directory refuses a config that would make another run, naming the difference', async () => {
    const changed = resolveRunConfig({ ...RUN, data, runDir: referenceDir() }, { flags: { target: 'affinities' } });
    await assert.rejects(prepareRunDir(changed), (e: Error) => {
      assert.match(e.message, /holds a run started with another config/);
      assert.match(e.message, /target\.kind: "boundary" in the run, "affinities" now/);
      assert.match(e.message, /model\.outputChannels: 1 in the run, 3 now/);
      return true;
    });
    // What may change: the schedule, the validation, the backend, the learning rate.
    const extended = resolveRunConfig(
      {
        ...RUN,
        data,
        runDir: referenceDir(),
        epochs: 3,
        validation: { thresholds: [0.5] },
        optimizer: { learningRate: 0.001 },
      },
      { flags: { backend: 'wasm', seconds: 60 } },
    );
    assert.deepEqual(await prepareRunDir(extended), { resuming: true });
    // A directory where nothing was trained (a start that failed) takes another config.
    const fresh = path.join(dir, 'runs', 'fresh');
    await prepareRunDir(resolveRunConfig({ ...RUN, data, runDir: fresh }));
    await prepareRunDir(resolveRunConfig({ ...RUN, data, runDir: fresh, target: 'affinities' }));
    // A finished run has nothing left to train.
    const lines: string[] = [];
    const tensors = tf.memory().numTensors;
    const again = await trainRun(resolveRunConfig({ ...RUN, data, runDir: referenceDir() }), {
      progress: { ...quiet, message: (l: string) => lines.push(l) },
    });
    assert.equal(again.status, 'complete');
    assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind by loading the resume point');
    assert.ok(
      lines.some((l) => /has trained all 3 epochs/.test(l)),
      lines.join('\n'),
    );
    await prepareRunDir(resolveRunConfig({ ...RUN, data, runDir: referenceDir() })); // restore config.json
  });
});

describe('tfjs-zarr report', () => {
  test('renders in headless Chromium with its images and no console errors', async (t) => {
    const index = await writeRunReport(referenceDir());
    const html = await readFile(index, 'utf8');
    for (const crop of ['crop_03', 'crop_04']) {
      assert.ok(html.includes(`src="${crop}_slice.png"`), `${crop} slice`);
      assert.ok(html.includes(`src="${crop}_voi.svg"`), `${crop} VOI plot`);
    }
    assert.ok(html.includes('src="loss.svg"'));
    assert.match(html, /<th>parameters<\/th>/);
    assert.match(html, /threshold 0\.[46]/);
    const voiSvg = await readFile(path.join(path.dirname(index), 'crop_03_voi.svg'), 'utf8');
    const bestEpoch = (reference.best['crop_03'] as { info: { epoch: number } }).info.epoch + 1;
    assert.ok(voiSvg.includes(`best: epoch ${bestEpoch}`), 'best epoch marked on the VOI plot');

    const chromium = findChromium();
    if (!chromium) {
      t.skip('no chromium on PATH (Debian: apt-get install chromium): the browser check is skipped');
      return;
    }
    const page = await inspectPage(chromium, index);
    assert.deepEqual(page.errors, []);
    assert.equal(page.title, 'tfjs-zarr run reference');
    assert.equal(page.images.length, 5, JSON.stringify(page.images));
    for (const image of page.images) assert.ok(image.naturalWidth > 0, `${image.src} did not load`);
  });
});
