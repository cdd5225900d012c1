/**
 * zarr v3 consolidated metadata: every node's zarr.json inlined into the root zarr.json, so that
 * readers that cannot list folders (http, object stores) find the crops of a container in the
 * crops layout (zarr-python: `zarr.consolidate_metadata(path)`).
 */
import { readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';

export async function consolidate(container: string): Promise<void> {
  const metadata: Record<string, { node_type: string }> = {};
  const visit = async (group: string): Promise<void> => {
    for (const entry of await readdir(path.join(container, group), { withFileTypes: true })) {
      const node = group ? `${group}/${entry.name}` : entry.name;
      const file = path.join(container, node, 'zarr.json');
      if (!entry.isDirectory() || !(await stat(file).catch(() => null))) continue;
      metadata[node] = JSON.parse(await readFile(file, 'utf8'));
      if (metadata[node]!.node_type === 'group') await visit(node);
    }
  };
  await visit('');
  const rootFile = path.join(container, 'zarr.json');
  const root = JSON.parse(await readFile(rootFile, 'utf8'));
  root.consolidated_metadata = { kind: 'inline', must_understand: false, metadata };
  await writeFile(`${rootFile}.tmp`, JSON.stringify(root, null, 2));
  await rename(`${rootFile}.tmp`, rootFile); // readers never see a half-written zarr.json
}
