/**
 * tfjs IO handlers for a model in a directory, in exactly the layout of tfjs-node's `file://`
 * handler, so that each reads the other's saves and checkpoints work with or without tfjs-node:
 *
 *   <dir>/model.json   modelTopology, weightsManifest [{ paths: ['weights.bin'], weights }], format,
 *                      generatedBy, convertedBy (+ trainingConfig, signature,
 *                      userDefinedMetadata when present), compact JSON
 *   <dir>/weights.bin  the concatenated weight data
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isErrno, statOrNull, syncDir, writeFileSynced } from '../fs/files.js';
import { DataFormatError, OptionsError } from '../errors.js';

export const MODEL_JSON_FILENAME = 'model.json';
export const WEIGHTS_BINARY_FILENAME = 'weights.bin';

function weightShards(data: tf.io.WeightData | undefined): Uint8Array[] {
  if (data == null) return [];
  const buffers = Array.isArray(data) ? data : [data];
  return buffers.map((b) => new Uint8Array(b));
}

/** An exact ArrayBuffer copy of a Node Buffer (whose memory may be a slice of a shared pool). */
function toArrayBuffer(buf: Buffer): ArrayBuffer {
  const out = new ArrayBuffer(buf.byteLength);
  new Uint8Array(out).set(buf);
  return out;
}

/**
 * A save handler writing `model.json` + `weights.bin` into `dir` (created if missing), in the
 * layout of tfjs-node's `file://` handler. Files are fsynced.
 */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  const target = path.resolve(dir);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new OptionsError('fileSaveHandler: saving a binary (GraphDef) model topology is not supported');
      }
      await fsp.mkdir(target, { recursive: true });
      const stats = await fsp.stat(target);
      if (!stats.isDirectory()) {
        throw new OptionsError(`fileSaveHandler: ${target} exists and is not a directory`);
      }
      const weightsManifest: tf.io.WeightsManifestConfig = [
        { paths: [WEIGHTS_BINARY_FILENAME], weights: artifacts.weightSpecs ?? [] },
      ];
      // Same keys, order and (compact) formatting as tfjs-node's NodeFileSystem.save.
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology as object,
        weightsManifest,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
      };
      if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
      if (artifacts.signature != null) modelJSON.signature = artifacts.signature;
      if (artifacts.userDefinedMetadata != null) {
        modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
      }
      await writeFileSynced(path.join(target, WEIGHTS_BINARY_FILENAME), weightShards(artifacts.weightData));
      await writeFileSynced(path.join(target, MODEL_JSON_FILENAME), [JSON.stringify(modelJSON)]);
      await syncDir(target);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

/** `p` itself when it is a file, `<p>/model.json` when it is a directory (or missing). */
async function modelJsonPath(p: string): Promise<string> {
  const resolved = path.resolve(p);
  const stats = await statOrNull(resolved);
  if (stats?.isFile()) return resolved;
  return path.join(resolved, MODEL_JSON_FILENAME);
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
      let text: string;
      try {
        text = await fsp.readFile(jsonPath, 'utf8');
      } catch (e) {
        if (isErrno(e, 'ENOENT', 'ENOTDIR')) {
          throw new OptionsError(`fileLoadHandler: ${jsonPath} does not exist: loading failed`, { cause: e });
        }
        throw e;
      }
      let modelJSON: tf.io.ModelJSON;
      try {
        modelJSON = JSON.parse(text) as tf.io.ModelJSON;
      } catch (e) {
        throw new DataFormatError(`is not valid JSON: ${(e as Error).message}`, { container: jsonPath }, { cause: e });
      }
      if (modelJSON == null || typeof modelJSON !== 'object' || modelJSON.modelTopology == null) {
        throw new DataFormatError('has no modelTopology', { container: jsonPath });
      }
      const base = path.dirname(jsonPath);
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const rel of group.paths) {
            const file = path.join(base, rel);
            try {
              buffers.push(toArrayBuffer(await fsp.readFile(file)));
            } catch (e) {
              if (isErrno(e, 'ENOENT', 'ENOTDIR')) {
                throw new DataFormatError(
                  `weight file ${file} does not exist: loading failed`,
                  { container: jsonPath },
                  { cause: e },
                );
              }
              throw e;
            }
          }
          specs.push(...group.weights);
        }
        const data = buffers.length === 1 ? buffers[0]! : tf.io.CompositeArrayBuffer.join(buffers);
        return [specs, data];
      });
    },
  };
}
