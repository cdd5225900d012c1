/**
 * Writing a zarr array into a local folder: create it (or find the same array already there and
 * keep writing into it), and write whole chunks, each through a temporary file renamed into place
 * so a killed writer never leaves a torn chunk. Concurrent writers of different chunks never
 * touch the same file; creators of the same array write the same bytes.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { OptionsError } from '../../errors.js';
import { isErrno, writeFileSynced } from '../../fs/files.js';
import { type ChunkData, chunkBytes } from './encode.js';
import { type ArraySpec, arrayMetadataFiles, chunkKey, describeArray, groupMetadataFiles } from './metadata.js';

/** A zarr array inside a container folder, e.g. `{ container: 'out.zarr', path: 'prediction' }`. */
export interface ArrayLocation {
  container: string;
  path: string;
}

/**
 * Writes `data` to `file` through a unique hidden temporary file beside it and a rename: readers
 * see the old file or the new one, never a part, even when the writer is killed. `durable` (default)
 * also fsyncs the file before the rename, so a power loss cannot leave it empty. (A leading '.' keeps zarr's chunk-key patterns
 * from matching a temporary file left by a killed writer.)
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string, durable = true): Promise<void> {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    if (durable) await writeFileSynced(tmp, [data]);
    else await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

interface ExistingArray {
  format: 2 | 3;
  shape: number[];
  chunks: number[];
  dtype: string;
  attributes: Record<string, unknown>;
}

const V2_NAMES: Record<string, string> = {
  '|u1': 'uint8',
  '<u2': 'uint16',
  '<u4': 'uint32',
  '<u8': 'uint64',
  '<f4': 'float32',
};

async function readJson(file: string): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return null;
    throw e;
  }
}

/** The array stored in `dir` (either format), null when there is none, 'other' for anything else. */
async function readExisting(dir: string): Promise<ExistingArray | 'other' | null> {
  const v2 = await readJson(path.join(dir, '.zarray'));
  if (v2) {
    const dtype = String(v2['dtype']);
    return {
      format: 2,
      shape: v2['shape'] as number[],
      chunks: v2['chunks'] as number[],
      dtype: V2_NAMES[dtype] ?? dtype,
      attributes: (await readJson(path.join(dir, '.zattrs'))) ?? {},
    };
  }
  const v3 = await readJson(path.join(dir, 'zarr.json'));
  if (v3) {
    if (v3['node_type'] !== 'array') return 'other';
    const grid = v3['chunk_grid'] as { configuration?: { chunk_shape?: number[] } } | undefined;
    return {
      format: 3,
      shape: v3['shape'] as number[],
      chunks: grid?.configuration?.chunk_shape ?? [],
      dtype: String(v3['data_type']),
      attributes: (v3['attributes'] as Record<string, unknown>) ?? {},
    };
  }
  const entries = await fsp.readdir(dir).catch((e: unknown) => {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  });
  return entries === null ? null : entries.length === 0 ? null : 'other';
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export class ZarrArrayWriter {
  readonly location: ArrayLocation;
  readonly spec: ArraySpec;
  /** The array's folder. */
  readonly dir: string;
  /** True when the array was already there (same shape, dtype, chunks, placement): a continued run. */
  readonly existed: boolean;
  /** fsync each chunk before its rename (default true). */
  readonly durable: boolean;

  private constructor(location: ArrayLocation, spec: ArraySpec, existed: boolean, durable: boolean) {
    this.location = location;
    this.spec = spec;
    this.dir = path.join(location.container, location.path);
    this.existed = existed;
    this.durable = durable;
  }

  /**
   * Creates the array (and the groups above it), or opens the same array left by an earlier or a
   * concurrent run. An array there with another shape, dtype, chunks, format, voxel size or offset
   * is refused unless `overwrite`, which deletes it first.
   */
  static async create(
    location: ArrayLocation,
    spec: ArraySpec,
    options: { overwrite?: boolean; durable?: boolean } = {},
  ): Promise<ZarrArrayWriter> {
    const dir = path.join(location.container, location.path);
    const where = `${location.container}, array ${location.path}`;
    if (location.path === '' || location.path.split('/').some((p) => p === '' || p === '.' || p === '..')) {
      throw new OptionsError(`${where}: the output needs an array path inside the container, e.g. out.zarr/prediction`);
    }
    const existing = await readExisting(dir);
    let existed = false;
    if (existing !== null) {
      const matches =
        existing !== 'other' &&
        existing.format === spec.format &&
        same(existing.shape, spec.shape) &&
        same(existing.chunks, spec.chunks) &&
        existing.dtype === spec.dtype &&
        same(existing.attributes['voxel_size'], spec.attributes['voxel_size']) &&
        same(existing.attributes['offset'], spec.attributes['offset']);
      if (!matches && !options.overwrite) {
        const what =
          existing === 'other'
            ? 'exists and is not a zarr array'
            : `exists with ${describeArray(existing)}, zarr v${existing.format}, voxel size ` +
              `${JSON.stringify(existing.attributes['voxel_size'])}, offset ${JSON.stringify(existing.attributes['offset'])}`;
        throw new OptionsError(
          `${where}: ${what}; this run writes ${describeArray(spec)}, zarr v${spec.format}, voxel size ` +
            `${JSON.stringify(spec.attributes['voxel_size'])}, offset ${JSON.stringify(spec.attributes['offset'])}. ` +
            'Pass --overwrite (overwrite: true) to replace it, or choose another output',
        );
      }
      if (options.overwrite) await fsp.rm(dir, { recursive: true, force: true });
      else existed = true;
    }
    await ensureGroups(location.container, location.path, spec.format);
    await fsp.mkdir(dir, { recursive: true });
    for (const [name, text] of Object.entries(arrayMetadataFiles(spec))) {
      await writeFileAtomic(path.join(dir, name), text);
    }
    return new ZarrArrayWriter(location, spec, existed, options.durable ?? true);
  }

  /** Writes one whole chunk (C order over the chunk shape, fill value 0 beyond the array's end). */
  async writeChunk(coords: readonly number[], data: ChunkData): Promise<void> {
    const file = path.join(this.dir, ...chunkKey(this.spec.format, coords).split('/'));
    if (this.spec.format === 3) await fsp.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, await compress(this.spec, chunkBytes(this.spec, data)), this.durable);
  }
}

const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);

/**
 * gzip / zlib through node:zlib's asynchronous calls: native, and on libuv's thread pool, so
 * compressing a block's chunks overlaps the next block's prediction. node:zlib writes gzip
 * headers without a time stamp (MTIME 0): the same chunk always has the same bytes.
 */
async function compress(spec: ArraySpec, bytes: Uint8Array): Promise<Uint8Array> {
  const level = spec.level ?? 1;
  if (spec.compressor === 'gzip') return gzip(bytes, { level });
  if (spec.compressor === 'zlib') return deflate(bytes, { level });
  return bytes;
}

/** Makes the container and every folder between it and the array a group (where it is not one yet). */
async function ensureGroups(container: string, arrayPath: string, format: 2 | 3): Promise<void> {
  const parts = arrayPath.split('/').slice(0, -1);
  for (let i = 0; i <= parts.length; i++) {
    const dir = path.join(container, ...parts.slice(0, i));
    await fsp.mkdir(dir, { recursive: true });
    const names = await fsp.readdir(dir);
    if (names.includes('.zgroup') || names.includes('zarr.json')) continue;
    for (const [name, text] of Object.entries(groupMetadataFiles(format))) {
      await writeFileAtomic(path.join(dir, name), text);
    }
  }
}
