/**
 * ValidationHook: a tfjs callback for fitDataset that, every N epochs (or N batches), predicts each
 * test crop tile by tile, post-processes the prediction over a parameter sweep, scores every
 * parameter set by VOI against the crop's labels, logs `<crop>_voi`, `<crop>_voi_split` and
 * `<crop>_voi_merge` (best parameters) into the logs, appends every score to
 * `<runDir>/scores.jsonl`, and keeps one best checkpoint per test crop (lower VOI is better).
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { OptionsError } from '../errors.js';
import type { Crop } from '../types.js';
import { readCheckpointInfo, saveCheckpoint } from './checkpoint.js';
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
  /** Called after each evaluation with its results (e.g. to print them). */
  onEvaluation?: (evaluation: Evaluation) => void | Promise<void>;
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
  private restored = false;

  constructor(options: ValidationHookOptions) {
    super();
    if (!options || !Array.isArray(options.crops) || options.crops.length === 0) {
      throw new OptionsError('ValidationHook needs crops (e.g. split.test)');
    }
    if (typeof options.runDir !== 'string' || options.runDir === '') throw new OptionsError('ValidationHook needs a runDir');
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
    if (this.restored) return;
    this.restored = true;
    for (const crop of this.options.crops) {
      const info = (await readCheckpointInfo(this.checkpointDir(crop.name))) as BestRecord | null;
      if (info && typeof info.voi === 'number') this.best.set(crop.name, { ...info, checkpoint: this.checkpointDir(crop.name) });
    }
  }

  override async onTrainBegin(): Promise<void> {
    await this.restore();
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.currentEpoch = epoch;
  }

  override async onBatchEnd(_batch: number, logs?: tf.Logs): Promise<void> {
    this.batchesSeen++;
    const n = this.options.everyBatches;
    if (n !== undefined && this.batchesSeen % n === 0) await this.evaluateInto(this.currentEpoch + 1, logs);
  }

  override async onEpochEnd(epoch: number, logs?: tf.Logs): Promise<void> {
    if (this.options.everyBatches !== undefined) return;
    if ((epoch + 1) % (this.options.every ?? 1) === 0) await this.evaluateInto(epoch + 1, logs);
  }

  private async evaluateInto(epoch: number, logs?: tf.Logs): Promise<void> {
    const evaluation = await this.evaluate(this.model as unknown as tf.LayersModel, epoch);
    if (logs) {
      for (const s of evaluation.best) {
        logs[`${s.crop}_voi`] = s.voi;
        logs[`${s.crop}_voi_split`] = s.voiSplit;
        logs[`${s.crop}_voi_merge`] = s.voiMerge;
      }
    }
  }

  /** One evaluation of `model` (usable outside fitDataset too). */
  async evaluate(model: tf.LayersModel, epoch: number): Promise<Evaluation> {
    await this.restore();
    const seconds = { predict: 0, postProcess: 0, score: 0, save: 0 };
    const all: CropScore[] = [];
    const best: CropScore[] = [];
    const improved: string[] = [];
    for (const crop of this.options.crops) {
      let t = performance.now();
      const prediction = await predictCrop(model, crop, this.options.predict);
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
      const previous = this.best.get(crop.name);
      if (!previous || bestScore!.voi < previous.voi) {
        const record: BestRecord = {
          crop: crop.name,
          epoch,
          batch: this.batchesSeen,
          voi: bestScore!.voi,
          voiSplit: bestScore!.voiSplit,
          voiMerge: bestScore!.voiMerge,
          parameters: bestScore!.parameters,
          postProcessor: this.postProcessor.name,
          checkpoint: this.checkpointDir(crop.name),
        };
        if (this.options.saveCheckpoints ?? true) {
          t = performance.now();
          await saveCheckpoint(model, record.checkpoint, record);
          seconds.save += (performance.now() - t) / 1000;
        }
        this.best.set(crop.name, record);
        improved.push(crop.name);
      }
    }
    await appendScores(
      this.options.runDir,
      all.map((s) => ({
        epoch,
        batch: this.batchesSeen,
        crop: s.crop,
        postProcessor: this.postProcessor.name,
        parameters: s.parameters,
        voiSplit: s.voiSplit,
        voiMerge: s.voiMerge,
        voi: s.voi,
        time: new Date().toISOString(),
      })),
    );
    const evaluation: Evaluation = { epoch, batch: this.batchesSeen, best, all, improved, seconds };
    this.evaluations.push(evaluation);
    await this.options.onEvaluation?.(evaluation);
    return evaluation;
  }
}
