/**
 * What nodes (arrays, groups) a container holds, without opening every array: from a listing of
 * metadata files where the store can list, from consolidated metadata, or by probing (http).
 */
import type { AbsolutePath } from '@zarrita/storage';
import { joinKey, type OpenedStore } from './stores/index.js';

export type NodeKind = 'array' | 'group';

export interface NodeIndex {
  kind(path: string): Promise<NodeKind | null>;
  /** Names of the child nodes of a group, sorted; null when the store cannot list them. */
  children(path: string): Promise<string[] | null>;
  /** How nodes were found, for messages. */
  readonly source: 'listing' | 'consolidated' | 'probing';
}

const decoder = new TextDecoder();

async function getJson(opened: OpenedStore, key: string): Promise<Record<string, unknown> | null> {
  const bytes = await opened.store.get(`/${key}` as AbsolutePath);
  if (!bytes) return null;
  try {
    return JSON.parse(decoder.decode(bytes)) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export async function indexNodes(opened: OpenedStore): Promise<NodeIndex> {
  const keys = await opened.listMetadataKeys();
  if (keys) return fromKinds(await kindsFromKeys(opened, keys), 'listing');
  const consolidated = await consolidatedKinds(opened);
  if (consolidated) return fromKinds(consolidated, 'consolidated');
  return probingIndex(opened);
}

/** Folder and file name of a metadata key. */
function splitKey(key: string): { dir: string; file: string } {
  const slash = key.lastIndexOf('/');
  return { dir: slash < 0 ? '' : key.slice(0, slash), file: key.slice(slash + 1) };
}

/** Records the node a zarr v2 metadata key (`.zarray`, `.zgroup`) declares; false for other keys. */
function addV2Node(kinds: Map<string, NodeKind>, key: string): boolean {
  const { dir, file } = splitKey(key);
  if (file === '.zarray') kinds.set(dir, 'array');
  else if (file === '.zgroup') kinds.set(dir, kinds.get(dir) ?? 'group');
  else return false;
  return true;
}

async function kindsFromKeys(opened: OpenedStore, keys: string[]): Promise<Map<string, NodeKind>> {
  const kinds = new Map<string, NodeKind>();
  await Promise.all(
    keys.map(async (key) => {
      if (addV2Node(kinds, key)) return;
      const { dir, file } = splitKey(key);
      if (file === 'zarr.json') {
        const meta = await getJson(opened, key);
        if (meta?.['node_type'] === 'array') kinds.set(dir, 'array');
        else if (meta?.['node_type'] === 'group') kinds.set(dir, kinds.get(dir) ?? 'group');
      }
    }),
  );
  addImplicitGroups(kinds);
  return kinds;
}

/** zarr v2 writers sometimes omit `.zgroup` on intermediate folders: a folder with nodes below is a group. */
function addImplicitGroups(kinds: Map<string, NodeKind>): void {
  for (const path of [...kinds.keys()]) {
    const parts = path.split('/');
    for (let i = 0; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (path !== '' && !kinds.has(parent)) kinds.set(parent, 'group');
    }
  }
}

async function consolidatedKinds(opened: OpenedStore): Promise<Map<string, NodeKind> | null> {
  const v2 = await getJson(opened, '.zmetadata');
  const kinds = new Map<string, NodeKind>();
  if (v2 && typeof v2['metadata'] === 'object' && v2['metadata'] !== null) {
    for (const key of Object.keys(v2['metadata'] as object)) addV2Node(kinds, key);
    addImplicitGroups(kinds);
    return kinds;
  }
  const v3 = await getJson(opened, 'zarr.json');
  const cm = v3?.['consolidated_metadata'] as { metadata?: Record<string, { node_type?: string }> } | undefined;
  if (v3 && cm?.metadata) {
    kinds.set('', 'group');
    for (const [path, meta] of Object.entries(cm.metadata)) {
      kinds.set(path, meta.node_type === 'array' ? 'array' : 'group');
    }
    addImplicitGroups(kinds);
    return kinds;
  }
  return null;
}

function fromKinds(kinds: Map<string, NodeKind>, source: NodeIndex['source']): NodeIndex {
  return {
    source,
    kind: async (path) => kinds.get(path) ?? null,
    children: async (path) => {
      const prefix = path ? `${path}/` : '';
      const names = new Set<string>();
      for (const p of kinds.keys()) {
        if (p !== path && p.startsWith(prefix)) names.add(p.slice(prefix.length).split('/')[0]!);
      }
      return [...names].sort();
    },
  };
}

function probingIndex(opened: OpenedStore): NodeIndex {
  const cache = new Map<string, Promise<NodeKind | null>>();
  const probe = async (path: string): Promise<NodeKind | null> => {
    const v3 = await getJson(opened, joinKey(path, 'zarr.json'));
    if (v3) return v3['node_type'] === 'array' ? 'array' : 'group';
    if (await opened.store.get(`/${joinKey(path, '.zarray')}` as AbsolutePath)) return 'array';
    if (await opened.store.get(`/${joinKey(path, '.zgroup')}` as AbsolutePath)) return 'group';
    return null;
  };
  return {
    source: 'probing',
    kind: (path) => {
      if (!cache.has(path)) cache.set(path, probe(path));
      return cache.get(path)!;
    },
    children: async () => null,
  };
}
