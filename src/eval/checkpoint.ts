/**
 * Checkpoints: a tf.LayersModel plus a small JSON of why it was kept, in one directory.
 *
 * Files (the same whether or not @tensorflow/tfjs-node is installed):
 *
 *   <dir>/model.json       exactly what tfjs-node's `file://` handler writes: modelTopology,
 *                          weightsManifest [{ paths: ['weights.bin'], weights }], format,
 *                          generatedBy, convertedBy (+ trainingConfig, signature,
 *                          userDefinedMetadata when present), compact JSON
 *   <dir>/weights.bin      the concatenated weight data
 *   <dir>/checkpoint.json  the caller's info (epoch, scores, parameters, ...), pretty JSON
 *
 * so `tf.loadLayersModel('file://<dir>/model.json')` under tfjs-node reads our checkpoints and
 * `fileLoadHandler` reads tfjs-node's saves.
 *
 * `saveCheckpoint` writes whole or not at all: everything goes into a sibling
 * `<dir>.tmp-<pid>-<random>` directory, every file and the directory are fsynced, then the old
 * checkpoint is renamed to `<dir>.old-<pid>-<random>`, the temporary directory renamed to `<dir>`
 * and the old one removed. A crash leaves either the old or the new checkpoint at `<dir>`, or —
 * between the two renames — no `<dir>` and a complete `.old-` sibling, which `recoverCheckpoint`
 * (called by every save, and callable at start-up) renames back. `loadCheckpoint` and
 * `readCheckpointInfo` read from that `.old-` sibling without touching the disk when `<dir>` is
 * missing. Saves to one directory from this process are queued one after the other; saving to
 * the same directory from several processes at once is not supported.
 */
import { writeFully } from '../write-fully.js';
import * as tf from '@tensorflow/tfjs';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
// Registers the custom layers (UpSampling3D, Cropping3D) the U-Net checkpoints need.
import '../models/unet.js';

export const MODEL_JSON_FILENAME = 'model.json';
export const WEIGHTS_BINARY_FILENAME = 'weights.bin';
export const CHECKPOINT_INFO_FILENAME = 'checkpoint.json';

const TMP_TAG = '.tmp-';
const OLD_TAG = '.old-';

function isErrno(e: unknown, ...codes: string[]): boolean {
  return e instanceof Error && codes.includes((e as NodeJS.ErrnoException).code ?? '');
}

async function statOrNull(p: string): Promise<import('node:fs').Stats | null> {
  try {
    return await fsp.stat(p);
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return null;
    throw e;
  }
}

/** Writes `chunks` to `file` (created or truncated) and fsyncs it before closing. */
async function writeFileSynced(file: string, chunks: Iterable<Uint8Array | string>): Promise<void> {
  const fh = await fsp.open(file, 'w');
  try {
    for (const chunk of chunks) {
      await writeFully(fh, typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * fsyncs a directory so renames and new entries in it are durable. Best effort: some platforms
 * (Windows) and file systems refuse to open or sync directories.
 */
async function syncDir(dir: string): Promise<void> {
  let fh: import('node:fs/promises').FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    // not supported here: nothing more we can do
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

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
        throw new Error('fileSaveHandler: saving a binary (GraphDef) model topology is not supported');
      }
      await fsp.mkdir(target, { recursive: true });
      const stats = await fsp.stat(target);
      if (!stats.isDirectory()) {
        throw new Error(`fileSaveHandler: ${target} exists and is not a directory`);
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
          throw new Error(`fileLoadHandler: ${jsonPath} does not exist: loading failed`, { cause: e });
        }
        throw e;
      }
      let modelJSON: tf.io.ModelJSON;
      try {
        modelJSON = JSON.parse(text) as tf.io.ModelJSON;
      } catch (e) {
        throw new Error(`fileLoadHandler: ${jsonPath} is not valid JSON: ${(e as Error).message}`, { cause: e });
      }
      if (modelJSON == null || typeof modelJSON !== 'object' || modelJSON.modelTopology == null) {
        throw new Error(`fileLoadHandler: ${jsonPath} has no modelTopology`);
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
                throw new Error(`fileLoadHandler: weight file ${file} does not exist: loading failed`, { cause: e });
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

interface Siblings {
  parent: string;
  base: string;
  tmp: string[];
  old: string[];
}

async function listSiblings(dir: string): Promise<Siblings> {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  let names: string[] = [];
  try {
    names = await fsp.readdir(parent);
  } catch (e) {
    if (!isErrno(e, 'ENOENT', 'ENOTDIR')) throw e;
  }
  const tmp: string[] = [];
  const old: string[] = [];
  for (const name of names) {
    if (name.startsWith(base + TMP_TAG)) tmp.push(path.join(parent, name));
    else if (name.startsWith(base + OLD_TAG)) old.push(path.join(parent, name));
  }
  return { parent, base, tmp, old };
}

/** The pid in `<dir>.tmp-<pid>-<random>` / `<dir>.old-<pid>-<random>`, or null. */
function siblingPid(sibling: string, dir: string, tag: string): number | null {
  const rest = path.basename(sibling).slice(path.basename(dir).length + tag.length);
  const m = /^(\d+)-/.exec(rest);
  return m ? Number(m[1]) : null;
}

/** Whether a process other than this one, with this pid, is running (so may be mid-save). */
function otherProcessAlive(pid: number | null): boolean {
  if (pid == null || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return isErrno(e, 'EPERM');
  }
}

/** Newest first by mtime (ties: by name, for determinism). */
async function newestFirst(paths: string[]): Promise<string[]> {
  const withTime = await Promise.all(
    paths.map(async (p) => ({ p, t: (await statOrNull(p))?.mtimeMs ?? -Infinity })),
  );
  withTime.sort((a, b) => b.t - a.t || (a.p < b.p ? 1 : a.p > b.p ? -1 : 0));
  return withTime.map((x) => x.p);
}

/** The complete `.old-` sibling to read from when `dir` itself is missing, or null. */
async function fallbackDir(dir: string): Promise<string | null> {
  if (await statOrNull(dir)) return null;
  const { old } = await listSiblings(dir);
  const [newest] = await newestFirst(old);
  return newest ?? null;
}

/**
 * Repairs what an interrupted save can leave next to `dir`: when `dir` is missing but an
 * `.old-` sibling exists (a crash between the two renames), the newest one is renamed back to
 * `dir`; then leftover `.tmp-` and `.old-` siblings are removed — except temporary directories
 * of another running process, which may be saving right now. Safe to call at start-up;
 * `saveCheckpoint` calls it before every save.
 */
export async function recoverCheckpoint(dir: string): Promise<void> {
  const target = path.resolve(dir);
  let siblings = await listSiblings(target);
  if (siblings.old.length > 0 && !(await statOrNull(target))) {
    const [restore] = await newestFirst(siblings.old);
    await fsp.rename(restore!, target);
    await syncDir(siblings.parent);
    siblings = await listSiblings(target);
  }
  for (const p of siblings.old) {
    if (await statOrNull(p)) await fsp.rm(p, { recursive: true, force: true });
  }
  for (const p of siblings.tmp) {
    if (otherProcessAlive(siblingPid(p, target, TMP_TAG))) continue;
    await fsp.rm(p, { recursive: true, force: true });
  }
}

export interface SaveCheckpointOptions {
  /**
   * Called once every file is written and synced in the temporary directory, just before the
   * swap. For tests: throwing here simulates a crash mid-save — the previous checkpoint stays,
   * the temporary directory is removed and the error propagates.
   */
  beforeSwap?: () => void | Promise<void>;
}

/** Saves to the same directory from this process run one after the other. */
const saveQueues = new Map<string, Promise<unknown>>();

function serialized<T>(key: string, job: () => Promise<T>): Promise<T> {
  const previous = saveQueues.get(key) ?? Promise.resolve();
  const run = previous.then(job, job);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  saveQueues.set(key, settled);
  void settled.then(() => {
    if (saveQueues.get(key) === settled) saveQueues.delete(key);
  });
  return run;
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
  if (infoText === undefined) throw new TypeError('saveCheckpoint: info must be a JSON-serializable object');
  return serialized(target, async () => {
    const parent = path.dirname(target);
    await fsp.mkdir(parent, { recursive: true });
    await recoverCheckpoint(target);

    const suffix = `${process.pid}-${randomBytes(6).toString('hex')}`;
    const tmp = `${target}${TMP_TAG}${suffix}`;
    const old = `${target}${OLD_TAG}${suffix}`;
    try {
      await fsp.mkdir(tmp);
      await model.save(fileSaveHandler(tmp));
      await writeFileSynced(path.join(tmp, CHECKPOINT_INFO_FILENAME), [infoText + '\n']);
      await syncDir(tmp);
      await options.beforeSwap?.();
    } catch (e) {
      await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }

    // The swap. Only two renames: `dir` is never observed half-written.
    let movedOld = false;
    try {
      if (await statOrNull(target)) {
        await fsp.rename(target, old);
        movedOld = true;
      }
      await fsp.rename(tmp, target);
    } catch (e) {
      if (movedOld) await fsp.rename(old, target).catch(() => undefined);
      await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
    await syncDir(parent);
    // The new checkpoint is in place; failing to delete the old one is not a failed save (the
    // next save or recoverCheckpoint removes it).
    if (movedOld) await fsp.rm(old, { recursive: true, force: true }).catch(() => undefined);
  });
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
  const source = (await fallbackDir(dir)) ?? dir;
  return tf.loadLayersModel(fileLoadHandler(path.join(source, MODEL_JSON_FILENAME)));
}

/**
 * The parsed checkpoint.json of a checkpoint (directory or model.json path), or null when the
 * checkpoint has none.
 */
export async function readCheckpointInfo<T = Record<string, unknown>>(p: string): Promise<T | null> {
  const dir = await checkpointDir(p);
  const source = (await fallbackDir(dir)) ?? dir;
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
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}
