import { OptionsError } from '../errors.js';
import { DEFAULT_CACHE_BYTES, DEFAULT_CONCURRENCY } from './chunk-cache.js';
import { DEFAULT_HTTP_OPTIONS, type HttpOptions } from './stores/http.js';
import { type ContainerSource, isContainerSource, sourceLabel } from './stores/source.js';

export interface DataConfigOptions {
  /**
   * The container: a local folder or .zip file (Node), an http(s) URL, or in a page a picked
   * folder (FileSystemDirectoryHandle), its files (FileList / File[]) or a .zip File/Blob.
   */
  path: ContainerSource;
  /** Name of the dataset; the crop name in the simple layout (default: the container's name). */
  name?: string;
  trainGroupName?: string;
  validateGroupName?: string;
  rawName?: string;
  gtName?: string;
  maskName?: string;
  /** Multiscale level read from OME-NGFF groups: index or dataset path (default 0, i.e. s0). */
  level?: number | string;
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
  readonly rawScale: number | undefined;
  readonly resample: 'raw' | 'labels' | undefined;
  readonly cacheBytes: number;
  readonly concurrency: number;
  readonly http: Readonly<HttpOptions>;

  constructor(options: DataConfigOptions) {
    if (!options || !isContainerSource(options.path)) {
      throw new OptionsError(
        'DataConfig path is missing: it needs a path (a folder, an http(s) URL or a .zip file; in a page also ' +
          'a FileSystemDirectoryHandle, a FileList or a .zip File)',
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
    this.rawScale = options.rawScale;
    if (options.resample !== undefined && options.resample !== 'raw' && options.resample !== 'labels') {
      throw new OptionsError(`DataConfig resample must be 'raw' or 'labels', got ${JSON.stringify(options.resample)}`);
    }
    this.resample = options.resample;
    this.cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.http = httpOptions(options.http ?? {});
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

function defaultName(location: string): string {
  const last =
    location
      .replace(/[/\\]+$/, '')
      .split(/[/\\]/)
      .pop() ?? location;
  return last.replace(/\.zip$/i, '').replace(/\.(zarr|n5)$/i, '') || 'data';
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
