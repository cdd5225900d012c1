/**
 * A checkpoint as files a page offers for download: `<name>.json` + `<name>.weights.bin` (the
 * layout of tfjs's `browserDownloads`, which `tf.loadLayersModel(tf.io.browserFiles([json,
 * weights]))` loads back) and `<name>.checkpoint.json` (why it was kept).
 */
import { OptionsError } from '../errors.js';
import { checkpointArtifacts, readCheckpointInfo } from './checkpoint.js';
import { concatBytes, modelFiles } from './model-artifacts.js';

export interface DownloadCheckpointOptions {
  /** File name stem (default 'model': model.json, model.weights.bin, model.checkpoint.json). */
  name?: string;
  /** Whether to start the downloads (default true); false only returns the files. */
  download?: boolean;
}

/**
 * The files of the checkpoint at `location` (e.g. 'indexeddb://exp1/best/crop_03'), each offered
 * for download unless `download: false`.
 */
export async function downloadCheckpoint(location: string, options: DownloadCheckpointOptions = {}): Promise<File[]> {
  const name = options.name ?? 'model';
  if (!/^[^/\\]+$/.test(name)) throw new OptionsError(`downloadCheckpoint: name must be a file name, got ${name}`);
  const { json, weights } = modelFiles(await checkpointArtifacts(location));
  const model = JSON.parse(json) as { weightsManifest: { paths: string[] }[] };
  model.weightsManifest[0]!.paths = [`./${name}.weights.bin`];
  const files = [
    new File([JSON.stringify(model)], `${name}.json`, { type: 'application/json' }),
    new File([concatBytes(weights) as Uint8Array<ArrayBuffer>], `${name}.weights.bin`, {
      type: 'application/octet-stream',
    }),
  ];
  const info = await readCheckpointInfo(location);
  if (info)
    files.push(new File([JSON.stringify(info, null, 2)], `${name}.checkpoint.json`, { type: 'application/json' }));
  if (options.download ?? true) for (const file of files) offer(file);
  return files;
}

function offer(file: File): void {
  if (typeof document === 'undefined') throw new OptionsError('downloadCheckpoint: downloads need a page (document)');
  const url = URL.createObjectURL(file);
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // The download has started reading the Blob by the next task.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
