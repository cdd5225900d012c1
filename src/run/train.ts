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
import type { AtomicWriteOptions } from '../fs/atomic-dir.js';
import { statOrNull, writeFileSynced } from '../fs/files.js';
import { OptionsError } from '../errors.js';
import { trainingDataset } from '../train/dataset.js';
import { ValidationHook, type BestScore } from '../eval/hook.js';
import type { DataSplit } from '../zarr/split.js';
import { resolveRunConfig, resumeConflicts, type RunConfig } from './config.js';
import { rewindLogs } from './logs.js';
import { type BatchIterator, TrainingLoop } from './loop.js';
import { lineProgress, type TrainProgress } from './progress.js';
import {
  buildModel,
  checkConfigAgainstData,
  datasetOptions,
  openRunData,
  hookScoresOf,
  postProcessorOf,
  predictOptionsOf,
  rawChannels,
} from './setup.js';
import { loadLatest, type TrainState } from './state.js';

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
  const split = options.split ?? (await openRunData(config));
  checkConfigAgainstData(config, split);
  const model = buildModel(config, rawChannels(split));
  try {
    const resumedFrom = await loadLatest(config.runDir, model);
    const state: TrainState = resumedFrom
      ? { ...resumedFrom }
      : { epoch: 0, batchInEpoch: 0, batches: 0, samples: 0, trainSeconds: 0 };
    delete state.time;
    // A killed process may have logged batches and scores past the resume point.
    await rewindLogs(config.runDir, state);
    const hook = await validationHook(config, split, state, progress);
    const finish = (status: TrainRunResult['status']): TrainRunResult => ({
      status,
      state,
      resumedFrom,
      best: hook.best,
      split,
    });
    if (resumedFrom && state.epoch < config.epochs) {
      progress.message(
        `Resuming ${config.runDir} at epoch ${state.epoch + 1}, batch ${state.batchInEpoch + 1} ` +
          `(${state.batches} batches, ${state.samples} samples trained)`,
      );
    }
    if (state.epoch >= config.epochs) {
      progress.message(`${config.runDir} has trained all ${config.epochs} epochs (raise epochs / --epochs to go on)`);
      return finish('complete');
    }
    const dataset = trainingDataset(split.train, datasetOptions(config, state.samples));
    await dataset.setup(); // bad sampling options and data fail here, before training
    const iterator = await dataset.iterator();
    const loop = new TrainingLoop(config, model, state, progress, options.latestSaveOptions);
    return finish(await train(loop, iterator, hook, options.signal));
  } finally {
    model.optimizer?.dispose();
    model.dispose();
  }
}

/** The run's ValidationHook, with the scores and best checkpoints already in the run directory. */
async function validationHook(
  config: RunConfig,
  split: DataSplit,
  state: TrainState,
  progress: TrainProgress,
): Promise<ValidationHook> {
  const hook = new ValidationHook({
    crops: split.test,
    runDir: config.runDir,
    every: config.validation.interval,
    postProcessor: postProcessorOf(config),
    ...hookScoresOf(config),
    predict: predictOptionsOf(config),
    onEvaluation: (e) => progress.evaluation(e),
    onCropProgress: (crop, p) => progress.validation({ epoch: state.epoch, crop, ...p }),
  });
  await hook.restore();
  return hook;
}

/** Epoch after epoch until the run is done, the time budget runs out or `signal` aborts. */
async function train(
  loop: TrainingLoop,
  iterator: BatchIterator,
  hook: ValidationHook,
  signal: AbortSignal | undefined,
): Promise<TrainRunResult['status']> {
  await loop.resumeEpoch();
  while (!loop.runDone) {
    while (!loop.epochDone) {
      // A step can run on microtasks alone (cpu backend, prefetched data): give signal handlers
      // and timers their turn, so Ctrl-C stops after this step rather than at the epoch's end.
      await new Promise((resolve) => setImmediate(resolve));
      if (signal?.aborted) {
        await loop.save();
        return 'interrupted';
      }
      await loop.trainBatch(iterator);
    }
    const outOfTime = await loop.endEpoch(hook);
    if (outOfTime && !loop.runDone) return 'time budget';
  }
  return 'complete';
}
