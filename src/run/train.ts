/**
 * The training loop of a run directory, resumable: `trainRun(config)` trains epoch by epoch with
 * fitDataset's training step in a loop of our own (so a run can stop and restart in the middle
 * of an epoch), evaluates every test crop with the ValidationHook every
 * `validation.interval` epochs (scores.jsonl, best checkpoint per crop), appends the loss of
 * every batch to loss.jsonl, and saves the resume point `latest/` every `checkpointEvery` epochs,
 * at the end, and when `signal` aborts (after the step in progress).
 *
 * Resuming restores weights, optimizer state and the sample position, so the batches, losses and
 * checkpoints after a resume are those of an uninterrupted run with the same config (the
 * samples are a function of the seed and the sample index).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { AtomicWriteOptions } from '../fs/atomic-dir.js';
import { statOrNull, writeFileSynced } from '../fs/files.js';
import { OptionsError } from '../errors.js';
import { trainStepOf } from '../internals/tfjs.js';
import { trainingDataset, type TrainingElement } from '../train/dataset.js';
import { ValidationHook, type BestScore } from '../eval/hook.js';
import type { DataSplit } from '../zarr/split.js';
import { resolveRunConfig, resumeConflicts, type RunConfig } from './config.js';
import { appendJsonl, lossPath, readJsonl, rewindLogs, type LossRow } from './logs.js';
import { lineProgress, type TrainProgress } from './progress.js';
import {
  buildModel,
  checkConfigAgainstData,
  datasetOptions,
  openRunData,
  postProcessorOf,
  predictOptionsOf,
  rawChannels,
} from './setup.js';
import { loadLatest, saveLatest, type TrainState } from './state.js';

export const CONFIG_FILENAME = 'config.json';

export interface TrainRunOptions {
  /** When aborted, training stops after the step in progress, saves `latest/` and returns 'interrupted'. */
  signal?: AbortSignal;
  progress?: TrainProgress;
  /** For the latest checkpoint's atomic write (tests: `beforeSwap` to stall or fail a save). */
  latestSaveOptions?: AtomicWriteOptions;
  /** The data split, when the caller has it open already. */
  split?: DataSplit;
}

export interface TrainRunResult {
  /** 'complete': all epochs trained; 'time budget': `seconds` ran out; 'interrupted': `signal` aborted. */
  status: 'complete' | 'time budget' | 'interrupted';
  state: TrainState;
  /** Where this invocation started (null: from scratch). */
  resumedFrom: TrainState | null;
  best: ReadonlyMap<string, BestScore>;
  split: DataSplit;
}

export function configPath(runDir: string): string {
  return path.join(runDir, CONFIG_FILENAME);
}

/** The effective config stored in a run directory, or null when there is none. */
export async function readRunConfig(runDir: string): Promise<RunConfig | null> {
  const file = configPath(runDir);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return resolveRunConfig(JSON.parse(text), { source: file });
}

/**
 * Makes `config.runDir` the directory of this run: refuses a run directory that holds training
 * done with a config that differs in a way that breaks resuming (naming every difference), then
 * writes the effective config there.
 */
export async function prepareRunDir(config: RunConfig): Promise<{ resuming: boolean }> {
  const previous = await readRunConfig(config.runDir);
  // A directory where nothing was trained yet (e.g. a start that failed) takes any config.
  const trained = await Promise.all(
    ['latest', 'best', 'loss.jsonl', 'scores.jsonl'].map((name) => statOrNull(path.join(config.runDir, name))),
  );
  if (previous && trained.some((s) => s !== null)) {
    const conflicts = resumeConflicts(previous, config);
    if (conflicts.length > 0) {
      const lines = conflicts.map(
        (d) =>
          `  ${d.key}: ${JSON.stringify(d.was) ?? '(absent)'} in the run, ${JSON.stringify(d.now) ?? '(absent)'} now`,
      );
      throw new OptionsError(
        `${config.runDir} holds a run started with another config; resuming it with this one would make another run:\n` +
          `${lines.join('\n')}\nChange these back, or train into a new run directory (--run).`,
      );
    }
  }
  await fsp.mkdir(config.runDir, { recursive: true });
  const file = configPath(config.runDir);
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFileSynced(tmp, [`${JSON.stringify(config, null, 2)}\n`]);
  await fsp.rename(tmp, file);
  return { resuming: previous !== null };
}

export async function trainRun(config: RunConfig, options: TrainRunOptions = {}): Promise<TrainRunResult> {
  const progress = options.progress ?? lineProgress();
  const runDir = config.runDir;
  const split = options.split ?? (await openRunData(config));
  checkConfigAgainstData(config, split);

  const model = buildModel(config, rawChannels(split));
  try {
    const resumedFrom = await loadLatest(runDir, model);
    const state: TrainState = resumedFrom
      ? { ...resumedFrom }
      : { epoch: 0, batchInEpoch: 0, batches: 0, samples: 0, trainSeconds: 0 };
    delete state.time;
    // A killed process may have logged batches and scores past the resume point.
    await rewindLogs(runDir, state);

    const hook = new ValidationHook({
      crops: split.test,
      runDir,
      every: config.validation.interval,
      postProcessor: postProcessorOf(config),
      predict: predictOptionsOf(config),
      onEvaluation: (e) => progress.evaluation(e),
      onCropProgress: (crop, p) => progress.validation({ epoch: state.epoch, crop, ...p }),
    });
    await hook.restore();
    if (resumedFrom && state.epoch < config.epochs) {
      progress.message(
        `Resuming ${runDir} at epoch ${state.epoch + 1}, batch ${state.batchInEpoch + 1} ` +
          `(${state.batches} batches, ${state.samples} samples trained)`,
      );
    }
    if (state.epoch >= config.epochs) {
      progress.message(`${runDir} has trained all ${config.epochs} epochs (raise epochs / --epochs to go on)`);
      return { status: 'complete', state, resumedFrom, best: hook.best, split };
    }

    const dataset = trainingDataset(split.train, datasetOptions(config, state.samples));
    await dataset.setup(); // bad sampling options and data fail here, before training
    const iterator = await dataset.iterator();
    const trainStep = trainStepOf(model);

    const started = performance.now();
    const startBatches = state.batches;
    let stepSeconds = 0;
    const pendingLoss: LossRow[] = [];
    const elapsed = () => (performance.now() - started) / 1000;
    const flushLoss = () => appendJsonl(lossPath(runDir), pendingLoss.splice(0));
    const save = async () => {
      await flushLoss();
      await saveLatest(
        runDir,
        model,
        { ...state, trainSeconds: state.trainSeconds + elapsed() },
        options.latestSaveOptions,
      );
    };
    const secondsLeft = () => {
      const done = state.batches - startBatches;
      const perBatch = done > 0 ? elapsed() / done : NaN;
      const runLeft = (config.epochs * config.batchesPerEpoch - state.batches) * perBatch;
      return config.seconds === null ? runLeft : Math.min(runLeft, Math.max(0, config.seconds - elapsed()));
    };
    const rate = () => ((state.batches - startBatches) * config.batchSize) / Math.max(stepSeconds, 1e-9);

    // An epoch resumed in its middle: its mean loss counts the batches trained before the stop.
    const before =
      state.batchInEpoch > 0 ? (await readJsonl<LossRow>(lossPath(runDir))).filter((r) => r.epoch === state.epoch) : [];
    let epochLoss = before.reduce((sum, r) => sum + r.loss, 0);
    let epochBatches = before.length;
    while (state.epoch < config.epochs) {
      while (state.batchInEpoch < config.batchesPerEpoch) {
        // A step can run on microtasks alone (cpu backend, prefetched data): give signal handlers
        // and timers their turn, so Ctrl-C stops after this step rather than at the epoch's end.
        await new Promise((resolve) => setImmediate(resolve));
        if (options.signal?.aborted) {
          await save();
          return { status: 'interrupted', state, resumedFrom, best: hook.best, split };
        }
        const t = performance.now();
        const next = await iterator.next();
        const { xs, ys } = next.value as TrainingElement;
        let loss: number;
        try {
          const outs = trainStep([xs, ys]);
          loss = (await outs[0]!.data())[0]!;
          tf.dispose(outs);
        } finally {
          tf.dispose([xs, ys]);
        }
        stepSeconds += (performance.now() - t) / 1000;
        pendingLoss.push({ epoch: state.epoch, batch: state.batches, firstSample: state.samples, loss });
        state.batches++;
        state.batchInEpoch++;
        state.samples += config.batchSize;
        epochLoss += loss;
        epochBatches++;
        progress.batch({
          epoch: state.epoch,
          epochs: config.epochs,
          batch: state.batchInEpoch,
          batchesPerEpoch: config.batchesPerEpoch,
          loss,
          samplesPerSecond: rate(),
          secondsLeft: secondsLeft(),
        });
      }
      const epoch = state.epoch;
      const last = epoch + 1 === config.epochs;
      if ((epoch + 1) % config.validation.interval === 0 || last) {
        await hook.evaluate(model, epoch, state.batches);
      }
      state.epoch++;
      state.batchInEpoch = 0;
      await flushLoss();
      progress.epoch({
        epoch,
        epochs: config.epochs,
        batchesPerEpoch: config.batchesPerEpoch,
        batches: state.batches,
        meanLoss: epochBatches > 0 ? epochLoss / epochBatches : NaN,
        samplesPerSecond: rate(),
        secondsLeft: secondsLeft(),
        elapsed: elapsed(),
      });
      epochLoss = 0;
      epochBatches = 0;
      const outOfTime = config.seconds !== null && elapsed() >= config.seconds;
      if (state.epoch % config.checkpointEvery === 0 || state.epoch === config.epochs || outOfTime) await save();
      if (outOfTime && state.epoch < config.epochs) {
        return { status: 'time budget', state, resumedFrom, best: hook.best, split };
      }
    }
    return { status: 'complete', state, resumedFrom, best: hook.best, split };
  } finally {
    model.optimizer?.dispose();
    model.dispose();
  }
}
