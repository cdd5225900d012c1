/**
 * A tf.LayersModel as files, in exactly the layout of tfjs-node's `file://` handler, so that each
 * reads the other's saves and checkpoints work with or without tfjs-node, in Node and in a page:
 *
 *   model.json   modelTopology, weightsManifest [{ paths: ['weights.bin'], weights }], format,
 *                generatedBy, convertedBy (+ trainingConfig, signature, userDefinedMetadata when
 *                present), compact JSON
 *   weights.bin  the concatenated weight data
 *
 * Pure: the media (files, IndexedDB) read and write the bytes.
 */
import * as tf from '@tensorflow/tfjs';
import { DataFormatError, OptionsError } from '../errors.js';

export const MODEL_JSON_FILENAME = 'model.json';
export const WEIGHTS_BINARY_FILENAME = 'weights.bin';

function weightShards(data: tf.io.WeightData | undefined): Uint8Array[] {
  if (data == null) return [];
  const buffers = Array.isArray(data) ? data : [data];
  return buffers.map((b) => new Uint8Array(b));
}

/** model.json's text and the weight shards (to be concatenated into weights.bin) of a save. */
export function modelFiles(artifacts: tf.io.ModelArtifacts): { json: string; weights: Uint8Array[] } {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new OptionsError('saving a binary (GraphDef) model topology is not supported');
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
  if (artifacts.userDefinedMetadata != null) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
  return { json: JSON.stringify(modelJSON), weights: weightShards(artifacts.weightData) };
}

/** The weight shards as one weights.bin. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A save handler that hands the artifacts to `keep` (the media write them). */
export function captureHandler(keep: (artifacts: tf.io.ModelArtifacts) => void | Promise<void>): tf.io.IOHandler {
  return {
    async save(artifacts) {
      await keep(artifacts);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

/**
 * The artifacts of a model.json (`text`, read from `where`), its weight files read by `readWeight`
 * (paths relative to the model.json, in manifest order; null: missing).
 */
export async function artifactsFromFiles(
  text: string,
  where: string,
  readWeight: (path: string) => Promise<{ bytes: Uint8Array | null; location: string }>,
): Promise<tf.io.ModelArtifacts> {
  let modelJSON: tf.io.ModelJSON;
  try {
    modelJSON = JSON.parse(text) as tf.io.ModelJSON;
  } catch (e) {
    throw new DataFormatError(`is not valid JSON: ${(e as Error).message}`, { container: where }, { cause: e });
  }
  if (modelJSON == null || typeof modelJSON !== 'object' || modelJSON.modelTopology == null) {
    throw new DataFormatError('has no modelTopology', { container: where });
  }
  return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
    const specs: tf.io.WeightsManifestEntry[] = [];
    const buffers: ArrayBuffer[] = [];
    for (const group of manifest) {
      for (const rel of group.paths) {
        const { bytes, location } = await readWeight(rel);
        if (!bytes)
          throw new DataFormatError(`weight file ${location} does not exist: loading failed`, { container: where });
        buffers.push(bytes.slice().buffer);
      }
      specs.push(...group.weights);
    }
    const data = buffers.length === 1 ? buffers[0]! : tf.io.CompositeArrayBuffer.join(buffers);
    return [specs, data];
  });
}
