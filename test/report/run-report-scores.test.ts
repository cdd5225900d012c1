/**
 * tfjs-zarr report over a run with more scores than VOI: each score's curve over epochs (per-class
 * scores: the mean and each class) and the table of best checkpoints by the other criteria
 * (best-<criterion>/<crop>/).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeRunReport } from '../../src/index.js';
import { resolveRunConfig } from '../../src/run/config.js';
import { appendScores, type ScoreRow } from '../../src/eval/scores.js';

test('the report shows every score of the run and the bests by other criteria', async () => {
  const runDir = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-report-scores-'));
  try {
    const config = resolveRunConfig(
      {
        data: path.join(runDir, 'nowhere.zarr'),
        runDir,
        target: { kind: 'distance', scaleFactor: 8, classes: [1, 2] },
        validation: { scores: ['voi', 'arand', 'dice'], keepBestBy: ['arand', 'dice_2'] },
      },
      { cwd: runDir },
    );
    await writeFile(path.join(runDir, 'config.json'), JSON.stringify(config));
    const rows: ScoreRow[] = [0, 1, 2].map((epoch) => ({
      epoch,
      crop: 'crop_03',
      postProcessor: 'distance',
      parameters: { threshold: 0 },
      voiSplit: 1 - epoch / 4,
      voiMerge: 0.5,
      voi: 1.5 - epoch / 4,
      arand: 0.5 - epoch / 10,
      dice: 0.5 + epoch / 10,
      classes: { '1': { dice: 0.4 + epoch / 10 }, '2': { dice: 0.6 + epoch / 10 } },
      time: 0,
    }));
    await appendScores(runDir, rows);
    for (const [dir, row, criterion] of [
      ['best', rows[2]!, 'voi'],
      ['best-arand', rows[2]!, 'arand'],
      ['best-dice_2', rows[1]!, 'dice_2'],
    ] as const) {
      const at = path.join(runDir, dir, 'crop_03');
      await mkdir(at, { recursive: true });
      await writeFile(path.join(at, 'checkpoint.json'), JSON.stringify({ ...row, checkpoint: at, criterion }));
    }
    const index = await writeRunReport(runDir, { slices: false });
    const html = await readFile(index, 'utf8');
    assert.match(html, /Best checkpoints by other criteria/);
    assert.match(html, /<td class="text">arand<\/td><td>3<\/td><td><b>0\.300<\/b><\/td>/);
    assert.match(html, /<td class="text">dice_2<\/td><td>2<\/td><td><b>0\.700<\/b><\/td>/);
    for (const plot of ['crop_03_arand.svg', 'crop_03_dice.svg']) {
      assert.ok((await stat(path.join(runDir, 'report', plot))).isFile(), plot);
    }
    const dice = await readFile(path.join(runDir, 'report', 'crop_03_dice.svg'), 'utf8');
    assert.match(dice, /dice \(mean\)/);
    assert.match(dice, /dice_2/);
    assert.match(html, /distance, scale factor 8/);
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
});
