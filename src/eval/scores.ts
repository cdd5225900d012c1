/**
 * The scores file of a run directory, `<runDir>/scores.jsonl`: one JSON object per line, one line
 * per (epoch, crop, post-processing parameters) evaluated, appended durably through the run
 * directory (`rundir/`: a file in Node, IndexedDB in a page). A crash can at worst leave a
 * truncated last line, which `readScores` ignores and the next `appendScores` cuts off.
 */
import { DataFormatError, OptionsError } from '../errors.js';
import { openRunDir } from '../rundir/open.js';
import { fromUtf8, type RunDir } from '../rundir/run-dir.js';
import type { BinaryScores } from './binary.js';
import type { PostProcessParameters } from './postprocess.js';

export const SCORES_FILENAME = 'scores.jsonl';

/** The scores a ValidationHook can compute (VOI always). */
export const SCORE_NAMES = [
  'voi',
  'arand',
  'cremi',
  'dice',
  'iou',
  'precision',
  'recall',
  'f1',
  'hausdorff',
  'hausdorff95',
  'falseDistanceClipped',
  'precisionWithTolerance',
  'recallWithTolerance',
  'f1WithTolerance',
] as const;

export type ScoreName = (typeof SCORE_NAMES)[number];

/** Scores of one class (per-class scores of semantic and distance tasks). */
export const CLASS_SCORES: readonly ScoreName[] = SCORE_NAMES.filter((n) => !['voi', 'arand', 'cremi'].includes(n));

/** Scores where a higher value is better (the others: lower). */
const HIGHER_IS_BETTER = new Set<string>([
  'dice',
  'iou',
  'precision',
  'recall',
  'f1',
  'precisionWithTolerance',
  'recallWithTolerance',
  'f1WithTolerance',
  'arandPrecision',
  'arandRecall',
]);

/** Values a criterion can name in a row besides the scores: VOI's and ARand's parts. */
const PARTS = ['voiSplit', 'voiMerge', 'arandPrecision', 'arandRecall'];

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
  /** The adapted Rand error (scikit-image's), its precision and recall. */
  arand?: number;
  arandPrecision?: number;
  arandRecall?: number;
  /** √(voi · arand). */
  cremi?: number;
  /** Per class (semantic and distance tasks): that class's scores. */
  classes?: Record<string, Partial<BinaryScores>>;
  /** Means over the classes whose score is a number (NaN when none is). */
  dice?: number;
  iou?: number;
  precision?: number;
  recall?: number;
  f1?: number;
  hausdorff?: number;
  hausdorff95?: number;
  falseDistanceClipped?: number;
  precisionWithTolerance?: number;
  recallWithTolerance?: number;
  f1WithTolerance?: number;
  /** When the score was computed: an ISO 8601 string or milliseconds since the epoch. */
  time: string | number;
}

/**
 * A criterion a best checkpoint is kept by: a score name ('voi', 'arand', 'dice' — the mean over
 * classes — …), a part ('voiSplit', 'arandRecall', …) or a class's score, `<score>_<class>`
 * ('dice_mito'). Returns the base score (its direction) or throws naming what is known.
 */
export function checkCriterion(criterion: string, classes: readonly string[] = []): { score: string; class?: string } {
  if ((SCORE_NAMES as readonly string[]).includes(criterion) || PARTS.includes(criterion)) return { score: criterion };
  for (const score of CLASS_SCORES) {
    const prefix = `${score}_`;
    if (criterion.startsWith(prefix) && classes.includes(criterion.slice(prefix.length))) {
      return { score, class: criterion.slice(prefix.length) };
    }
  }
  const known = [
    ...SCORE_NAMES,
    ...PARTS,
    ...(classes.length ? [`<score>_<class> with class ${classes.join(', ')}`] : []),
  ];
  throw new OptionsError(`unknown score criterion ${JSON.stringify(criterion)}; known: ${known.join(', ')}`);
}

/** The value of `criterion` in a row (undefined when the row does not have it). */
export function scoreValue(row: Partial<ScoreRow>, criterion: string): number | undefined {
  const direct = (row as Record<string, unknown>)[criterion];
  if (typeof direct === 'number' || direct === null) return direct ?? NaN;
  for (const score of CLASS_SCORES) {
    const prefix = `${score}_`;
    if (!criterion.startsWith(prefix)) continue;
    const value = row.classes?.[criterion.slice(prefix.length)]?.[score as keyof BinaryScores];
    if (value !== undefined) return value ?? NaN;
  }
  return undefined;
}

/** Whether a higher value of `criterion` is better. */
export function higherIsBetter(criterion: string): boolean {
  const base = CLASS_SCORES.find((s) => criterion.startsWith(`${s}_`)) ?? criterion;
  return HIGHER_IS_BETTER.has(base);
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

/** What the best-score rule looks at. */
type RankedScore = Partial<ScoreRow>;

/**
 * The best-score rule: `a` replaces `b` (undefined: no best yet) when its value of `criterion`
 * (default 'voi') is finite and better (lower, or higher for dice, iou, precision, recall, f1 …),
 * or equal and earlier (epoch, then batch). A value that is not a finite number (NaN is written to
 * JSON as null) never wins.
 */
export function isBetterScore(a: RankedScore, b: RankedScore | undefined, criterion = 'voi'): boolean {
  const va = scoreValue(a, criterion);
  if (va === undefined || !Number.isFinite(va)) return false;
  const vb = b === undefined ? undefined : scoreValue(b, criterion);
  if (vb === undefined || !Number.isFinite(vb)) return true;
  if (va !== vb) return higherIsBetter(criterion) ? va > vb : va < vb;
  if (a.epoch !== b!.epoch) return (a.epoch ?? -1) < (b!.epoch ?? -1);
  return (a.batch ?? -1) < (b!.batch ?? -1);
}

/**
 * Per crop, the best row by {@link isBetterScore} for `criterion` (default 'voi'; ties of value,
 * epoch and batch: the first in `rows`). Crops appear in the order of their first finite row.
 */
export function bestByCrop(rows: Iterable<ScoreRow>, criterion = 'voi'): Map<string, ScoreRow> {
  const best = new Map<string, ScoreRow>();
  for (const row of rows) {
    if (isBetterScore(row, best.get(row.crop), criterion)) best.set(row.crop, row);
  }
  return best;
}
