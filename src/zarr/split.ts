/**
 * Opening a container as a DaCapo data split. Layouts, tried in this order:
 *   data.zarr/{raw,labels[,mask]}                          one crop, train = test
 *   data.zarr/{train,test}/{raw,labels[,mask]}             one crop each
 *   data.zarr/{train,test}/<any name>/{raw,labels[,mask]}  many crops, named by their folder
 */
import { allInOrder } from '../settle.js';
import * as zarr from 'zarrita';
import type { Readable } from '@zarrita/storage';
import { ChunkCache } from './chunk-cache.js';
import type { DecodedChunk } from './chunks.js';
import { registerFastCodecs } from './codecs.js';
import { DataConfig, type DataConfigOptions } from './config.js';
import { resampleCrop, ZarrCrop } from './crop.js';
import { DataFormatError } from '../errors.js';
import { readArrayMetadata, readGroupAttrs } from './metadata/array.js';
import { readSpatialMetadata, type SpatialMetadata } from './metadata/funlib.js';
import { hasMultiscales, readMultiscales } from './metadata/ome.js';
import { indexNodes, type NodeIndex } from './nodes.js';
import { rawNormalization } from './normalize.js';
import { joinKey, openStore, type OpenedStore } from './stores/index.js';
import { escapeKeyPath, unescapingStore } from './stores/keys.js';
import { type ContainerSource, isContainerSource } from './stores/source.js';
import { ZarrVolume } from './volume.js';

export type Layout = 'simple' | 'train-test' | 'crops';

export interface DataSplit {
  readonly config: DataConfig;
  readonly container: string;
  readonly layout: Layout;
  readonly train: ZarrCrop[];
  readonly test: ZarrCrop[];
  /** The decoded-chunk cache shared by every read of this container. */
  readonly cache: ChunkCache<DecodedChunk>;
}

/**
 * Opens a container as a data split: `config` is its location or picked object (a path, URL,
 * FileSystemDirectoryHandle, FileList, .zip File/Blob) or the options naming it (`{ path, … }`).
 */
export async function openDataSplit(config: ContainerSource | DataConfig | DataConfigOptions): Promise<DataSplit> {
  registerFastCodecs();
  const cfg =
    config instanceof DataConfig
      ? config
      : new DataConfig(isContainerSource(config) ? { path: config } : (config as DataConfigOptions));
  const opened = await openStore(cfg.source, cfg.http);
  const nodes = await indexNodes(opened);
  const cache = new ChunkCache<DecodedChunk>({ maxBytes: cfg.cacheBytes, concurrency: cfg.concurrency });
  // zarrita sees escaped paths (it would URL-decode names); the store maps them back to file names.
  const root = zarr.root(unescapingStore(opened.store));
  const ctx: Context = { cfg, opened, nodes, cache, root, groupAttrs: new Map() };

  if ((await nodes.kind('')) === null) {
    const how = opened.kind === 'http' ? ' (HTTP 404 for zarr.json, .zgroup and .zarray)' : '';
    throw new DataFormatError(`no zarr group or array found${how}`, { container: cfg.path });
  }
  const hasRaw = await isVolumeNode(ctx, cfg.rawName);
  const hasLabels = await isVolumeNode(ctx, cfg.gtName);
  const hasTrain = (await nodes.kind(cfg.trainGroupName)) === 'group';
  const hasTest = (await nodes.kind(cfg.validateGroupName)) === 'group';

  if (hasRaw || hasLabels) {
    if (hasTrain || hasTest) {
      throw new DataFormatError(
        `mixes layouts: it holds ${hasRaw ? cfg.rawName : cfg.gtName} at the root and a ` +
          `${hasTrain ? cfg.trainGroupName : cfg.validateGroupName}/ group; use one layout`,
        { container: cfg.path, path: hasRaw ? cfg.rawName : cfg.gtName },
      );
    }
    const crop = await openCrop(ctx, '', cfg.name);
    return { config: cfg, container: cfg.path, layout: 'simple', train: [crop], test: [crop], cache };
  }
  if (!hasTrain && !hasTest) {
    throw new DataFormatError(
      `no raw/labels found: expected ${cfg.rawName} and ${cfg.gtName} at the root, or ` +
        `${cfg.trainGroupName}/ and ${cfg.validateGroupName}/ groups holding them`,
      { container: cfg.path },
    );
  }
  if (!hasTrain || !hasTest) {
    const missing = hasTrain ? cfg.validateGroupName : cfg.trainGroupName;
    throw new DataFormatError(
      `has no ${missing}/ group (both ${cfg.trainGroupName}/ and ${cfg.validateGroupName}/ are needed)`,
      {
        container: cfg.path,
        path: missing,
      },
    );
  }
  const [train, test] = await allInOrder([cropsIn(ctx, cfg.trainGroupName), cropsIn(ctx, cfg.validateGroupName)]);
  const layout: Layout = train.layout === 'crops' || test.layout === 'crops' ? 'crops' : 'train-test';
  return { config: cfg, container: cfg.path, layout, train: train.crops, test: test.crops, cache };
}

interface Context {
  cfg: DataConfig;
  opened: OpenedStore;
  nodes: NodeIndex;
  cache: ChunkCache<DecodedChunk>;
  root: zarr.Location<Readable>;
  /** Attributes of the groups read so far: layout discovery asks about the same groups again. */
  groupAttrs: Map<string, Promise<Record<string, unknown>>>;
}

async function isVolumeNode(ctx: Context, path: string): Promise<boolean> {
  const kind = await ctx.nodes.kind(path);
  if (kind === 'array') return true;
  if (kind === 'group') return hasMultiscales(await groupAttrs(ctx, path));
  return false;
}

function groupAttrs(ctx: Context, path: string): Promise<Record<string, unknown>> {
  let attrs = ctx.groupAttrs.get(path);
  if (!attrs) {
    attrs = readGroupAttrs(ctx.opened.store, { container: ctx.cfg.path, path });
    ctx.groupAttrs.set(path, attrs);
  }
  return attrs;
}

/** The crops of a train or test group: the group itself, or its sub-groups sorted by name. */
async function cropsIn(ctx: Context, group: string): Promise<{ layout: Layout; crops: ZarrCrop[] }> {
  const { cfg, nodes } = ctx;
  const own =
    (await isVolumeNode(ctx, joinKey(group, cfg.rawName))) || (await isVolumeNode(ctx, joinKey(group, cfg.gtName)));
  const children = await nodes.children(group);
  const cropNames: string[] = [];
  for (const name of children ?? []) {
    if (name === cfg.rawName || name === cfg.gtName || name === cfg.maskName) continue;
    const path = joinKey(group, name);
    if ((await nodes.kind(path)) !== 'group') continue;
    if ((await isVolumeNode(ctx, joinKey(path, cfg.rawName))) || (await isVolumeNode(ctx, joinKey(path, cfg.gtName)))) {
      cropNames.push(name);
    }
  }
  if (own) {
    if (cropNames.length > 0) {
      throw new DataFormatError(
        `mixes layouts: ${group}/ holds ${cfg.rawName}/${cfg.gtName} and crop groups (${cropNames.join(', ')}); use one layout`,
        { container: cfg.path, path: group },
      );
    }
    return { layout: 'train-test', crops: [await openCrop(ctx, group, group)] };
  }
  if (children === null) {
    throw new DataFormatError(
      `cannot list the crops of ${group}/ (the store cannot list folders and has no consolidated ` +
        'metadata); consolidate the metadata (zarr.consolidate_metadata) to read it from here',
      { container: cfg.path, path: group },
    );
  }
  if (cropNames.length === 0) {
    throw new DataFormatError(`no raw/labels found in ${group}/ nor in any group inside it`, {
      container: cfg.path,
      path: group,
    });
  }
  cropNames.sort();
  return { layout: 'crops', crops: await allInOrder(cropNames.map((n) => openCrop(ctx, joinKey(group, n), n))) };
}

async function openCrop(ctx: Context, group: string, name: string): Promise<ZarrCrop> {
  const { cfg } = ctx;
  const rawPath = joinKey(group, cfg.rawName);
  const labelsPath = joinKey(group, cfg.gtName);
  const maskPath = joinKey(group, cfg.maskName);
  const [hasRaw, hasLabels, hasMask] = await Promise.all([
    isVolumeNode(ctx, rawPath),
    isVolumeNode(ctx, labelsPath),
    isVolumeNode(ctx, maskPath),
  ]);
  if (!hasRaw) {
    throw new DataFormatError(`${labelsPath} has no ${cfg.rawName} beside it`, { container: cfg.path, path: rawPath });
  }
  if (!hasLabels) {
    throw new DataFormatError(`${rawPath} has no ${cfg.gtName} beside it (raw without labels)`, {
      container: cfg.path,
      path: labelsPath,
    });
  }
  const [raw, labels, mask] = await allInOrder<[ZarrVolume, ZarrVolume, ZarrVolume | null]>([
    openVolume(ctx, rawPath),
    openVolume(ctx, labelsPath),
    hasMask ? openVolume(ctx, maskPath) : Promise.resolve(null),
  ]);
  const normalization = rawNormalization(raw.dtype, { container: cfg.path, path: raw.path }, cfg.rawScale);
  return new ZarrCrop(name, ...resampleCrop(raw, labels, mask, cfg.resample), normalization, cfg);
}

/** An array, or the configured level of an OME-NGFF multiscale group. */
async function openVolume(ctx: Context, path: string): Promise<ZarrVolume> {
  const { cfg } = ctx;
  let arrayPath = path;
  let metadata: SpatialMetadata | null = null;
  if ((await ctx.nodes.kind(path)) === 'group') {
    const level = readMultiscales(await groupAttrs(ctx, path), cfg.level, { container: cfg.path, path });
    arrayPath = joinKey(path, level.datasetPath);
    metadata = level.metadata;
  }
  const where = { container: cfg.path, path: arrayPath };
  // Our own checks first (clear messages naming file and key), then zarrita, pinned to the format.
  const stored = await readArrayMetadata(ctx.opened.store, where);
  let array: zarr.Array<zarr.DataType>;
  try {
    const location = ctx.root.resolve(escapeKeyPath(arrayPath));
    array = await (stored.format === 3 ? zarr.open.v3 : zarr.open.v2)(location, { kind: 'array' });
  } catch (cause) {
    throw new DataFormatError(`cannot open the array from ${stored.metadataKey}: ${(cause as Error).message}`, where, {
      cause,
    });
  }
  if (metadata) {
    if (metadata.axisNames.length !== stored.shape.length) {
      throw new DataFormatError(
        `multiscales names ${metadata.axisNames.length} axes but the array has ${stored.shape.length}`,
        { container: cfg.path, path, attribute: 'multiscales' },
      );
    }
  } else {
    metadata = readSpatialMetadata(stored.attrs, stored.shape.length, where);
  }
  return new ZarrVolume({ container: cfg.path, path: arrayPath, array, stored, metadata, cache: ctx.cache });
}
