/**
 * Opening a container as a DaCapo data split. Layouts, tried in this order:
 *   data.zarr/{raw,labels[,mask]}                          one crop, train = test
 *   data.zarr/{train,test}/{raw,labels[,mask]}             one crop each
 *   data.zarr/{train,test}/<any name>/{raw,labels[,mask]}  many crops, named by their folder
 */
import { allInOrder } from '../settle.js';
import { ChunkCache } from './chunk-cache.js';
import type { DecodedChunk } from './chunks.js';
import { DataConfig, type DataConfigOptions } from './config.js';
import { type Container, openContainer } from './container.js';
import { resampleCrop, ZarrCrop } from './crop.js';
import { DataFormatError } from '../errors.js';
import type { ContainerFormat } from './metadata/conventions.js';
import type { NodeIndex } from './nodes.js';
import { rawNormalization } from './normalize.js';
import { joinKey } from './stores/index.js';
import { type ContainerSource, isContainerSource } from './stores/source.js';
import type { ZarrVolume } from './volume.js';

export type Layout = 'simple' | 'train-test' | 'crops';

export interface DataSplit {
  readonly config: DataConfig;
  readonly container: string;
  readonly layout: Layout;
  /** The container's format: zarr (v2 or v3) or N5. */
  readonly format: ContainerFormat;
  readonly train: ZarrCrop[];
  readonly test: ZarrCrop[];
  /** The decoded-chunk cache shared by every read of this container. */
  readonly cache: ChunkCache<DecodedChunk>;
}

/** How a split is opened, beyond what the data config says (not part of the config a worker is sent). */
export interface OpenOptions {
  /** Local folders: read files with blocking calls (threads that do nothing but read). */
  blockingFileReads?: boolean;
}

/**
 * Opens a container as a data split: `config` is its location or picked object (a path, URL,
 * FileSystemDirectoryHandle, FileList, .zip File/Blob) or the options naming it (`{ path, … }`).
 */
export async function openDataSplit(
  config: ContainerSource | DataConfig | DataConfigOptions,
  options: OpenOptions = {},
): Promise<DataSplit> {
  const cfg =
    config instanceof DataConfig
      ? config
      : new DataConfig(isContainerSource(config) ? { path: config } : (config as DataConfigOptions));
  const container = await openContainer(cfg.source, {
    http: cfg.http,
    bucket: cfg.bucket,
    blockingFileReads: options.blockingFileReads,
  });
  const { nodes, format } = container;
  const cache = new ChunkCache<DecodedChunk>({ maxBytes: cfg.cacheBytes, concurrency: cfg.concurrency });
  const ctx: Context = { cfg, container, nodes, cache };

  if ((await nodes.kind('')) === null) {
    const remote = container.opened.kind === 'http' || container.opened.kind === 'bucket';
    const how = !remote
      ? ''
      : format === 'n5'
        ? ' (HTTP 404 for attributes.json)'
        : ' (HTTP 404 for zarr.json, .zgroup and .zarray)';
    throw new DataFormatError(`no ${format === 'n5' ? 'N5 group or dataset' : 'zarr group or array'} found${how}`, {
      container: cfg.path,
    });
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
    return { config: cfg, container: cfg.path, layout: 'simple', format, train: [crop], test: [crop], cache };
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
  return { config: cfg, container: cfg.path, layout, format, train: train.crops, test: test.crops, cache };
}

interface Context {
  cfg: DataConfig;
  container: Container;
  nodes: NodeIndex;
  cache: ChunkCache<DecodedChunk>;
}

const isVolumeNode = (ctx: Context, path: string): Promise<boolean> => ctx.container.isVolume(path);

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
      `cannot list the crops of ${group}/ (a plain http server cannot list folders, and the container ` +
        'has no consolidated metadata): open it as a bucket (s3://bucket/key, gs://bucket/key, or ' +
        'AWS_ENDPOINT_URL for an S3-compatible server), or consolidate its metadata (zarr.consolidate_metadata)',
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
    openVolume(ctx, rawPath, 'raw'),
    openVolume(ctx, labelsPath, 'labels'),
    hasMask ? openVolume(ctx, maskPath, 'mask') : Promise.resolve(null),
  ]);
  const normalization = rawNormalization(raw.dtype, { container: cfg.path, path: raw.path }, cfg.rawScale);
  return new ZarrCrop(name, ...resampleCrop(raw, labels, mask, cfg.resample), normalization, cfg);
}

/** An array, or the chosen level of a multiscale group (by the array's voxel size, else by `level`). */
function openVolume(ctx: Context, path: string, role: 'raw' | 'labels' | 'mask'): Promise<ZarrVolume> {
  const { cfg } = ctx;
  return ctx.container.openVolume(path, { level: cfg.level, voxelSize: cfg.voxelSize[role] }, ctx.cache);
}
