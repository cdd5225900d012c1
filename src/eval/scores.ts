/**
 * The scores file of a run directory, `<runDir>/scores.jsonl`: one JSON object per line, one line
 * per (epoch, crop, post-processing parameters) evaluated. Appends are fsynced; a crash can at
 * worst leave a truncated last line, which `readScores` ignores and the next `appendScores`
 * cuts off before writing.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { DataFormatError } from '../errors.js';
import { isErrno, writeFully } from '../fs/files.js';
import type { PostProcessParameters } from './postprocess.js';

export const SCORES_FILENAME = 'scores.jsonl';

export interface ScoreRow {
  /** Epoch the model was evaluated after (0-based, as in tf's onEpochEnd). */
  epoch: number;
  /** Batch within the epoch, when evaluating more often than once per epoch. */
  batch?: number;
  /** Test crop name, e.g. 'crop_03'. */
  crop: string;
  /** Name of the post-processor (e.g. 'boundary'). */
  postProcessor?: string;
  /** Post-processing parameters that produced this segmentation (e.g. { threshold: 0.5 }). */
  parameters: PostProcessParameters;
  voiSplit: number;
  voiMerge: number;
  voi: number;
  /** When the score was computed: an ISO 8601 string or milliseconds since the epoch. */
  time: string | number;
}

/** `<runDir>/scores.jsonl`. */
export function scoresPath(runDir: string): string {
  return path.join(runDir, SCORES_FILENAME);
}

function isRowObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Appends `rows` (one JSON line each) to `<runDir>/scores.jsonl`, creating the directory and
 * file as needed, and fsyncs. A partial last line left by a crash is removed first, so it cannot
 * glue onto the new rows.
 */
export async function appendScores(runDir: string, rows: ScoreRow | readonly ScoreRow[]): Promise<void> {
  const list: readonly ScoreRow[] = Array.isArray(rows) ? rows : [rows as ScoreRow];
  await fsp.mkdir(runDir, { recursive: true });
  const file = scoresPath(runDir);
  const fh = await fsp.open(file, 'a+');
  try {
    await repairTail(fh);
    if (list.length > 0) {
      const text = list.map((r) => `${JSON.stringify(r)}\n`).join('');
      // 'a+' opens with O_APPEND: every write goes to the current end of the file.
      await writeFully(fh, Buffer.from(text, 'utf8'));
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * If the file does not end with a newline, its last line was cut short by a crash (or written by
 * hand without one): drop it when it is not a complete JSON object, otherwise end it with '\n'.
 */
async function repairTail(fh: import('node:fs/promises').FileHandle): Promise<void> {
  const { size } = await fh.stat();
  if (size === 0) return;
  const last = Buffer.alloc(1);
  await fh.read(last, 0, 1, size - 1);
  if (last[0] === 0x0a) return;
  // Find the start of the last line, reading backwards in blocks.
  const block = 64 * 1024;
  let start = 0;
  let pos = size;
  search: while (pos > 0) {
    const from = Math.max(0, pos - block);
    const buf = Buffer.alloc(pos - from);
    await fh.read(buf, 0, buf.length, from);
    for (let i = buf.length - 1; i >= 0; i--) {
      if (buf[i] === 0x0a) {
        start = from + i + 1;
        break search;
      }
    }
    pos = from;
  }
  const tail = Buffer.alloc(size - start);
  await fh.read(tail, 0, tail.length, start);
  let complete = false;
  try {
    complete = isRowObject(JSON.parse(tail.toString('utf8')));
  } catch {
    complete = false;
  }
  if (complete) await fh.write('\n');
  else await fh.truncate(start);
}

/**
 * Every row of `<runDir>/scores.jsonl`, in file order ([] when there is no file yet). A last line
 * that is not a complete JSON object (a write cut short by a crash) is ignored; a bad line
 * anywhere else is an error.
 */
export async function readScores(runDir: string): Promise<ScoreRow[]> {
  const file = scoresPath(runDir);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return [];
    throw e;
  }
  const lines = text.split('\n');
  let lastContent = lines.length - 1;
  while (lastContent >= 0 && lines[lastContent]!.trim() === '') lastContent--;
  const rows: ScoreRow[] = [];
  for (let i = 0; i <= lastContent; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let value: unknown;
    let ok = false;
    try {
      value = JSON.parse(line);
      ok = isRowObject(value);
    } catch {
      ok = false;
    }
    if (!ok) {
      // Only the very last line can be a torn write (and only if nothing follows it).
      if (i === lastContent && !text.endsWith('\n')) break;
      throw new DataFormatError(`line ${i + 1} is not a JSON object: ${JSON.stringify(line.slice(0, 80))}`, {
        container: file,
      });
    }
    rows.push(value as ScoreRow);
  }
  return rows;
}

function finiteVoi(row: RankedScore): boolean {
  return typeof row.voi === 'number' && Number.isFinite(row.voi);
}

/** What the best-score rule looks at. */
type RankedScore = Pick<ScoreRow, 'voi'> & Partial<Pick<ScoreRow, 'epoch' | 'batch'>>;

/**
 * The best-score rule: `a` replaces `b` (undefined: no best yet) when its voi is finite and lower,
 * or equal and earlier (epoch, then batch). A voi that is not a finite number (NaN is written to
 * JSON as null) never wins.
 */
export function isBetterScore(a: RankedScore, b: RankedScore | undefined): boolean {
  if (!finiteVoi(a)) return false;
  if (b === undefined || !finiteVoi(b)) return true;
  if (a.voi !== b.voi) return a.voi < b.voi;
  if (a.epoch !== b.epoch) return (a.epoch ?? -1) < (b.epoch ?? -1);
  return (a.batch ?? -1) < (b.batch ?? -1);
}

/**
 * Per crop, the best row by {@link isBetterScore} (ties of voi, epoch and batch: the first in
 * `rows`). Crops appear in the order of their first finite row.
 */
export function bestByCrop(rows: Iterable<ScoreRow>): Map<string, ScoreRow> {
  const best = new Map<string, ScoreRow>();
  for (const row of rows) {
    if (isBetterScore(row, best.get(row.crop))) best.set(row.crop, row);
  }
  return best;
}
