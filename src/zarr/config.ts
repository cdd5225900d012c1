import { OptionsError } from '../errors.js';
import { DEFAULT_CACHE_BYTES, DEFAULT_CONCURRENCY } from './chunk-cache.js';
import type { BucketOptions } from './stores/bucket.js';
import { DEFAULT_HTTP_OPTIONS, type HttpOptions } from './stores/http.js';
import { type ContainerSource, isContainerSource, sourceLabel } from './stores/source.js';

/** Voxel sizes to pick multiscale levels by: one for every array, or one per array (mask: the labels' by default). */
export type VoxelSizeChoice =
  | readonly number[]
  | { raw?: readonly number[] | null; labels?: readonly number[] | null; mask?: readonly number[] | null };

export interface DataConfigOptions {
  /**
   * The container: a local folder (zarr, or N5 when it ends in `.n5`) or .zip file (Node), an
   * http(s) URL, an `s3://` or `gs://` bucket URL, or in a page a picked folder
   * (FileSystemDirectoryHandle), its files (FileList / File[]) or a .zip File/Blob.
   */
  path: ContainerSource;
  /** Name of the dataset; the crop name in the simple layout (default: the container's name). */
  name?: string;
  trainGroupName?: string;
  validateGroupName?: string;
  rawName?: string;
  gtName?: string;
  maskName?: string;
  /** Multiscale level read from multiscale groups (OME-NGFF, COSEM, Neuroglancer N5): index or path (default 0, i.e. s0). */
  level?: number | string;
  /**
   * Pick each multiscale group's level by its voxel size instead (as cellmap-data does): `[z, y,
   * x]` for every array, or `{ raw, labels, mask }` (e.g. raw at 4 nm, labels at 8 nm). An array
   * with no level at that voxel size is an error listing the levels; `level` still applies to
   * arrays given none.
   */
  voxelSize?: VoxelSizeChoice;
  /** Multiply stored raw by this instead of the dtype rule (needed for dtypes without a rule). */
  rawScale?: number;
  /**
   * Raw and labels at different voxel sizes, for a model with one voxel size: 'raw' sees labels
   * and mask at raw's voxel size (nearest neighbour, ids never mixed), 'labels' sees raw at the
   * labels' (linear interpolation). Default: none (raw at its voxel size, labels at theirs).
   */
  resample?: 'raw' | 'labels';
  /** Bytes of decoded chunks kept per container (default 512 MiB). */
  cacheBytes?: number;
  /** Chunk fetches/decodes in flight at once (default 16). */
  concurrency?: number;
  /**
   * Timeouts and retries of http(s) containers (defaults: requestTimeoutMs 30 000, idleTimeoutMs
   * 30 000, retries 5, retryBaseDelayMs 250, retryMaxDelayMs 20 000).
   */
  http?: Partial<HttpOptions>;
  /**
   * Buckets: `region`, `endpoint` (S3-compatible, path-style), `accessKeyId`, `secretAccessKey`,
   * `sessionToken`, `anonymous` (never sign), `gcsEndpoint`, `pageSize` (keys per listing page).
   * In Node, the AWS_* environment variables fill in what is not given here.
   */
  bucket?: BucketOptions;
}

/** Where the data is and how its groups and arrays are named (DaCapo's names by default). */
export class DataConfig {
  /** The container's location, or the name of a picked folder or file (for messages). */
  readonly path: string;
  /** What is opened: the location, or the picked object itself. */
  readonly source: ContainerSource;
  readonly name: string;
  readonly trainGroupName: string;
  readonly validateGroupName: string;
  readonly rawName: string;
  readonly gtName: string;
  readonly maskName: string;
  readonly level: number | string;
  /** Per array, the voxel size its multiscale level is picked by (null: by `level`). */
  readonly voxelSize: Readonly<Record<'raw' | 'labels' | 'mask', readonly number[] | null>>;
  readonly rawScale: number | undefined;
  readonly resample: 'raw' | 'labels' | undefined;
  readonly cacheBytes: number;
  readonly concurrency: number;
  readonly http: Readonly<HttpOptions>;
  readonly bucket: Readonly<BucketOptions>;

  constructor(options: DataConfigOptions) {
    if (!options || !isContainerSource(options.path)) {
      throw new OptionsError(
        'DataConfig path is missing: it needs a path (a folder, an http(s), s3:// or gs:// URL, or a .zip file; ' +
          'in a page also a FileSystemDirectoryHandle, a FileList or a .zip File)',
      );
    }
    this.source = options.path;
    this.path = sourceLabel(options.path);
    this.name = options.name ?? defaultName(this.path);
    this.trainGroupName = options.trainGroupName ?? 'train';
    this.validateGroupName = options.validateGroupName ?? 'test';
    this.rawName = options.rawName ?? 'raw';
    this.gtName = options.gtName ?? 'labels';
    this.maskName = options.maskName ?? 'mask';
    this.level = options.level ?? 0;
    this.voxelSize = voxelSizes(options.voxelSize);
    this.rawScale = options.rawScale;
    if (options.resample !== undefined && options.resample !== 'raw' && options.resample !== 'labels') {
      throw new OptionsError(`DataConfig resample must be 'raw' or 'labels', got ${JSON.stringify(options.resample)}`);
    }
    this.resample = options.resample;
    this.cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.http = httpOptions(options.http ?? {});
    this.bucket = bucketOptions(options.bucket ?? {});
    checkConfig(this);
  }
}

function checkConfig(c: DataConfig): void {
  for (const key of ['name', 'trainGroupName', 'validateGroupName', 'rawName', 'gtName', 'maskName'] as const) {
    if (typeof c[key] !== 'string' || c[key] === '') {
      throw new OptionsError(`DataConfig ${key} must be a non-empty string, got ${JSON.stringify(c[key])}`);
    }
  }
  if (!(typeof c.level === 'string' || (Number.isInteger(c.level) && c.level >= 0))) {
    throw new OptionsError(`DataConfig level must be a level index ≥ 0 or a dataset path, got ${String(c.level)}`);
  }
  if (c.rawScale !== undefined && !(c.rawScale > 0 && Number.isFinite(c.rawScale))) {
    throw new OptionsError(`DataConfig rawScale must be a positive number, got ${c.rawScale}`);
  }
  if (!(c.cacheBytes >= 0)) throw new OptionsError(`DataConfig cacheBytes must be ≥ 0, got ${c.cacheBytes}`);
  if (!(Number.isInteger(c.concurrency) && c.concurrency >= 1)) {
    throw new OptionsError(`DataConfig concurrency must be a positive integer, got ${c.concurrency}`);
  }
}

function voxelSizes(given: VoxelSizeChoice | undefined): DataConfig['voxelSize'] {
  const check = (name: string, v: unknown): readonly number[] | null => {
    if (v === undefined || v === null) return null;
    if (!Array.isArray(v) || v.length === 0 || !v.every((n) => Number.isSafeInteger(n) && n > 0)) {
      throw new OptionsError(
        `DataConfig ${name} must be a list of positive integers (one per spatial axis), got ${JSON.stringify(v)}`,
      );
    }
    return Object.freeze([...v]);
  };
  if (given === undefined || Array.isArray(given)) {
    const all = check('voxelSize', given);
    return Object.freeze({ raw: all, labels: all, mask: all });
  }
  if (typeof given !== 'object' || given === null) {
    throw new OptionsError(
      `DataConfig voxelSize must be [z, y, x] or { raw, labels, mask }, got ${JSON.stringify(given)}`,
    );
  }
  const unknown = Object.keys(given).filter((k) => !['raw', 'labels', 'mask'].includes(k));
  if (unknown.length)
    throw new OptionsError(`DataConfig voxelSize: unknown array ${unknown.join(', ')} (raw, labels, mask)`);
  const per = given as { raw?: unknown; labels?: unknown; mask?: unknown };
  const labels = check('voxelSize.labels', per.labels);
  return Object.freeze({
    raw: check('voxelSize.raw', per.raw),
    labels,
    mask: check('voxelSize.mask', per.mask) ?? labels,
  });
}

function defaultName(location: string): string {
  const last =
    location
      .replace(/[/\\]+$/, '')
      .split(/[/\\]/)
      .pop() ?? location;
  return last.replace(/\.zip$/i, '').replace(/\.(zarr|n5)$/i, '') || 'data';
}

const BUCKET_KEYS = [
  'region',
  'endpoint',
  'accessKeyId',
  'secretAccessKey',
  'sessionToken',
  'anonymous',
  'gcsEndpoint',
  'pageSize',
];

function bucketOptions(given: BucketOptions): BucketOptions {
  for (const [name, value] of Object.entries(given)) {
    if (!BUCKET_KEYS.includes(name)) {
      throw new OptionsError(`DataConfig bucket: unknown option ${name} (${BUCKET_KEYS.join(', ')})`);
    }
    const ok =
      value === undefined ||
      (name === 'anonymous'
        ? typeof value === 'boolean'
        : name === 'pageSize'
          ? Number.isInteger(value) && value >= 1
          : typeof value === 'string');
    if (!ok) throw new OptionsError(`DataConfig bucket.${name}: ${JSON.stringify(value)} is not valid`);
  }
  if (given.endpoint !== undefined && !/^https?:\/\//.test(given.endpoint)) {
    throw new OptionsError(`DataConfig bucket.endpoint must be an http(s) URL, got ${given.endpoint}`);
  }
  return Object.freeze({ ...given });
}

function httpOptions(given: Partial<HttpOptions>): HttpOptions {
  const merged = { ...DEFAULT_HTTP_OPTIONS, ...given };
  for (const [name, value] of Object.entries(merged)) {
    if (!(name in DEFAULT_HTTP_OPTIONS)) throw new OptionsError(`DataConfig http: unknown option ${name}`);
    const ok = name === 'retries' ? Number.isInteger(value) && value >= 0 : Number.isFinite(value) && value > 0;
    if (!ok) {
      throw new OptionsError(
        `DataConfig http.${name} must be ${name === 'retries' ? 'a non-negative integer' : 'a positive number of milliseconds'}, got ${value}`,
      );
    }
  }
  return merged;
}
