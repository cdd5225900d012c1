/**
 * An array's own metadata (`.zarray` + `.zattrs` in v2, `zarr.json` in v3), read and checked
 * before anything is decoded, so every broken key is a DataFormatError naming the file and the
 * key: shape and chunk shape of the right rank and of integers, a supported dtype, the keys
 * zarr-python requires, known codecs, and the fill value parsed exactly (64-bit integers as
 * text, never through a double; NaN/Infinity and v3's hex floats). The result says how chunks are
 * stored (keys, codecs) for the read path (chunks.ts).
 */
import type { AbsolutePath, AsyncReadable } from '@zarrita/storage';
import { DataFormatError } from '../../errors.js';
import type { DType } from '../../types.js';
import { type CodecSpec, isKnownCodec } from '../codecs/pipeline.js';

/** How a zarr array's chunks are stored: keys and codecs (read by chunks.ts). */
export interface ZarrChunkStorage {
  kind: 'zarr';
  /** Codecs of one chunk (v3 with sharding: of one inner chunk); v2 metadata in v3 terms. */
  codecs: CodecSpec[];
  /** Key of a chunk (with sharding: of a shard) relative to the array, from its grid coordinates. */
  key(coords: readonly number[]): string;
  /** v3 sharding: the index codecs (the index sits at the end of each shard). */
  sharding: { indexCodecs: CodecSpec[] } | null;
}

/** How an N5 dataset's blocks are stored (read by n5/blocks.ts). */
export interface N5ChunkStorage {
  kind: 'n5';
  /** N5's `compression` object (`type` raw, gzip, bzip2, xz, blosc, zstd, lz4). */
  compression: Record<string, unknown>;
}

export interface ArrayMetadata {
  format: 2 | 3 | 'n5';
  /** Key of the metadata file, relative to the root ('raw/.zarray', 'raw/zarr.json', 'raw/attributes.json'). */
  metadataKey: string;
  shape: number[];
  /** Shape of one chunk as read (v3 with sharding: the inner chunk). */
  chunks: number[];
  /** Shape of one shard file (v3 with sharding), else null. */
  shardShape: number[] | null;
  dtype: DType;
  fillValue: number | bigint;
  attrs: Record<string, unknown>;
  storage: ZarrChunkStorage | N5ChunkStorage;
}

interface Where {
  container: string;
  path: string;
}

const SUPPORTED = [
  'bool',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
];
const SUPPORTED_LIST = SUPPORTED.join(', ');

const V2_KINDS: Record<string, string> = { b: 'bool', i: 'int', u: 'uint', f: 'float' };
const V2_UNSUPPORTED: Record<string, string> = {
  c: 'complex',
  M: 'datetime64',
  m: 'timedelta64',
  S: 'bytes',
  U: 'unicode string',
  V: 'void/structured',
  O: 'object',
};

const decoder = new TextDecoder('utf-8', { fatal: true });
const BIG = '\u0000bigint:';

/**
 * JSON.parse, except that integer literals beyond ±2^53 become BIG-marked strings (converted by
 * {@link exactNumbers}): JSON.parse would round 18446744073709551615 to 2^64.
 */
const NUMBER = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;

function parseJsonExact(text: string): unknown {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      const token = m ? m[0] : c;
      const integer = m && m[1] === undefined && m[2] === undefined;
      out += integer && !Number.isSafeInteger(Number(token)) ? `"\\u0000bigint:${token}"` : token;
      i += token.length;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out);
}

/** Turns BIG markers back into numbers (rounded; callers check safety) except the fill value's, kept as BigInt. */
function exactNumbers(value: unknown, key = ''): unknown {
  if (typeof value === 'string' && value.startsWith(BIG)) {
    const digits = value.slice(BIG.length);
    return key === 'fill_value' ? BigInt(digits) : Number(digits);
  }
  if (Array.isArray(value)) return value.map((v) => exactNumbers(v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, exactNumbers(v, k)]));
  }
  return value;
}

/** The JSON document in `key`, or null when the key is absent. */
export async function readJsonFile(
  store: AsyncReadable,
  key: string,
  where: { container: string; path?: string },
): Promise<unknown> {
  const bytes = await store.get(`/${key}` as AbsolutePath);
  if (!bytes) return null;
  try {
    return exactNumbers(parseJsonExact(decoder.decode(bytes)));
  } catch (cause) {
    throw new DataFormatError(
      `${key} is not valid JSON (${(cause as Error).message}); the file is damaged or cut short`,
      where,
      { cause },
    );
  }
}

const join = (path: string, name: string) => (path ? `${path}/${name}` : name);

export async function readArrayMetadata(store: AsyncReadable, where: Where): Promise<ArrayMetadata> {
  const v3Key = join(where.path, 'zarr.json');
  const v3 = await readJsonFile(store, v3Key, where);
  if (v3 !== null) return checkV3(v3, v3Key, where);
  const v2Key = join(where.path, '.zarray');
  const v2 = await readJsonFile(store, v2Key, where);
  if (v2 === null) throw new DataFormatError('has neither zarr.json nor .zarray', where);
  const attrsKey = join(where.path, '.zattrs');
  const attrs = await readJsonFile(store, attrsKey, where);
  if (attrs !== null && !isObject(attrs)) {
    throw new DataFormatError(`.zattrs must hold a JSON object of attributes, got ${kindOf(attrs)}`, where);
  }
  return checkV2(v2, v2Key, (attrs ?? {}) as Record<string, unknown>, where);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const kindOf = (v: unknown) => (Array.isArray(v) ? 'a list' : v === null ? 'null' : `a ${typeof v}`);
const show = (v: unknown) => (typeof v === 'bigint' ? String(v) : JSON.stringify(v));

function failer(where: Where, file: string) {
  return (attribute: string, message: string): never => {
    throw new DataFormatError(`${message} (in ${file})`, { ...where, attribute });
  };
}

function integerList(
  fail: (attribute: string, message: string) => never,
  attribute: string,
  value: unknown,
  min: number,
  rank?: number,
): number[] {
  if (value === undefined) fail(attribute, 'is missing');
  if (!Array.isArray(value)) fail(attribute, `must be a list of integers, got ${show(value)}`);
  const list = value as unknown[];
  if (rank !== undefined && list.length !== rank) {
    fail(attribute, `[${list.join(', ')}] has ${list.length} entries but the array has ${rank} axes`);
  }
  list.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      const why = typeof v === 'number' && Number.isInteger(v) && v >= min ? ' below 2^53' : '';
      fail(
        attribute,
        `[${list.join(', ')}]: entry ${i} (${show(v)}) is not ${min > 0 ? 'a positive' : 'a non-negative'} integer${why}`,
      );
    }
  });
  return list as number[];
}

function checkV2(meta: unknown, file: string, attrs: Record<string, unknown>, where: Where): ArrayMetadata {
  const fail = failer(where, file);
  if (!isObject(meta)) return fail('zarr_format', `.zarray must hold a JSON object, got ${kindOf(meta)}`);
  for (const key of ['zarr_format', 'shape', 'chunks', 'dtype', 'compressor', 'fill_value', 'order', 'filters']) {
    if (!(key in meta)) fail(key, 'is missing (zarr v2 requires it)');
  }
  if (meta['zarr_format'] !== 2) fail('zarr_format', `must be 2 in .zarray, got ${show(meta['zarr_format'])}`);
  const shape = integerList(fail, 'shape', meta['shape'], 0);
  const chunks = integerList(fail, 'chunks', meta['chunks'], 1, shape.length);
  const { dtype, bigEndian } = v2Dtype(meta['dtype'], fail);
  if (meta['order'] !== 'C' && meta['order'] !== 'F') fail('order', `must be "C" or "F", got ${show(meta['order'])}`);
  const compressor = meta['compressor'];
  if (compressor !== null) checkNumcodec(compressor, 'compressor', fail);
  const filters = meta['filters'];
  if (filters !== null) {
    if (!Array.isArray(filters)) fail('filters', `must be null or a list, got ${show(filters)}`);
    for (const f of filters as unknown[]) checkNumcodec(f, 'filters', fail);
  }
  const separator = meta['dimension_separator'];
  if (separator !== undefined && separator !== '.' && separator !== '/') {
    fail('dimension_separator', `must be "." or "/", got ${show(separator)}`);
  }
  const fillValue = parseFill(meta['fill_value'], dtype, 2, fail);
  const sep = (separator ?? '.') as string;
  const storage: ZarrChunkStorage = {
    kind: 'zarr',
    codecs: v2Codecs(meta, bigEndian, fail),
    key: (coords) => coords.join(sep) || '0',
    sharding: null,
  };
  return { format: 2, metadataKey: file, shape, chunks, shardShape: null, dtype, fillValue, attrs, storage };
}

/**
 * v2's order, filters, byte order and compressor as v3 codecs (as zarrita reads them): numcodecs'
 * fixedscaleoffset becomes scale_offset (+ cast_value when stored as another dtype).
 */
function v2Codecs(
  meta: Record<string, unknown>,
  bigEndian: boolean,
  fail: (a: string, m: string) => never,
): CodecSpec[] {
  const codecs: CodecSpec[] = [];
  if (meta['order'] === 'F') codecs.push({ name: 'transpose', configuration: { order: 'F' } });
  for (const filter of (meta['filters'] ?? []) as Record<string, unknown>[]) {
    const { id, ...configuration } = filter;
    if (id !== 'fixedscaleoffset') {
      codecs.push({ name: `numcodecs.${id}`, configuration });
      continue;
    }
    if (typeof filter['scale'] !== 'number' || typeof filter['offset'] !== 'number')
      fail('filters', `fixedscaleoffset needs a numeric scale and offset, got ${show(filter)}`);
    codecs.push({ name: 'scale_offset', configuration: { scale: filter['scale'], offset: filter['offset'] } });
    const astype = filter['astype'] ?? filter['dtype'];
    if (typeof astype === 'string' && astype !== meta['dtype']) {
      const stored = v2Dtype(astype, fail).dtype;
      codecs.push({
        name: 'cast_value',
        configuration: { data_type: stored, rounding: 'nearest-even', out_of_range: 'wrap' },
      });
    }
  }
  codecs.push({ name: 'bytes', configuration: { endian: bigEndian ? 'big' : 'little' } });
  const compressor = meta['compressor'] as Record<string, unknown> | null;
  if (compressor) {
    const { id, ...configuration } = compressor;
    codecs.push({ name: `numcodecs.${id}`, configuration });
  }
  return codecs;
}

function checkNumcodec(codec: unknown, attribute: string, fail: (a: string, m: string) => never): void {
  if (!isObject(codec) || typeof codec['id'] !== 'string') {
    fail(attribute, `must be null or an object with an "id", got ${show(codec)}`);
  }
  const id = (codec as { id: string }).id;
  if (id === 'fixedscaleoffset') return;
  if (!isKnownCodec(`numcodecs.${id}`)) {
    fail(attribute, `uses codec "${id}", which tfjs-zarr cannot decode`);
  }
}

function v2Dtype(value: unknown, fail: (a: string, m: string) => never): { dtype: DType; bigEndian: boolean } {
  if (typeof value !== 'string') {
    return fail(
      'dtype',
      `${show(value)} is not supported (structured dtypes are not); tfjs-zarr reads ${SUPPORTED_LIST}`,
    );
  }
  const m = /^([<>|=])([a-zA-Z])(\d+)(\[.*\])?$/.exec(value);
  const kind = m ? V2_KINDS[m[2]!] : undefined;
  const bytes = m ? Number(m[3]) : 0;
  const name = kind === 'bool' ? (bytes === 1 ? 'bool' : '') : kind ? `${kind}${bytes * 8}` : '';
  if (m && !m[4] && SUPPORTED.includes(name)) return { dtype: name as DType, bigEndian: m[1] === '>' };
  const known = m ? (V2_UNSUPPORTED[m[2]!] ?? (kind ? name : undefined)) : undefined;
  return fail(
    'dtype',
    `"${value}"${known ? ` (${known})` : ''} is ${known ? 'not supported' : 'not a dtype tfjs-zarr knows'}; tfjs-zarr reads ${SUPPORTED_LIST}`,
  );
}

function checkV3(meta: unknown, file: string, where: Where): ArrayMetadata {
  const fail = failer(where, file);
  if (!isObject(meta)) return fail('node_type', `zarr.json must hold a JSON object, got ${kindOf(meta)}`);
  if (!('zarr_format' in meta)) fail('zarr_format', 'is missing (zarr v3 requires it)');
  if (meta['zarr_format'] !== 3) fail('zarr_format', `must be 3 in zarr.json, got ${show(meta['zarr_format'])}`);
  if (meta['node_type'] !== 'array') fail('node_type', `is ${show(meta['node_type'])}, not "array"`);
  for (const key of ['shape', 'data_type', 'chunk_grid', 'chunk_key_encoding', 'fill_value', 'codecs']) {
    if (!(key in meta)) fail(key, 'is missing (zarr v3 requires it)');
  }
  const shape = integerList(fail, 'shape', meta['shape'], 0);
  const dtype = meta['data_type'];
  if (typeof dtype !== 'string' || !SUPPORTED.includes(dtype)) {
    fail('data_type', `${show(dtype)} is not supported; tfjs-zarr reads ${SUPPORTED_LIST}`);
  }
  const grid = meta['chunk_grid'];
  if (!isObject(grid) || grid['name'] !== 'regular' || !isObject(grid['configuration'])) {
    fail('chunk_grid', `must be a regular chunk grid, got ${show(grid)}`);
  }
  const chunks = integerList(
    fail,
    'chunk_grid',
    (grid as Record<string, Record<string, unknown>>)['configuration']?.['chunk_shape'],
    1,
    shape.length,
  );
  const encoding = meta['chunk_key_encoding'];
  if (!isObject(encoding) || (encoding['name'] !== 'default' && encoding['name'] !== 'v2')) {
    fail('chunk_key_encoding', `must be "default" or "v2", got ${show(encoding)}`);
  }
  if ('attributes' in meta && !isObject(meta['attributes'])) {
    fail('attributes', `must be a JSON object, got ${kindOf(meta['attributes'])}`);
  }
  const transformers = meta['storage_transformers'];
  if (Array.isArray(transformers) && transformers.length > 0) fail('storage_transformers', 'are not supported');
  checkV3Codecs(meta['codecs'], chunks, 'codecs', fail);
  const fillValue = parseFill(meta['fill_value'], dtype as DType, 3, fail);
  const codecs = meta['codecs'] as CodecSpec[];
  const sharding = codecs.find((c) => c.name === 'sharding_indexed')?.configuration;
  const { name: keyEncoding, configuration: keyConfig } = encoding as {
    name: string;
    configuration?: { separator?: string };
  };
  const sep = keyConfig?.separator ?? (keyEncoding === 'default' ? '/' : '.');
  const storage: ZarrChunkStorage = {
    kind: 'zarr',
    codecs: sharding ? (sharding['codecs'] as CodecSpec[]) : codecs,
    key: keyEncoding === 'default' ? (coords) => ['c', ...coords].join(sep) : (coords) => coords.join(sep) || '0',
    sharding: sharding ? { indexCodecs: (sharding['index_codecs'] ?? []) as CodecSpec[] } : null,
  };
  return {
    format: 3,
    metadataKey: file,
    shape,
    chunks: sharding ? [...(sharding['chunk_shape'] as number[])] : chunks,
    shardShape: sharding ? chunks : null,
    dtype: dtype as DType,
    fillValue,
    attrs: (meta['attributes'] ?? {}) as Record<string, unknown>,
    storage,
  };
}

function checkV3Codecs(
  codecs: unknown,
  chunkShape: number[],
  attribute: string,
  fail: (a: string, m: string) => never,
) {
  // An empty list is what zarrita writes for plain little-endian bytes.
  if (!Array.isArray(codecs)) fail(attribute, `must be a list, got ${show(codecs)}`);
  for (const codec of codecs as unknown[]) {
    if (!isObject(codec) || typeof codec['name'] !== 'string')
      fail(attribute, `has an entry without a name: ${show(codec)}`);
    const { name, configuration } = codec as { name: string; configuration?: Record<string, unknown> };
    if (name === 'sharding_indexed') {
      const inner = integerList(fail, attribute, configuration?.['chunk_shape'], 1, chunkShape.length);
      inner.forEach((n, i) => {
        if (chunkShape[i]! % n !== 0) {
          fail(
            attribute,
            `sharding_indexed chunk_shape [${inner.join(', ')}] does not divide the shard shape [${chunkShape.join(', ')}]`,
          );
        }
      });
      checkV3Codecs(configuration?.['codecs'], inner, attribute, fail);
      checkV3Codecs(configuration?.['index_codecs'], inner, attribute, fail);
      const location = configuration?.['index_location'];
      if (location !== undefined && location !== 'end') {
        fail(attribute, `sharding_indexed index_location ${show(location)} is not supported (only "end")`);
      }
    } else if (!isKnownCodec(name)) {
      fail(attribute, `uses codec "${name}", which tfjs-zarr cannot decode`);
    }
  }
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int8: [-(2n ** 7n), 2n ** 7n - 1n],
  uint8: [0n, 2n ** 8n - 1n],
  int16: [-(2n ** 15n), 2n ** 15n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

const SPECIAL_FLOATS: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** The fill value as the typed array will hold it: a number, or a BigInt for 64-bit integers. */
function parseFill(
  value: unknown,
  dtype: DType,
  format: 2 | 3,
  fail: (a: string, m: string) => never,
): number | bigint {
  const bad = (why: string): never => fail('fill_value', `${show(value)} ${why}`);
  if (value === null) return dtype === 'int64' || dtype === 'uint64' ? 0n : 0;
  if (dtype === 'bool') {
    if (value === true || value === false) return value ? 1 : 0;
    if (value === 0 || value === 1) return value;
    return bad('is not a bool');
  }
  if (dtype === 'float32' || dtype === 'float64') {
    if (typeof value === 'number') return value;
    if (typeof value === 'bigint') return Number(value);
    if (typeof value === 'string' && value in SPECIAL_FLOATS) return SPECIAL_FLOATS[value]!;
    if (format === 3 && typeof value === 'string' && /^0x[0-9a-fA-F]+$/.test(value)) {
      const digits = dtype === 'float32' ? 8 : 16;
      if (value.length !== digits + 2) bad(`is not a ${dtype} bit pattern (${digits} hex digits)`);
      const view = new DataView(new ArrayBuffer(8));
      if (dtype === 'float32') {
        view.setUint32(0, Number.parseInt(value.slice(2), 16));
        return view.getFloat32(0);
      }
      view.setBigUint64(0, BigInt(value));
      return view.getFloat64(0);
    }
    return bad(
      `is not a ${dtype} (a number, "NaN", "Infinity", "-Infinity"${format === 3 ? ' or a hex bit pattern' : ''})`,
    );
  }
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === 'number' && Number.isInteger(value))
    return bad(`is beyond 2^53 and was rounded; cannot be exact`);
  else if (format === 3 && typeof value === 'string' && /^0x[0-9a-fA-F]+$/.test(value)) n = BigInt(value);
  else return bad(`is not an integer, so it cannot be the fill value of a ${dtype} array`);
  const [lo, hi] = INT_RANGES[dtype]!;
  if (n < lo || n > hi) bad(`is outside the range of ${dtype} [${lo}, ${hi}]`);
  return dtype === 'int64' || dtype === 'uint64' ? n : Number(n);
}

/** The attributes of a group (v3 `zarr.json` attributes, v2 `.zattrs`); {} when it has none. */
export async function readGroupAttrs(
  store: AsyncReadable,
  where: { container: string; path: string },
): Promise<Record<string, unknown>> {
  const v3 = await readJsonFile(store, join(where.path, 'zarr.json'), where);
  if (v3 !== null) {
    const attrs = isObject(v3) ? (v3['attributes'] ?? {}) : null;
    if (!isObject(attrs)) {
      throw new DataFormatError(`attributes in zarr.json must be a JSON object, got ${kindOf(attrs)}`, where);
    }
    return attrs;
  }
  const attrs = await readJsonFile(store, join(where.path, '.zattrs'), where);
  if (attrs !== null && !isObject(attrs)) {
    throw new DataFormatError(`.zattrs must hold a JSON object of attributes, got ${kindOf(attrs)}`, where);
  }
  return (attrs ?? {}) as Record<string, unknown>;
}
