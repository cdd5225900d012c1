/**
 * ValidationHook: a tfjs callback for fitDataset that, every N epochs (or N batches), predicts each
 * test crop tile by tile, post-processes the prediction over a parameter sweep, scores every
 * parameter set against the crop's labels — VOI, and the `scores` asked for: the adapted Rand
 * error and CREMI score of the instances, per-class scores (dice, iou, precision, recall, f1,
 * Hausdorff, …) of semantic and distance tasks — logs `<crop>_voi`, `<crop>_voi_split`,
 * `<crop>_voi_merge` and `<crop>_<score>` (`<crop>_<score>_<class>` per class; each at its best
 * parameters) into the epoch logs (so they land in the History that fitDataset returns), appends
 * every score to `<runDir>/scores.jsonl`, and keeps one best checkpoint per test crop by the
 * primary `criterion` (VOI by default, lower is better) in `best/<crop>/`, and one per crop for
 * each other criterion of `keepBestBy` in `best-<criterion>/<crop>/`.
 *
 * Epochs are numbered as in tf's onEpochEnd and History.epoch (0-based, counting from
 * fitDataset's initialEpoch): an evaluation after epoch e, or during epoch e with `everyBatches`,
 * has epoch e in the scores, the checkpoint.json and the Evaluation.
 *
 * Scores are appended before checkpoints are written, so scores.jsonl holds every score even
 * when a save fails. A failed save leaves that crop's previous best checkpoint (and the hook's
 * record of it) in place, the other crops are still saved, and the evaluation then rejects with
 * the save error (which stops fitDataset).
 */
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import { openRunDir } from '../rundir/open.js';
import type { RunDir } from '../rundir/run-dir.js';
import type { Crop, LabelArray } from '../types.js';
import { binaryScores, type BinaryScores } from './binary.js';
import { bestCheckpointDir, readCheckpointInfo, saveCheckpoint, type SaveCheckpointOptions } from './checkpoint.js';
import { groundTruthClasses, type ScoreClass } from './classes.js';
import { boundaryPostProcessor, type PostProcessor, type PostProcessParameters } from './postprocess.js';
import { predictCrop, type Prediction, type PredictOptions } from './predict-crop.js';
import {
  appendScores,
  CLASS_SCORES,
  checkCriterion,
  isBetterScore,
  SCORE_NAMES,
  scoreValue,
  type ScoreName,
  type ScoreRow,
} from './scores.js';
import { cremiScore, segmentationScores } from './voi.js';

export interface ValidationHookOptions {
  /** The test crops (e.g. `split.test`). */
  crops: readonly Crop[];
  /**
   * Where scores and best checkpoints go: a folder (Node), or an IndexedDB location in a page
   * (`indexeddb://exp1`).
   */
  runDir: string;
  /** Evaluate every N epochs (default 1). */
  every?: number;
  /** Evaluate every N batches instead (counted across epochs). */
  everyBatches?: number;
  /** Instances from predictions, with its parameter sweep (default: boundary thresholds). */
  postProcessor?: PostProcessor;
  /** Tiling options for prediction. */
  predict?: PredictOptions;
  /** Keep the best checkpoint per crop (default true). */
  saveCheckpoints?: boolean;
  /** Passed to saveCheckpoint (e.g. `beforeSwap` to simulate a crash mid-save in tests). */
  saveOptions?: SaveCheckpointOptions;
  /** Called after each evaluation with its results (e.g. to print them). */
  onEvaluation?: (evaluation: Evaluation) => void | Promise<void>;
  /** Called as each crop is predicted (tiles done of all) and scored (its best parameters), for progress. */
  onCropProgress?: (crop: string, progress: { tiles?: [number, number]; score?: ScoreRow }) => void;
  /**
   * Scores to compute, log and write besides VOI (which is always computed): 'arand', 'cremi',
   * and per class (needs `classes` and a post-processor with class masks) 'dice', 'iou',
   * 'precision', 'recall', 'f1', 'hausdorff', 'hausdorff95', and DaCapo's 'falseDistanceClipped'
   * (needs `clipDistance`), 'precisionWithTolerance', 'recallWithTolerance', 'f1WithTolerance'
   * (need `tolDistance`). Default ['voi'].
   */
  scores?: readonly ScoreName[];
  /** The criterion of the best checkpoint per crop in `best/<crop>/` (default 'voi'; see checkCriterion). */
  criterion?: string;
  /** More criteria, each with its own best checkpoint per crop in `best-<criterion>/<crop>/`. */
  keepBestBy?: readonly string[];
  /** The classes scored one by one (semantic and distance tasks: semanticClasses, distanceClasses). */
  classes?: readonly ScoreClass[];
  /** DaCapo's `clip_distance` (world units) for 'falseDistanceClipped'. */
  clipDistance?: number;
  /** DaCapo's `tol_distance` (world units) for the scores with tolerance. */
  tolDistance?: number;
}

export interface Evaluation {
  epoch: number;
  /** Batches seen in this training run when the evaluation ran. */
  batch: number;
  /** Best parameters per crop by the primary criterion (the rows of `all` that won). */
  best: ScoreRow[];
  /** Best parameters per crop by each criterion (the primary and those of keepBestBy). */
  bestBy: Record<string, ScoreRow[]>;
  /** Every parameter set of every crop, as appended to the scores file. */
  all: ScoreRow[];
  /** Crops whose best checkpoint (primary criterion) this evaluation replaced. */
  improved: string[];
  /** Crops whose best checkpoint this evaluation replaced, by criterion. */
  improvedBy: Record<string, string[]>;
  /** Crops that improved but whose checkpoint could not be saved (the evaluation then rejects). */
  failedSaves: string[];
  seconds: { predict: number; postProcess: number; score: number; save: number };
}

/**
 * A best score the hook keeps per crop: the scores row that made it best, the criterion it is best
 * by, and where its checkpoint is.
 */
export type BestScore = ScoreRow & { checkpoint: string; criterion?: string };

/** The scores a hook computes: what was asked, and what its criteria need. */
interface ScorePlan {
  arand: boolean;
  cremi: boolean;
  /** Per-class scores to compute. */
  perClass: ScoreName[];
  /** Whether any per-class score needs distances. */
  distances: boolean;
  /** Every score to log. */
  logged: ScoreName[];
}

export class ValidationHook extends tf.Callback {
  readonly options: ValidationHookOptions;
  /** Where scores and checkpoints are written (every write goes through it). */
  readonly runDir: RunDir;
  /** Best score so far per crop by the primary criterion (read back from the run directory on resume). */
  readonly best = new Map<string, BestScore>();
  /** Best score so far per crop by each criterion (the primary's map is `best`). */
  readonly bestBy = new Map<string, Map<string, BestScore>>();
  /** The primary criterion, then the others of keepBestBy. */
  readonly criteria: readonly string[];
  private readonly plan: ScorePlan;
  /** Every evaluation of this hook, in order. */
  readonly evaluations: Evaluation[] = [];
  private readonly postProcessor: PostProcessor;
  private batchesSeen = 0;
  private currentEpoch = 0;
  private restoring: Promise<void> | null = null;
  /** With everyBatches: the latest evaluation of the current epoch (for the epoch logs). */
  private epochEvaluation: Evaluation | null = null;

  constructor(options: ValidationHookOptions) {
    super();
    if (!options || !Array.isArray(options.crops) || options.crops.length === 0) {
      throw new OptionsError('ValidationHook needs crops (e.g. split.test)');
    }
    if (typeof options.runDir !== 'string' || options.runDir === '')
      throw new OptionsError('ValidationHook needs a runDir');
    const every = options.every ?? 1;
    if (!Number.isInteger(every) || every < 1) throw new OptionsError(`every must be a positive integer, got ${every}`);
    if (options.everyBatches !== undefined && !(Number.isInteger(options.everyBatches) && options.everyBatches >= 1)) {
      throw new OptionsError(`everyBatches must be a positive integer, got ${options.everyBatches}`);
    }
    const names = options.crops.map((c) => c.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new OptionsError(`two test crops are named ${dup}; crop names key the scores and checkpoints`);
    this.options = options;
    this.runDir = openRunDir(options.runDir);
    this.postProcessor = options.postProcessor ?? boundaryPostProcessor();
    const classNames = (options.classes ?? []).map((c) => c.name);
    const criterion = options.criterion ?? 'voi';
    this.criteria = [...new Set([criterion, ...(options.keepBestBy ?? [])])];
    const bases = this.criteria.map((c) => checkCriterion(c, classNames).score);
    this.plan = scorePlan(options, this.postProcessor, bases);
    this.bestBy.set(criterion, this.best);
    for (const c of this.criteria.slice(1)) this.bestBy.set(c, new Map());
  }

  /** Directory of the best checkpoint of a crop by `criterion` (default: the primary one). */
  checkpointDir(crop: string, criterion = this.criteria[0]!): string {
    if (criterion === this.criteria[0]) return bestCheckpointDir(this.runDir, crop);
    return bestCheckpointDir(this.runDir, crop, criterion);
  }

  /** Reads the bests already stored in the run directory (resume); called before training. */
  async restore(): Promise<void> {
    this.restoring ??= (async () => {
      for (const criterion of this.criteria) {
        for (const crop of this.options.crops) {
          const dir = this.checkpointDir(crop.name, criterion);
          const info = await readCheckpointInfo<ScoreRow>(dir);
          const value = info ? scoreValue(info, criterion) : undefined;
          if (info && typeof value === 'number')
            this.bestBy.get(criterion)!.set(crop.name, { ...info, checkpoint: dir, criterion });
        }
      }
    })().catch((e: unknown) => {
      this.restoring = null; // try again next time rather than overwrite bests we could not read
      throw e;
    });
    return this.restoring;
  }

  override async onTrainBegin(): Promise<void> {
    await this.restore();
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.currentEpoch = epoch;
    this.epochEvaluation = null;
  }

  override async onBatchEnd(_batch: number, logs?: tf.Logs): Promise<void> {
    this.batchesSeen++;
    const n = this.options.everyBatches;
    if (n !== undefined && this.batchesSeen % n === 0) {
      this.epochEvaluation = await this.evaluate(this.model as unknown as tf.LayersModel, this.currentEpoch);
      this.writeLogs(this.epochEvaluation, logs);
    }
  }

  override async onEpochEnd(epoch: number, logs?: tf.Logs): Promise<void> {
    if (this.options.everyBatches !== undefined) {
      // History only records epoch logs: report the epoch's latest evaluation there.
      if (this.epochEvaluation) this.writeLogs(this.epochEvaluation, logs);
      return;
    }
    if ((epoch + 1) % (this.options.every ?? 1) === 0) {
      this.writeLogs(await this.evaluate(this.model as unknown as tf.LayersModel, epoch), logs);
    }
  }

  /**
   * `<crop>_voi`, `<crop>_voi_split`, `<crop>_voi_merge` (the VOI-best parameters) and
   * `<crop>_<score>` (`<crop>_<score>_<class>`) at each score's best parameters.
   */
  private writeLogs(evaluation: Evaluation, logs?: tf.Logs): void {
    if (!logs) return;
    const classes = (this.options.classes ?? []).map((c) => c.name);
    for (const crop of this.options.crops) {
      const rows = evaluation.all.filter((r) => r.crop === crop.name);
      const best = (criterion: string) =>
        rows.reduce<ScoreRow | undefined>((b, r) => (isBetterScore(r, b, criterion) ? r : b), undefined);
      const voi = best('voi') ?? rows[0];
      if (!voi) continue;
      logs[`${crop.name}_voi`] = voi.voi;
      logs[`${crop.name}_voi_split`] = voi.voiSplit;
      logs[`${crop.name}_voi_merge`] = voi.voiMerge;
      for (const score of this.plan.logged) {
        const names = (CLASS_SCORES as readonly string[]).includes(score)
          ? [score, ...classes.map((c) => `${score}_${c}`)]
          : [score];
        for (const name of names) {
          const row = best(name);
          logs[`${crop.name}_${snake(name)}`] = row ? scoreValue(row, name)! : NaN;
        }
      }
    }
  }

  /**
   * One evaluation of `model` (usable outside fitDataset too). `batch` is recorded with the scores
   * (default: the batches this hook has seen; a driver of its own loop passes its count).
   */
  async evaluate(model: tf.LayersModel, epoch: number, batch = this.batchesSeen): Promise<Evaluation> {
    await this.restore();
    const seconds = { predict: 0, postProcess: 0, score: 0, save: 0 };
    const all: ScoreRow[] = [];
    const bestBy: Record<string, ScoreRow[]> = Object.fromEntries(this.criteria.map((c) => [c, []]));
    for (const crop of this.options.crops) {
      const rows = await this.scoreCrop(model, crop, epoch, batch, seconds);
      all.push(...rows);
      for (const criterion of this.criteria) {
        bestBy[criterion]!.push(rows.reduce((b, r) => (isBetterScore(r, b, criterion) ? r : b)));
      }
      this.options.onCropProgress?.(crop.name, { score: bestBy[this.criteria[0]!]!.at(-1)! });
    }
    // Every score first: a failed save below must not lose them.
    await appendScores(this.runDir, all);
    const improvedBy: Record<string, string[]> = {};
    const failedSaves: string[] = [];
    const errors: unknown[] = [];
    for (const criterion of this.criteria) {
      const kept = await this.keepBest(model, bestBy[criterion]!, criterion, seconds);
      improvedBy[criterion] = kept.improved;
      for (const crop of kept.failedSaves) if (!failedSaves.includes(crop)) failedSaves.push(crop);
      errors.push(...kept.errors);
    }
    const primary = this.criteria[0]!;
    const evaluation: Evaluation = {
      epoch,
      batch,
      best: bestBy[primary]!,
      bestBy,
      all,
      improved: improvedBy[primary]!,
      improvedBy,
      failedSaves,
      seconds,
    };
    this.evaluations.push(evaluation);
    await this.options.onEvaluation?.(evaluation);
    if (errors.length > 0) {
      throw errors.length === 1
        ? errors[0]
        : new AggregateError(errors, `best checkpoints of ${failedSaves.join(', ')} could not be saved`);
    }
    return evaluation;
  }

  /** Predicts one crop and scores every parameter set of the post-processor (timings into `seconds`). */
  private async scoreCrop(
    model: tf.LayersModel,
    crop: Crop,
    epoch: number,
    batch: number,
    seconds: Evaluation['seconds'],
  ): Promise<ScoreRow[]> {
    const t = performance.now();
    const report = this.options.onCropProgress;
    const predict = report
      ? {
          ...this.options.predict,
          onProgress: (done: number, total: number) => {
            this.options.predict?.onProgress?.(done, total);
            report(crop.name, { tiles: [done, total] });
          },
        }
      : this.options.predict;
    const prediction = await predictCrop(model, crop, predict);
    const [gt, mask] = await Promise.all([crop.labels.read(prediction.roi), crop.readMask(prediction.roi)]);
    const gtClasses =
      this.plan.perClass.length > 0 ? groundTruthClasses(gt as LabelArray, this.options.classes ?? []) : null;
    seconds.predict += secondsSince(t);
    return this.postProcessor.parameters.map((parameters) => {
      const t1 = performance.now();
      const instances = this.postProcessor.apply(prediction.data, prediction.shape, parameters);
      const t2 = performance.now();
      const seg = segmentationScores(gt as LabelArray, instances, { mask });
      const row: ScoreRow = {
        epoch,
        batch,
        crop: crop.name,
        postProcessor: this.postProcessor.name,
        parameters,
        voiSplit: seg.voiSplit,
        voiMerge: seg.voiMerge,
        voi: seg.voi,
        ...(this.plan.arand ? { arand: seg.are, arandPrecision: seg.precision, arandRecall: seg.recall } : {}),
        ...(this.plan.cremi ? { cremi: cremiScore(seg) } : {}),
        time: new Date().toISOString(),
      };
      if (gtClasses) Object.assign(row, this.classScores(prediction, parameters, gtClasses, mask, crop.voxelSize));
      seconds.postProcess += (t2 - t1) / 1000;
      seconds.score += secondsSince(t2);
      return row;
    });
  }

  /** The per-class scores of one parameter set, and their means over the classes. */
  private classScores(
    prediction: Prediction,
    parameters: PostProcessParameters,
    gtClasses: Uint8Array[],
    mask: Uint8Array,
    voxelSize: readonly number[],
  ): Pick<ScoreRow, 'classes'> & Partial<Record<ScoreName, number>> {
    const classes = this.options.classes ?? [];
    const predicted = this.postProcessor.classMasks!(prediction.data, prediction.shape, parameters);
    if (predicted.length !== classes.length) {
      throw new OptionsError(
        `post-processor ${this.postProcessor.name} gave ${predicted.length} class masks for ${classes.length} classes ` +
          `(${classes.map((c) => c.name).join(', ')})`,
      );
    }
    const out: Pick<ScoreRow, 'classes'> & Partial<Record<ScoreName, number>> = { classes: {} };
    const shape = prediction.shape.slice(0, 3);
    classes.forEach((c, k) => {
      const all = binaryScores(gtClasses[k]!, predicted[k]!, {
        shape,
        voxelSize,
        mask,
        distances: this.plan.distances,
        ...(this.options.clipDistance !== undefined ? { clipDistance: this.options.clipDistance } : {}),
        ...(this.options.tolDistance !== undefined ? { tolDistance: this.options.tolDistance } : {}),
      });
      out.classes![c.name] = Object.fromEntries(this.plan.perClass.map((s) => [s, all[s as keyof BinaryScores]]));
    });
    for (const score of this.plan.perClass) {
      const values = classes
        .map((c) => out.classes![c.name]![score as keyof BinaryScores])
        .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      out[score] = values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
    }
    return out;
  }

  /**
   * Saves a checkpoint for each crop whose best row by `criterion` beats the kept one (the rule of
   * `bestByCrop`). A failed save keeps the previous best on disk (saveCheckpoint writes whole or
   * not at all) and as the record to beat; its error is returned.
   */
  private async keepBest(
    model: tf.LayersModel,
    rows: ScoreRow[],
    criterion: string,
    seconds: Evaluation['seconds'],
  ): Promise<{ improved: string[]; failedSaves: string[]; errors: unknown[] }> {
    const improved: string[] = [];
    const failedSaves: string[] = [];
    const errors: unknown[] = [];
    const best = this.bestBy.get(criterion)!;
    for (const row of rows) {
      if (!isBetterScore(row, best.get(row.crop), criterion)) continue;
      const record: BestScore = { ...row, checkpoint: this.checkpointDir(row.crop, criterion), criterion };
      if (this.options.saveCheckpoints ?? true) {
        const t = performance.now();
        try {
          await saveCheckpoint(model, record.checkpoint, record, this.options.saveOptions);
        } catch (e) {
          errors.push(e);
          failedSaves.push(row.crop);
          continue;
        } finally {
          seconds.save += secondsSince(t);
        }
      }
      best.set(row.crop, record);
      improved.push(row.crop);
    }
    return { improved, failedSaves, errors };
  }
}

/** Which scores a hook computes: those asked for and those its criteria need. */
function scorePlan(options: ValidationHookOptions, postProcessor: PostProcessor, criteria: string[]): ScorePlan {
  const asked = [...(options.scores ?? ['voi'])];
  for (const s of asked) {
    if (!(SCORE_NAMES as readonly string[]).includes(s)) {
      throw new OptionsError(`scores: unknown score ${JSON.stringify(s)}; known: ${SCORE_NAMES.join(', ')}`);
    }
  }
  const base = (c: string) => (c === 'voiSplit' || c === 'voiMerge' ? 'voi' : c.startsWith('arand') ? 'arand' : c);
  const wanted = new Set<string>([...asked, ...criteria.map(base), 'voi']);
  const perClass = CLASS_SCORES.filter((s) => wanted.has(s));
  if (perClass.length > 0) {
    if (!options.classes?.length) {
      throw new OptionsError(
        `scores ${perClass.join(', ')} are per class: give the hook its classes (semantic or distance tasks)`,
      );
    }
    if (!postProcessor.classMasks) {
      throw new OptionsError(
        `scores ${perClass.join(', ')} are per class, but post-processor ${postProcessor.name} gives no class masks ` +
          '(semantic, distance and watershed-on-distance post-processors do)',
      );
    }
  }
  if (wanted.has('falseDistanceClipped') && options.clipDistance === undefined) {
    throw new OptionsError("score 'falseDistanceClipped' needs clipDistance");
  }
  const tolerance = perClass.filter((s) => s.endsWith('WithTolerance'));
  if (tolerance.length > 0 && options.tolDistance === undefined) {
    throw new OptionsError(`scores ${tolerance.join(', ')} need tolDistance`);
  }
  return {
    arand: wanted.has('arand') || wanted.has('cremi'),
    cremi: wanted.has('cremi'),
    perClass,
    distances: perClass.some((s) => !['dice', 'iou', 'precision', 'recall', 'f1'].includes(s)),
    logged: SCORE_NAMES.filter((s) => s !== 'voi' && wanted.has(s)),
  };
}

/** A log key's part for a score name: 'falseDistanceClipped' → 'false_distance_clipped'. */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
