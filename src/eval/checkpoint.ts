/**
 * Checkpoints: a tf.LayersModel (model.json + weights.bin, see `model-files.ts`) plus a
 * checkpoint.json of why it was kept (the caller's info: epoch, scores, parameters, ...), in one
 * directory written whole or not at all (`fs/atomic-dir.ts`).
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { DataFormatError, OptionsError } from '../errors.js';
import { type AtomicWriteOptions, readableDir, recoverDir, writeDirAtomically } from '../fs/atomic-dir.js';
import { isErrno, statOrNull, writeFileSynced } from '../fs/files.js';
import { fileLoadHandler, fileSaveHandler, MODEL_JSON_FILENAME } from './model-files.js';
// Registers the custom layers the U-Net checkpoints need (UpSampling3D, Cropping3D, PatchConv3D).
import '../models/conv3d.js';
import '../models/layers.js';

export const CHECKPOINT_INFO_FILENAME = 'checkpoint.json';

/** Repairs what an interrupted save can leave next to a checkpoint directory (see `recoverDir`). */
export const recoverCheckpoint = recoverDir;

export type SaveCheckpointOptions = AtomicWriteOptions;

/**
 * `<runDir>/best/<crop>`: where the validation hook keeps a test crop's best checkpoint by its
 * primary criterion; `<runDir>/best-<criterion>/<crop>` by another criterion (keepBestBy).
 */
export function bestCheckpointDir(runDir: string, crop: string, criterion?: string): string {
  return path.join(runDir, criterion === undefined ? 'best' : `best-${criterion}`, crop);
}

/**
 * Writes `model` (model.json + weights.bin) and `info` (checkpoint.json, pretty JSON) to `dir`,
 * whole or not at all, replacing any checkpoint already there. Parent directories are created.
 * On failure before the swap the previous checkpoint is left as it was and the error propagates.
 */
export async function saveCheckpoint(
  model: tf.LayersModel,
  dir: string,
  info: object,
  options: SaveCheckpointOptions = {},
): Promise<void> {
  const target = path.resolve(dir);
  const infoText = JSON.stringify(info, null, 2);
  if (infoText === undefined) throw new OptionsError('saveCheckpoint: info must be a JSON-serializable object');
  return writeDirAtomically(
    target,
    async (tmp) => {
      await model.save(fileSaveHandler(tmp));
      await writeFileSynced(path.join(tmp, CHECKPOINT_INFO_FILENAME), [`${infoText}\n`]);
    },
    options,
  );
}

/** The checkpoint directory for `p`: `p` itself, or its parent when `p` names a file (model.json). */
async function checkpointDir(p: string): Promise<string> {
  const resolved = path.resolve(p);
  const stats = await statOrNull(resolved);
  if (stats?.isFile()) return path.dirname(resolved);
  if (!stats && path.basename(resolved) === MODEL_JSON_FILENAME) return path.dirname(resolved);
  return resolved;
}

/**
 * Loads the model of a checkpoint. `p` is the checkpoint directory (e.g.
 * `<runDir>/best/crop_03`) or the path of its model.json. Custom layers must be registered
 * before (the U-Net's are, by this module's imports).
 */
export async function loadCheckpoint(p: string): Promise<tf.LayersModel> {
  const resolved = path.resolve(p);
  const stats = await statOrNull(resolved);
  if (stats?.isFile()) return tf.loadLayersModel(fileLoadHandler(resolved));
  const dir = await checkpointDir(resolved);
  const source = await readableDir(dir);
  return tf.loadLayersModel(fileLoadHandler(path.join(source, MODEL_JSON_FILENAME)));
}

/**
 * The parsed checkpoint.json of a checkpoint (directory or model.json path), or null when the
 * checkpoint has none.
 */
export async function readCheckpointInfo<T = Record<string, unknown>>(p: string): Promise<T | null> {
  const dir = await checkpointDir(p);
  const source = await readableDir(dir);
  const file = path.join(source, CHECKPOINT_INFO_FILENAME);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return null;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new DataFormatError(`is not valid JSON: ${(e as Error).message}`, { container: file }, { cause: e });
  }
}
