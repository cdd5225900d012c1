/**
 * The scores file of a run directory, `<runDir>/scores.jsonl`: one JSON object per line, one line
 * per (epoch, crop, post-processing parameters) evaluated, appended durably through the run
 * directory (`rundir/`: a file in Node, IndexedDB in a page). A crash can at worst leave a
 * truncated last line, which `readScores` ignores and the next `appendScores` cuts off.
 */
import { DataFormatError } from '../errors.js';
import { openRunDir } from '../rundir/open.js';
import { fromUtf8, type RunDir } from '../rundir/run-dir.js';
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
  return openRunDir(runDir).locate(SCORES_FILENAME);
}

const runDirOf = (dir: string | RunDir): RunDir => (typeof dir === 'string' ? openRunDir(dir) : dir);

function isRowObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Appends `rows` (one JSON line each) to `<runDir>/scores.jsonl`, creating it as needed. */
export async function appendScores(runDir: string | RunDir, rows: ScoreRow | readonly ScoreRow[]): Promise<void> {
  const list: readonly ScoreRow[] = Array.isArray(rows) ? rows : [rows as ScoreRow];
  await runDirOf(runDir).appendJsonLines(SCORES_FILENAME, list);
}

/**
 * Every row of `<runDir>/scores.jsonl`, in file order ([] when there is no file yet). A last line
 * that is not a complete JSON object (a write cut short by a crash) is ignored; a bad line
 * anywhere else is an error.
 */
export async function readScores(runDir: string | RunDir): Promise<ScoreRow[]> {
  const dir = runDirOf(runDir);
  const bytes = await dir.read(SCORES_FILENAME);
  if (!bytes) return [];
  const text = fromUtf8(bytes);
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
        container: dir.locate(SCORES_FILENAME),
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
