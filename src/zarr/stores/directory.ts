/** A zarr container in a local folder. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import FileSystemStore from '@zarrita/storage/fs';
import { DataFormatError } from '../../errors.js';
import { joinKey, METADATA_FILES, type OpenedStore } from './types.js';

export async function openDirectory(location: string): Promise<OpenedStore> {
  const root = path.resolve(location);
  const stat = await fs.stat(root).catch(() => null);
  if (!stat) throw new DataFormatError('no such file or directory', { container: location });
  if (!stat.isDirectory()) {
    throw new DataFormatError('not a directory (a zarr container is a folder, a .zip file or a URL)', {
      container: location,
    });
  }
  return {
    container: location,
    kind: 'directory',
    store: new FileSystemStore(root),
    listMetadataKeys: () => walkMetadata(root),
  };
}

/** Metadata files below `root`, not descending into arrays (whose folders hold only chunks). */
async function walkMetadata(root: string): Promise<string[]> {
  const keys: string[] = [];
  async function visit(dir: string, rel: string): Promise<void> {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    const names = new Set(entries.map((e) => e.name));
    for (const e of entries) {
      if (e.isFile() && METADATA_FILES.has(e.name)) keys.push(joinKey(rel, e.name));
    }
    if (names.has('.zarray')) return;
    if (names.has('zarr.json')) {
      const meta = JSON.parse(await fs.readFile(path.join(dir, 'zarr.json'), 'utf8')) as { node_type?: string };
      if (meta.node_type === 'array') return;
    }
    await Promise.all(
      entries
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => visit(path.join(dir, e.name), joinKey(rel, e.name))),
    );
  }
  await visit(root, '');
  return keys.sort();
}
