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
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import type { Crop } from '../types.js';
import { readCheckpointInfo, saveCheckpoint, type SaveCheckpointOptions } from './checkpoint.js';
import { boundaryPostProcessor, type PostProcessor, type PostProcessParameters } from './postprocess.js';
import { predictCrop, type PredictOptions } from './predict.js';
import { appendScores } from './scores.js';
import { variationOfInformation, type VoiResult } from './voi.js';

export interface ValidationHookOptions {
  /** The test crops (e.g. `split.test`). */
  crops: readonly Crop[];
  /** Where scores and best checkpoints go. */
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
  onCropProgress?: (crop: string, progress: { tiles?: [number, number]; score?: CropScore }) => void;
}

export interface CropScore extends VoiResult {
  crop: string;
  parameters: PostProcessParameters;
}

export interface Evaluation {
  epoch: number;
  /** Batches seen in this training run when the evaluation ran. */
  batch: number;
  /** Best parameters per crop. */
  best: CropScore[];
  /** Every parameter set of every crop. */
  all: CropScore[];
  /** Crops whose best checkpoint this evaluation replaced. */
  improved: string[];
  /** Crops that improved but whose checkpoint could not be saved (the evaluation then rejects). */
  failedSaves: string[];
  seconds: { predict: number; postProcess: number; score: number; save: number };
}

export interface BestRecord {
  crop: string;
  epoch: number;
  batch: number;
  voi: number;
  voiSplit: number;
  voiMerge: number;
  parameters: PostProcessParameters;
  postProcessor: string;
  checkpoint: string;
}

export class ValidationHook extends tf.Callback {
  readonly options: ValidationHookOptions;
  /** Best score so far per crop (read back from the run directory on resume). */
  readonly best = new Map<string, BestRecord>();
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
    this.postProcessor = options.postProcessor ?? boundaryPostProcessor();
  }

  /** Directory of the best checkpoint of a crop. */
  checkpointDir(crop: string): string {
    return path.join(this.options.runDir, 'best', crop);
  }

  /** Reads the bests already stored in the run directory (resume); called before training. */
  async restore(): Promise<void> {
    this.restoring ??= (async () => {
      for (const crop of this.options.crops) {
        const info = (await readCheckpointInfo(this.checkpointDir(crop.name))) as BestRecord | null;
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
    const all: CropScore[] = [];
    const best: CropScore[] = [];
    const improved: string[] = [];
    for (const crop of this.options.crops) {
      let t = performance.now();
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
      seconds.predict += (performance.now() - t) / 1000;
      let bestScore: CropScore | null = null;
      for (const parameters of this.postProcessor.parameters) {
        t = performance.now();
        const instances = this.postProcessor.apply(prediction.data, prediction.shape, parameters);
        seconds.postProcess += (performance.now() - t) / 1000;
        t = performance.now();
        const voi = variationOfInformation(gt as Uint32Array, instances, { mask });
        seconds.score += (performance.now() - t) / 1000;
        const score: CropScore = { crop: crop.name, parameters, ...voi };
        all.push(score);
        if (!bestScore || score.voi < bestScore.voi) bestScore = score;
      }
      best.push(bestScore!);
      report?.(crop.name, { score: bestScore! });
    }
    // Every score first: a failed save below must not lose them.
    await appendScores(
      this.options.runDir,
      all.map((s) => ({
        epoch,
        batch,
        crop: s.crop,
        postProcessor: this.postProcessor.name,
        parameters: s.parameters,
        voiSplit: s.voiSplit,
        voiMerge: s.voiMerge,
        voi: s.voi,
        time: new Date().toISOString(),
      })),
    );
    const saveErrors: unknown[] = [];
    const failedSaves: string[] = [];
    for (const score of best) {
      const previous = this.best.get(score.crop);
      // Strictly lower only: a tie keeps the earlier checkpoint (as bestByCrop does).
      if (previous && !(score.voi < previous.voi)) continue;
      const record: BestRecord = {
        crop: score.crop,
        epoch,
        batch,
        voi: score.voi,
        voiSplit: score.voiSplit,
        voiMerge: score.voiMerge,
        parameters: score.parameters,
        postProcessor: this.postProcessor.name,
        checkpoint: this.checkpointDir(score.crop),
      };
      if (this.options.saveCheckpoints ?? true) {
        const t = performance.now();
        try {
          await saveCheckpoint(model, record.checkpoint, record, this.options.saveOptions);
        } catch (e) {
          // The previous best stays on disk (saveCheckpoint writes whole or not at all) and stays
          // the record to beat.
          saveErrors.push(e);
          failedSaves.push(score.crop);
          continue;
        } finally {
          seconds.save += (performance.now() - t) / 1000;
        }
      }
      this.best.set(score.crop, record);
      improved.push(score.crop);
    }
    const evaluation: Evaluation = { epoch, batch, best, all, improved, failedSaves, seconds };
    this.evaluations.push(evaluation);
    await this.options.onEvaluation?.(evaluation);
    if (saveErrors.length > 0) {
      throw saveErrors.length === 1
        ? saveErrors[0]
        : new AggregateError(saveErrors, `best checkpoints of ${failedSaves.join(', ')} could not be saved`);
    }
    return evaluation;
  }
}

function writeLogs(evaluation: Evaluation, logs?: tf.Logs): void {
  if (!logs) return;
  for (const s of evaluation.best) {
    logs[`${s.crop}_voi`] = s.voi;
    logs[`${s.crop}_voi_split`] = s.voiSplit;
    logs[`${s.crop}_voi_merge`] = s.voiMerge;
  }
}
