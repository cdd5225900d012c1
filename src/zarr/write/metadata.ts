/**
 * The metadata documents of a zarr array we write: v2 (`.zarray` + `.zattrs`, read by every tool:
 * zarr-python 2 and 3, neuroglancer, funlib) or v3 (`zarr.json`), and the funlib attributes that
 * place the array in world coordinates. Pure functions: no file system here.
 */
import type { DType } from '../../types.js';

export type WritableDType = Extract<DType, 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'float32'>;
export type Compressor = 'none' | 'gzip' | 'zlib';

export interface ArraySpec {
  /** 2 (default) or 3. */
  format: 2 | 3;
  shape: readonly number[];
  chunks: readonly number[];
  dtype: WritableDType;
  compressor: Compressor;
  /** Compression level for gzip/zlib (default 1: fast). */
  level?: number;
  /** Array attributes (`.zattrs` in v2, `attributes` in v3). */
  attributes: Record<string, unknown>;
  /** Axis names for v3's `dimension_names` (v2 keeps them in the `axis_names` attribute). */
  dimensionNames?: readonly string[];
}

const V2_DTYPES: Record<WritableDType, string> = {
  uint8: '|u1',
  uint16: '<u2',
  uint32: '<u4',
  uint64: '<u8',
  float32: '<f4',
};

export const WRITABLE_DTYPES = Object.keys(V2_DTYPES) as WritableDType[];

/** funlib.persistence's attributes for an array with an optional leading channel axis. */
export function funlibAttributes(args: {
  voxelSize: readonly number[];
  offset: readonly number[];
  units: readonly string[];
  spatialNames?: readonly string[];
  /** Adds a leading `c^` axis. */
  channels: boolean;
}): Record<string, unknown> {
  const spatialNames = args.spatialNames ?? ['z', 'y', 'x'].slice(3 - args.voxelSize.length);
  return {
    voxel_size: [...args.voxelSize],
    offset: [...args.offset],
    axis_names: [...(args.channels ? ['c^'] : []), ...spatialNames],
    units: [...args.units],
    types: [...(args.channels ? ['channel'] : []), ...spatialNames.map(() => 'space')],
  };
}

function compressorV2(spec: ArraySpec): object | null {
  if (spec.compressor === 'none') return null;
  return { id: spec.compressor, level: spec.level ?? 1 };
}

/** File name → JSON text of every metadata document of the array. */
export function arrayMetadataFiles(spec: ArraySpec): Record<string, string> {
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  if (spec.format === 2) {
    return {
      '.zarray': json({
        zarr_format: 2,
        shape: spec.shape,
        chunks: spec.chunks,
        dtype: V2_DTYPES[spec.dtype],
        compressor: compressorV2(spec),
        fill_value: 0,
        order: 'C',
        filters: null,
        dimension_separator: '.',
      }),
      '.zattrs': json(spec.attributes),
    };
  }
  const codecs: object[] = [{ name: 'bytes', configuration: { endian: 'little' } }];
  if (spec.compressor === 'gzip') codecs.push({ name: 'gzip', configuration: { level: spec.level ?? 1 } });
  if (spec.compressor === 'zlib') codecs.push({ name: 'zlib', configuration: { level: spec.level ?? 1 } });
  return {
    'zarr.json': json({
      zarr_format: 3,
      node_type: 'array',
      shape: spec.shape,
      data_type: spec.dtype,
      chunk_grid: { name: 'regular', configuration: { chunk_shape: spec.chunks } },
      chunk_key_encoding: { name: 'default', configuration: { separator: '/' } },
      fill_value: 0,
      codecs,
      attributes: spec.attributes,
      ...(spec.dimensionNames ? { dimension_names: spec.dimensionNames } : {}),
    }),
  };
}

/** The group document that makes a folder a zarr group. */
export function groupMetadataFiles(format: 2 | 3): Record<string, string> {
  return format === 2
    ? { '.zgroup': '{\n  "zarr_format": 2\n}\n' }
    : { 'zarr.json': `${JSON.stringify({ zarr_format: 3, node_type: 'group', attributes: {} }, null, 2)}\n` };
}

/** Store key of a chunk, relative to the array's folder. */
export function chunkKey(format: 2 | 3, coords: readonly number[]): string {
  return format === 2 ? coords.join('.') : ['c', ...coords].join('/');
}

/** What an existing array must match for a run to continue writing into it. */
export function describeArray(a: { shape: readonly number[]; dtype: string; chunks: readonly number[] }): string {
  return `shape [${a.shape.join(', ')}], dtype ${a.dtype}, chunks [${a.chunks.join(', ')}]`;
}
