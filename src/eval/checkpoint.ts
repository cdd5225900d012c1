/**
 * Checkpoints: a tf.LayersModel (model.json + weights.bin, see `model-artifacts.ts`) plus a
 * checkpoint.json of why it was kept (the caller's info: epoch, scores, parameters, ...), in one
 * folder of a run directory written whole or not at all (`rundir/`: a folder in Node,
 * `indexeddb://…` in a page).
 */
import * as tf from '@tensorflow/tfjs';
import { DataFormatError, OptionsError } from '../errors.js';
import { openRunDir } from '../rundir/open.js';
import { fromUtf8, type ReplaceOptions, type RunDir, utf8 } from '../rundir/run-dir.js';
import { KeyedQueue } from '../settle.js';
import {
  artifactsFromFiles,
  captureHandler,
  concatBytes,
  MODEL_JSON_FILENAME,
  modelFiles,
  WEIGHTS_BINARY_FILENAME,
} from './model-artifacts.js';
// Registers the custom layers the U-Net checkpoints need (UpSampling3D, Cropping3D, PatchConv3D).
import '../models/conv3d.js';
import '../models/layers.js';

export const CHECKPOINT_INFO_FILENAME = 'checkpoint.json';

/** Repairs what an interrupted save can leave next to a checkpoint folder (see `RunDir.recover`). */
export function recoverCheckpoint(location: string): Promise<void> {
  return openRunDir(location).recover();
}

export type SaveCheckpointOptions = ReplaceOptions;

/**
 * `<runDir>/best/<crop>`: where the validation hook keeps a test crop's best checkpoint by its
 * primary criterion; `<runDir>/best-<criterion>/<crop>` by another criterion (keepBestBy).
 */
export function bestCheckpointDir(runDir: string | RunDir, crop: string, criterion?: string): string {
  return runDirOf(runDir).locate(`${criterion === undefined ? 'best' : `best-${criterion}`}/${crop}`);
}

const runDirOf = (dir: string | RunDir): RunDir => (typeof dir === 'string' ? openRunDir(dir) : dir);

/** Saves to one location run one after the other, in call order. */
const saves = new KeyedQueue();

/**
 * Writes `model` (model.json + weights.bin) and `info` (checkpoint.json, pretty JSON) to the
 * folder `dir`, whole or not at all, replacing any checkpoint already there. On failure the
 * previous checkpoint is left as it was and the error propagates.
 */
export async function saveCheckpoint(
  model: tf.LayersModel,
  dir: string | RunDir,
  info: object,
  options: SaveCheckpointOptions = {},
): Promise<void> {
  const folder = runDirOf(dir);
  const infoText = JSON.stringify(info, null, 2);
  if (infoText === undefined) throw new OptionsError('saveCheckpoint: info must be a JSON-serializable object');
  return saves.run(folder.location, async () => {
    let files = new Map<string, Uint8Array>();
    await model.save(
      captureHandler((artifacts) => {
        const { json, weights } = modelFiles(artifacts);
        files = new Map([
          [WEIGHTS_BINARY_FILENAME, concatBytes(weights)],
          [MODEL_JSON_FILENAME, utf8(json)],
          [CHECKPOINT_INFO_FILENAME, utf8(`${infoText}\n`)],
        ]);
      }),
    );
    await folder.replace(files, options);
  });
}

/** The checkpoint folder of `p` and its model file: `p` itself, or its parent when `p` names the model.json. */
async function checkpointFiles(p: string | RunDir): Promise<{ folder: RunDir; json: string }> {
  const dir = runDirOf(p);
  if (dir.name === MODEL_JSON_FILENAME || (await dir.isFile())) return { folder: dir.parent(), json: dir.name };
  return { folder: dir, json: MODEL_JSON_FILENAME };
}

/**
 * Loads the model of a checkpoint. `p` is the checkpoint folder (e.g. `<runDir>/best/crop_03`,
 * `indexeddb://exp1/best/crop_03`) or the location of its model.json. Custom layers must be
 * registered before (the U-Net's are, by this module's imports).
 */
export async function loadCheckpoint(p: string): Promise<tf.LayersModel> {
  const artifacts = await checkpointArtifacts(p);
  return tf.loadLayersModel({ load: async () => artifacts });
}

/** The model artifacts of a checkpoint (see `loadCheckpoint`). */
export async function checkpointArtifacts(p: string | RunDir): Promise<tf.io.ModelArtifacts> {
  const { folder, json } = await checkpointFiles(p);
  const where = folder.locate(json);
  const bytes = await folder.read(json);
  if (!bytes) throw new OptionsError(`${where} does not exist: loading failed`);
  return artifactsFromFiles(fromUtf8(bytes), where, async (rel) => ({
    bytes: await folder.read(rel),
    location: folder.locate(rel),
  }));
}

/**
 * The parsed checkpoint.json of a checkpoint (folder or model.json location), or null when the
 * checkpoint has none.
 */
export async function readCheckpointInfo<T = Record<string, unknown>>(p: string | RunDir): Promise<T | null> {
  const { folder } = await checkpointFiles(p);
  const bytes = await folder.read(CHECKPOINT_INFO_FILENAME);
  if (!bytes) return null;
  try {
    return JSON.parse(fromUtf8(bytes)) as T;
  } catch (e) {
    throw new DataFormatError(
      `is not valid JSON: ${(e as Error).message}`,
      { container: folder.locate(CHECKPOINT_INFO_FILENAME) },
      { cause: e },
    );
  }
}
