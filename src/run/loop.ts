/**
 * The steps of a run's training loop, one batch at a time: fitDataset's training step on each
 * batch, the loss of every batch logged, the epoch's end (evaluation every `validation.interval`
 * epochs and after the last; the resume point every `checkpointEvery` epochs, at the end and when
 * the time budget runs out), and the figures progress shows (samples/s, time left).
 */
import * as tf from '@tensorflow/tfjs';
import type { ValidationHook } from '../eval/hook.js';
import type { AtomicWriteOptions } from '../fs/atomic-dir.js';
import { type TrainStep, trainStepOf } from '../internals/tfjs.js';
import type { TrainingElement } from '../train/dataset.js';
import type { RunConfig } from './config.js';
import { appendJsonl, lossPath, type LossRow, readJsonl } from './logs.js';
import type { TrainProgress } from './progress.js';
import { saveLatest, type TrainState } from './state.js';

/** What `dataset.iterator()` gives: the next batch (tf.data does not export its iterator type). */
export interface BatchIterator {
  next(): Promise<IteratorResult<TrainingElement>>;
}

export class TrainingLoop {
  private readonly step: TrainStep;
  private readonly started = performance.now();
  private readonly startBatches: number;
  private stepSeconds = 0;
  private readonly pendingLoss: LossRow[] = [];
  private epochLoss = 0;
  private epochBatches = 0;

  constructor(
    private readonly config: RunConfig,
    private readonly model: tf.LayersModel,
    /** Updated as training goes (the caller's object). */
    readonly state: TrainState,
    private readonly progress: TrainProgress,
    private readonly saveOptions?: AtomicWriteOptions,
  ) {
    this.step = trainStepOf(model);
    this.startBatches = state.batches;
  }

  /** An epoch resumed in its middle: its mean loss counts the batches trained before the stop. */
  async resumeEpoch(): Promise<void> {
    if (this.state.batchInEpoch === 0) return;
    const before = (await readJsonl<LossRow>(lossPath(this.config.runDir))).filter((r) => r.epoch === this.state.epoch);
    this.epochLoss = before.reduce((sum, r) => sum + r.loss, 0);
    this.epochBatches = before.length;
  }

  get epochDone(): boolean {
    return this.state.batchInEpoch >= this.config.batchesPerEpoch;
  }

  get runDone(): boolean {
    return this.state.epoch >= this.config.epochs;
  }

  /** One training step on the next batch (disposed after it). */
  async trainBatch(iterator: BatchIterator): Promise<void> {
    const { state, config } = this;
    const t = performance.now();
    const { xs, ys } = (await iterator.next()).value as TrainingElement;
    let loss: number;
    try {
      const outs = this.step([xs, ys]);
      loss = (await outs[0]!.data())[0]!;
      tf.dispose(outs);
    } finally {
      tf.dispose([xs, ys]);
    }
    this.stepSeconds += (performance.now() - t) / 1000;
    this.pendingLoss.push({ epoch: state.epoch, batch: state.batches, firstSample: state.samples, loss });
    state.batches++;
    state.batchInEpoch++;
    state.samples += config.batchSize;
    this.epochLoss += loss;
    this.epochBatches++;
    this.progress.batch({
      epoch: state.epoch,
      epochs: config.epochs,
      batch: state.batchInEpoch,
      batchesPerEpoch: config.batchesPerEpoch,
      loss,
      samplesPerSecond: this.rate(),
      secondsLeft: this.secondsLeft(),
    });
  }

  /**
   * The end of an epoch: evaluation when due, progress, the resume point when due. Returns
   * whether the time budget ran out.
   */
  async endEpoch(hook: ValidationHook): Promise<boolean> {
    const { state, config } = this;
    const epoch = state.epoch;
    const last = epoch + 1 === config.epochs;
    if ((epoch + 1) % config.validation.interval === 0 || last) await hook.evaluate(this.model, epoch, state.batches);
    state.epoch++;
    state.batchInEpoch = 0;
    await this.flushLoss();
    this.progress.epoch({
      epoch,
      epochs: config.epochs,
      batchesPerEpoch: config.batchesPerEpoch,
      batches: state.batches,
      meanLoss: this.epochBatches > 0 ? this.epochLoss / this.epochBatches : NaN,
      samplesPerSecond: this.rate(),
      secondsLeft: this.secondsLeft(),
      elapsed: this.elapsed(),
    });
    this.epochLoss = 0;
    this.epochBatches = 0;
    const outOfTime = config.seconds !== null && this.elapsed() >= config.seconds;
    if (state.epoch % config.checkpointEvery === 0 || state.epoch === config.epochs || outOfTime) await this.save();
    return outOfTime;
  }

  /** The resume point: the losses logged so far, then `latest/`. */
  async save(): Promise<void> {
    await this.flushLoss();
    const state = { ...this.state, trainSeconds: this.state.trainSeconds + this.elapsed() };
    await saveLatest(this.config.runDir, this.model, state, this.saveOptions);
  }

  private flushLoss(): Promise<void> {
    return appendJsonl(lossPath(this.config.runDir), this.pendingLoss.splice(0));
  }

  private elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }

  private rate(): number {
    return ((this.state.batches - this.startBatches) * this.config.batchSize) / Math.max(this.stepSeconds, 1e-9);
  }

  private secondsLeft(): number {
    const { config, state } = this;
    const done = state.batches - this.startBatches;
    const perBatch = done > 0 ? this.elapsed() / done : NaN;
    const runLeft = (config.epochs * config.batchesPerEpoch - state.batches) * perBatch;
    return config.seconds === null ? runLeft : Math.min(runLeft, Math.max(0, config.seconds - this.elapsed()));
  }
}
