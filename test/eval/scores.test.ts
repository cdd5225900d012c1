import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, appendFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { appendScores, readScores, bestByCrop, scoresPath, type ScoreRow } from '../../src/eval/scores.js';
import { DataFormatError } from '../../src/errors.js';

let root: string;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'tfjs-zarr-scores-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

function row(crop: string, epoch: number, voi: number, extra: Partial<ScoreRow> = {}): ScoreRow {
  return {
    epoch,
    crop,
    parameters: { threshold: 0.5 },
    voiSplit: voi / 2,
    voiMerge: voi / 2,
    voi,
    time: '2024-01-01T00:00:00.000Z',
    ...extra,
  };
}

test('append creates the run directory and writes one JSON object per line', async () => {
  const runDir = path.join(root, 'a', 'run');
  assert.deepEqual(await readScores(runDir), []);
  const rows = [row('crop_01', 0, 1.5), row('crop_02', 0, 0.75, { batch: 10 })];
  await appendScores(runDir, rows);
  await appendScores(runDir, row('crop_01', 1, 1.25));
  await appendScores(runDir, []);
  const text = await readFile(scoresPath(runDir), 'utf8');
  assert.equal(scoresPath(runDir), path.join(runDir, 'scores.jsonl'));
  const lines = text.split('\n');
  assert.equal(lines.length, 4);
  assert.equal(lines[3], '');
  assert.deepEqual(JSON.parse(lines[1]!), rows[1]);
  assert.deepEqual(await readScores(runDir), [...rows, row('crop_01', 1, 1.25)]);
});

test('a truncated last line is ignored, and cut off by the next append', async () => {
  const runDir = path.join(root, 'truncated');
  await appendScores(runDir, [row('crop_01', 0, 2), row('crop_01', 1, 1)]);
  const full = JSON.stringify(row('crop_01', 2, 0.5));
  await appendFile(scoresPath(runDir), full.slice(0, 25));
  assert.deepEqual(await readScores(runDir), [row('crop_01', 0, 2), row('crop_01', 1, 1)]);

  await appendScores(runDir, row('crop_01', 2, 0.5));
  const lines = (await readFile(scoresPath(runDir), 'utf8')).split('\n');
  assert.equal(lines.length, 4);
  assert.deepEqual(await readScores(runDir), [row('crop_01', 0, 2), row('crop_01', 1, 1), row('crop_01', 2, 0.5)]);
});

test('a zero-filled tail (a torn write on some file systems) is ignored too', async () => {
  const runDir = path.join(root, 'zeros');
  await appendScores(runDir, row('crop_01', 0, 2));
  await appendFile(scoresPath(runDir), Buffer.alloc(16));
  assert.deepEqual(await readScores(runDir), [row('crop_01', 0, 2)]);
  await appendScores(runDir, row('crop_01', 1, 1));
  assert.deepEqual(await readScores(runDir), [row('crop_01', 0, 2), row('crop_01', 1, 1)]);
});

test('a complete last line without a newline is kept, and the next append does not glue onto it', async () => {
  const runDir = path.join(root, 'no-newline');
  await mkdir(runDir, { recursive: true });
  await writeFile(scoresPath(runDir), JSON.stringify(row('crop_01', 0, 2)));
  assert.deepEqual(await readScores(runDir), [row('crop_01', 0, 2)]);
  await appendScores(runDir, row('crop_01', 1, 1));
  assert.deepEqual(await readScores(runDir), [row('crop_01', 0, 2), row('crop_01', 1, 1)]);
});

test('a bad line before the last one is an error', async () => {
  const runDir = path.join(root, 'corrupt');
  await mkdir(runDir, { recursive: true });
  await writeFile(
    scoresPath(runDir),
    `${JSON.stringify(row('crop_01', 0, 2))}\n{"epoch": 1, "cr\n${JSON.stringify(row('crop_01', 2, 1))}\n`,
  );
  await assert.rejects(readScores(runDir), (e: unknown) => e instanceof DataFormatError && /line 2/.test(e.message));
});

test('bestByCrop: lowest voi per crop, ties to the earliest epoch, non-finite voi never wins', () => {
  const rows: ScoreRow[] = [
    row('crop_01', 0, 2.0),
    row('crop_02', 0, Number.NaN),
    row('crop_01', 1, 0.9, { parameters: { threshold: 0.3 } }),
    row('crop_02', 1, 1.1),
    row('crop_01', 2, 0.9, { parameters: { threshold: 0.7 } }),
    row('crop_02', 0, 1.1, { batch: 50 }),
    row('crop_03', 4, Number.NaN),
    row('crop_02', 3, 1.2),
  ];
  const best = bestByCrop(rows);
  assert.deepEqual([...best.keys()], ['crop_01', 'crop_02']);
  assert.equal(best.get('crop_01'), rows[2]);
  assert.equal(best.get('crop_02'), rows[5]);
  assert.equal(best.get('crop_03'), undefined);
  // within one epoch, the earlier batch; then the first row
  const sameEpoch = [row('c', 1, 1, { batch: 20 }), row('c', 1, 1, { batch: 10 }), row('c', 1, 1, { batch: 10 })];
  assert.equal(bestByCrop(sameEpoch).get('c'), sameEpoch[1]);
  assert.equal(bestByCrop([]).size, 0);
});

test('bestByCrop over rows read back (NaN written as null)', async () => {
  const runDir = path.join(root, 'best');
  await appendScores(runDir, [row('crop_01', 0, Number.NaN), row('crop_01', 1, 3)]);
  const rows = await readScores(runDir);
  assert.equal(rows[0]!.voi, null);
  assert.deepEqual(bestByCrop(rows).get('crop_01'), row('crop_01', 1, 3));
});
