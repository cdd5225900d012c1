/**
 * The run's line logs: `<runDir>/loss.jsonl` (one line per batch: epoch, batch, first sample,
 * loss) and the hook's `scores.jsonl`. On resume both are cut back to the resume point, so work
 * done after the latest checkpoint by a killed process is not counted twice.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isErrno, writeFileSynced, writeFully } from '../fs/files.js';
import { scoresPath } from '../eval/scores.js';
import type { TrainState } from './state.js';

export const LOSS_FILENAME = 'loss.jsonl';

export interface LossRow {
  /** 0-based epoch. */
  epoch: number;
  /** 0-based batch index over the whole run. */
  batch: number;
  /** Sample index of the batch's first sample (samples are a function of the seed and this index). */
  firstSample: number;
  loss: number;
}

export function lossPath(runDir: string): string {
  return path.join(runDir, LOSS_FILENAME);
}

/** Appends rows (fsynced). */
export async function appendJsonl(file: string, rows: readonly object[]): Promise<void> {
  if (rows.length === 0) return;
  const fh = await fsp.open(file, 'a');
  try {
    await writeFully(fh, Buffer.from(rows.map((r) => `${JSON.stringify(r)}\n`).join(''), 'utf8'));
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The complete lines of a JSON-lines file, parsed (a missing file: none; a torn last line is skipped). */
export async function readJsonl<T>(file: string): Promise<T[]> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return [];
    throw e;
  }
  const rows: T[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      rows.push(JSON.parse(line) as T);
    } catch (e) {
      if (i === lines.length - 1) return; // a line torn by a crash mid-append
      throw new Error(`${file}, line ${i + 1}: not valid JSON (${(e as Error).message})`);
    }
  });
  return rows;
}

/** Rewrites a JSON-lines file keeping the rows `keep` accepts (atomically: temporary file + rename). */
export async function filterJsonl<T>(file: string, keep: (row: T) => boolean): Promise<number> {
  const rows = await readJsonl<T>(file);
  const kept = rows.filter(keep);
  if (kept.length === rows.length) {
    // Still drop a torn last line, so the next append starts on a line of its own.
    const text = await fsp.readFile(file, 'utf8').catch(() => '');
    if (text === '' || text.endsWith('\n')) return 0;
  }
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFileSynced(
    tmp,
    kept.map((r) => `${JSON.stringify(r)}\n`),
  );
  await fsp.rename(tmp, file);
  return rows.length - kept.length;
}

/** Cuts loss and score logs back to `state`: batches and evaluations after it are dropped. */
export async function rewindLogs(runDir: string, state: TrainState): Promise<void> {
  await filterJsonl<LossRow>(lossPath(runDir), (r) => r.batch < state.batches);
  await filterJsonl<{ epoch: number }>(scoresPath(runDir), (r) => r.epoch < state.epoch);
}
