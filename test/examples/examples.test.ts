/**
 * The example scripts run as a user runs them (`node --import tsx examples/<name>.ts --smoke`,
 * from the repository root), each on its own data and run directory under the OS temp folder:
 * exit code 0, a VOI line for every test crop after each evaluation, a best checkpoint per test
 * crop on disk. The demo also prints its final table and writes its HTML report.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Run {
  code: number | null;
  output: string;
  seconds: number;
}

function runExample(script: string, args: string[]): Promise<Run> {
  const start = performance.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', `examples/${script}`, ...args],
      {
        cwd: REPO_ROOT,
        timeout: 120_000,
        maxBuffer: 16 << 20,
        env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}\n--- stderr ---\n${stderr}`, seconds: (performance.now() - start) / 1000 });
      },
    );
  });
}

const EXAMPLES: { script: string; testCrops: string[]; scores?: RegExp; bestBy?: string }[] = [
  { script: 'simple-layout.ts', testCrops: ['data'] },
  { script: 'masked-boundary.ts', testCrops: ['crop_03', 'crop_04'] },
  { script: 'affinities.ts', testCrops: ['test'] },
  { script: 'http.ts', testCrops: ['crop_03', 'crop_04'] },
  { script: 'upsample.ts', testCrops: ['test'] },
  { script: 'openorganelle.ts', testCrops: ['jrc_synthetic'] },
  // A distance model: VOI, ARand and Dice per crop, a best checkpoint by ARand too.
  {
    script: 'distance.ts',
    testCrops: ['crop_03', 'crop_04'],
    scores: /VOI \d+\.\d+, ARand \d+\.\d+, Dice \d+\.\d+/,
    bestBy: 'arand',
  },
];

describe('examples in smoke mode', () => {
  let tmp = '';
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'tfjs-zarr-examples-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  for (const { script, testCrops, scores, bestBy } of EXAMPLES) {
    test(`examples/${script} --smoke`, async () => {
      const name = path.basename(script, '.ts');
      const runDir = path.join(tmp, `${name}-run`);
      const run = await runExample(script, [
        '--smoke',
        '--run',
        runDir,
        '--data',
        path.join(tmp, `${name}-data`, 'data.zarr'),
      ]);
      assert.equal(run.code, 0, `exit code ${run.code} after ${run.seconds.toFixed(1)} s:\n${run.output}`);
      assert.match(run.output, /Backend: \w+/, run.output);
      for (const crop of testCrops) {
        assert.match(
          run.output,
          new RegExp(`epoch 0: ${crop} VOI \\d+\\.\\d+`),
          `VOI of ${crop} after epoch 0:\n${run.output}`,
        );
        assert.match(
          run.output,
          new RegExp(`best ${crop}: epoch \\d+, VOI \\d+\\.\\d+`),
          `best checkpoint of ${crop}:\n${run.output}`,
        );
        assert.ok(
          existsSync(path.join(runDir, 'best', crop, 'model.json')),
          `${runDir}/best/${crop}/model.json exists`,
        );
        if (scores) assert.match(run.output, new RegExp(`epoch 0: ${crop} ${scores.source}`), run.output);
        if (bestBy)
          assert.ok(existsSync(path.join(runDir, `best-${bestBy}`, crop, 'model.json')), `best-${bestBy}/${crop}`);
      }
      assert.ok(existsSync(path.join(runDir, 'scores.jsonl')), 'scores.jsonl exists');
    });
  }

  test('examples/serial-em.ts --smoke: PNG stack → zarr, planned defaults, baselines and report', async () => {
    const runDir = path.join(tmp, 'serial-em-run');
    const run = await runExample('serial-em.ts', [
      '--smoke',
      '--run',
      runDir,
      '--data',
      path.join(tmp, 'serial-em-data', 'data.zarr'),
    ]);
    assert.equal(run.code, 0, `exit code ${run.code} after ${run.seconds.toFixed(1)} s:\n${run.output}`);
    assert.match(run.output, /Planned model\.downsampleFactors \[\[1,2,2\],\[1,2,2\]\]: in-plane/, run.output);
    assert.match(run.output, /Planned target\.offsets \[\[0,-1,0\],\[0,0,-1\]\]/, run.output);
    for (const crop of ['crop_c', 'crop_d']) {
      assert.match(run.output, new RegExp(`${crop}: 8 samples: \\d+\\.\\d+ .*one segment per section`), run.output);
    }
    const config = JSON.parse(await readFile(path.join(runDir, 'config.json'), 'utf8'));
    assert.deepEqual(config.model.kernelSizes[0], [1, 3, 3], 'the plan is in the effective config');
    assert.ok(existsSync(path.join(runDir, 'report', 'index.html')), `${runDir}/report/index.html exists`);
  });

  test('examples/demo.ts --smoke: final table and report', async () => {
    const runDir = path.join(tmp, 'demo-run');
    const run = await runExample('demo.ts', [
      '--smoke',
      '--run',
      runDir,
      '--data',
      path.join(tmp, 'demo-data', 'demo.zarr'),
    ]);
    assert.equal(run.code, 0, `exit code ${run.code} after ${run.seconds.toFixed(1)} s:\n${run.output}`);
    assert.match(run.output, /best epoch/, run.output);
    for (const crop of ['crop_03', 'crop_04'])
      assert.match(run.output, new RegExp(`${crop} VOI \\d+\\.\\d+`), run.output);
    assert.ok(existsSync(path.join(runDir, 'report', 'index.html')), `${runDir}/report/index.html exists`);
  });
});
