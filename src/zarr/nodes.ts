/**
 * What nodes (arrays, groups) a container holds, without opening every array: from a listing of
 * metadata files where the store can list them all (folders, zip files), from consolidated
 * metadata, or by probing each node's metadata file, with its children listed where the store can
 * list one folder (buckets) and unknown otherwise (plain http).
 *
 * zarr: `.zarray` / `.zgroup` (v2), `zarr.json` with its node_type (v3). N5: `attributes.json`,
 * an array (dataset) when it has `dimensions`. In both, a folder holding nodes is a group even
 * without metadata of its own (writers often leave intermediate groups bare).
 */
import { DataFormatError } from '../errors.js';
import { readJsonFile } from './metadata/array.js';
import type { ContainerFormat } from './metadata/conventions.js';
import { joinKey, type OpenedStore } from './stores/index.js';
import { N5_ATTRIBUTES } from './n5/metadata.js';

export type NodeKind = 'array' | 'group';

export interface NodeIndex {
  kind(path: string): Promise<NodeKind | null>;
  /** Names of the child nodes of a group, sorted; null when the store cannot list them. */
  children(path: string): Promise<string[] | null>;
  /** How nodes were found, for messages. */
  readonly source: 'listing' | 'consolidated' | 'probing';
}

/** A metadata document, null when absent; a file that is not a JSON object is an error naming it. */
async function getJson(opened: OpenedStore, key: string): Promise<Record<string, unknown> | null> {
  const doc = await readJsonFile(opened.store, key, { container: opened.container });
  if (doc === null || (typeof doc === 'object' && !Array.isArray(doc))) return doc as Record<string, unknown> | null;
  const got = Array.isArray(doc) ? 'a list' : `a ${typeof doc}`;
  throw new DataFormatError(`${key} must hold a JSON object, got ${got}`, { container: opened.container });
}

export async function indexNodes(opened: OpenedStore, format: ContainerFormat = 'zarr'): Promise<NodeIndex> {
  const keys = await opened.listMetadataKeys();
  if (keys) {
    const broken = new Map<string, DataFormatError>();
    return fromKinds(await kindsFromKeys(opened, keys, broken, format), 'listing', broken);
  }
  const consolidated = format === 'zarr' ? await consolidatedKinds(opened) : null;
  if (consolidated) return fromKinds(consolidated, 'consolidated');
  return probingIndex(opened, format);
}

function badNodeType(opened: OpenedStore, key: string, meta: Record<string, unknown>): DataFormatError {
  const got = meta['node_type'] === undefined ? 'is missing' : `is ${JSON.stringify(meta['node_type'])}`;
  return new DataFormatError(`node_type in ${key} ${got}; it must be "array" or "group"`, {
    container: opened.container,
  });
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

/**
 * Nodes from a listing. A node whose `zarr.json` or `.zgroup` is damaged goes into `broken`: asking
 * about it is then an error naming the file (a crop must not vanish silently), while damage in a
 * folder nobody asks about does not stop the container from opening.
 */
async function kindsFromKeys(
  opened: OpenedStore,
  keys: string[],
  broken: Map<string, DataFormatError>,
  format: ContainerFormat,
): Promise<Map<string, NodeKind>> {
  const kinds = new Map<string, NodeKind>();
  const read = (key: string, dir: string) =>
    getJson(opened, key).catch((error: unknown) => {
      if (!(error instanceof DataFormatError)) throw error;
      broken.set(dir, error);
      return null;
    });
  await Promise.all(
    keys.map(async (key) => {
      const { dir, file } = splitKey(key);
      if (format === 'n5') {
        if (file !== N5_ATTRIBUTES) return;
        const meta = await read(key, dir);
        if (meta) kinds.set(dir, 'dimensions' in meta ? 'array' : (kinds.get(dir) ?? 'group'));
        return;
      }
      if (file === '.zgroup' && !(await read(key, dir))) return;
      if (addV2Node(kinds, key)) return;
      if (file === 'zarr.json') {
        const meta = await read(key, dir);
        if (meta?.['node_type'] === 'array') kinds.set(dir, 'array');
        else if (meta?.['node_type'] === 'group') kinds.set(dir, kinds.get(dir) ?? 'group');
        else if (meta) broken.set(dir, badNodeType(opened, key, meta));
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

function fromKinds(
  kinds: Map<string, NodeKind>,
  source: NodeIndex['source'],
  broken: ReadonlyMap<string, DataFormatError> = new Map(),
): NodeIndex {
  return {
    source,
    kind: async (path) => {
      const error = broken.get(path);
      if (error) throw error;
      return kinds.get(path) ?? null;
    },
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

function probingIndex(opened: OpenedStore, format: ContainerFormat): NodeIndex {
  const cache = new Map<string, Promise<NodeKind | null>>();
  const list = (path: string) => (opened.listChildren ? opened.listChildren(path) : Promise.resolve(null));
  const probe = async (path: string): Promise<NodeKind | null> => {
    const kind = format === 'n5' ? await probeN5(path) : await probeZarr(path);
    if (kind) return kind;
    // A folder holding nodes is a group (found where the store can list it). A listing refused
    // here only leaves such a group unknown: containers whose groups have metadata open without
    // the right to list, and asking for a group's children reports the refusal.
    const children = await list(path).catch(() => null);
    return (children ?? []).length > 0 ? 'group' : null;
  };
  const probeN5 = async (path: string): Promise<NodeKind | null> => {
    const meta = await getJson(opened, joinKey(path, N5_ATTRIBUTES));
    return meta ? ('dimensions' in meta ? 'array' : 'group') : null;
  };
  const probeZarr = async (path: string): Promise<NodeKind | null> => {
    const key = joinKey(path, 'zarr.json');
    const v3 = await getJson(opened, key);
    if (v3?.['node_type'] === 'array' || v3?.['node_type'] === 'group') return v3['node_type'] as NodeKind;
    if (v3) throw badNodeType(opened, key, v3);
    if (await getJson(opened, joinKey(path, '.zarray'))) return 'array';
    if (await getJson(opened, joinKey(path, '.zgroup'))) return 'group';
    return null;
  };
  return {
    source: 'probing',
    kind: (path) => {
      if (!cache.has(path)) cache.set(path, probe(path));
      return cache.get(path)!;
    },
    children: list,
  };
}
