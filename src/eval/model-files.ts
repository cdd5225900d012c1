/**
 * tfjs IO handlers for a model in a directory of the file system (Node), in the layout of
 * `model-artifacts.ts` (tfjs-node's `file://` layout). Files are fsynced.
 */
import type * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isErrno, statOrNull, syncDir, writeFileSynced } from '../fs/files.js';
import { OptionsError } from '../errors.js';
import {
  artifactsFromFiles,
  captureHandler,
  MODEL_JSON_FILENAME,
  modelFiles,
  WEIGHTS_BINARY_FILENAME,
} from './model-artifacts.js';

export { MODEL_JSON_FILENAME, WEIGHTS_BINARY_FILENAME } from './model-artifacts.js';

/** A save handler writing `model.json` + `weights.bin` into `dir` (created if missing). */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  const target = path.resolve(dir);
  return captureHandler(async (artifacts) => {
    const { json, weights } = modelFiles(artifacts);
    await fsp.mkdir(target, { recursive: true });
    const stats = await fsp.stat(target);
    if (!stats.isDirectory()) {
      throw new OptionsError(`fileSaveHandler: ${target} exists and is not a directory`);
    }
    await writeFileSynced(path.join(target, WEIGHTS_BINARY_FILENAME), weights);
    await writeFileSynced(path.join(target, MODEL_JSON_FILENAME), [json]);
    await syncDir(target);
  });
}

/** `p` itself when it is a file, `<p>/model.json` when it is a directory (or missing). */
async function modelJsonPath(p: string): Promise<string> {
  const resolved = path.resolve(p);
  const stats = await statOrNull(resolved);
  if (stats?.isFile()) return resolved;
  return path.join(resolved, MODEL_JSON_FILENAME);
}

async function readOrNull(file: string): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await fsp.readFile(file));
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return null;
    throw e;
  }
}

/**
 * A load handler reading a model saved by `fileSaveHandler` or by tfjs-node's `file://` handler.
 * `p` is the model directory or the path of its model.json; weight files are read relative to
 * the model.json, in manifest order.
 */
export function fileLoadHandler(p: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = await modelJsonPath(p);
      const json = await readOrNull(jsonPath);
      if (!json) throw new OptionsError(`fileLoadHandler: ${jsonPath} does not exist: loading failed`);
      const base = path.dirname(jsonPath);
      return artifactsFromFiles(new TextDecoder().decode(json), jsonPath, async (rel) => {
        const location = path.join(base, rel);
        return { bytes: await readOrNull(location), location };
      });
    },
  };
}
