/**
 * The metadata listing of a folder-like medium (a picked folder, picked files): every zarr
 * metadata file (and N5 attributes.json) below the root, not descending into arrays or N5
 * datasets (whose folders hold only chunks) nor into hidden folders — the rules of the local
 * directory store.
 */
import { joinKey, METADATA_FILES } from './types.js';

/** One folder of the medium. */
export interface ListedFolder {
  /** Names of the files and sub-folders directly inside. */
  list(): Promise<{ files: string[]; folders: string[] }>;
  folder(name: string): Promise<ListedFolder>;
  /** A file's text (only asked of a `zarr.json` or `attributes.json` that is present). */
  text(name: string): Promise<string>;
}

export async function listMetadata(root: ListedFolder): Promise<string[]> {
  const keys: string[] = [];
  async function visit(folder: ListedFolder, rel: string): Promise<void> {
    const { files, folders } = await folder.list();
    const present = new Set(files);
    for (const name of [...present].sort()) if (METADATA_FILES.has(name)) keys.push(joinKey(rel, name));
    if (present.has('.zarray')) return;
    if (present.has('zarr.json') && isArrayDocument(await folder.text('zarr.json'))) return;
    if (present.has('attributes.json') && isN5Dataset(await folder.text('attributes.json'))) return;
    await Promise.all(
      folders
        .filter((name) => !name.startsWith('.'))
        .map(async (name) => visit(await folder.folder(name), joinKey(rel, name))),
    );
  }
  await visit(root, '');
  return keys.sort();
}

/** Whether a zarr.json describes an array (a damaged one is reported when that node is asked about). */
function isArrayDocument(text: string): boolean {
  return (parsed(text) as { node_type?: string } | null)?.node_type === 'array';
}

/** Whether an N5 attributes.json describes a dataset (its folder holds only blocks). */
function isN5Dataset(text: string): boolean {
  const doc = parsed(text);
  return typeof doc === 'object' && doc !== null && 'dimensions' in doc;
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
