/**
 * An opened container: its store, its format (zarr or N5: one container is all one format, as
 * zarr-python's `zarr.open` makes a path ending in `.n5` an N5Store), its nodes, and its arrays
 * opened as Volumes (a multiscale group's chosen level, or an array).
 */
import { ChunkCache } from './chunk-cache.js';
import type { DecodedChunk } from './chunks.js';
import { DataFormatError } from '../errors.js';
import { readGroupAttrs } from './metadata/array.js';
import type { ContainerFormat } from './metadata/conventions.js';
import type { Attrs } from './metadata/funlib.js';
import { type LevelChoice, multiscaleKind, multiscaleLevels, pickLevel } from './metadata/multiscale.js';
import { n5UserAttributes, readN5Attributes } from './n5/metadata.js';
import { indexNodes, type NodeIndex } from './nodes.js';
import { openArrayVolume } from './open-array.js';
import { joinKey, openStore, type OpenedStore, type StoreOptions } from './stores/index.js';
import { type ContainerSource, sourceLabel } from './stores/source.js';
import type { ZarrVolume } from './volume.js';

export interface Container {
  /** The location as the user gave it, or the name of a picked folder or file (for messages). */
  readonly location: string;
  readonly opened: OpenedStore;
  readonly format: ContainerFormat;
  readonly nodes: NodeIndex;
  /** A group's attributes ({} when it has none), read once. */
  attrs(path: string): Promise<Attrs>;
  /** Whether `path` is an array or a multiscale group (something a Volume opens). */
  isVolume(path: string): Promise<boolean>;
  /** The array at `path`, or the chosen level of the multiscale group there. */
  openVolume(path: string, choice: LevelChoice, cache: ChunkCache<DecodedChunk>): Promise<ZarrVolume>;
}

export async function openContainer(source: ContainerSource, options: StoreOptions = {}): Promise<Container> {
  const location = sourceLabel(source);
  const opened = await openStore(source, options);
  const format = await formatOf(location, opened);
  const nodes = await indexNodes(opened, format);
  const groupAttrs = new Map<string, Promise<Attrs>>();
  const attrs = (path: string) => {
    let a = groupAttrs.get(path);
    if (!a) {
      const where = { container: location, path };
      a =
        format === 'n5'
          ? readN5Attributes(opened.store, where).then((doc) => (doc ? n5UserAttributes(doc) : {}))
          : readGroupAttrs(opened.store, where);
      groupAttrs.set(path, a);
    }
    return a;
  };
  const isVolume = async (path: string) => {
    const kind = await nodes.kind(path);
    return kind === 'array' || (kind === 'group' && multiscaleKind(await attrs(path)) !== null);
  };
  const openVolume = async (path: string, choice: LevelChoice, cache: ChunkCache<DecodedChunk>) => {
    const base = { opened, container: location, format, cache };
    if ((await nodes.kind(path)) !== 'group') {
      const volume = await openArrayVolume({ ...base, path });
      checkVoxelSize(volume, choice, location);
      return volume;
    }
    const where = { container: location, path };
    const level = pickLevel(multiscaleLevels(await attrs(path), where), choice, where);
    return openArrayVolume({ ...base, path: joinKey(path, level.path), metadata: level.metadata, groupPath: path });
  };
  return { location, opened, format, nodes, attrs, isVolume, openVolume };
}

/** A plain array asked for at a voxel size must have it: only multiscale groups have levels to choose from. */
function checkVoxelSize(volume: ZarrVolume, choice: LevelChoice, container: string): void {
  const want = choice.voxelSize;
  if (!want || (want.length === volume.voxelSize.length && want.every((v, i) => v === volume.voxelSize[i]))) return;
  throw new DataFormatError(
    `is a single array at voxel size [${volume.voxelSize.join(', ')}], not the [${want.join(', ')}] asked ` +
      '(DataConfig voxelSize picks a level of multiscale groups)',
    { container, path: volume.path, attribute: 'voxel_size' },
  );
}

/**
 * N5 for a location (or picked folder) whose last component ends in `.n5` (as zarr-python decides), or whose root
 * has no zarr metadata but an attributes.json naming an N5 version; zarr otherwise.
 */
async function formatOf(location: string, opened: OpenedStore): Promise<ContainerFormat> {
  const path = location.replace(/[?#].*$/, '').replace(/[/\\]+$/, '');
  if (/\.n5$/i.test(path)) return 'n5';
  for (const key of ['zarr.json', '.zgroup', '.zarray']) {
    if (await opened.store.get(`/${key}`)) return 'zarr';
  }
  const root = await readN5Attributes(opened.store, { container: location, path: '' }).catch(() => null);
  return root && 'n5' in root ? 'n5' : 'zarr';
}

/**
 * The array (or the chosen level of the multiscale group) at `path` of the container at
 * `location`, with a chunk cache of its own.
 */
export async function openVolumeAt(
  location: string,
  path: string,
  options: { cacheBytes?: number; level?: number | string; voxelSize?: readonly number[] | null } & StoreOptions = {},
): Promise<ZarrVolume> {
  const container = await openContainer(location, options);
  const cache = new ChunkCache<DecodedChunk>({ maxBytes: options.cacheBytes });
  return container.openVolume(path, { level: options.level ?? 0, voxelSize: options.voxelSize ?? null }, cache);
}
