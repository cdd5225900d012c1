/**
 * N5 datasets as zarr-python's N5Store reads them: `attributes.json` holds the dataset's
 * `dimensions` and `blockSize` in N5's x-fastest order (reversed here into zarr's C order),
 * `dataType` and `compression`; everything else in it is the array's attributes. N5 has no fill
 * value: blocks that are not stored read as 0.
 */
import type { AsyncReadable } from '@zarrita/storage';
import { DataFormatError } from '../../errors.js';
import type { DType } from '../../types.js';
import { type ArrayMetadata, readJsonFile } from '../metadata/array.js';
import { joinKey } from '../stores/types.js';

export const N5_ATTRIBUTES = 'attributes.json';
/** The keys N5 reserves; zarr-python hands every other key of attributes.json over as attributes. */
export const N5_KEYWORDS = ['n5', 'dataType', 'dimensions', 'blockSize', 'compression'];
/** Compression types the N5 libraries write (n5, n5-blosc, n5-zstandard) that we decode. */
export const N5_COMPRESSIONS = ['raw', 'gzip', 'bzip2', 'xz', 'blosc', 'zstd', 'lz4'];

const N5_DTYPES = ['uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64', 'float32', 'float64'];

interface Where {
  container: string;
  path: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A node's attributes.json (null when it has none); a file that is not a JSON object is an error naming it. */
export async function readN5Attributes(store: AsyncReadable, where: Where): Promise<Record<string, unknown> | null> {
  const key = joinKey(where.path, N5_ATTRIBUTES);
  const doc = await readJsonFile(store, key, where);
  if (doc !== null && !isObject(doc)) {
    throw new DataFormatError(
      `${key} must hold a JSON object, got ${Array.isArray(doc) ? 'a list' : typeof doc}`,
      where,
    );
  }
  return doc;
}

/** The user attributes of an N5 node: attributes.json without N5's own keys. */
export function n5UserAttributes(doc: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(doc).filter(([k]) => !N5_KEYWORDS.includes(k)));
}

export const isN5Dataset = (doc: Record<string, unknown> | null): boolean => doc !== null && 'dimensions' in doc;

export async function readN5ArrayMetadata(store: AsyncReadable, where: Where): Promise<ArrayMetadata> {
  const file = joinKey(where.path, N5_ATTRIBUTES);
  const doc = await readN5Attributes(store, where);
  const fail = (attribute: string, message: string): never => {
    throw new DataFormatError(`${message} (in ${file})`, { ...where, attribute });
  };
  if (doc === null) throw new DataFormatError(`has no ${N5_ATTRIBUTES} (not an N5 dataset)`, where);
  if (!isN5Dataset(doc)) fail('dimensions', 'is missing: a group, not a dataset');
  const dimensions = integers(doc['dimensions'], 'dimensions', 0, fail);
  const blockSize = integers(doc['blockSize'], 'blockSize', 1, fail);
  if (blockSize.length !== dimensions.length) {
    fail(
      'blockSize',
      `[${blockSize.join(', ')}] has ${blockSize.length} entries but dimensions has ${dimensions.length}`,
    );
  }
  const dtype = doc['dataType'];
  if (typeof dtype !== 'string' || !N5_DTYPES.includes(dtype)) {
    fail('dataType', `${JSON.stringify(dtype)} is not supported; tfjs-zarr reads ${N5_DTYPES.join(', ')}`);
  }
  const compression = n5Compression(doc, fail);
  return {
    format: 'n5',
    metadataKey: file,
    shape: [...dimensions].reverse(),
    chunks: [...blockSize].reverse(),
    shardShape: null,
    dtype: dtype as DType,
    fillValue: dtype === 'uint64' || dtype === 'int64' ? 0n : 0,
    attrs: n5UserAttributes(doc),
    storage: { kind: 'n5', compression },
  };
}

/** `compression` (N5 ≥ 1.0), or the older `compressionType` string. */
function n5Compression(doc: Record<string, unknown>, fail: (a: string, m: string) => never): Record<string, unknown> {
  const given =
    doc['compression'] ?? (typeof doc['compressionType'] === 'string' ? { type: doc['compressionType'] } : undefined);
  if (given === undefined) return fail('compression', 'is missing');
  if (!isObject(given) || typeof given['type'] !== 'string') {
    return fail('compression', `must be an object with a "type", got ${JSON.stringify(given)}`);
  }
  if (!N5_COMPRESSIONS.includes(given['type'])) {
    fail('compression', `type "${given['type']}" is not supported; tfjs-zarr reads ${N5_COMPRESSIONS.join(', ')}`);
  }
  return given;
}

function integers(value: unknown, attribute: string, min: number, fail: (a: string, m: string) => never): number[] {
  if (!Array.isArray(value)) return fail(attribute, `must be a list of integers, got ${JSON.stringify(value)}`);
  value.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      fail(attribute, `[${value.join(', ')}]: entry ${i} (${JSON.stringify(v)}) is not an integer ≥ ${min}`);
    }
  });
  return value as number[];
}
