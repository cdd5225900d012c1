/**
 * ValidationHook: a tfjs callback for fitDataset that, every N epochs (or N batches), predicts each
 * test crop tile by tile, post-processes the prediction over a parameter sweep, scores every
 * parameter set by VOI against the crop's labels, logs `<crop>_voi`, `<crop>_voi_split` and
 * `<crop>_voi_merge` (best parameters) into the epoch logs (so they land in the History that
 * fitDataset returns), appends every score to `<runDir>/scores.jsonl`, and keeps one best
 * checkpoint per test crop (lower VOI is better).
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
import { bestCheckpointDir, readCheckpointInfo, saveCheckpoint, type SaveCheckpointOptions } from './checkpoint.js';
import { boundaryPostProcessor, type PostProcessor } from './postprocess.js';
import { predictCrop, type PredictOptions } from './predict.js';
import { appendScores, isBetterScore, type ScoreRow } from './scores.js';
import { variationOfInformation } from './voi.js';

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
}

export interface Evaluation {
  epoch: number;
  /** Batches seen in this training run when the evaluation ran. */
  batch: number;
  /** Best parameters per crop (the rows of `all` that won). */
  best: ScoreRow[];
  /** Every parameter set of every crop, as appended to the scores file. */
  all: ScoreRow[];
  /** Crops whose best checkpoint this evaluation replaced. */
  improved: string[];
  /** Crops that improved but whose checkpoint could not be saved (the evaluation then rejects). */
  failedSaves: string[];
  seconds: { predict: number; postProcess: number; score: number; save: number };
}

/** A best score the hook keeps per crop: the scores row that made it best, and where its checkpoint is. */
export type BestScore = ScoreRow & { checkpoint: string };

export class ValidationHook extends tf.Callback {
  readonly options: ValidationHookOptions;
  /** Where scores and checkpoints are written (every write goes through it). */
  readonly runDir: RunDir;
  /** Best score so far per crop (read back from the run directory on resume). */
  readonly best = new Map<string, BestScore>();
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
  }

  /** Directory of the best checkpoint of a crop. */
  checkpointDir(crop: string): string {
    return bestCheckpointDir(this.runDir, crop);
  }

  /** Reads the bests already stored in the run directory (resume); called before training. */
  async restore(): Promise<void> {
    this.restoring ??= (async () => {
      for (const crop of this.options.crops) {
        const info = await readCheckpointInfo<ScoreRow>(this.checkpointDir(crop.name));
        if (info && typeof info.voi === 'number')
          this.best.set(crop.name, { ...info, checkpoint: this.checkpointDir(crop.name) });
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
      writeLogs(this.epochEvaluation, logs);
    }
  }

  override async onEpochEnd(epoch: number, logs?: tf.Logs): Promise<void> {
    if (this.options.everyBatches !== undefined) {
      // History only records epoch logs: report the epoch's latest evaluation there.
      if (this.epochEvaluation) writeLogs(this.epochEvaluation, logs);
      return;
    }
    if ((epoch + 1) % (this.options.every ?? 1) === 0) {
      writeLogs(await this.evaluate(this.model as unknown as tf.LayersModel, epoch), logs);
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
    const best: ScoreRow[] = [];
    for (const crop of this.options.crops) {
      const rows = await this.scoreCrop(model, crop, epoch, batch, seconds);
      all.push(...rows);
      const cropBest = rows.reduce((b, r) => (isBetterScore(r, b) ? r : b));
      best.push(cropBest);
      this.options.onCropProgress?.(crop.name, { score: cropBest });
    }
    // Every score first: a failed save below must not lose them.
    await appendScores(this.runDir, all);
    const { improved, failedSaves, errors } = await this.keepBest(model, best, seconds);
    const evaluation: Evaluation = { epoch, batch, best, all, improved, failedSaves, seconds };
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
    seconds.predict += secondsSince(t);
    return this.postProcessor.parameters.map((parameters) => {
      const t1 = performance.now();
      const instances = this.postProcessor.apply(prediction.data, prediction.shape, parameters);
      const t2 = performance.now();
      const voi = variationOfInformation(gt as LabelArray, instances, { mask });
      seconds.postProcess += (t2 - t1) / 1000;
      seconds.score += secondsSince(t2);
      return {
        epoch,
        batch,
        crop: crop.name,
        postProcessor: this.postProcessor.name,
        parameters,
        voiSplit: voi.voiSplit,
        voiMerge: voi.voiMerge,
        voi: voi.voi,
        time: new Date().toISOString(),
      };
    });
  }

  /**
   * Saves a checkpoint for each crop whose best row beats the kept one (the rule of `bestByCrop`).
   * A failed save keeps the previous best on disk (saveCheckpoint writes whole or not at all) and
   * as the record to beat; its error is returned.
   */
  private async keepBest(
    model: tf.LayersModel,
    rows: ScoreRow[],
    seconds: Evaluation['seconds'],
  ): Promise<{ improved: string[]; failedSaves: string[]; errors: unknown[] }> {
    const improved: string[] = [];
    const failedSaves: string[] = [];
    const errors: unknown[] = [];
    for (const row of rows) {
      if (!isBetterScore(row, this.best.get(row.crop))) continue;
      const record: BestScore = { ...row, checkpoint: this.checkpointDir(row.crop) };
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
      this.best.set(row.crop, record);
      improved.push(row.crop);
    }
    return { improved, failedSaves, errors };
  }
}

function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}

function writeLogs(evaluation: Evaluation, logs?: tf.Logs): void {
  if (!logs) return;
  for (const s of evaluation.best) {
    logs[`${s.crop}_voi`] = s.voi;
    logs[`${s.crop}_voi_split`] = s.voiSplit;
    logs[`${s.crop}_voi_merge`] = s.voiMerge;
  }
}
