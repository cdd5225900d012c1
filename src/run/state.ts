/**
 * The resume point of a run: `<runDir>/latest/`, one directory written whole or not at all
 * (`fs/atomic-dir.ts`) holding the model (model.json + weights.bin, loadable like any
 * checkpoint), the optimizer's state (optimizer.json + optimizer.bin) and checkpoint.json with
 * the training position (epoch, batch, samples drawn). A process killed while saving leaves the
 * previous complete directory, which `loadLatest` reads.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { type AtomicWriteOptions, recoverDir, writeDirAtomically } from '../fs/atomic-dir.js';
import { statOrNull, writeFileSynced } from '../fs/files.js';
import { CHECKPOINT_INFO_FILENAME } from '../eval/checkpoint.js';
import { fileLoadHandler, fileSaveHandler } from '../eval/model-files.js';
import { readAdamBetaPowers, writeAdamBetaPowers } from '../internals/tfjs.js';

export const LATEST_DIRNAME = 'latest';
const OPTIMIZER_JSON = 'optimizer.json';
const OPTIMIZER_BIN = 'optimizer.bin';

/** Where training stands. Counts are of completed work. */
export interface TrainState {
  /** Epoch in progress (0-based); equal to the run's epochs when it is complete. */
  epoch: number;
  /** Batches of `epoch` already trained. */
  batchInEpoch: number;
  /** Batches trained in the whole run. */
  batches: number;
  /** Index of the next sample the training dataset draws (its `firstSample` on resume). */
  samples: number;
  /** Seconds spent training (all invocations). */
  trainSeconds: number;
  /** When this state was saved (ISO 8601). */
  time?: string;
}

interface OptimizerFile {
  className: string;
  weightSpecs: tf.io.WeightsManifestEntry[];
  /** Adam's running beta powers, restored bit for bit (its setWeights recomputes them with pow). */
  accBeta?: [number, number];
}

export function latestDir(runDir: string): string {
  return path.join(runDir, LATEST_DIRNAME);
}

/** Writes model, optimizer state and `state` to `<runDir>/latest/`, whole or not at all. */
export async function saveLatest(
  runDir: string,
  model: tf.LayersModel,
  state: TrainState,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const optimizer = model.optimizer;
  const weights = await optimizer.getWeights();
  // getWeights' first entry, the iteration count, is a new tensor; the others are the optimizer's variables.
  const { data, specs } = await tf.io.encodeWeights(weights);
  weights[0]?.tensor.dispose();
  const file: OptimizerFile = { className: optimizer.getClassName(), weightSpecs: specs };
  const accBeta = await readAdamBetaPowers(optimizer);
  if (accBeta) file.accBeta = accBeta;
  const info = `${JSON.stringify({ ...state, time: new Date().toISOString() }, null, 2)}\n`;
  await writeDirAtomically(
    latestDir(runDir),
    async (tmp) => {
      await model.save(fileSaveHandler(tmp));
      await writeFileSynced(path.join(tmp, OPTIMIZER_BIN), [new Uint8Array(data as ArrayBuffer)]);
      await writeFileSynced(path.join(tmp, OPTIMIZER_JSON), [JSON.stringify(file)]);
      await writeFileSynced(path.join(tmp, CHECKPOINT_INFO_FILENAME), [info]);
    },
    options,
  );
}

/**
 * Restores `<runDir>/latest/` into `model` (weights, matched by name: another architecture fails)
 * and its compiled optimizer; returns the saved state, or null when the run has no latest
 * checkpoint yet. Repairs what an interrupted save left first.
 */
export async function loadLatest(runDir: string, model: tf.LayersModel): Promise<TrainState | null> {
  const dir = latestDir(runDir);
  await recoverDir(dir);
  if (!(await statOrNull(dir))) return null;
  const state = JSON.parse(await fsp.readFile(path.join(dir, CHECKPOINT_INFO_FILENAME), 'utf8')) as TrainState;

  const artifacts = await fileLoadHandler(dir).load!();
  const modelWeights = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
  try {
    model.loadWeights(modelWeights, true);
  } finally {
    tf.dispose(Object.values(modelWeights));
  }

  const file = JSON.parse(await fsp.readFile(path.join(dir, OPTIMIZER_JSON), 'utf8')) as OptimizerFile;
  const optimizer = model.optimizer;
  if (file.className !== optimizer.getClassName()) {
    throw new Error(`${dir}: the saved optimizer is ${file.className}, the run's is ${optimizer.getClassName()}`);
  }
  const bytes = await fsp.readFile(path.join(dir, OPTIMIZER_BIN));
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const map = tf.io.decodeWeights(buffer, file.weightSpecs);
  try {
    await optimizer.setWeights(file.weightSpecs.map((s) => ({ name: s.name, tensor: map[s.name]! })));
  } finally {
    tf.dispose(Object.values(map));
  }
  if (file.accBeta) writeAdamBetaPowers(optimizer, file.accBeta);
  return state;
}
